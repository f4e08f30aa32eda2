"""Run on: Ray's progress in Blender says what a local run's says: the stage the node's
``--json`` events name (``setup``, ``stylize``, a stabiliser's ``track``...), its count and
the ETA from its rate. ``progress_from_logs`` read every event as stage ``ray``, which the
sidebar draws as an empty bar saying "Ray…" for the whole run. No Ray needed: the events
are the command line's own (``cli._JsonEvents``), read back by a stand-in dashboard."""

from __future__ import annotations

import argparse
import json

import pytest

from restyle.core import ray_submit
from restyle.core.cli import _JsonEvents, _report_run
from restyle.core.progress import Progress
from restyle.core.ray_submit import RaySubmission, progress_from_logs


def printed(events: list[Progress], capsys) -> list[str]:
    """The lines ``restyle stylize --json`` prints on stderr for these progress reports."""
    say = _JsonEvents()
    capsys.readouterr()
    for p in events:
        say(p)
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(line.startswith(ray_submit.EVENT_PREFIX) for line in lines)
    return lines


def closing_record(plan, capsys) -> str:
    from restyle.core.job import JobResult

    args = argparse.Namespace(json=True, quiet=False)
    result = JobResult(plan.output, [], written=4, reused=0, style=plan.style.id)
    capsys.readouterr()
    assert _report_run(args, result, "png", "styled", {"style": result.style}) == 0
    return capsys.readouterr().out.strip()


class Dashboard:
    """A cluster whose job's log grows by one line per poll, then ends SUCCEEDED."""

    def __init__(self, lines: list[str], record: str) -> None:
        self.lines, self.record, self.shown = lines, record, 0

    def __call__(self, url, data=None, method=None):
        if url.endswith("/logs"):
            self.shown += 1
            logs = self.lines[: self.shown]
            if self.shown > len(self.lines):
                logs = [*logs, self.record]
            return {"logs": "\n".join(logs) + "\n"}
        if "/api/jobs/restyle-" in url:
            return {"status": "SUCCEEDED" if self.shown > len(self.lines) else "RUNNING"}
        return {}  # the version, the submission


def test_a_ray_jobs_progress_has_the_stages_of_a_local_run(placed, monkeypatch, capsys):
    job, plan = placed
    local: list[Progress] = []
    job.run(progress=local.append)  # what Blender shows for the same job run here
    stages = [p.stage for p in local]  # setup first (the network, a precision check), then
    assert stages[0] == "setup" and "setup" not in stages[stages.index("stylize") :]  # frames
    assert local[0].message == "building the network"  # before it, nothing was said
    # A node converting its styles first says so (a fresh library), as a local run does.
    setup = Progress(0, plan.total, stage="setup", message="converting styles")
    lines = printed([setup, *local], capsys)
    shown: list[Progress] = []
    monkeypatch.setattr(ray_submit, "_request", Dashboard(lines, closing_record(plan, capsys)))
    result = RaySubmission(job, "head:8265", poll_s=0.0).run(progress=shown.append)
    assert not result.cancelled and result.written == 4
    assert [(p.stage, p.done, p.total) for p in shown[: len(lines)]] == [
        (e["stage"], e["done"], e["total"]) for e in map(json.loads, lines)
    ]
    assert shown[0].stage == "setup" and shown[-1].stage == "stylize"
    assert shown[0].message == "converting styles"  # the words a local run's bar shows
    assert (shown[-1].done, shown[-1].total) == (4, 4)
    for p, line in zip(shown, lines, strict=False):  # the ETA the local meter gave, to 0.1 s
        event = json.loads(line)
        assert (p.fps, p.eta_s) == (event["fps"], event.get("eta_s")), event


@pytest.mark.parametrize("said", ['"stage": "ray", ', ""])
def test_an_older_nodes_frames_are_the_jobs_own_stage(said):
    """A node whose driver said ``ray`` for its frames, or no stage at all: the job's stage,
    so the sidebar still fills its bar."""
    line = f'{{"event": "progress", {said}"done": 3, "total": 8, "fps": 2.0}}'
    p = progress_from_logs(f"starting\n{line}\n", stage="matte")
    assert (p.stage, p.done, p.total, p.fps, p.eta_s) == ("matte", 3, 8, 2.0, 2.5)
    assert progress_from_logs(line).stage == "stylize"


def test_a_cut_off_event_is_skipped_for_the_one_before():
    whole = '{"event": "progress", "stage": "track", "done": 2, "total": 8, "fps": 0.0}'
    cut = '{"event": "progress", "stage": "stabilize", "done": 3, "tot'
    p = progress_from_logs(f"{whole}\n{cut}")
    assert (p.stage, p.done, p.eta_s) == ("track", 2, None)


def test_a_new_message_at_the_same_count_is_said(capsys):
    """stabilize's 'Smoothing the camera path' comes at track's last count: the repeat check
    must not swallow it now that events carry the message."""
    track = Progress(21, 21, stage="track", message="Tracking the camera")
    smooth = Progress(21, 21, stage="track", message="Smoothing the camera path")
    lines = printed([track, track, smooth], capsys)
    assert [json.loads(line).get("message") for line in lines] == [
        "Tracking the camera",
        "Smoothing the camera path",
    ]
