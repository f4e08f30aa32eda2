"""Small wording helpers every front end shares (the command line, Blender, Python)."""

from __future__ import annotations

from collections.abc import Iterable


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 shot', '2 shots', '0 frames'; ``plural`` where adding an s is wrong."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def frames_named(indices: Iterable[int]) -> str:
    """Frames in messages, in runs: [5] -> "frame 5", [3, 4, 5, 9] -> "frames 3-5, 9",
    range(-20, -8) -> "frames -20 to -9"; past 8 runs, ", ..." (every front end's words)."""
    from .strip_frames import frame_span  # numpy: not imported where words is

    spans: list[list[int]] = []
    for i in indices:
        if spans and i == spans[-1][1] + 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    text = ", ".join(frame_span(a, b) for a, b in spans[:8])
    noun = "frame" if len(spans) == 1 and spans[0][0] == spans[0][1] else "frames"
    return f"{noun} {text}" + (", ..." if len(spans) > 8 else "")
