"""Sidebar and preferences text in lines that fit the region (no add-on imports: the
preferences draw it too, and panels.sequencer → props → prefs → gpu_support is a chain)."""

from __future__ import annotations

import re


def wrap_width(context) -> int:
    """Characters that fit on a label line in this region (about 7 pixels each at 1x)."""
    region = getattr(context, "region", None)
    pixels = region.width if region is not None and region.width > 1 else 300
    scale = context.preferences.system.ui_scale if context.preferences else 0.0
    return max(20, int((pixels / (scale or 1.0) - 60) / 7))  # 0 in background mode


def draw_wrapped(layout, text: str, icon: str, width: int) -> None:
    """``text`` as label lines of at most ``width`` characters, aligned under the icon."""
    after = "NONE" if icon == "NONE" else "BLANK1"
    for i, line in enumerate(wrap_lines(text, width)):
        layout.label(text=line, icon=icon if i == 0 else after)


def wrap_lines(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken at spaces and after a path's
    ``/`` ('/tmp/wal|k18' was broken inside a name); inside a name only where one alone is
    longer than a line."""
    lines, line = [], ""
    for word in text.split():
        for k, piece in enumerate(re.findall(r"/*[^/]*/|[^/]+", word)):
            joint = " " if k == 0 and line else ""
            if line and len(line) + len(joint) + len(piece) > width:
                lines.append(line)
                line, joint = "", ""
            line += joint + piece
            while len(line) > width:  # a name longer than a line: after a '-', '_' or '.'
                cut = max(line.rfind(mark, 1, width) for mark in "-_.") + 1 or width
                lines.append(line[:cut])
                line = line[cut:]
    return [*lines, line] if line or not lines else lines
