"""The near-empty matte warning where round 24 left it unsaid: a --ray run (its chunks report
their share of the picture, the driver warns once, by core's one rule) and a rerun that
finds the matte's movie finished (measured from the movie's own alpha, sampled).

Footage: OpenCV's vtest.avi (768x576, a street filmed from high up: the selfie network
finds almost nobody, the matte keeps ~0.3% of frames 0-7), and round 24's photographs
(tests/test_matte24.py: the astronaut fills the frame, ~54%)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from restyle.core.cli import main
from restyle.core.mappings.matte import NEARLY_EMPTY
from restyle.core.mappings.matte_job import MatteJob
from restyle.core.plan import plan_chunks

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from real_footage import FootageUnavailable, real_clip  # noqa: E402

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # every test node on 127.0.0.1

WORDS = "the matte keeps almost nothing ("
QUICK = {"temporal": 0.0, "backend": "onnx", "end": 7}  # 8 frames, each chunk's as local's


@pytest.fixture(scope="module")
def street():
    try:
        return real_clip("vtest")
    except FootageUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def home(matte_library, monkeypatch):
    monkeypatch.setenv("RESTYLE_HOME", str(matte_library.root))
    return matte_library


def _warned(warnings: list[str]) -> list[str]:
    return [w for w in warnings if w.startswith(WORDS)]


def _chunks() -> object:
    return plan_chunks(0, 7, [], max_frames=3, warmup=1)


@pytest.mark.slow
def test_a_ray_run_warns_as_one_machine_does(home, street, cluster, tmp_path):
    """On a real two-node cluster: the chunks' shares pooled say what one machine's run
    says, once; a rerun that finds every frame landed reads them back and says it again."""
    from restyle.core.ray_runner import run_on_ray

    local_job = MatteJob(street, tmp_path / "local", library=home, **QUICK)
    (local,) = _warned(local_job.run().warnings)
    assert "frames 0-7)" in local and local_job.coverage < NEARLY_EMPTY
    job = MatteJob(street, tmp_path / "ray", library=home, **QUICK)
    result = run_on_ray(job, cluster.address, plan=_chunks())
    assert result.written == 8 and _warned(result.warnings) == [local]
    assert job.coverage == pytest.approx(local_job.coverage, rel=1e-9)
    again = run_on_ray(job, cluster.address, plan=_chunks())
    assert again.finished_before and _warned(again.warnings) == [local]


def test_a_ray_run_counts_the_frames_landed_before(home, in_process, tmp_path):
    """Frames 0-3 (the astronaut) landed by an earlier run, 4-7 (the rocket) made by a
    chunk now: the matte over 0-7 keeps a quarter of the picture, no warning; the rocket's
    chunk alone warns, naming its frames."""
    from test_matte24 import SIZE, photo_clip

    from restyle.core.ray_runner import run_on_ray

    clip = photo_clip(tmp_path / "mixed.mkv", ["astronaut"] * 4 + ["rocket"] * 4)
    options = {**QUICK, "library": home}
    MatteJob(clip, tmp_path / "out", **{**options, "end": 3}).run()
    job = MatteJob(clip, tmp_path / "out", **options)
    result = run_on_ray(job, "auto", plan=plan_chunks(0, 7, [], max_frames=4, warmup=0))
    assert (result.reused, result.written) == (4, 4) and _warned(result.warnings) == []
    assert 0.15 < job.coverage < 0.4, (job.coverage, SIZE)
    alone = MatteJob(clip, tmp_path / "rocket", **{**options, "start": 4})
    result = run_on_ray(alone, "auto", plan=plan_chunks(4, 7, [], max_frames=2, warmup=1))
    (said,) = _warned(result.warnings)
    assert "frames 4-7)" in said and alone.coverage < NEARLY_EMPTY


def test_a_finished_movie_warns_again(home, street, tmp_path, capsys):
    """A rerun into the movie these settings made has nothing to do; it reads the movie's
    alpha back (8 frames sampled) and says what the run that made it said."""
    movie = tmp_path / "matte.mkv"
    argv = ["matte", str(street), "-o", str(movie), "--end", "7", "--temporal", "0"]
    assert main([*argv, "--format", "ffv1"]) == 0
    (made,) = [line for line in capsys.readouterr().err.splitlines() if WORDS in line]
    assert main([*argv, "--format", "ffv1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["reused"] == 8 and record["written"] == 0
    assert _warned(record["warnings"]) == [made.split(": ", 2)[2]]  # the same share: lossless
    job = MatteJob(street, movie, format="ffv1", library=home, **QUICK)
    result = job.run()
    assert result.finished_before and job.coverage < NEARLY_EMPTY
    assert len(_warned(result.warnings)) == 1


def test_a_finished_ray_movie_warns_again(home, street, in_process, tmp_path):
    """A --ray run into a movie muxes its chunks' frames and warns; run again, it finds the
    movie finished (no chunk runs) and warns from the movie's alpha."""
    from restyle.core.ray_runner import run_on_ray

    def run():
        job = MatteJob(street, tmp_path / "matte.mov", format="prores", library=home, **QUICK)
        return job, run_on_ray(job, "auto", plan=_chunks())

    job, result = run()
    (said,) = _warned(result.warnings)
    assert result.written == 8 and "frames 0-7)" in said
    job, result = run()
    assert result.finished_before and result.written == 0
    (again,) = _warned(result.warnings)
    assert again.split(" of the picture")[1] == said.split(" of the picture")[1]
    assert job.coverage == pytest.approx(float(said.split(WORDS)[1].split("%")[0]) / 100, abs=2e-3)


