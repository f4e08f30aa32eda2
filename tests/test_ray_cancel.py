"""Esc on a Run on: Ray job ends it as a cancel, as a local run's Esc does: a cancelled
result naming the frames kept, not a failure. ``RaySubmission`` raised ``Cancelled`` (a
RestyleError with no message), and Blender said 'Failed: ' with nothing after it. No Ray
needed: a stand-in dashboard answers as a cluster's does, and writes the frames its node
would have finished."""

from __future__ import annotations

import cv2
import numpy as np
from test_late_core_round17 import node_manifest

from restyle.core import ray_submit
from restyle.core.job import frame_name
from restyle.core.ray_submit import RaySubmission
from restyle.operators.runner import Worker


class Dashboard:
    """A Ray dashboard whose job writes ``finishing`` frames of ``plan`` and reports them,
    then runs on until it is stopped (STOPPED once the stop was asked for)."""

    def __init__(self, plan, finishing: list[int]) -> None:
        self.plan, self.finishing = plan, finishing
        self.stop_asked = False
        self.after_stop: list[str] = []  # the statuses read once the stop was asked for

    def __call__(self, url, data=None, method=None):
        if url.endswith("/stop"):
            self.stop_asked = True
            return {"stopped": True}
        if url.endswith("/logs"):
            for i in self.finishing:
                picture = np.full((8, 8, 3), i, np.uint8)
                cv2.imwrite(str(self.plan.output / frame_name(self.plan, i)), picture)
            done = len(self.finishing)
            return {"logs": f'{{"event": "progress", "done": {done}, "total": 4, "fps": 1.0}}\n'}
        if "/api/jobs/restyle-" in url:
            if self.stop_asked:
                self.after_stop.append("STOPPED")
                return {"status": "STOPPED"}
            return {"status": "RUNNING"}
        return {}  # the version, the submission


def esc_once_reported(worker: Worker) -> None:
    """Esc as soon as the job reports progress (``Worker._progress``, as Blender's is)."""
    report = worker._progress

    def then_esc(progress):
        report(progress)
        worker.token.cancel()

    worker._progress = then_esc


def test_esc_on_a_ray_job_ends_it_as_a_cancel_keeping_its_frames(placed, monkeypatch):
    job, plan = placed
    node_manifest(job, plan)  # the cancelled run's, as its node wrote it
    kept_before = plan.output / frame_name(plan, 0)  # a cancelled run's frame: reused
    cv2.imwrite(str(kept_before), np.zeros((8, 8, 3), np.uint8))
    dashboard = Dashboard(plan, [0, 1, 2])
    monkeypatch.setattr(ray_submit, "_request", dashboard)
    worker = Worker(RaySubmission(job, "head:8265", poll_s=0.0))
    esc_once_reported(worker)
    worker.run()
    kind, result = worker.poll()
    assert kind == "done" and result.cancelled
    assert result.frame_files == [plan.output / frame_name(plan, i) for i in (0, 1, 2)]
    assert (result.written, result.reused) == (2, 1)
    assert result.output == plan.output and result.style == plan.style.id
    assert dashboard.stop_asked and dashboard.after_stop == ["STOPPED"]  # waited for it


def test_a_ray_job_cancelled_before_any_frame_keeps_none(placed, monkeypatch):
    job, plan = placed
    monkeypatch.setattr(ray_submit, "_request", Dashboard(plan, []))
    worker = Worker(RaySubmission(job, "head:8265", poll_s=0.0))
    worker.token.cancel()  # Esc before the first answer
    worker.run()
    kind, result = worker.poll()
    assert kind == "done" and result.cancelled
    assert (result.frame_files, result.written, result.reused) == ([], 0, 0)
