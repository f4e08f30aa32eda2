"""A cancelled --ray run into a movie keeps its chunks' finished frames (README: "Ctrl-C
(or SIGTERM) cancels every task and keeps every finished frame"), in the movie's hidden
frames folder, where a rerun with --ray resumes and muxes. The command line said
"cancelled: nothing kept (a movie cannot be resumed)", a local movie's words. No cluster:
the summary of such a run's result, the folder named being the one run_on_ray writes."""

from __future__ import annotations

import argparse

from restyle.core.cli import _report_run
from restyle.core.job import JobResult, StyleJob
from restyle.core.ray_runner import frames_folder


def summary(capsys, result, ray: str | None) -> str:
    args = argparse.Namespace(json=False, quiet=False, ray=ray)
    capsys.readouterr()
    assert _report_run(args, result, "h264", "styled", {}) == 130
    return capsys.readouterr().out


def test_a_cancelled_ray_movie_says_where_its_frames_are_kept(capsys, tmp_path):
    movie = tmp_path / "film.mp4"
    job = StyleJob(tmp_path / "in.mp4", movie, "starry-swirls")
    result = JobResult(movie, [], written=5, reused=2, cancelled=True, style="starry-swirls")
    text = summary(capsys, result, "auto")
    assert "nothing kept" not in text
    assert f"cancelled: 7 finished frames kept in {frames_folder(job)} (no movie yet)" in text
    assert "rerun with --ray to resume" in text


def test_a_ray_movie_cancelled_before_any_frame_keeps_nothing(capsys, tmp_path):
    result = JobResult(tmp_path / "film.mp4", [], cancelled=True, style="starry-swirls")
    assert "cancelled: no frame finished; nothing kept" in summary(capsys, result, "auto")


def test_a_local_movie_cancelled_keeps_nothing_as_before(capsys, tmp_path):
    result = JobResult(tmp_path / "film.mp4", [], written=5, cancelled=True, style="x")
    assert "cancelled: nothing kept (a movie cannot be resumed)" in summary(capsys, result, None)
