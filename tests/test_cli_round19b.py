"""Round 19 command-line walkthrough, second part: a contact sheet is never written among an
image sequence's frames (where it would be read as one), a movie name suggested for an
output ending with '/' is one the format writes, too-small training frames are refused in
words naming the least size, and matte's training time is counted as its budget is."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from helpers_cli import run

from restyle.core.errors import RestyleError
from restyle.core.train.patches import PatchSampler

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


def test_a_frames_folder_named_like_a_picture_inside_the_plate_is_planned(plate, capsys):
    """A folder of frames is not read as a frame: 'plate/styled.png/' (the '/' Restyle's own
    advice for such names) was refused as 'in plate, ... where it would be read as a frame'."""
    out = f"{plate / 'styled.png'}/"
    argv = ["stylize", str(plate), "-o", out, "-s", "comic-ink", "--format", "png", "--plan"]
    code, plan, err = run(argv, capsys)
    assert code == 0 and plan["output"]["outcome"] == "new", err


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


# -- 3. frames too small to train on ---------------------------------------------------------
@pytest.mark.parametrize(
    ("sizes", "refused"),
    [
        ([(72, 96)], True),  # one 64-pixel tile: held out, nothing left to train on
        ([(72, 96), (72, 96)], True),  # each keyframe one tile: one loses it ('no room')
        ([(64, 127)], True),
        ([(63, 200)], True),
        ([(64, 128)], False),
        ([(128, 64)], False),
    ],
)
def test_training_frames_need_two_patches(sizes, refused):
    frames = [np.zeros((h, w, 3), np.uint8) for h, w in sizes]
    rng = np.random.default_rng(0)
    if not refused:
        PatchSampler(frames, frames, 64, rng=rng)
        return
    with pytest.raises(RestyleError) as caught:
        PatchSampler(frames, frames, 64, rng=rng)
    h, w = sizes[0]
    said = str(caught.value)
    assert f"Keyframes of {w}x{h} are too small to train on" in said
    assert "at least 128x64 pixels (64x128 upright); train on larger frames" in said
    assert "smaller patch size" not in said  # no front end has one


def test_train_on_small_frames_says_the_least_size(tmp_path, plate, capsys):
    pytest.importorskip("torch")
    painted = tmp_path / "paint0.png"
    frame = cv2.imread(str(plate / "p.1001.png"))
    assert cv2.imwrite(str(painted), 255 - frame)
    argv = ["train", str(plate), "-k", f"0={painted}", "-n", "T1", "--time-budget", "3"]
    code, record, err = run(argv, capsys)
    assert code == 2, err
    assert TOO_SMALL in err and "at least 128x64 pixels" in err


@pytest.fixture
def matte_home(matte_library, monkeypatch):
    monkeypatch.setenv("RESTYLE_HOME", str(matte_library.root))
    return matte_library


def _half_mask(path, size):
    mask = np.zeros((size[1], size[0]), np.uint8)
    mask[:, : size[0] // 2] = 255
    assert cv2.imwrite(str(path), mask)
    return path


def test_matte_on_small_frames_says_the_least_size(tmp_path, plate, capsys, matte_home):
    pytest.importorskip("torch")
    mask = _half_mask(tmp_path / "mask.png", (96, 72))
    argv = ["matte", str(plate), "-o", str(tmp_path / "mk"), "--end", "1", "-k", f"0={mask}"]
    code, record, err = run([*argv, "--time-budget", "1"], capsys)
    assert code == 2, err
    assert TOO_SMALL in err


# -- 4. matte's training time ------------------------------------------------------------------
def test_mattes_training_time_is_the_trainers(tmp_path, capsys, matte_home, monkeypatch):
    """'after 16 s of training' and training_seconds 12.5 for --time-budget 3: the time
    counted from before torch's import and the trainer's setup, not as the budget is."""
    pytest.importorskip("torch")
    from restyle.core.train import trainer

    real, trained = trainer.train_style, []

    def slow_setup(*args, **kwargs):  # setup the budget does not count
        time.sleep(1.5)
        result = real(*args, **kwargs)
        trained.append(result.figures.seconds)
        return result

    monkeypatch.setattr(trainer, "train_style", slow_setup)
    clip = make_index_clip(tmp_path / "clip.mp4", 2, size=(160, 96))
    mask = _half_mask(tmp_path / "mask.png", (160, 96))
    argv = ["matte", str(clip), "-o", str(tmp_path / "mk"), "--end", "1", "-k", f"0={mask}"]
    code, record, err = run([*argv, "--time-budget", "0.5"], capsys)
    assert code == 0, err
    assert record["training_seconds"] == trained[0]  # TrainFigures.seconds, the budget's clock
    assert record["training_seconds"] < 1.5
