"""A cancelled run's closing line counts what it really keeps, in words ('1 finished frame',
not '1 finished frames'). A frame folder keeps the frames this run wrote and those it
reused from the run before: a resumed run cancelled again said '0 finished frames kept'
while the frames it reused stayed on disk (it counted only ``written``). A cancelled --ray
movie's line (b4d42a1) counted both already; its one frame is now singular."""

from __future__ import annotations

import argparse

from restyle.core.cli import _report_run
from restyle.core.job import JobResult, StyleJob
from restyle.core.progress import CancelToken
from restyle.core.ray_runner import frames_folder

from clips import noise_shot


def summary(capsys, result, fmt: str = "png", ray: str | None = None) -> str:
    args = argparse.Namespace(json=False, quiet=False, ray=ray)
    capsys.readouterr()
    assert _report_run(args, result, fmt, "styled", {}) == 130
    return capsys.readouterr().out


def test_a_resumed_folder_cancelled_again_counts_the_frames_it_reused(library, tmp_path, capsys):
    shot = noise_shot(tmp_path / "shot", 6, seed=5)
    out = tmp_path / "out"

    def job(**options):
        return StyleJob(shot, out, "comic-ink", temporal=0.0, library=library, **options)

    assert job(end=2).run().written == 3  # the run before: frames 0..2
    token = CancelToken()
    token.cancel()  # cancelled again before it styles a frame of its own
    result = job().run(cancel=token)
    assert result.cancelled and (result.written, result.reused) == (0, 3)
    kept = sorted(p.name for p in out.glob("*.png"))
    assert kept == ["000000.png", "000001.png", "000002.png"]
    text = summary(capsys, result)
    assert "cancelled: 3 finished frames kept; rerun to resume" in text, text


def test_one_frame_kept_is_one_frame(capsys, tmp_path):
    folder = JobResult(tmp_path / "out", [], written=1, cancelled=True, style="x")
    assert "cancelled: 1 finished frame kept; rerun to resume" in summary(capsys, folder)
    none = JobResult(tmp_path / "out", [], cancelled=True, style="x")
    assert "cancelled: no frame finished; nothing kept" in summary(capsys, none)
    movie = tmp_path / "film.mp4"
    job = StyleJob(tmp_path / "in.mp4", movie, "starry-swirls")
    ray = JobResult(movie, [], reused=1, cancelled=True, style="x")
    text = summary(capsys, ray, "h264", "auto")
    assert f"cancelled: 1 finished frame kept in {frames_folder(job)} (no movie yet)" in text
