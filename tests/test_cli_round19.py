"""Round 19 command-line walkthrough: a contact sheet never replaces a frame of its input (even
with --overwrite) and is written as a finished file into a folder it makes."""

from __future__ import annotations

import os
import zipfile

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
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "home")  # private_home's
    assert left == sorted(["plate", "sheet.png"])  # no scratch beside the sheet


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


@pytest.mark.parametrize("fps", ["0", "-5", "inf", "nan"])
def test_fps_out_of_range_is_said_as_every_option(tmp_path, plate, capsys, fps):
    out = tmp_path / "out"
    code, record, err = run(
        ["stylize", str(plate), "-o", str(out), "-s", "comic-ink", f"--fps={fps}"], capsys
    )
    assert code == 2
    assert f"--fps {fps} is out of range 1..1000 frames/s" in err  # 'must be positive'
    assert not out.exists()


@pytest.mark.parametrize(
    ("first", "then", "said"),
    [
        ([], ["--model", "general"], "(--model auto, now general)"),
        ([], ["--no-refine"], "(edges refined, now not refined)"),
        (["--no-refine"], [], "(edges not refined, now refined)"),
    ],
)
def test_matte_refusals_name_model_and_refine_as_settings(
    tmp_path, plate, capsys, first, then, said
):
    argv = ["matte", str(plate), "-o", str(tmp_path / "m"), "--end", "1"]
    assert run([*argv, *first], capsys)[0] == 0
    code, record, err = run([*argv, *then], capsys)
    assert code == 2
    assert f"holds frames made with other settings {said};" in err  # 'another matte network'


def test_styles_pack_honours_overwrite(tmp_path, tiny_style, capsys):
    out = tmp_path / "existing.zip"
    out.write_bytes(b"before")
    argv = ["styles", "pack", "Tiny", str(out), "--library", str(tiny_style)]
    code, record, err = run(argv, capsys)
    assert code == 2
    assert f"{out} exists; choose another file name or use --overwrite" in err
    assert out.read_bytes() == b"before"
    code, record, err = run([*argv, "--overwrite"], capsys)
    assert code == 0, err  # 'exists; choose another file name', --overwrite or not
    assert record["output"] == str(out)
    with zipfile.ZipFile(out) as packed:
        names = packed.namelist()
    assert names and all(n.startswith("tiny/") for n in names)  # the style's folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.zip", "home"]  # no .part


def test_styles_pack_never_writes_into_the_library(tiny_style, capsys):
    inside = tiny_style / "styles" / "tiny" / "x.zip"
    argv = ["styles", "pack", "Tiny", str(inside), "--library", str(tiny_style), "--overwrite"]
    code, record, err = run(argv, capsys)
    assert code == 2
    assert f"output {inside} is inside the style library" in err
    assert not inside.exists()


def test_styles_pack_leaves_a_users_file_named_like_its_scratch(tmp_path, tiny_style, capsys):
    """Pack's scratch file has a name of its own: it wrote 'NAME.zip.part' and removed it,
    a file of that name the user had included."""
    out = tmp_path / "tiny.zip"
    mine = tmp_path / "tiny.zip.part"
    mine.write_bytes(b"the user's")
    code, record, err = run(
        ["styles", "pack", "Tiny", str(out), "--library", str(tiny_style)], capsys
    )
    assert code == 0, err
    assert mine.read_bytes() == b"the user's"
    assert zipfile.is_zipfile(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "tiny.zip", "tiny.zip.part"]
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
