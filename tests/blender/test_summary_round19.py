"""Round 19: how long the sidebar's summary lives. Another .blend loaded showed the file
before's summary and Last output (beside its own strip of the same name, pointing into the
other project's folder); an undone Apply or Stabilize left the summary of the strip it made
showing with its source; Snap Cuts' summary ('Snap Cuts: 1 change') named nothing, though it
shows with any strip."""

from __future__ import annotations

import pytest
from test_leftovers_round19 import last_output_shown, said
from vse import add_movie, all_strips, ext, sequencer_override

from clips import make_index_clip

pytestmark = pytest.mark.blender

STYLE = "comic-ink"


def test_a_loaded_file_starts_with_no_summary(scene, sequencer_area, tmp_path):
    """Project A styles clip.mp4 and is saved; project B, which holds its own clip.mp4, is
    opened: its sidebar showed A's summary and Last output (A's folder)."""
    import bpy

    runner = ext("operators.runner")
    compat = ext("compat")
    clip = make_index_clip(tmp_path / "clip.mp4", 6, fps=24, gop=3)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    name, source_name = scene.name, source.name
    (tmp_path / "B").mkdir()
    project_b = tmp_path / "B" / "b.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(project_b), copy=True)  # the source alone
    (tmp_path / "A").mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "A" / "a.blend"))
    assert bpy.ops.restyle.apply_style(
        strip=source_name, style=STYLE, strength=0.0, temporal=0.0, frame_start=1, frame_end=2
    ) == {"FINISHED"}, runner.RUN.summary
    assert runner.RUN.status == runner.FINISHED and runner.RUN.folder
    assert bpy.ops.wm.save_mainfile() == {"FINISHED"}

    # load_ui=False: the test session's window (and its Sequencer area) stays
    assert bpy.ops.wm.open_mainfile(filepath=str(project_b), load_ui=False) == {"FINISHED"}
    scene = bpy.data.scenes[name]
    compat.set_sequencer_scene(bpy.context, scene)
    (strip,) = all_strips(scene)
    assert strip.name == source_name
    assert (runner.RUN.status, runner.RUN.summary, runner.RUN.folder) == (runner.IDLE, "", "")
    assert runner.RUN.strip == "" and not runner.RUN.running
    with sequencer_override(scene, sequencer_area):
        for active in (strip, None):
            scene.sequence_editor.active_strip = active
            assert not last_output_shown(bpy.context), active
            assert "frames 1-2" not in said(bpy.context)[0], active
