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

# The frame jobs' commands, and what their cancel says when no frame finished (docs/cli.md)
FRAME_JOBS = ("stylize", "matte", "stabilize")
NONE_FINISHED = ": no frame finished; nothing kept"

# What a command stopped before it began has not done, after 'restyle: cancelled' (the frame
# jobs' words are their summary's when no frame finished); a command not known (the words
# not read yet, a script's main([...])) is said bare. Keyed by the command's word, as typed.
NOT_STARTED = {
    **dict.fromkeys(FRAME_JOBS, NONE_FINISHED),
    "train": " before training began: no style saved",
    "shots": ": no shots listed",
    "sheet": " before the sheet was made: nothing written",
    "export-onnx": " before the export began: nothing written",
    "setup": " before setup began: nothing converted",
    "styles": " before the styles were read: nothing changed",
}

# The --json record a run cancelled with nothing done closes with, written without json (its
# import may be what was stopped): what a front end (Ray's driver) reads a stop from
CANCELLED_RECORD = '{"cancelled": true}'


def command_word(words: list[str]) -> str | None:
    """The command in a command line's words (its first word not an option), if one is."""
    first = next((w for w in words if not w.startswith("-")), None)
    return first if first in NOT_STARTED else None


def cancelled_before_start(command: str | None) -> str:
    """'restyle: cancelled ...' for ``command`` stopped before it began."""
    return "restyle: cancelled" + NOT_STARTED.get(command or "", "")


def print_cancelled_record() -> None:
    print(CANCELLED_RECORD, flush=True)


def say_stopped_while_starting() -> None:
    """The command's stop before ``cli.main`` took over (Python's imports), nothing written
    yet: with --json the closing record a cancelled run prints, then its words on stderr."""
    if "--json" in sys.argv[1:]:
        print_cancelled_record()
    print(cancelled_before_start(command_word(sys.argv[1:])), file=sys.stderr)


def _cancelled_while_starting(signum: int, _frame: object) -> None:
    """Before ``cli.main`` takes over (Python's imports: ~0.2 s, 1 s and more under load):
    exit 130 (143 for SIGTERM) saying what was stopped, never a traceback."""
    say_stopped_while_starting()
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


def take_over() -> None:
    """``cli.main`` starts: the start-up handlers give way to Python's own for good (main
    thread only), so that those are what ``handling`` puts back when main returns. A Ctrl-C
    after a finished run (atexit, Ray's shutdown, thread joins) said 'cancelled before
    training began', added a second --json record and exited 130."""
    if not in_main_thread():
        return
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    for signum, default in defaults.items():
        if signal.getsignal(signum) is _cancelled_while_starting:
            signal.signal(signum, default)


def sigterm_as_ctrl_c() -> contextlib.AbstractContextManager[None]:
    """SIGTERM raises ``Terminated`` (a KeyboardInterrupt) while inside, in the main thread."""
    return handling(signal.SIGTERM, _raise_terminated)
