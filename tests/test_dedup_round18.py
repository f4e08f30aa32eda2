"""Round 18's de-duplication review: one wording for a cancelled movie (local or --ray),
one frame-span helper, one time-budget check, one painting reader, and another job's output
named by the job its record says ran, not by its style's id."""

from __future__ import annotations

import argparse

from restyle.core.cli import _report_run
from restyle.core.job import JobResult


# -- 1. a --ray movie cancelled before its first frame: 'cancelled after N s' -----------
def cancelled_summary(capsys, ray: str | None) -> list[str]:
    result = JobResult("out.mp4", [], cancelled=True, style="starry-swirls", seconds=1.3)
    args = argparse.Namespace(json=False, quiet=False, ray=ray)
    assert _report_run(args, result, "h264", "styled", {}) == 130
    return capsys.readouterr().out.splitlines()


def test_a_ray_movie_cancelled_before_any_frame_says_it_as_a_local_one(capsys):
    """It printed 'out.mp4: 0 frames styled in 1.3 s (0.00 frames/s)' under --ray."""
    ray, local = cancelled_summary(capsys, "auto"), cancelled_summary(capsys, None)
    assert ray[0] == local[0] == "out.mp4: cancelled after 1.3 s; no movie written", ray
    assert ray[1:] == ["cancelled: no frame finished; nothing kept"], ray
