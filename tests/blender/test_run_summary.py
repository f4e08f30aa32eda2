"""The summary a strip-making run reports says what the run did to the frames, in the
command line's words: Stabilize and Matte runs said '4 styled'. Its progress line names
its own task: a Matte run's read 'Restyle: stylize 1/4'."""

from __future__ import annotations

import pytest
from test_edit_tools import shaky
from vse import add_movie, all_strips, esc_when, ext

from clips import encode_clip

pytestmark = pytest.mark.blender

RUNS = {
    "stabilize_strip": ({}, "stabilized"),
    "matte_strip": ({}, "matted"),
    "apply_style": ({"style": "comic-ink"}, "styled"),
}
STAGES = {"stabilize_strip": "stabilize", "matte_strip": "matte", "apply_style": "stylize"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return encode_clip(tmp_path_factory.mktemp("summary") / "shaky.mp4", shaky("astronaut", 6, 4))


def printed_by_a_run(operator, scene, clip, area, blend, capfd) -> list[str]:
    """Run ``operator`` over frames 1-4 of ``clip`` in a file saved as ``blend`` (nothing
    to reuse): the lines it printed."""
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    source = add_movie(scene, area, clip, frame_start=1)
    capfd.readouterr()
    run = getattr(bpy.ops.restyle, operator)
    options = RUNS[operator][0]
    assert run(strip=source.name, frame_start=1, frame_end=4, **options) == {"FINISHED"}
    printed = capfd.readouterr()
    return (printed.out + printed.err).splitlines()


@pytest.mark.parametrize("operator", list(RUNS))
def test_the_summary_says_what_the_run_did(operator, scene, clip, sequencer_area, tmp_path, capfd):
    lines = printed_by_a_run(operator, scene, clip, sequencer_area, tmp_path / "a.blend", capfd)
    (report,) = [line for line in lines if " reused" in line]
    assert f"4 {RUNS[operator][1]}, 0 reused" in report, report


@pytest.mark.parametrize("operator", list(STAGES))
def test_the_progress_line_names_the_task(operator, scene, clip, sequencer_area, tmp_path, capfd):
    printed = printed_by_a_run(operator, scene, clip, sequencer_area, tmp_path / "p.blend", capfd)
    lines = [line for line in printed if "/4" in line]
    stage = STAGES[operator]
    assert f"Restyle: {stage} 4/4" in lines[-1], lines
    assert ext("operators.runner").RUN.progress.stage == stage  # what the sidebar draws


LABELS = {
    "stabilize_strip": "Stabilize",
    "matte_strip": "Matte",
    "apply_style": "Apply Style",
}


def cancelled_run(operator, options, scene, clip, sequencer_area, monkeypatch):
    """The summary of ``operator``'s run cancelled as Esc would be once a frame is written."""
    import bpy

    runner = ext("operators.runner")
    esc_when(monkeypatch, lambda progress: progress.done >= 1)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    run = getattr(bpy.ops.restyle, operator)
    assert run(strip=source.name, frame_start=1, frame_end=4, **options) == {"CANCELLED"}
    assert runner.RUN.status == runner.CANCELLED
    return runner.RUN.summary


@pytest.mark.parametrize("operator", list(LABELS))
def test_a_cancelled_run_names_the_button_that_resumes_it(
    operator, scene, clip, sequencer_area, tmp_path, monkeypatch
):
    """'Apply again to resume' was said after a Matte or Stabilize run too."""
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "cancel.blend"))
    options = RUNS[operator][0]
    summary = cancelled_run(operator, options, scene, clip, sequencer_area, monkeypatch)
    assert summary.endswith(f"; {LABELS[operator]} again to resume"), summary


def test_a_cancelled_movie_says_nothing_is_kept(scene, clip, sequencer_area, tmp_path, monkeypatch):
    """A movie is written whole or not at all: 'Stabilize again to resume' would start over."""
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "movie.blend"))
    options = {"output_format": "H264"}
    summary = cancelled_run("stabilize_strip", options, scene, clip, sequencer_area, monkeypatch)
    assert summary == "Cancelled: nothing kept (a movie cannot be resumed)"
    assert not list((tmp_path / "restyle").rglob("*.mp4"))


def test_a_cancelled_tripod_run_is_resumed_by_tripod(
    scene, clip, sequencer_area, tmp_path, monkeypatch, capfd
):
    """A cancelled Tripod run resumes from a Tripod run (the sidebar's Stabilize with Tripod
    ticked, which its summary's 'Stabilize again' runs); one without Tripod is another
    settings key, another folder, and starts over."""
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "tripod.blend"))
    summary = cancelled_run(
        "stabilize_strip", {"tripod": True}, scene, clip, sequencer_area, monkeypatch
    )
    assert summary.endswith("; Stabilize again to resume"), summary
    kept = int(summary.removeprefix("Cancelled: ").split(" of ")[0])
    assert 1 <= kept < 4, summary
    monkeypatch.undo()  # no more Esc
    runner = ext("operators.runner")
    (source,) = [s.name for s in all_strips(scene) if s.type == "MOVIE"]
    run = bpy.ops.restyle.stabilize_strip
    assert run(strip=source, frame_start=1, frame_end=4, tripod=True) == {"FINISHED"}
    assert f", {4 - kept} stabilized, {kept} reused" in runner.RUN.summary, runner.RUN.summary
    assert run(strip=source, frame_start=1, frame_end=4) == {"FINISHED"}  # the Stabilize menu
    assert ", 4 stabilized, 0 reused" in runner.RUN.summary, runner.RUN.summary


def test_tripod_is_not_carried_over_to_the_stabilize_menu(restyle):
    """Blender remembers an operator's last values for the properties a button does not set:
    the Stabilize menu (it sets the mode only) ran as Tripod after a Tripod run."""
    import bpy

    tripod = bpy.ops.restyle.stabilize_strip.get_rna_type().properties["tripod"]
    assert tripod.is_skip_save


def test_a_matte_cancelled_as_its_last_frame_is_written_makes_its_strip(
    scene, clip, sequencer_area, tmp_path, monkeypatch
):
    """Esc as the last frame finished said 'Cancelled: 4 of 4 frames kept' and made no
    strip: every frame was done, so it is a finished run."""
    import bpy

    runner = ext("operators.runner")
    esc_when(monkeypatch, lambda progress: progress.done == progress.total)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "last.blend"))
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    assert bpy.ops.restyle.matte_strip(strip=source.name, frame_start=1, frame_end=4) == {
        "FINISHED"
    }
    assert runner.RUN.status == runner.FINISHED, runner.RUN.summary
    assert "4 matted, 0 reused" in runner.RUN.summary, runner.RUN.summary
    assert f"{source.name}.Matte" in [s.name for s in all_strips(scene)]
