"""A rerun into the movie these settings made is finished, --overwrite or not (--overwrite
replaces output made otherwise: a farm passing it on every retry keeps the shortcut), and
reports what its first run found, kept in the movie's tag (``writers.made_facts``) as a
frame folder keeps it in its manifest: the engine, a stabilisation's kept area and cuts.
A movie that does not say (made before the tag kept them) reports null, not [] or ""."""

from __future__ import annotations

import av
import pytest
from helpers_cli import run

from clips import encode_clip, noise_shot, pan_frames


@pytest.fixture
def shot(tmp_path):
    return noise_shot(tmp_path / "shot")


@pytest.fixture
def two_shots(tmp_path):
    """Two panning shots (a cut at frame 8), small enough to stabilize in a second."""
    frames = pan_frames(8, (96, 64), 1.5, seed=1) + pan_frames(8, (96, 64), -2.0, seed=7)
    return encode_clip(tmp_path / "two_shots.mkv", frames, codec="ffv1")


def stylize(library, shot, out, *words):
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    return [*argv, *words, "--library", str(library.root)]


def untag(movie) -> None:
    """``movie`` as a Restyle movie made before its tag kept its run's facts: the same
    pictures and count, the tag only its key and size."""
    with av.open(str(movie)) as source:
        tag = {k.lower(): v for k, v in source.metadata.items()}["comment"]
        frames = [f.to_ndarray(format="rgb24") for f in source.decode(video=0)]
    with av.open(str(movie), "w") as target:
        target.metadata["comment"] = " ".join(tag.split(" ")[:3])
        stream = target.add_stream("ffv1", rate=24)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "bgr0"
        for i, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = i
            target.mux(stream.encode(picture))
        target.mux(stream.encode(None))


def test_overwrite_keeps_the_movie_these_settings_made(library, shot, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    code, first, err = run(stylize(library, shot, out), capsys)
    assert code == 0 and first["written"] == 4, err
    before, data = out.stat(), out.read_bytes()
    code, again, err = run(stylize(library, shot, out, "--overwrite"), capsys)
    assert code == 0, err
    assert (again["written"], again["reused"], again["finished_before"]) == (0, 4, True)
    after = out.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert out.read_bytes() == data
    code, planned, _ = run(stylize(library, shot, out, "--overwrite", "--plan"), capsys)
    assert code == 0 and planned["output"]["outcome"] == "finished"
    # other settings with --overwrite are still made again
    code, other, err = run(stylize(library, shot, out, "--strength", "0.5", "--overwrite"), capsys)
    assert code == 0 and other["written"] == 4 and not other["finished_before"], err


def test_a_finished_movie_names_the_engine_that_made_it(library, shot, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    code, first, err = run(stylize(library, shot, out), capsys)
    assert code == 0 and first["backend"] and first["device"], err
    code, again, err = run(stylize(library, shot, out), capsys)
    assert code == 0 and again["finished_before"], err
    assert (again["backend"], again["device"]) == (first["backend"], first["device"])


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_stabilize_rerun_into_its_movie_keeps_its_figures(two_shots, tmp_path, capsys, suffix):
    out = tmp_path / f"stab{suffix}"
    argv = ["stabilize", str(two_shots), "-o", str(out)]
    code, first, err = run(argv, capsys)
    assert code == 0, err
    assert first["cuts"] == [8] and len(first["kept_area"]) == 2, first
    code, again, err = run(argv, capsys)
    assert code == 0 and again["finished_before"], err
    assert (again["kept_area"], again["cuts"]) == (first["kept_area"], first["cuts"])
    assert (again["backend"], again["device"]) == (first["backend"], first["device"])
    code, again, err = run([*argv, "--overwrite"], capsys)  # a farm's retry: the same
    assert code == 0 and again["finished_before"], err
    assert (again["kept_area"], again["cuts"]) == (first["kept_area"], first["cuts"])


def test_an_older_movie_says_null_not_nothing(two_shots, tmp_path, capsys):
    out = tmp_path / "stab.mkv"
    argv = ["stabilize", str(two_shots), "-o", str(out)]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    untag(out)
    code, again, err = run(argv, capsys)
    assert code == 0 and again["finished_before"], err
    assert (again["kept_area"], again["cuts"]) == (None, None)
    assert (again["backend"], again["device"]) == (None, None)
