"""A Ray job stopped from outside (``ray job stop``, the dashboard, a scheduler) gets
SIGTERM: its command line keeps its finished frames, prints its closing JSON record with
"cancelled": true and exits 143 (877d766), and Ray calls it STOPPED or FAILED. That is a
cancelled result, as Esc's is, not a failure whose reason is the record's raw JSON
(Blender said 'Failed: the Ray job stopped: {"output": ...}'). No Ray needed: a stand-in
dashboard answers as a cluster's does."""

from __future__ import annotations

import argparse
import json

import pytest

from restyle.core import ray_submit
from restyle.core.cli import _report_run
from restyle.core.errors import RestyleError
from restyle.core.job import JobResult
from restyle.core.ray_submit import EVENT_PREFIX, RaySubmission


def closing_record(plan, capsys) -> str:
    """The record the node's ``restyle stylize --json`` prints when SIGTERM cancels it."""
    args = argparse.Namespace(json=True, quiet=False, cancel_code=143)
    result = JobResult(plan.output, [], written=2, reused=1, cancelled=True, style=plan.style.id)
    capsys.readouterr()
    assert _report_run(args, result, "png", "styled", {"style": result.style}) == 143
    line = capsys.readouterr().out.strip()
    assert line.startswith("{") and json.loads(line)["cancelled"] is True
    return line


def dashboard(status: str, logs: str):
    def answer(url, data=None, method=None):
        if url.endswith("/logs"):
            return {"logs": logs}
        if "/api/jobs/restyle-" in url:
            return {"status": status}
        return {}  # the version, the submission

    return answer


@pytest.mark.parametrize("status", ["STOPPED", "FAILED"])
def test_a_ray_job_stopped_from_outside_is_a_cancelled_result(placed, monkeypatch, capsys, status):
    job, plan = placed
    progress = f'{EVENT_PREFIX}, "done": 3, "total": 4, "fps": 1.0}}'
    logs = f"{progress}\n{closing_record(plan, capsys)}\n"
    monkeypatch.setattr(ray_submit, "_request", dashboard(status, logs))
    result = RaySubmission(job, "head:8265", poll_s=0.0).run()
    assert result.cancelled
    assert (result.written, result.reused) == (2, 1)
    assert result.output == plan.output and result.style == plan.style.id


def test_a_failure_is_never_worded_by_a_json_line(placed, monkeypatch):
    """A job that ended with no record of its own (killed outright) and a JSON line last
    in its log: the reason is its last line of words, not the JSON."""
    job, _ = placed
    logs = 'Killed by the scheduler\n{"output": "/x", "cancelled": false\n'  # cut short
    monkeypatch.setattr(ray_submit, "_request", dashboard("FAILED", logs))
    with pytest.raises(RestyleError) as failed:
        RaySubmission(job, "head:8265", poll_s=0.0).run()
    assert str(failed.value) == "the Ray job failed: Killed by the scheduler"
