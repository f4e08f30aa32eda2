"""Split at Cuts and Export Keyframes say how they ended in the sidebar's summary: after
either succeeded, it went on showing an older run's 'Failed: ...'. A job that is running
keeps its progress: a tool never ends it."""

from __future__ import annotations

import pytest
from test_operators import media, saved  # noqa: F401  (fixtures)
from vse import add_movie, ext

pytestmark = pytest.mark.blender


def an_old_failure():
    runner = ext("operators.runner")
    runner.RUN.end(runner.FAILED, "Failed: an older run's error")
    return runner


def test_split_at_cuts_says_it_ended(scene, saved, media, sequencer_area):  # noqa: F811
    import bpy

    runner = an_old_failure()
    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    assert bpy.ops.restyle.split_at_cuts(strip=source.name) == {"FINISHED"}
    assert runner.RUN.status == runner.FINISHED
    assert runner.RUN.summary.startswith("Split at Cuts: "), runner.RUN.summary

    with pytest.raises(RuntimeError, match="no strip named"):
        bpy.ops.restyle.split_at_cuts(strip="nothing here")
    assert runner.RUN.status == runner.FAILED
    assert runner.RUN.summary.startswith("Failed: no strip named 'nothing here'")


def test_export_keyframes_says_it_ended(scene, saved, media, sequencer_area):  # noqa: F811
    import bpy

    runner = an_old_failure()
    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    with pytest.raises(RuntimeError, match="has no keyframes"):
        bpy.ops.restyle.export_keyframes(strip=source.name, load=False)
    assert runner.RUN.status == runner.FAILED
    assert "has no keyframes" in runner.RUN.summary

    ext("operators.keyframes").add_keyframes(scene.restyle, source.name, [3, 6])
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    assert runner.RUN.status == runner.FINISHED
    summary = runner.RUN.summary
    assert summary.startswith("Export Keyframes: 2 keyframes exported to "), summary
    folder = ext("operators.output_strip").keyframe_folder(source.name, scene)[0]
    assert runner.RUN.folder == str(folder)  # the sidebar's Last output opens it


def test_a_tool_leaves_a_running_job_alone(scene, saved, media, sequencer_area):  # noqa: F811
    import bpy

    runner = ext("operators.runner")
    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    runner.RUN.status, runner.RUN.summary = runner.RUNNING, ""
    try:
        assert bpy.ops.restyle.split_at_cuts(strip=source.name) == {"FINISHED"}
        assert runner.RUN.running and runner.RUN.summary == ""
    finally:
        runner.RUN.end(runner.IDLE, "")
