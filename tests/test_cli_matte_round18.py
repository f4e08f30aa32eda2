"""``restyle matte -k`` (round 18 walkthrough): painted masks are checked as ``train``
checks paintings (another aspect, still the unpainted frame), the training time is said,
``--time-budget`` is both commands' name (``--train-seconds`` kept, hidden), and a changed
rerun names what changed. Training budgets are tiny: what is tested is the contract."""

from __future__ import annotations

import contextlib
import json

import cv2
import numpy as np
import pytest
from test_matte import HEIGHT, WIDTH
from test_matte_cli import pan_movie  # noqa: F401 - the fixture

from restyle.core.cli import main
from restyle.core.errors import COMMAND_LINE, RestyleError
from restyle.core.mappings.matte_job import MatteJob

pytest.importorskip("torch")

ASPECT = "paint over the exported frame at the same aspect"


@pytest.fixture
def home(matte_library, monkeypatch):
    monkeypatch.setenv("RESTYLE_HOME", str(matte_library.root))
    return matte_library


def run(capsys, *words: str) -> tuple[int, str, str]:
    code = main(list(words))
    out, err = capsys.readouterr()
    return code, out, err


def mask(path, size=(WIDTH, HEIGHT), value=255):
    assert cv2.imwrite(str(path), np.full((size[1], size[0]), value, np.uint8))
    return path


def source_frame(movie, index: int) -> np.ndarray:
    from restyle.core.media import decode_range

    return next(iter(decode_range(movie, index, index)))


@pytest.mark.parametrize("suffix", [".jpg", ".bmp"])  # a header read, a whole picture read
def test_a_mask_of_another_aspect_is_refused_as_trains_painting(
    home,
    pan_movie,  # noqa: F811
    tmp_path,
    capsys,
    suffix,
):
    """752x600 over a 768x576 source was stretched silently; train refuses it."""
    wide = mask(tmp_path / f"wide{suffix}", (WIDTH + 40, HEIGHT))
    code, _, err = run(capsys, "matte", str(pan_movie), "-o", str(tmp_path / "out"), "--end",
                       "1", "-k", f"1={wide}")  # fmt: skip
    assert code == 2
    assert (
        f"keyframe 1's mask {wide.name} is {WIDTH + 40}x{HEIGHT} but the source frames are "
        f"{WIDTH}x{HEIGHT}: {ASPECT}"
    ) in err
    assert not (tmp_path / "out").exists()


