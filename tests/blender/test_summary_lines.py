"""The sidebar's summary after Apply, as the GUI walkthrough saw it on an unsaved .blend: the
note that the frames are in a temporary folder was drawn as part of the "Engine:" line (after
the engine's own "; " in parentheses). Each note gets lines of its own, with a warning icon.
Since round 25 each is one short line (the whole in the details' tooltip: test_panel25).

Runs in the Blender suite, on the installed extension: importing bpy into the core suite's
process would make later core tests think they run inside Blender.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from vse import ext

pytestmark = pytest.mark.blender

ENGINE = "onnx fp32 on cpu (asked for; fast graph, 2 worker(s) x 1 thread(s))"
NOTE = (
    "this .blend is not saved, so the frames are in a temporary folder "
    "(/tmp/restyle/vtest-comic-ink-c4860598c8); saving the .blend copies them beside it"
)


class Layout:
    """Keeps each label's text and icon, as the sidebar would draw them."""

    def __init__(self, lines):
        self.lines = lines

    def column(self, align=False):
        return self

    row = column

    def label(self, text="", icon="NONE"):
        self.lines.append((text, icon))

    def operator(self, idname, **kwargs):  # the details button: not a line of text
        return SimpleNamespace()


def drawn(summary: str, note: str = "") -> list[tuple[str, str]]:
    runner, sequencer = ext("operators.runner"), ext("panels.sequencer")
    runner.RUN.end(runner.FINISHED, summary, "/tmp/restyle/vtest-comic-ink-c4860598c8", note=note)
    context = SimpleNamespace(
        region=SimpleNamespace(width=379),  # the Video Editing template's sidebar
        preferences=SimpleNamespace(system=SimpleNamespace(ui_scale=1.0)),
    )
    lines: list[tuple[str, str]] = []
    sequencer.draw_summary(Layout(lines), context)
    return lines


def paragraphs(lines):
    """The wrapped lines joined again: one (icon, text) per icon'd paragraph."""
    out = []
    for text, icon in lines:
        if icon == "BLANK1":  # a path breaks after a '/' (round 18): no space there
            joint = "" if out[-1][1].endswith("/") else " "
            out[-1] = (out[-1][0], f"{out[-1][1]}{joint}{text}")
        else:
            out.append((icon, text))
    return out


def test_a_note_after_the_engine_has_its_own_lines(restyle):
    # round 23: before the engine's line (the essentials first), with an info icon (saving
    # the .blend keeps the frames: not a warning); round 25: in short, what to do (the
    # temporary folder's path in the details' tooltip and the report), the rate and
    # '0 reused' likewise
    first = "vtest.Comic Ink: frames 1-8, 8 styled"
    shown = paragraphs(drawn(f"{first}, 0 reused, 1.5 frames/s; engine: {ENGINE}", note=NOTE))
    assert shown == [
        ("CHECKMARK", first),
        ("INFO", "Save the .blend to keep these frames"),
        ("INFO", "Engine: onnx fp32 on cpu"),
    ]


def test_without_a_note_the_engine_line_is_short(restyle):
    first = "vtest.Comic Ink: frames 1-8, 0 styled, 8 reused"
    shown = paragraphs(drawn(f"{first}; engine: {ENGINE}"))
    assert shown == [("CHECKMARK", first), ("INFO", "Engine: onnx fp32 on cpu")]
