"""Ctrl-C (SIGINT) and SIGTERM stop the ``restyle`` command the same way: cleanly, never with
a Python traceback, every finished frame kept. SIGTERM is how Ray stops a job, and how farm
schedulers, ``kill``, systemd and Docker stop a program; unhandled, Python dies at once and
no ``finally`` runs (a movie's scratch file and the output lock were left behind, and a Ray
run's staged frames were never moved into the output).

Exit codes are the shell's for the signal: 130 (128 + SIGINT) after Ctrl-C, 143 (128 +
SIGTERM) after SIGTERM, as an unhandled SIGTERM already reads in a shell.

``core/cli.py`` imports this first; at import it acts only when Python runs the command
itself (the ``restyle`` script or ``python -m restyle``), and ``cli.main`` takes both signals
over once it runs. Handlers are set only in the main thread: ``cli.main`` may be called from
a script's thread, where Python refuses them (and the script's own stay as they were).
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

EXIT_CANCELLED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt: every ``except
    KeyboardInterrupt`` and ``finally`` on the way out runs as for Ctrl-C."""


def exit_code(exc: BaseException) -> int:
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_CANCELLED


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_terminated(*_args: object) -> None:
    raise Terminated()


@contextlib.contextmanager
def handling(signum: int, handler: Callable) -> Iterator[None]:
    """``handler`` for ``signum`` while inside (main thread only; elsewhere nothing is set);
    the handler before it is put back after."""
    if not in_main_thread():
        yield
        return
    previous = signal.signal(signum, handler)
    try:
        yield
    finally:
        # None: a handler set outside Python (kept by no one here); the default is the best
        # that can be put back.
        signal.signal(signum, signal.SIG_DFL if previous is None else previous)


def sigterm_as_ctrl_c() -> contextlib.AbstractContextManager[None]:
    """SIGTERM raises ``Terminated`` (a KeyboardInterrupt) while inside, in the main thread."""
    return handling(signal.SIGTERM, _raise_terminated)


def _cancelled_while_starting(signum: int, _frame: object) -> None:
    """Before ``cli.main`` takes over: a ``--json`` reader (Ray's driver) still gets the
    closing record a cancelled run prints, with nothing done."""
    if "--json" in sys.argv[1:]:
        print(json.dumps({"cancelled": True}), flush=True)
    print("restyle: cancelled", file=sys.stderr)
    raise SystemExit(EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_CANCELLED)


def _running_the_command() -> bool:
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return program.stem == "restyle" or getattr(spec, "name", "") == "restyle.__main__"


if _running_the_command():
    signal.signal(signal.SIGINT, _cancelled_while_starting)
    signal.signal(signal.SIGTERM, _cancelled_while_starting)
