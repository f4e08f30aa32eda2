"""Round 18's Blender de-duplication: the sidebar's 'File missing' row and Apply look for the
same pictures, every one Apply reads (from the first the strip shows to the last: a strobed
strip skips pictures the core still reads), and say what is missing the same way."""

# ruff: noqa: F811 (fixtures imported from other test files are the tests' arguments)

from __future__ import annotations

import re

import pytest
from test_panels import panel_context  # noqa: F401 (the fixture, imported)
from test_split_round18 import saved  # noqa: F401 (the fixture, imported)
from test_words_round18 import missing_row
from vse import add_images, ext

from clips import make_image_sequence

pytestmark = pytest.mark.blender


def test_a_strobed_strip_needs_the_pictures_between_those_it_shows(restyle):
    """Strobe 2 over 8 pictures shows 0, 2, 4, 6; a job reads 0..6, so 1, 3 and 5 must be
    there too (before: only 0, 2, 4, 6 were looked for)."""
    frames = ext("core.strip_frames")
    timing = frames.StripTiming(frame_start=1, length=8, strobe=2)
    assert frames.source_frames(timing, 1, 8) == [0, 0, 2, 2, 4, 4, 6, 6]
    assert frames.pictures_read(timing, 1, 8, 8) == range(0, 7)


def strobed(scene, tmp_path):
    """0001-0008.png at frame 1, strobe 2: shows 0001, 0003, 0005, 0007 (indices 0-6)."""
    files = make_image_sequence(tmp_path / "shot", 8, name="{:04d}.png")
    strip = add_images(scene, files, frame_start=1, channel=2, name="shot")
    strip.strobe = 2.0
    scene.sequence_editor.active_strip = strip
    return strip, files


def apply_refuses(strip, said: str) -> None:
    import bpy

    with pytest.raises(RuntimeError, match=re.escape(said)):
        bpy.ops.restyle.apply_style(strip=strip.name, style="comic-ink", temporal=0.0)


def test_the_sidebar_and_apply_agree_on_a_strobed_strip(panel_context, saved, tmp_path):
    """0004.png (index 3, not shown, read) gone: the sidebar said nothing and Apply refused
    in the core's source numbers ('frames 0..2, 4..6 are whole: style them with start and
    end'); both now name it, the same words (Apply by its // path), as for two gone."""
    runner = ext("operators.runner")
    runner.RUN.end(runner.IDLE, "")  # an earlier test's warnings are rows too
    strip, files = strobed(panel_context.scene, tmp_path)
    assert missing_row(panel_context) == []
    files[3].unlink()
    assert missing_row(panel_context) == ["File missing: 0004.png"]
    apply_refuses(strip, "File missing in 'shot': //shot/0004.png")
    runner.RUN.end(runner.IDLE, "")
    files[5].unlink()
    assert missing_row(panel_context) == ["2 pictures missing, first 0004.png"]
    apply_refuses(strip, "2 pictures missing in 'shot', first //shot/0004.png")


def test_a_picture_past_the_last_one_read_is_not_needed(panel_context, saved, tmp_path):
    """0008.png (index 7) is never read by the strobed strip: neither refuses it."""
    import bpy

    runner = ext("operators.runner")
    runner.RUN.end(runner.IDLE, "")
    strip, files = strobed(panel_context.scene, tmp_path)
    files[7].unlink()
    assert missing_row(panel_context) == []
    done = bpy.ops.restyle.apply_style(strip=strip.name, style="comic-ink", temporal=0.0)
    assert done == {"FINISHED"}, runner.RUN.summary
