"""Round 18: a sequence is stamped by every file, not its first and last only
(``job.source_stamps``), while a movie's settings key stays what it was; ``--strength 0``
starts no engine (``Stylizer.gives_source``) and its record says so."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core import cli, job, stylizer
from restyle.core.media import probe


def write_shot(folder: Path, count: int = 6, seed: int = 3) -> Path:
    """BMP frames: uncompressed, so other pixels keep the file's size."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        picture = rng.integers(0, 256, (48, 64, 3), np.uint8)
        cv2.imwrite(str(folder / f"f_{i:04d}.bmp"), picture)
    return folder


def stylize(library, shot, out, *words: str, capsys):
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    code = cli.main([*argv, *words, "--library", str(library.root)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def repaint(frame: Path, seed: int = 9) -> None:
    """The artist's new picture under the same name and size, saved a few seconds later."""
    stat = frame.stat()
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(frame), rng.integers(0, 256, (48, 64, 3), np.uint8))
    assert frame.stat().st_size == stat.st_size
    os.utime(frame, (stat.st_atime, stat.st_mtime + 5))


@pytest.mark.parametrize("suffix", [".mp4", ""])
def test_a_repainted_middle_frame_is_another_source(library, tmp_path, capsys, suffix):
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / f"out{suffix}"
    assert stylize(library, shot, out, capsys=capsys)[0] == 0
    repaint(shot / "f_0003.bmp")
    code, _, err = stylize(library, shot, out, capsys=capsys)
    assert code == 2 and "from another source" in err, err  # not its stale frames reused
    code, _, err = stylize(library, shot, out, "--overwrite", capsys=capsys)
    assert code == 0, err


def test_a_middle_frame_changes_the_key_a_moved_copy_does_not(library, tmp_path):
    shot = write_shot(tmp_path / "a" / "shot")
    copy = tmp_path / "b" / "shot"
    shutil.copytree(shot, copy)  # copy2: times kept, as cp -p

    def key(folder: Path) -> str:
        return job.StyleJob(folder, None, "comic-ink", library=library).validate().key

    assert key(shot) == key(copy)
    repaint(copy / "f_0002.bmp")
    assert key(shot) != key(copy)


def test_a_movie_is_stamped_as_before(library, index_clip_h264):
    """One file, stamped twice as Restyle did (first and last): a movie's key, and so its
    finished output, is what it was."""
    info = probe(index_clip_h264)
    stamp = job.file_stamp(index_clip_h264)
    assert job.source_stamps(info) == [stamp, stamp]
    made = job.StyleJob(index_clip_h264, None, "comic-ink", library=library)
    assert made._key_record(made._style_info(), info)["source"] == [stamp, stamp]


def test_an_earlier_restyles_form_knows_the_first_and_last_only(tmp_path):
    """The path form rebuilds an earlier Restyle's key exactly (its output still reused)."""
    shot = write_shot(tmp_path / "shot")
    files = sorted(shot.iterdir())
    with job.path_stamps():
        ends = [job.file_stamp(files[0]), job.file_stamp(files[-1])]
        assert job.source_stamps(probe(shot)) == ends
    assert ends[0][0] == str(files[0].resolve())


def test_strength_0_starts_no_engine(library, tmp_path, capsys, monkeypatch):
    def no_engine(*_args, **_kw):
        raise AssertionError("an engine was started at strength 0")

    monkeypatch.setattr(stylizer, "create_engine", no_engine)
    shot = write_shot(tmp_path / "shot", count=3)
    out = tmp_path / "out.mp4"
    code, said, err = stylize(library, shot, out, "--strength", "0", "--json", capsys=capsys)
    assert code == 0, err
    record = json.loads(said.strip().splitlines()[-1])
    assert record["written"] == 3
    assert record["backend"] == "none"
    assert "no network" in record["engine"] and "strength 0" in record["engine"]
    assert "onnx" not in record["engine"] and "fp32" not in record["engine"]
    # a rerun finds the movie finished and names the engine its tag kept: the same words
    code, said, err = stylize(library, shot, out, "--strength", "0", "--json", capsys=capsys)
    again = json.loads(said.strip().splitlines()[-1])
    assert code == 0 and again["finished_before"], err
    assert (again["backend"], again["engine"]) == (record["backend"], record["engine"])


def test_strength_0_frames_are_the_source(library, tmp_path, capsys):
    shot = write_shot(tmp_path / "shot", count=3)
    out = tmp_path / "out"
    code, _, err = stylize(library, shot, out, "--strength", "0", "--format", "png", capsys=capsys)
    assert code == 0, err
    made = sorted(out.glob("*.png"))
    assert len(made) == 3
    for source, frame in zip(sorted(shot.iterdir()), made, strict=True):
        assert np.array_equal(cv2.imread(str(source)), cv2.imread(str(frame)))
