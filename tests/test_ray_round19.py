"""Ray stop, round 19.

1. A stopped --ray run lands its tasks' frames once it knows no task writes there any more:
   the driver landed them first and only then waited for each staging folder's lock (what
   proves its task has stopped), so a frame a slowly killed task wrote in between stayed in
   staging, missing from the output and the summary (CI: frame 4 staged, not in the output,
   test_sigterm_to_a_ray_run_moves_the_staged_frames_into_the_output). Waiting for Ray to
   say the tasks ended (a824600's STOP_WAIT_S) proves nothing: a force-cancelled task's
   result resolves as soon as Ray has sent its kill. No cluster: a stand-in Ray whose task
   holds its staging folder's lock and writes one more frame (as its writer does, a scratch
   file renamed) after the driver's first landing, then dies.
2. A submission stopped on the cluster counts a frame as reused only if it was there before
   the job was submitted: one its node wrote while the submission was being answered was
   counted reused, not written.
"""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from test_late_core_round17 import node_manifest

from restyle.core import ray_runner, ray_submit
from restyle.core.errors import Cancelled
from restyle.core.job import frame_name
from restyle.core.plan import Chunk, Plan
from restyle.core.progress import CancelToken
from restyle.core.ray_submit import RaySubmission
from restyle.core.writers import OutputLock, lock_path


class LateTask:
    """A task killed slowly: it holds its staging folder's lock as its job does, has one
    frame finished, and once the driver has landed that one it finishes another (scratch
    file renamed into place) and leaves a half-written one, then dies (its lock let go by
    the system, the lock file left behind)."""

    def __init__(self, staging, landed: threading.Event) -> None:
        staging.mkdir(parents=True, exist_ok=True)
        self.staging = staging
        self.lock = OutputLock(staging)
        self.lock.acquire()
        (staging / "000070.png").write_bytes(b"finished before the stop")
        self.landed = landed
        self.thread = threading.Thread(target=self._finish_late)
        self.thread.start()

    def _finish_late(self) -> None:
        try:
            if not self.landed.wait(timeout=60):
                return
            temp = self.staging / ".000071.png.0123abcd.restyle-part"
            temp.write_bytes(b"finished after the first landing")
            os.replace(temp, self.staging / "000071.png")
            (self.staging / ".000072.png.4567cdef.restyle-part").write_bytes(b"half")
        finally:
            os.close(self.lock._handle)  # died: the lock goes with it, its file stays


class SlowKillRay:
    """What ``run_chunks`` asks of Ray. Cancel asks for the kill; Ray's wait says the task
    ended at once (its result resolves as soon as the kill is sent), the task still alive."""

    def __init__(self, cancel: CancelToken, landed: threading.Event) -> None:
        self.cancel_token = cancel
        self.landed = landed
        self.tasks: list[LateTask] = []

    def get_runtime_context(self):
        return SimpleNamespace(get_node_id=lambda: "ab" * 28)

    def remote(self, **_options):
        ray = self

        def wrap(target):
            if isinstance(target, type):  # the progress board
                board = SimpleNamespace(
                    report=SimpleNamespace(remote=lambda *a: None),
                    total=SimpleNamespace(remote=lambda: 0),
                )
                return SimpleNamespace(options=lambda **_: SimpleNamespace(remote=lambda: board))

            def start(job_type, fields, chunk, landing, *rest):
                staging = ray_runner.chunk_output_folder(landing.folder, chunk)
                task = LateTask(staging, ray.landed)
                ray.tasks.append(task)
                return task

            return SimpleNamespace(remote=start)

        return wrap

    def put(self, value):
        return value

    def get(self, value):
        return value if isinstance(value, list) else 0

    def wait(self, pending, num_returns, timeout):
        if not self.cancel_token.cancelled:
            self.cancel_token.cancel()  # stopped while the task runs (SIGTERM's cancel)
            return [], pending
        return pending, []  # "ended": Ray resolves a force-cancelled task at once

    def cancel(self, task, force):
        assert force  # the kill is on its way; the task has not died yet


