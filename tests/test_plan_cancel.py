"""A Ray run's cut scan (plan.detect_plan, one decode pass over the whole range, minutes for
an hour of footage) stops at a cancel: Ctrl-C and SIGTERM only set the run's CancelToken
(cli._interactive), and a Ray stop sends SIGKILL 3 s after its SIGTERM, so a scan that
ignored the token ran on until it was killed, leaving the run's lock and folder behind."""

from __future__ import annotations

import pytest

from restyle.core.errors import Cancelled
from restyle.core.plan import detect_plan, plan_for
from restyle.core.progress import CancelToken

from clips import make_index_clip


class CancelledAfter(CancelToken):
    """A token that reads as set from its ``checks + 1``-th look on: a cancel mid-scan."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.looks = 0
        self.checks = checks

    @property
    def cancelled(self) -> bool:
        self.looks += 1
        return self.looks > self.checks


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_index_clip(tmp_path_factory.mktemp("scan") / "scan.mp4", 60, gop=12)


def test_a_cancel_stops_the_cut_scan_at_the_next_frame(clip):
    token = CancelledAfter(5)
    with pytest.raises(Cancelled, match="after 5 frames"):
        detect_plan(clip, 0, 59, cancel=token)
    assert token.looks == 6  # one look per frame: nothing decoded after it


def test_a_cancel_before_the_scan_decodes_nothing_more(clip):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled, match="after 0 frames"):
        detect_plan(clip, 0, 59, cancel=token)


def test_plan_for_passes_the_token_on(clip):
    class Job:
        source, temporal = clip, 0.5

    class Checked:
        start, end, info = 0, 59, None

    token = CancelledAfter(3)
    with pytest.raises(Cancelled, match="after 3 frames"):
        plan_for(Job(), Checked(), 100, cancel=token)
    assert len(plan_for(Job(), Checked(), 100, cancel=CancelToken()).chunks) == 1


def test_without_a_token_the_scan_runs_to_the_end(clip):
    plan = detect_plan(clip, 0, 59, max_frames=100)
    assert (plan.start, plan.end, plan.cuts) == (0, 59, ())


def test_a_ray_run_cancelled_during_its_cut_scan_ends_as_a_cancel(
    library, index_clip_h264, tmp_path, monkeypatch
):
    """run_on_ray hands its token to the scan, and a scan stopped so ends the run as a
    cancel with nothing written: no chunk is sent (the stand-in cluster would fail them)."""
    from restyle.core import ray_runner
    from restyle.core.job import StyleJob

    class NoCluster:
        def __getattr__(self, name):
            raise AssertionError(f"the cancelled run used the cluster's {name}")

    monkeypatch.setattr(ray_runner, "connect", lambda address: NoCluster())
    monkeypatch.setattr(ray_runner, "check_nodes", lambda *args: None)
    job = StyleJob(index_clip_h264, tmp_path / "out", "comic-ink", library=library)
    result = ray_runner.run_on_ray(job, "auto", cancel=CancelledAfter(5))
    assert result.cancelled
    assert not (tmp_path / "out").exists()
