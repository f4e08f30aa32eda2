"""Round 19 command-line walkthrough: a contact sheet never replaces a frame of its input (even
with --overwrite) and is written as a finished file into a folder it makes."""

from __future__ import annotations

import os

import cv2
import pytest
from helpers_cli import run

from clips import make_image_sequence

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def plate(tmp_path):
    """plate/plate.1001.png .. plate.1006.png, 160x96."""
    make_image_sequence(tmp_path / "plate", 6, name="plate.{}.png", first=1001)
    return tmp_path / "plate"


def _bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("source", "output", "frame"),
    [
        ("plate", "plate.1001.png", []),  # the frame it shows
        ("plate/plate.%04d.png", "plate.1001.png", []),
        ("plate", "plate.1005.png", ["--frame", "4"]),
        ("plate", "plate.1003.png", []),  # a frame it does not show is the input too
        ("plate/plate.1002.png", "plate.1002.png", []),
    ],
)
def test_sheet_never_writes_over_its_input(tmp_path, plate, capsys, source, output, frame):
    before = _bytes(plate)
    out = plate / output
    argv = ["sheet", str(tmp_path / source), "-o", str(out), "--overwrite", *frame]
    code, record, err = run(argv, capsys)
    assert code == 2, err
    assert f"output {out} is the input; choose another output" in err
    assert _bytes(plate) == before  # plate.1001.png became a 1920x1330 sheet


def test_sheet_makes_its_folder_and_leaves_no_scratch(tmp_path, plate, capsys):
    out = tmp_path / "nodir" / "sub" / "x.png"
    code, record, err = run(["sheet", str(plate), "-o", str(out)], capsys)
    assert code == 0, err  # 'cannot write nodir/x.png', no reason, after all 26 styles
    assert record["output"] == str(out)
    assert [p.name for p in out.parent.iterdir()] == ["x.png"]
    assert cv2.imread(str(out)).shape[1] == 1920


def test_sheet_replaces_a_file_only_when_whole(tmp_path, plate, capsys, monkeypatch):
    out = tmp_path / "sheet.png"
    out.write_bytes(b"the sheet before")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    code, record, err = run(["sheet", str(plate), "-o", str(out), "--overwrite"], capsys)
    assert code == 2
    assert f"cannot write {out}: No space left on device" in err
    assert out.read_bytes() == b"the sheet before"  # cv2.imwrite wrote over it in place
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["plate", "sheet.png"])


def test_a_finished_movie_rerun_keeps_first_number(tmp_path, plate, capsys):
    argv = ["stylize", str(plate), "-o", str(tmp_path / "fn.mp4"), "-s", "comic-ink"]
    argv += ["--start", "2", "--end", "3"]
    records = [run(argv, capsys)[1] for _ in range(2)]
    assert [r["finished_before"] for r in records] == [False, True]
    assert [r["first_number"] for r in records] == [1001, 1001]  # the rerun said null


@pytest.mark.parametrize("output", ["st1", "st1.mp4"])
@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--tripod"], "(--tripod off, now on)"),
        (["--mode", "translation"], "(--mode similarity, now translation)"),
    ],
)
def test_stabilize_names_tripod_and_mode(tmp_path, plate, capsys, output, option, said):
    out = tmp_path / output
    argv = ["stabilize", str(plate), "-o", str(out), "--end", "3"]
    assert run(argv, capsys)[0] == 0
    code, record, err = run([*argv, *option], capsys)
    assert code == 2
    assert f"made with other settings {said}" in err  # 'with other settings', nothing named


def test_a_style_picture_that_is_a_device_or_fifo_is_said_so(tmp_path, plate, capsys):
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    for style, kind in (("/dev/null", "a character device"), (fifo, "a named pipe (FIFO)")):
        code, record, err = run(["stylize", str(plate), "-o", str(out), "-s", str(style)], capsys)
        assert code == 2
        assert f"style picture {style} is {kind}, not a regular file: give a picture" in err
        assert "not found" not in err
    assert not out.exists()
