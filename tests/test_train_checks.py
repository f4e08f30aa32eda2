"""Training refuses keyframes nobody painted, in every front end: a frame exported to paint
over and trained on as it is teaches the style to change nothing there. Blender's Train
refused them (4e85d43); ``restyle train`` trained on them and said 'trained style'."""

from __future__ import annotations

import shutil

import cv2
import pytest

from restyle.core import cli
from restyle.core.errors import RestyleError
from restyle.core.styles import StyleLibrary

from clips import make_image_sequence

pytest.importorskip("torch")


@pytest.fixture
def shot(tmp_path):
    """Five index frames (a PNG sequence, decoded exactly) and a paint folder holding frame
    1 as exported (unpainted) and frame 3 painted (inverted)."""
    frames = make_image_sequence(tmp_path / "shot", 5)
    paint = tmp_path / "paint"
    paint.mkdir()
    shutil.copy(frames[1], paint / "0001.png")
    assert cv2.imwrite(str(paint / "0003.png"), 255 - cv2.imread(str(frames[3])))
    return frames[0].parent, paint


def test_restyle_train_refuses_an_unpainted_keyframe(shot, tmp_path, capsys):
    source, paint = shot
    root = tmp_path / "library"
    args = ["train", str(source), "-k", f"1={paint / '0001.png'}", "-k",
            f"3={paint / '0003.png'}", "-n", "Half", "--time-budget", "1",
            "--library", str(root)]  # fmt: skip
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err == (
        f"restyle: error: 0001.png (keyframe 1) is still the unpainted frame in {paint}: nothing "
        "trained; paint over it and save, or remove the keyframe not painted\n"
    )
    assert not StyleLibrary(root, bundled=None).trained_folder("Half").exists()


def test_every_unpainted_keyframe_is_named_before_training(shot, tmp_path, monkeypatch):
    """Python's train_from_keyframes (Blender's Train runs it too) refuses before the
    trainer runs; keyframes in several folders are named by path, and by the frames the
    caller calls them (``called``: Blender's scene frames)."""
    from restyle.core.train import trainer
    from restyle.core.train.keyframes import train_from_keyframes

    source, paint = shot
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(source / "frame_0005.png", other / "k4.png")  # frame 4, unpainted
    trained = []
    monkeypatch.setattr(trainer, "train_style", lambda *a, **k: trained.append(1))
    library = StyleLibrary(tmp_path / "library", bundled=None)
    keyframes = {1: paint / "0001.png", 3: paint / "0003.png", 4: other / "k4.png"}
    with pytest.raises(RestyleError) as error:
        train_from_keyframes(source, keyframes, "Half", library, called={1: 11, 4: 14})
    assert str(error.value).startswith(
        f"{paint / '0001.png'} (keyframe 11), {other / 'k4.png'} (keyframe 14) are still "
        "the unpainted frames: nothing trained; paint over each and save"
    )
    assert not trained and not library.trained_folder("Half").exists()


def test_one_of_a_thing_is_counted_as_one():
    """Counts said '1 frame(s)' (core.words.count says '1 frame', '3 frames')."""
    from restyle.core.cut_tools import EditPoint, snap_plan

    edit = EditPoint("a", "b", 50, left_reach=(1, 80), right_reach=(20, 90))
    assert snap_plan(edit, [51], 4).reason == "a shot starts 1 frame later"


def test_a_one_frame_gap_is_one_frame_missing(tmp_path):
    from restyle.core.media import check_no_gap, probe

    frames = make_image_sequence(tmp_path / "seq", 5)
    frames[2].unlink()
    with pytest.raises(RestyleError, match=r"^1 frame missing from the sequence in "):
        check_no_gap(probe(tmp_path / "seq"), 0, 4)


def test_a_trained_style_written_over_says_how_to_replace_it(tmp_path):
    """The artifact's own refusal (a style saved under the name while this one trained)
    said 'pick another name'; now train_from_keyframes's words, the option named."""
    from test_style_install import make_trained_style

    from restyle.core.errors import COMMAND_LINE

    make_trained_style(tmp_path / "tiny")
    with pytest.raises(RestyleError) as error:
        make_trained_style(tmp_path / "tiny")
    assert error.value.said(COMMAND_LINE) == (
        "a style named 'Tiny Ink' already exists; use another name or --overwrite"
    )
