"""Round 18: Blender's warnings number frames as the scene does. A damaged frame no scene
frame shows (a fast strip skips it) read 'around not shown in frames 101-103' (9e7521a's
swap); a cut-short movie's warning still named the source's frames ('only 0..22 decode;
frames 23..39 could not be decoded') beside the summary's 'frames 101-140'."""

# ruff: noqa: F811 (fixtures imported from other test files are the tests' arguments)

from __future__ import annotations

import re

import pytest
from test_leftovers_round18 import corrupt_middle
from test_split_round18 import saved  # noqa: F401 (the fixture, imported)
from vse import add_movie, ext, shown_frames

from clips import make_index_clip

pytestmark = pytest.mark.blender

STYLE = "comic-ink"


def summary() -> str:
    return ext("operators.runner").RUN.summary


def test_damaged_frames_no_scene_frame_shows_are_named_as_the_sources(
    scene, saved, sequencer_area, tmp_path
):
    """46 frames at 360 fps play at 15 a scene frame: frames 101-103 show source frames 0,
    15 and 30; the frames keyframe 20's damage takes (22-29 here) are decoded, not shown."""
    import bpy

    clip = make_index_clip(tmp_path / "fast.mkv", 46, codec="ffv1", gop=10, fps=360)
    source = add_movie(scene, sequencer_area, corrupt_middle(clip), frame_start=101)
    assert shown_frames(source) == (101, 103)
    done = bpy.ops.restyle.apply_style(strip=source.name, style=STYLE, temporal=0.0)
    assert done == {"FINISHED"}, summary()
    said = summary()
    assert "around not shown" not in said, said
    around = re.search(
        r"\(around source frames (\d+)-(\d+), not shown in frames 101-103: dam", said
    )
    assert around, said
    assert 15 < int(around[1]) < int(around[2]) < 30, said  # those keyframe 20's loss takes


def test_a_cut_short_movie_names_the_scene_frames_it_misses(scene, saved, sequencer_area, tmp_path):
    """A Matroska file cut at 60 %: its strip spans the 40 frames it declares, the frames
    past its last picture hold it; the warning names those scene frames."""
    import bpy

    clip = make_index_clip(tmp_path / "cut.mkv", 40, codec="ffv1", gop=10)
    clip.write_bytes(clip.read_bytes()[: int(clip.stat().st_size * 0.6)])
    decoded = ext("core.media").probe(clip).frame_count
    assert 10 < decoded < 39
    source = add_movie(scene, sequencer_area, clip, frame_start=101)
    assert shown_frames(source) == (101, 140)
    done = bpy.ops.restyle.apply_style(strip=source.name, style=STYLE, temporal=0.0)
    assert done == {"FINISHED"}, summary()
    said = summary()
    assert "frames 101-140" in said and "decode;" not in said, said
    missing = f"frames {101 + decoded}-140"
    assert (
        f"cut.mkv is cut short or damaged: it declares 40 frames but only the first {decoded} "
        f"decode (missing: {missing}); {decoded} written"
    ) in said, said
