"""Round 19: how long the sidebar's summary lives. Another .blend loaded showed the file
before's summary and Last output (beside its own strip of the same name, pointing into the
other project's folder); an undone Apply or Stabilize left the summary of the strip it made
showing with its source; Snap Cuts' summary ('Snap Cuts: 1 change') named nothing, though it
shows with any strip."""

# ruff: noqa: F811 (fixtures imported from other test files are the tests' arguments)

from __future__ import annotations

import pytest
from test_edit_tools import SHOT, clips  # noqa: F401 (the fixture, imported)
from test_leftovers_round19 import last_output_shown, said, summary_shown
from test_matte_strip import pan_strip  # noqa: F401 (the fixture, imported)
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


@pytest.fixture
def saved(scene, tmp_path):
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "round19.blend"))
    return tmp_path


def undone(scene, sequencer_area, source_name: str, operator, **args) -> None:
    """Run ``operator`` as the UI's button does (with its undo step), check its summary
    shows with the source, undo it, and check the summary and Last output no longer show,
    whichever of the source or no strip is active."""
    import bpy

    runner = ext("operators.runner")
    name = scene.name  # undo reloads data: keep names, not objects
    bpy.ops.ed.undo_push(message="before")
    before = sorted(all_strips(scene).keys())
    assert operator("EXEC_DEFAULT", True, strip=source_name, **args) == {"FINISHED"}
    assert runner.RUN.status == runner.FINISHED, runner.RUN.summary
    scene = bpy.data.scenes[name]
    editor = scene.sequence_editor
    with sequencer_override(scene, sequencer_area):
        editor.active_strip = all_strips(scene)[source_name]
        assert summary_shown(bpy.context) and last_output_shown(bpy.context)
    bpy.ops.ed.undo()
    scene = bpy.data.scenes[name]
    editor = scene.sequence_editor
    assert sorted(all_strips(scene).keys()) == before
    with sequencer_override(scene, sequencer_area):
        for active in (all_strips(scene)[source_name], None):
            editor.active_strip = active
            assert not summary_shown(bpy.context), (active, runner.RUN.summary)
            assert not last_output_shown(bpy.context), active
    bpy.ops.ed.redo()  # the strip is back: so is its summary
    scene = bpy.data.scenes[name]
    with sequencer_override(scene, sequencer_area):
        scene.sequence_editor.active_strip = all_strips(scene)[source_name]
        assert summary_shown(bpy.context) and last_output_shown(bpy.context)


def test_an_undone_apply_leaves_no_summary_of_its_strip(scene, saved, sequencer_area, tmp_path):
    import bpy

    clip = make_index_clip(tmp_path / "clip.mp4", 6, fps=24, gop=3)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    undone(
        scene,
        sequencer_area,
        source.name,
        bpy.ops.restyle.apply_style,
        style=STYLE,
        strength=0.0,
        temporal=0.0,
        frame_start=1,
        frame_end=3,
    )


def test_an_undone_stabilize_leaves_no_summary_of_its_strip(scene, saved, clips, sequencer_area):
    import bpy

    source = add_movie(scene, sequencer_area, clips["shaky"], frame_start=1)
    undone(
        scene,
        sequencer_area,
        source.name,
        bpy.ops.restyle.stabilize_strip,
        frame_start=1,
        frame_end=6,
    )


def test_an_undone_matte_leaves_no_summary_of_its_strip(scene, pan_strip, sequencer_area):
    import bpy

    matte = bpy.ops.restyle.matte_strip
    undone(scene, sequencer_area, pan_strip.name, matte, frame_start=10, frame_end=11)


def test_a_keyframe_export_summary_stays_after_an_apply(scene, saved, sequencer_area, tmp_path):
    """A tool's summary after a job's (Export Keyframes writes a folder no strip shows) is
    not taken for the job's: it shows with its strip."""
    import bpy

    runner = ext("operators.runner")
    clip = make_index_clip(tmp_path / "clip.mp4", 6, fps=24, gop=3)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    name = source.name
    assert bpy.ops.restyle.apply_style(
        strip=name, style=STYLE, strength=0.0, temporal=0.0, frame_start=1, frame_end=2
    ) == {"FINISHED"}, runner.RUN.summary
    ext("operators.keyframes").add_keyframes(scene.restyle, name, [2])
    assert bpy.ops.restyle.export_keyframes(strip=name, load=False) == {"FINISHED"}
    assert runner.RUN.summary.startswith("Export Keyframes: ") and runner.RUN.folder
    with sequencer_override(scene, sequencer_area):
        scene.sequence_editor.active_strip = all_strips(scene)[name]
        assert summary_shown(bpy.context), runner.RUN.summary


def test_snap_cuts_summary_names_what_moved(scene, clips, sequencer_area):
    """'Snap Cuts: 1 change' named nothing, though it shows with any strip."""
    import bpy

    compat = ext("compat")
    runner = ext("operators.runner")
    left = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    right = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1, channel=2)
    compat.strip_set(left, "right_handle", SHOT + 4)
    compat.strip_set(right, "left_handle", SHOT + 4)
    right.channel = 1
    assert bpy.ops.restyle.snap_cuts(distance=4) == {"FINISHED"}
    assert runner.RUN.summary == (
        f"Snap Cuts: the cut at frame {SHOT + 4} moved to {SHOT + 1} "
        f"('{left.name}' | '{right.name}')"
    )
    assert bpy.ops.restyle.snap_cuts(distance=4) == {"FINISHED"}  # nothing more to move
    assert runner.RUN.summary == "Snap Cuts: nothing to change"


def test_snap_cuts_summary_names_the_first_moves_of_several(restyle):
    """Several moves: the first few, then a count (the console lists each)."""
    cut_tools = ext("operators.cut_tools")
    snap = ext("core.cut_tools").Snap
    plan = [snap(f"a{i}", f"b{i}", 10 * i + 3, 10 * i, "boundary") for i in range(1, 6)]
    said = cut_tools.RESTYLE_OT_snap_cuts.outcome(cut_tools.RESTYLE_OT_snap_cuts, plan)
    assert said == (
        "5 cuts moved: 13 to 10 ('a1' | 'b1'), 23 to 20 ('a2' | 'b2'), "
        "33 to 30 ('a3' | 'b3'), and 2 more"
    )
