"""Round 18's words in Blender: the variable-rate warning numbers scene frames, as the run
summary does (it numbered the source's)."""

from __future__ import annotations

import pytest
from vse import add_movie, ext

from clips import make_variable_rate_clip

pytestmark = pytest.mark.blender


def test_the_variable_rate_warning_names_scene_frames(scene, sequencer_area, tmp_path):
    """Stamps of test_cli_words_walkthrough: source frame 2 shows a frame late and source
    frame 5 repeats frame 4. The strip starts at scene frame 101, so they are scene frames
    103 and 106 there, as the summary's 'frames 101-109' counts them. Before: 'frame 2'
    and 'frame 5' beside 'frames 101-109'."""
    import bpy

    stamps = (0, 10, 14, 30, 40, 60, 70, 74, 80)
    movie = make_variable_rate_clip(tmp_path / "phone.mkv", stamps, rate=24)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "vfr.blend"))
    source = add_movie(scene, sequencer_area, movie, frame_start=101)
    done = bpy.ops.restyle.apply_style(
        strip=source.name, style="comic-ink", temporal=0.0, frame_start=101, frame_end=109
    )
    assert done == {"FINISHED"}
    summary = ext("operators.runner").RUN.summary
    assert "frames 101-109" in summary, summary
    assert "1 shown a frame late (frame 103)" in summary, summary
    assert "1 frame repeats the one before (frame 106)" in summary, summary
