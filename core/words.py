"""Small wording helpers every front end shares (the command line, Blender, Python)."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 shot', '2 shots', '0 frames'; ``plural`` where adding an s is wrong."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"
