"""A local run into a movie, cancelled, says so and what is kept (nothing: a movie is written
whole or not at all), not '0 frames styled in 7.8 s (0.00 frames/s)', which reads like a
hang. A real cancelled run's result, worded by the command line."""

from __future__ import annotations

import argparse

from restyle.core.cli import _report_run
from restyle.core.job import StyleJob
from restyle.core.progress import CancelToken

from clips import noise_shot


def test_a_cancelled_movie_says_cancelled_and_nothing_kept(library, tmp_path, capsys):
    shot = noise_shot(tmp_path / "shot", 6)
    out = tmp_path / "film.mp4"
    token = CancelToken()

    def progress(p):
        if p.stage == "stylize" and p.done >= 2:
            token.cancel()

    job = StyleJob(shot, out, "comic-ink", max_side=64, temporal=0.0, library=library)
    result = job.run(progress=progress, cancel=token)
    assert result.cancelled and not out.exists()
    capsys.readouterr()
    args = argparse.Namespace(json=False, quiet=False, ray=None)
    assert _report_run(args, result, "h264", "styled", {}) == 130
    text = capsys.readouterr().out
    assert text.startswith(f"{out}: cancelled after "), text
    assert "no movie written" in text and "0 frames styled" not in text
    assert "frames/s" not in text
    assert "cancelled: nothing kept (a movie cannot be resumed); a rerun starts over" in text
