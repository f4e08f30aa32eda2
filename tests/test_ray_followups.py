"""--ray reruns into a finished movie as one machine's do (66b735b, 277ca90): the movie these
settings made is finished with or without --overwrite (a farm passes it on every retry; the
hidden frames folder went with the mux, so the rerun styled everything again), and a movie
muxed on Ray keeps its run's facts in its tag (``writers.made_facts``): a finished rerun
names the engine that made it, and a refusal says what differs."""

from __future__ import annotations

import os

import pytest
from helpers_cli import run
from test_ray import cluster  # noqa: F401  (the cluster fixture, started only when asked)

from restyle.core.cli import main

from clips import noise_shot

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # as test_ray: loopback only


@pytest.fixture
def shot(tmp_path):
    return noise_shot(tmp_path / "shot", seed=5)


def stylize(library, shot, out, *words):
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--backend", "onnx"]
    return [*argv, *words, "--library", str(library.root)]


def closed_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"  # closed again: nothing answers there


def test_ray_overwrite_keeps_the_movie_these_settings_made(library, shot, tmp_path, capsys):
    """No cluster needed: a finished movie is answered before the cluster is asked."""
    out = tmp_path / "out.mp4"
    code, first, err = run(stylize(library, shot, out), capsys)
    assert code == 0 and first["written"] == 4, err
    before, data = out.stat(), out.read_bytes()
    for words in ([], ["--overwrite"]):
        code, again, err = run(stylize(library, shot, out, "--ray", closed_port(), *words), capsys)
        assert code == 0, err
        assert (again["written"], again["reused"], again["finished_before"]) == (0, 4, True)
        assert (again["backend"], again["device"]) == (first["backend"], first["device"])
    after = out.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert out.read_bytes() == data


@pytest.mark.slow
def test_a_ray_made_movie_says_what_made_it(cluster, library, shot, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "out.mkv"
    ray = ["--ray", cluster.address, "--chunk-frames", "2"]
    code, first, err = run(stylize(library, shot, out, *ray), capsys)
    assert code == 0 and first["written"] == 4 and not first["finished_before"], err
    assert (first["backend"], first["device"]) == ("onnx", "cpu")
    data = out.read_bytes()
    for words in (ray, [*ray, "--overwrite"], []):  # Ray's reruns and one machine's
        code, again, err = run(stylize(library, shot, out, *words), capsys)
        assert code == 0 and again["finished_before"], err
        assert (again["written"], again["reused"]) == (0, 4)
        assert (again["backend"], again["device"]) == ("onnx", "cpu")
    assert out.read_bytes() == data
    code, _, err = run(stylize(library, shot, out, *ray, "--strength", "0.5"), capsys)
    assert code != 0 and "made with other settings (--strength 1.0, now 0.5)" in err, err


@pytest.mark.slow
def test_a_ray_runs_summary_names_a_plates_frames(cluster, library, tmp_path, capsys):  # noqa: F811
    """The summary's numbering line, as one machine's (the run's frame_files: Ray's had none)."""
    from test_sequence_numbers import plate

    folder = plate(tmp_path / "plate", 1001)
    argv = ["stylize", str(folder), "-s", "comic-ink", "--temporal", "0"]
    argv += ["--library", str(library.root)]
    named = "frames named by the source's numbers: 001001.png .. 001004.png"
    assert main([*argv, "-o", str(tmp_path / "local")]) == 0
    assert named in capsys.readouterr().out
    assert (
        main([*argv, "-o", str(tmp_path / "ray"), "--ray", cluster.address, "--chunk-frames", "2"])
        == 0
    )
    assert named in capsys.readouterr().out
