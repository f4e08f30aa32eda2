"""An output folder holding only files an operating system leaves (.DS_Store, Thumbs.db,
desktop.ini: writers.OS_JUNK_FILES) is empty to Restyle; anything else still refuses it,
the refusal naming what it holds."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from restyle.core import cli


@pytest.fixture
def shot(tmp_path):
    folder = tmp_path / "shot"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(2):
        cv2.imwrite(str(folder / f"f_{i:04d}.png"), rng.integers(0, 256, (48, 64, 3), np.uint8))
    return folder


def stylize(library, shot, out, capsys):
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    code = cli.main([*argv, "--temporal", "0", "--library", str(library.root)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("junk", [[".DS_Store"], ["Thumbs.db", "desktop.ini"], ["THUMBS.DB"]])
def test_a_folder_with_only_os_files_is_empty(library, shot, tmp_path, capsys, junk):
    out = tmp_path / "out"
    out.mkdir()
    for name in junk:
        (out / name).write_bytes(b"\0\0\0\1Bud1")
    code, err = stylize(library, shot, out, capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.glob("*.png")) == ["000000.png", "000001.png"]
    assert all((out / name).exists() for name in junk)  # left as they were


def test_a_users_file_still_refuses_it_and_is_named(library, shot, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".DS_Store").write_bytes(b"x")
    (out / "notes.txt").write_text("mine")
    code, err = stylize(library, shot, out, capsys)
    assert code == 2 and "not empty (it holds notes.txt)" in err, err