def test_a_ray_movie_muxed_from_frames_landed_before_warns(
    home, street, in_process, tmp_path, monkeypatch
):
    """A --ray run stopped in its mux keeps its frames for a rerun, which runs no chunk and
    muxes them: the landed frames are read for the warning before the mux drops them."""
    from restyle.core import ray_runner
    from restyle.core.errors import Cancelled

    def stopped(*args, **kwargs):
        raise Cancelled()

    mux = ray_runner._mux
    monkeypatch.setattr(ray_runner, "_mux", stopped)
    job = MatteJob(street, tmp_path / "matte.mov", format="prores", library=home, **QUICK)
    result = ray_runner.run_on_ray(job, "auto", plan=_chunks())
    assert result.cancelled and _warned(result.warnings) == []
    monkeypatch.setattr(ray_runner, "_mux", mux)
    result = ray_runner.run_on_ray(job, "auto", plan=_chunks())
    assert (result.written, result.reused, result.cancelled) == (0, 8, False)
    assert (tmp_path / "matte.mov").is_file()
    (said,) = _warned(result.warnings)
    assert "frames 0-7)" in said and job.coverage < NEARLY_EMPTY


def test_people_in_a_finished_movie_are_not_warned_of(home, tmp_path):
    from test_matte24 import photo_clip

    clip = photo_clip(tmp_path / "astronaut.mkv", ["astronaut"] * 4)
    options = {**QUICK, "end": 3, "format": "ffv1", "library": home}
    MatteJob(clip, tmp_path / "matte.mkv", **options).run()
    job = MatteJob(clip, tmp_path / "matte.mkv", **options)
    result = job.run()
    assert result.finished_before and job.coverage > 0.3, job.coverage
    assert _warned(result.warnings) == []


# -- composited output (--replace): its alpha is gone, so what was kept is matted again ----
def test_a_finished_composited_movie_warns_again(home, street, tmp_path, capsys):
    """--replace writes no alpha to read back: the finished movie's rerun mattes 8 of its
    source frames again with the same settings (without coherence): the words the run that
    made it said, exactly where that run had none (--temporal 0, every frame sampled)."""
    movie = tmp_path / "green.mp4"
    argv = ["matte", str(street), "-o", str(movie), "--end", "7", "--replace", "#00FF00"]
    for temporal in ("0", "0.6"):
        movie.unlink(missing_ok=True)
        assert main([*argv, "--temporal", temporal, "--backend", "onnx"]) == 0
        (made,) = [line for line in capsys.readouterr().err.splitlines() if WORDS in line]
        assert main([*argv, "--temporal", temporal, "--backend", "onnx", "--json"]) == 0
        record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert record["written"] == 0 and record["reused"] == 8
        (again,) = _warned(record["warnings"])
        if temporal == "0":
            assert again == made.split(": ", 2)[2]
        else:  # coherence steadies the matte; its mean hardly moves
            share = [float(w.split(WORDS)[1].split("%")[0]) for w in (again, made)]
            assert abs(share[0] - share[1]) <= 0.1, share


def test_a_composited_resume_counts_the_frames_kept(home, in_process, tmp_path):
    """Frames 0-3 (the astronaut, composited) kept, 4-7 (the rocket) made now, on one
    machine and on Ray: a quarter of the picture kept over 0-7, no warning (the kept frames,
    without alpha, were left out: the rocket's frames alone warned of 0-7)."""
    from test_matte24 import photo_clip

    from restyle.core.ray_runner import run_on_ray

    clip = photo_clip(tmp_path / "mixed.mkv", ["astronaut"] * 4 + ["rocket"] * 4)
    options = {**QUICK, "library": home, "replace": "blur"}

    def run(where: str, end: int):
        job = MatteJob(clip, tmp_path / where, **{**options, "end": end})
        if where == "local":
            return job, job.run()
        chunks = plan_chunks(0, end, [], max_frames=4, warmup=0)
        return job, run_on_ray(job, "auto", plan=chunks)

    for where in ("local", "ray"):
        run(where, 3)
        job, result = run(where, 7)
        assert (result.reused, result.written) == (4, 4), where
        assert 0.15 < job.coverage < 0.4 and _warned(result.warnings) == [], (where, job.coverage)
    again = MatteJob(clip, tmp_path / "local", **options)
    result = again.run()  # finished: every frame composited, matted again
    assert result.finished_before and again.coverage == pytest.approx(job.coverage, abs=0.02)
