"""A rerun into a movie Restyle made with the same settings (a farm's retry) is a finished
run, as a frame folder's is: exit 0, nothing rewritten, "already finished", a normal --json
record with every frame reused. The movie says so itself (its tag, ``writers.made_tag``: the
settings key, its size; its frame count checked): a user's movie, one made with other
settings or range, or Restyle's movie cut or scaled after (its tags copied) is still
refused without --overwrite."""

from __future__ import annotations

import json

import av
import cv2
import numpy as np
import pytest

from restyle.core import cli

from clips import noise_shot


@pytest.fixture
def shot(tmp_path):
    return noise_shot(tmp_path / "shot")


def stylize(library, shot, out, *words: str, capsys, json_out: bool = True):
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    argv += [*words, "--library", str(library.root)] + (["--json"] if json_out else [])
    code = cli.main(argv)
    said = capsys.readouterr()
    return code, said.out, said.err


def made(library, shot, tmp_path, capsys, *words):
    out = tmp_path / "out.mp4"
    code, said, err = stylize(library, shot, out, *words, capsys=capsys)
    assert code == 0, err
    assert json.loads(said)["written"] == 4
    return out, out.stat(), out.read_bytes()


def retag(movie, cut: bool) -> None:
    """``movie`` made again by another tool, its tags copied: 3 of its frames, or scaled."""
    with av.open(str(movie)) as source:
        tags = dict(source.metadata)
        frames = [f.to_ndarray(format="rgb24") for f in source.decode(video=0)]
    frames = frames[:3] if cut else [cv2.resize(f, (32, 24)) for f in frames]
    with av.open(str(movie), "w") as target:
        target.metadata.update({k: v for k, v in tags.items() if k == "comment"})
        stream = target.add_stream("libx264", rate=24)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for i, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = i
            target.mux(stream.encode(picture))
        target.mux(stream.encode(None))


def test_a_rerun_into_the_finished_movie_is_finished(library, shot, tmp_path, capsys):
    out, before, data = made(library, shot, tmp_path, capsys, "--start", "0", "--end", "3")
    code, said, err = stylize(library, shot, out, "--start", "0", "--end", "3", capsys=capsys)
    assert code == 0, err
    record = json.loads(said)
    assert (record["written"], record["reused"], record["frames"]) == (0, 4, 4)
    assert record["output"] == str(out) and record["cancelled"] is False
    after = out.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert out.read_bytes() == data
    code, said, err = stylize(library, shot, out, capsys=capsys, json_out=False)
    assert code == 0, err
    assert "already finished with these settings (4 frames reused); nothing rewritten" in said
    code, said, _ = stylize(library, shot, out, "--plan", capsys=capsys)
    assert code == 0 and json.loads(said)["output"]["outcome"] == "finished"
    assert json.loads(said)["output"]["reused"] == 4


def test_a_ray_rerun_into_the_finished_movie_runs_no_chunk(library, shot, tmp_path, capsys):
    """No cluster is asked: the address is nobody's, and the run still finishes."""
    out, before, _ = made(library, shot, tmp_path, capsys)
    code, said, err = stylize(
        library, shot, out, "--ray", "127.0.0.1:9", "--chunk-frames", "2", capsys=capsys
    )
    assert code == 0, err
    assert json.loads(said)["reused"] == 4 and out.stat().st_mtime_ns == before.st_mtime_ns


@pytest.mark.parametrize(
    "change",
    [
        "other settings",
        "other range",
        "without sound",
        "other frame rate",
        "user's movie",
        "cut",
        "scaled",
    ],
)
def test_a_movie_not_made_so_is_still_refused(library, shot, tmp_path, capsys, change):
    out, _, data = made(library, shot, tmp_path, capsys)
    words: list[str] = []
    if change == "other settings":
        words = ["--strength", "0.5"]
    elif change == "other range":
        words = ["--end", "2"]
    elif change == "without sound":
        words = ["--no-audio"]
    elif change == "other frame rate":  # an image sequence's --fps: same frames, other movie
        words = ["--fps", "30"]
    elif change == "user's movie":
        from clips import encode_clip

        encode_clip(out, [np.zeros((48, 64, 3), np.uint8)] * 4)
    else:  # re-encoded, Restyle's tag copied (as ffmpeg copies a movie's tags)
        retag(out, cut=change == "cut")
    code, _, err = stylize(library, shot, out, *words, capsys=capsys)
    assert code == 2 and "; use --overwrite to replace it" in err and " exists" in err, err
    code, said, _ = stylize(library, shot, out, *words, "--plan", capsys=capsys)
    assert json.loads(said)["output"]["outcome"] == "refused"


def test_overwrite_makes_it_again_and_records_the_new_settings(library, shot, tmp_path, capsys):
    out, before, _ = made(library, shot, tmp_path, capsys)
    code, said, err = stylize(library, shot, out, "--strength", "0.5", "--overwrite", capsys=capsys)
    assert code == 0 and json.loads(said)["written"] == 4, err
    code, said, err = stylize(library, shot, out, "--strength", "0.5", capsys=capsys)
    assert code == 0 and json.loads(said)["reused"] == 4, err
    code, _, err = stylize(library, shot, out, capsys=capsys)  # the first settings': gone
    assert code == 2, err
