"""Round 19 command-line walkthrough, second part: a contact sheet is never written among an
image sequence's frames (where it would be read as one), a movie name suggested for an
output ending with '/' is one the format writes, too-small training frames are refused in
words naming the least size, and matte's training time is counted as its budget is."""

from __future__ import annotations

import pytest
from helpers_cli import run

from clips import make_image_sequence, make_index_clip

pytestmark = pytest.mark.usefixtures("private_home")

TOO_SMALL = "Keyframes of 96x72 are too small to train on"


@pytest.fixture
def plate(tmp_path):
    """plate/p.1001.png .. p.1006.png, 96x72 (too small to train on)."""
    make_image_sequence(tmp_path / "plate", 6, size=(96, 72), name="p.{}.png", first=1001)
    return tmp_path / "plate"


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


# -- 1. a sheet among the input's frames -----------------------------------------------------
@pytest.mark.parametrize("source", ["plate", "plate/p.%04d.png"])
@pytest.mark.parametrize("output", ["p.1007.png", "sheet.png", "sheet.JPG"])
def test_a_sheet_is_never_written_beside_the_input_frames(tmp_path, plate, capsys, source, output):
    """It exited 0 and the next 'stylize plate' failed: 'plate holds sheet.png beside the
    sequence' (or p.1007.png '1920x1330, but the sequence is 96x72')."""
    before = _names(plate)
    out = plate / output
    code, record, err = run(
        ["sheet", str(tmp_path / source), "-o", str(out), "--overwrite"], capsys
    )
    assert code == 2, err
    assert f"output {out} is in {plate}, the folder holding the input frames" in err
    assert "choose another folder" in err
    assert _names(plate) == before


def test_a_frame_of_the_input_is_refused_before_exists(tmp_path, plate, capsys):
    """Not 'exists; use --overwrite to replace it', which --overwrite then refused."""
    out = plate / "p.1003.png"
    code, record, err = run(["sheet", str(plate), "-o", str(out)], capsys)
    assert code == 2, err
    assert f"output {out} is the input" in err and "--overwrite" not in err


def test_a_sheet_beside_a_movie_is_made(tmp_path, capsys):
    """A movie's folder holds no frames: the sheet is written there."""
    clip = make_index_clip(tmp_path / "clip.mp4", 2, size=(96, 72))
    out = tmp_path / "sheet.png"
    code, record, err = run(["sheet", str(clip), "-o", str(out)], capsys)
    assert code == 0, err
    assert record["output"] == str(out) and out.is_file()


# -- 2. the movie name suggested for 'q2.png/' -----------------------------------------------
def test_the_suggested_movie_name_is_one_it_writes(tmp_path, plate, capsys, tiny_style):
    """'(such as q2.png)', then 'h264 movies are written as .mp4...' for that name."""
    given = f"{tmp_path / 'q2.png'}/"
    argv = ["stylize", str(plate), "-s", "Tiny", "--format", "h264", "--end", "0"]
    code, record, err = run([*argv, "-o", given], capsys)
    assert code == 2, err
    suggested = tmp_path / "q2.mp4"
    assert f"(such as {suggested})" in err
    code, record, err = run([*argv, "-o", str(suggested)], capsys)
    assert code == 0, err
    assert suggested.is_file()
