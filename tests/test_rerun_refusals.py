"""A refused output says why: a movie or frames made with other settings (the first that
differs named), from another source (the input replaced under its name), of other frames,
at another rate, a movie not Restyle's, one cut after, or one that cannot be read; the way
to replace it (--overwrite) still said."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from restyle.core import cli


def write_shot(folder, seed: int = 3):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(4):
        cv2.imwrite(str(folder / f"f_{i:04d}.png"), rng.integers(0, 256, (48, 64, 3), np.uint8))
    return folder


def stylize(library, shot, out, *words: str, capsys):
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    code = cli.main([*argv, *words, "--library", str(library.root)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".mp4", ""])
def test_other_settings_are_named(library, tmp_path, capsys, suffix):
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / f"out{suffix}"
    assert stylize(library, shot, out, capsys=capsys)[0] == 0
    code, err = stylize(library, shot, out, "--strength", "0.5", capsys=capsys)
    assert code == 2 and "with other settings (--strength 1.0, now 0.5)" in err, err
    assert "--overwrite" in err


@pytest.mark.parametrize("suffix", [".mp4", ""])
def test_a_replaced_source_is_another_source(library, tmp_path, capsys, suffix):
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / f"out{suffix}"
    assert stylize(library, shot, out, capsys=capsys)[0] == 0
    write_shot(shot, seed=9)  # the plate replaced under the same names
    first = shot / "f_0000.png"
    os.utime(first, (first.stat().st_atime, first.stat().st_mtime + 5))
    code, err = stylize(library, shot, out, capsys=capsys)
    assert code == 2 and "from another source" in err and "other settings" not in err, err


def test_a_movie_of_other_frames_or_cut_or_not_a_movie(library, tmp_path, capsys):
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / "out.mp4"
    assert stylize(library, shot, out, capsys=capsys)[0] == 0
    code, err = stylize(library, shot, out, "--end", "2", capsys=capsys)
    assert code == 2 and "made of other frames (source frames 0..3)" in err, err
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])  # a copy cut short
    code, err = stylize(library, shot, out, capsys=capsys)
    assert code == 2 and "cannot be read as a movie" in err, err
    from clips import encode_clip

    encode_clip(out, [np.zeros((48, 64, 3), np.uint8)] * 4)
    code, err = stylize(library, shot, out, capsys=capsys)
    assert code == 2 and "not made by Restyle" in err, err
