"""Ctrl-C while the ``restyle`` command is still starting exits cleanly with code 130, never
with a Python traceback. ``core/cli.py`` imports this first; it acts only when Python runs
the command itself (the ``restyle`` script or ``python -m restyle``), and ``cli.main``
takes Ctrl-C over once it runs."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

EXIT_CANCELLED = 130


def _cancelled_while_starting(*_args: object) -> None:
    print("restyle: cancelled", file=sys.stderr)
    raise SystemExit(EXIT_CANCELLED)


def _running_the_command() -> bool:
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return program.stem == "restyle" or getattr(spec, "name", "") == "restyle.__main__"


if _running_the_command():
    signal.signal(signal.SIGINT, _cancelled_while_starting)
