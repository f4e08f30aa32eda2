"""A Ray job stopped before its command could print its full closing record is a cancelled
result, as Esc's is, not an error; a job that died on its own with no record still fails.

- Stopped while it started (Python's start-up, before core.interrupt took SIGTERM over) or
  while it read its words, the command prints the short ``{"cancelled": true}``
  (core/interrupt.py, core/cli.py's fallbacks): ``_result`` read its "output" (KeyError).
- Stopped in its first ~0.4 s, it prints nothing and dies 143: Ray says STOPPED, which it
  says only once its stop was asked for (its job_supervisor.py), and ``_result`` raised
  'the Ray job stopped: ...'. A crash or another's SIGTERM is FAILED: still a failure.

No Ray needed: a stand-in dashboard answers as a cluster's does, and writes the frames its
node would have finished."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_late_core_round17 import node_manifest

from restyle.core import ray_submit
from restyle.core.errors import RestyleError
from restyle.core.job import frame_name
from restyle.core.ray_submit import RaySubmission


def dashboard(plan, status: str, logs: str, finishing: list[int]):
    """A cluster whose job, once submitted, has written ``finishing`` and ended ``status``."""

    def answer(url, data=None, method=None):
        if url.endswith("/logs"):
            for i in finishing:
                picture = np.full((8, 8, 3), i, np.uint8)
                cv2.imwrite(str(plan.output / frame_name(plan, i)), picture)
            return {"logs": logs}
        if "/api/jobs/restyle-" in url:
            return {"status": status}
        return {}  # the version, the submission

    return answer


def run_ended(placed, monkeypatch, status: str, logs: str):
    """The result of a job that ended ``status`` with ``logs``, frame 0 there before it
    (reused) and frames 1 and 2 written by it."""
    job, plan = placed
    node_manifest(job, plan)  # an earlier run's, as its node wrote it: its frame kept
    cv2.imwrite(str(plan.output / frame_name(plan, 0)), np.zeros((8, 8, 3), np.uint8))
    monkeypatch.setattr(ray_submit, "_request", dashboard(plan, status, logs, [1, 2]))
    return RaySubmission(job, "head:8265", poll_s=0.0).run()


@pytest.mark.parametrize("status", ["STOPPED", "FAILED"])
def test_the_short_cancelled_record_is_a_cancelled_result(placed, monkeypatch, status):
    """FAILED too: SIGTERM from a scheduler, not Ray's stop, while the words were read."""
    _, plan = placed
    logs = 'restyle: cancelled\n{"cancelled": true}\n'
    result = run_ended(placed, monkeypatch, status, logs)
    assert result.cancelled
    assert result.output == plan.output and result.style == plan.style.id
    assert result.frame_files == [plan.output / frame_name(plan, i) for i in (0, 1, 2)]
    assert (result.written, result.reused) == (2, 1)


@pytest.mark.parametrize("logs", ["", "Traceback (most recent call last):\n"])
def test_a_job_stopped_before_it_printed_anything_is_a_cancelled_result(placed, monkeypatch, logs):
    """Ray's stop in the command's start-up: SIGTERM's default ends it, 143, no record."""
    _, plan = placed
    result = run_ended(placed, monkeypatch, "STOPPED", logs)
    assert result.cancelled
    assert result.output == plan.output and result.style == plan.style.id
    assert (result.written, result.reused) == (2, 1)


@pytest.mark.parametrize(
    ("logs", "said"),
    [("", "FAILED"), ("Killed\n", "Killed")],
)
def test_a_job_that_ended_failed_with_no_record_is_still_a_failure(placed, monkeypatch, logs, said):
    """No stop was asked for (Ray would say STOPPED): a crash, the OOM killer, a SIGTERM
    from elsewhere that left no record. Not a cancel."""
    with pytest.raises(RestyleError) as failed:
        run_ended(placed, monkeypatch, "FAILED", logs)
    assert str(failed.value) == f"the Ray job failed: {said}"