def test_a_mask_of_the_same_aspect_at_another_size_is_scaled(home, pan_movie, tmp_path):  # noqa: F811
    half = mask(tmp_path / "half.png", (WIDTH // 2, HEIGHT // 2))
    MatteJob(pan_movie, tmp_path / "out", library=home, keyframes={1: half}).validate()


def test_a_missing_mask_is_named_as_trains_painting(home, pan_movie, tmp_path):  # noqa: F811
    job = MatteJob(pan_movie, tmp_path / "out", library=home, keyframes={3: tmp_path / "x.png"})
    with pytest.raises(RestyleError, match=r"^keyframe 3's mask not found: "):
        job.validate()


def test_a_mask_still_the_unpainted_frame_is_refused(home, pan_movie, tmp_path):  # noqa: F811
    """The exported frame itself (read as its luma: a grey matte) was trained on."""
    frame = source_frame(pan_movie, 1)
    unpainted = tmp_path / "paint" / "0001.png"
    unpainted.parent.mkdir()
    assert cv2.imwrite(str(unpainted), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out"
    job = MatteJob(pan_movie, out, library=home, keyframes={1: unpainted}, end=1, train_seconds=1)
    with pytest.raises(RestyleError) as refused:
        job.run()
    assert str(refused.value).startswith(
        "0001.png (keyframe 1) is still the unpainted frame in "
    ), refused.value
    assert not list(out.glob("*.png"))


def test_a_mask_painted_in_the_exported_frames_alpha_is_kept(home, pan_movie, tmp_path):  # noqa: F811
    """Its colours are the frame's, its alpha is the painting: not unpainted."""
    frame = source_frame(pan_movie, 1)
    painted = tmp_path / "0001.png"
    alpha = np.zeros(frame.shape[:2], np.uint8)
    alpha[:, : WIDTH // 2] = 255
    assert cv2.imwrite(str(painted), np.dstack([cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), alpha]))
    job = MatteJob(
        pan_movie, tmp_path / "out", library=home, keyframes={1: painted}, end=1, train_seconds=0.01
    )
    assert job.run().written == 2


def test_matte_says_its_training_time(home, pan_movie, tmp_path, capsys):  # noqa: F811
    """'3 frames matted in 4.3 s' hid 60 s of training (~130 s wall)."""
    keep = mask(tmp_path / "keep.png")
    code, out, err = run(capsys, "matte", str(pan_movie), "-o", str(tmp_path / "a"), "--end",
                         "0", "-k", f"0={keep}", "--time-budget", "1", "--json")  # fmt: skip
    assert code == 0, err
    record = json.loads(out.strip().splitlines()[-1])
    assert record["training_seconds"] >= 1.0  # the time it trained (round 19's name)
    # the hidden name before round 18 still works; the line says the training's time
    code, out, err = run(capsys, "matte", str(pan_movie), "-o", str(tmp_path / "b"), "--end",
                         "0", "-k", f"0={keep}", "--train-seconds", "1")  # fmt: skip
    assert code == 0, err
    assert " of training" in out and out.rstrip().endswith(" s of training"), out
    said = float(out.rsplit(", after ", 1)[1].split(" s of training")[0])
    assert said >= 1
    # no keyframes: nothing learned, null
    code, out, err = run(capsys, "matte", str(pan_movie), "-o", str(tmp_path / "c"), "--end",
                         "0", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["training_seconds"] is None


@pytest.mark.parametrize("flag", ["--time-budget", "--train-seconds"])
def test_a_time_budget_without_keyframes_is_warned(home, pan_movie, tmp_path, capsys, flag):  # noqa: F811
    code, out, err = run(capsys, "matte", str(pan_movie), "-o", str(tmp_path / "out"), flag,
                         "5", "--plan", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["warnings"] == [
        "--time-budget 5 does nothing: it is the time for learning painted masks, and no "
        "-k FRAME=MASK is given; leave --time-budget out"
    ]


def test_one_name_and_one_range_for_the_time_budget(home, pan_movie, tmp_path, capsys):  # noqa: F811
    keep = mask(tmp_path / "keep.png")
    words = "--time-budget 0.0 is out of range 0.01..86400 (24 h)"
    code, _, err = run(capsys, "train", str(pan_movie), "-k", f"0={keep}", "-n", "Ink",
                       "--time-budget", "0")  # fmt: skip
    assert (code, words in err) == (2, True), err
    code, _, err = run(capsys, "matte", str(pan_movie), "-o", str(tmp_path / "out"), "-k",
                       f"0={keep}", "--time-budget", "0")  # fmt: skip
    assert (code, words in err) == (2, True), err
    job = MatteJob(pan_movie, tmp_path / "o", library=home, keyframes={0: keep}, train_seconds=0)
    with pytest.raises(RestyleError) as refused:
        job.validate()
    assert refused.value.said(COMMAND_LINE).startswith(words)
    matte_help = help_of("matte", capsys)
    assert "--time-budget" in matte_help and "--train-seconds" not in matte_help
    assert "FRAME=STYLED_IMAGE" in help_of("train", capsys)


def help_of(command: str, capsys) -> str:
    with contextlib.suppress(SystemExit):  # main returns 0 or argparse exits, as it may
        main([command, "--help"])
    return capsys.readouterr().out


def test_a_changed_rerun_names_what_changed(home, pan_movie, tmp_path, capsys):  # noqa: F811
    """A rerun of 'matte -k' with another mask or budget was refused as 'other settings'.
    (The hidden --train-seconds and a budget of 1 s: the code before round 18 takes them.)"""
    paint, out = tmp_path / "paint", tmp_path / "out"
    paint.mkdir()
    keep = mask(paint / "0000.png")
    first = ["matte", str(pan_movie), "-o", str(out), "--end", "1", "-k", f"0={keep}"]
    code, _, err = run(capsys, *first, "--train-seconds", "1")
    assert code == 0, err
    refusals = {
        "with other keyframes (keyframe 0, now keyframes 0, 1)": (
            *first, "-k", f"1={mask(paint / '0001.png')}", "--train-seconds", "1"
        ),
        "with another time budget for the keyframes (1.0, now 2.0)": (
            *first, "--train-seconds", "2"
        ),
        "with other settings (made without --replace, now --replace blur)": (
            *first, "--train-seconds", "1", "--replace", "blur"
        ),
    }  # fmt: skip
    for words, argv in refusals.items():
        code, _, err = run(capsys, *argv)
        assert (code, f"{out} holds frames made {words}; " in err) == (2, True), err
    mask(keep, value=128)  # repainted
    code, _, err = run(capsys, *first, "--train-seconds", "1")
    assert code == 2
    assert "holds frames made with another mask for keyframe 0 (another file, or it " in err, err
