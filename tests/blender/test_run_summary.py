"""The summary a strip-making run reports says what the run did to the frames, in the
command line's words: Stabilize and Matte runs said '4 styled'. Its progress line names
its own task: a Matte run's read 'Restyle: stylize 1/4'."""

from __future__ import annotations

import pytest
from test_edit_tools import shaky
from vse import add_movie, ext

from clips import encode_clip

pytestmark = pytest.mark.blender

RUNS = {
    "stabilize_strip": ({}, "stabilised"),
    "matte_strip": ({}, "matted"),
    "apply_style": ({"style": "comic-ink"}, "styled"),
}
STAGES = {"stabilize_strip": "stabilize", "matte_strip": "matte", "apply_style": "stylize"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return encode_clip(tmp_path_factory.mktemp("summary") / "shaky.mp4", shaky("astronaut", 6, 4))


@pytest.mark.parametrize("operator", list(RUNS))
def test_the_summary_says_what_the_run_did(operator, scene, clip, sequencer_area, tmp_path, capfd):
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "summary.blend"))
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    options, word = RUNS[operator]
    capfd.readouterr()
    run = getattr(bpy.ops.restyle, operator)
    assert run(strip=source.name, frame_start=1, frame_end=4, **options) == {"FINISHED"}
    printed = capfd.readouterr()
    (report,) = [line for line in (printed.out + printed.err).splitlines() if " reused" in line]
    assert f"4 {word}, 0 reused" in report, report


@pytest.mark.parametrize("operator", list(STAGES))
def test_the_progress_line_names_the_task(operator, scene, clip, sequencer_area, tmp_path, capfd):
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "progress.blend"))  # nothing reused
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    options, _word = RUNS[operator]
    capfd.readouterr()
    run = getattr(bpy.ops.restyle, operator)
    assert run(strip=source.name, frame_start=1, frame_end=4, **options) == {"FINISHED"}
    printed = capfd.readouterr()
    lines = [line for line in (printed.out + printed.err).splitlines() if "/4" in line]
    stage = STAGES[operator]
    assert f"Restyle: {stage} 4/4" in lines[-1], lines
    assert ext("operators.runner").RUN.progress.stage == stage  # what the sidebar draws


LABELS = {"stabilize_strip": "Stabilize", "matte_strip": "Matte", "apply_style": "Apply Style"}


def cancelled_run(operator, options, scene, clip, sequencer_area, monkeypatch):
    """The summary of ``operator``'s run cancelled as Esc would be once a frame is written."""
    import bpy

    runner = ext("operators.runner")
    report = runner.Worker._progress

    def esc_after_a_frame(worker, progress):
        report(worker, progress)
        if progress.stage == worker.job.stage and progress.done >= 1:
            worker.token.cancel()

    monkeypatch.setattr(runner.Worker, "_progress", esc_after_a_frame)
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
