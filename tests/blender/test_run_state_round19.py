"""The console's progress lines count what their own job counts, and no test sees the run
state an earlier one left:

- a Worker is given its unit ("frames", or "pictures" where a source's pictures are not one
  per scene frame) when it is made: it read the add-on's global ``RUN.unit`` instead, so a
  worker printed 'track 24/24 pictures' after an earlier run counted pictures (15176c4 reset
  ``RUN.unit`` in one test to hide it);
- ``RUN`` is the add-on's one RunState: conftest's autouse fixture gives it a fresh
  RunState's values after each test (and cancels a run a test left)."""

from __future__ import annotations

import pytest
from vse import ext

pytestmark = pytest.mark.blender

LEFT: dict = {}  # what the first state test left behind, for the next one to check


def printed_lines(worker, progress, capsys) -> list[str]:
    capsys.readouterr()
    worker._progress(progress.Progress(24, 24, stage="track"))
    worker._progress(progress.Progress(5, 5, stage="stylize", fps=2.0))
    return capsys.readouterr().out.splitlines()


def test_a_worker_counts_frames_whatever_run_holds(restyle, capsys):
    """Made while RUN still holds an earlier run's 'pictures': its frames are frames."""
    runner, progress = ext("operators.runner"), ext("core.progress")
    runner.RUN.unit = "pictures"
    worker = runner.Worker(job=None, echo=True)
    assert printed_lines(worker, progress, capsys) == [
        "Restyle: track 24/24",
        "Restyle: stylize 5/5, 2.0 frames/s",
    ]


def test_a_worker_made_for_pictures_says_pictures(restyle, capsys):
    runner, progress = ext("operators.runner"), ext("core.progress")
    runner.RUN.unit = "frames"
    worker = runner.Worker(job=None, echo=True, unit="pictures")
    assert printed_lines(worker, progress, capsys) == [
        "Restyle: track 24/24 pictures",
        "Restyle: stylize 5/5 pictures, 2.0 frames/s",
    ]
    # training counts seconds of its time budget, whatever the unit
    worker._progress(progress.Progress(8, 8, stage=progress.TRAINING))
    assert capsys.readouterr().out.splitlines() == ["Restyle: train 8/8 s of the time budget"]


def test_a_test_leaves_run_state_behind(restyle):
    """Sets what a run sets (the next test checks it is gone)."""
    runner = ext("operators.runner")
    worker = runner.Worker(job=None, unit="pictures")
    runner.RUN.begin("clip.mp4", "Comic Ink", 12, worker, task="train", unit="pictures")
    runner.RUN.moved("/tmp/somewhere")
    LEFT["worker"] = worker
    assert runner.RUN.running and runner.RUN != runner.RunState()


def test_the_next_test_starts_from_a_fresh_run_state(restyle):
    runner = ext("operators.runner")
    if "worker" not in LEFT:
        pytest.skip("runs after test_a_test_leaves_run_state_behind")
    assert runner.RUN == runner.RunState(), runner.RUN
    assert LEFT["worker"].token.cancelled  # the run it left was told to stop
    # the same object the operators and panels imported by name, not a new one
    assert ext("operators.modal_job").RUN is runner.RUN