def test_a_frame_a_slowly_killed_task_finishes_after_the_landing_is_landed(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    plan = Plan(70, 79, (), (Chunk(70, 79),))
    landing = ray_runner.Landing(out, ".png")
    staging = ray_runner.chunk_output_folder(out, plan.chunks[0])
    landed = threading.Event()
    land = ray_runner.link_owned_frames

    def driver_lands(where, own, chunk):
        count = land(where, own, chunk)
        landed.set()  # the driver's first landing is done: the task goes on writing
        return count

    monkeypatch.setattr(ray_runner, "link_owned_frames", driver_lands)
    cancel = CancelToken()
    ray = SlowKillRay(cancel, landed)
    fields = {"job_type": SimpleNamespace(stage="stylize")}
    with pytest.raises(Cancelled):
        ray_runner.run_chunks(ray, fields, plan, landing, cancel=cancel)
    for task in ray.tasks:
        task.thread.join(timeout=30)
    assert (out / "000070.png").read_bytes() == b"finished before the stop"
    assert (out / "000071.png").read_bytes() == b"finished after the first landing"
    assert not (out / "000072.png").exists()  # a frame half written is never landed
    assert ray_runner._finished(landing, plan) == {70, 71}  # what the summary counts
    assert not lock_path(staging).exists()
    left = sorted(p.name for p in staging.iterdir())
    assert left == ["000070.png", "000071.png"]  # kept for a rerun, no scratch file


def test_a_chunk_whose_task_still_runs_is_neither_landed_again_nor_cleared(tmp_path):
    """Its lock held past the patience: the task's own (it lands its frames itself)."""
    out = tmp_path / "out"
    plan = Plan(0, 9, (), (Chunk(0, 9),))
    staging = ray_runner.chunk_output_folder(out, plan.chunks[0])
    staging.mkdir(parents=True)
    landing = ray_runner.Landing(out, ".png")
    with OutputLock(staging):
        (staging / "000003.png").write_bytes(b"written while it still runs")
        scratch = staging / ".000004.png.0123abcd.restyle-part"
        scratch.write_bytes(b"half")
        ray_runner.clear_stopped_tasks(out, plan, patience_s=0.1, landing=landing)
        assert lock_path(staging).is_file()
        assert scratch.is_file()
        assert not (out / "000003.png").exists()


def dashboard(plan, status_after_stop: str, writes_on_submit: list[int]):
    """A cluster whose node writes ``writes_on_submit`` while the submission is answered;
    the job runs until it is stopped, then says ``status_after_stop``."""
    stopped = []

    def answer(url, data=None, method=None):
        if url.endswith("/api/jobs/"):  # the submission: the node starts at once
            for i in writes_on_submit:
                picture = np.full((8, 8, 3), i, np.uint8)
                cv2.imwrite(str(plan.output / frame_name(plan, i)), picture)
            return {"submission_id": data["submission_id"]}
        if url.endswith("/stop"):
            stopped.append(url)
            return {"stopped": True}
        if url.endswith("/logs"):
            return {"logs": ""}
        if "/api/jobs/restyle-" in url:
            return {"status": status_after_stop if stopped else "RUNNING"}
        return {}  # the version

    return answer


@pytest.mark.parametrize("status", ["STOPPED", "RUNNING"])
def test_frames_written_while_submitting_count_as_written_not_reused(placed, monkeypatch, status):
    """Esc (a cancel token) on a run whose node wrote frames 1 and 2 as it was submitted,
    frame 0 there before (reused). RUNNING: a node slow to stop (the wait gives up)."""
    job, plan = placed
    node_manifest(job, plan)  # an earlier run's, as its node wrote it: its frame kept
    cv2.imwrite(str(plan.output / frame_name(plan, 0)), np.zeros((8, 8, 3), np.uint8))
    monkeypatch.setattr(ray_submit, "_request", dashboard(plan, status, [1, 2]))
    monkeypatch.setattr(ray_submit, "STOP_PATIENCE_S", 0.0)
    cancel = CancelToken()
    cancel.cancel()
    result = RaySubmission(job, "head:8265", poll_s=0.0).run(cancel=cancel)
    assert result.cancelled
    assert result.frame_files == [plan.output / frame_name(plan, i) for i in (0, 1, 2)]
    assert (result.written, result.reused) == (2, 1)
