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

import signal
import sys

EXIT_CANCELLED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM

# What a command stopped before it began has not done, after 'restyle: cancelled' (the frame
# jobs' words are their summary's when no frame finished: docs/cli.md); a command not known
# (the words not read yet, a script's main([...])) is said bare.
NOT_STARTED = {
    "stylize": ": no frame finished; nothing kept",
    "matte": ": no frame finished; nothing kept",
    "stabilize": ": no frame finished; nothing kept",
    "train": " before training began: no style saved",
    "shots": ": no shots listed",
    "sheet": " before the sheet was made: nothing written",
    "export-onnx": " before the export began: nothing written",
    "setup": " before setup began: nothing converted",
    "styles": " before the styles were read: nothing changed",
}


def command_word(words: list[str]) -> str | None:
    """The command in a command line's words (its first word not an option), if one is."""
    first = next((w for w in words if not w.startswith("-")), None)
    return first if first in NOT_STARTED else None


def cancelled_before_start(command: str | None) -> str:
    """'restyle: cancelled ...' for ``command`` stopped before it began."""
    return "restyle: cancelled" + NOT_STARTED.get(command or "", "")


def _cancelled_while_starting(signum: int, _frame: object) -> None:
    """Before ``cli.main`` takes over (Python's imports: ~0.2 s, 1 s and more under load):
    exit 130 (143 for SIGTERM) saying what was stopped, never a traceback; nothing was
    written yet. A ``--json`` reader (Ray's driver) still gets the closing record a cancelled
    run prints, with nothing done."""
    if "--json" in sys.argv[1:]:
        print('{"cancelled": true}', flush=True)  # json's import may be what was stopped
    print(cancelled_before_start(command_word(sys.argv[1:])), file=sys.stderr)
    raise SystemExit(EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_CANCELLED)


def _running_the_command() -> bool:
    import os.path  # imported by Python's start already: no time, no window

    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    stem = os.path.splitext(program)[0]
    return stem == "restyle" or getattr(spec, "name", "") == "restyle.__main__"


# First thing, before this module's (and core/cli.py's) other imports: a Ctrl-C among them
# printed Python's KeyboardInterrupt traceback (vtest, SIGINT 0.04-0.22 s after the start at
# load 2: 10 of 12 tracebacks, exit 1).
if _running_the_command():
    signal.signal(signal.SIGINT, _cancelled_while_starting)
    signal.signal(signal.SIGTERM, _cancelled_while_starting)

import contextlib  # noqa: E402 - after the handlers above, on purpose
import threading  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402


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
