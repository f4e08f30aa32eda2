"""Training's words, one source for every front end (review at 0f4aceb). (1) The refusal
of a style name already taken was written three times (artifact, keyframes, Blender's
Train), the core's with the name as typed: ``-n ' Tiny Ink '`` looked up another folder
than 'Tiny Ink' and trained a second style of that name. (2) A style saved before the
trainer's first checkpoint was said only in Blender; ``restyle train`` printed nothing of
it, and '(1 iterations, ...'. (3) Blender's Train decoded every keyframe's frame on its own
thread to check it; the cheap checks (``check_keyframes``) decode nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import pytest

from restyle.core import cli
from restyle.core.errors import BLENDER, COMMAND_LINE, RestyleError
from restyle.core.styles import StyleLibrary
from restyle.core.words import count

from clips import make_image_sequence

ROOT = Path(__file__).resolve().parents[1]


def test_the_refusal_of_a_taken_name_is_written_once():
    """One function (``artifact.style_exists``) says it; no front end copies its words."""
    copies = [
        path.relative_to(ROOT).as_posix()
        for folder in ("core", "operators")
        for path in (ROOT / folder).rglob("*.py")
        if "already exists; use another name" in path.read_text(encoding="utf-8")
    ]
    assert copies == ["core/train/artifact.py"]


def test_a_taken_name_with_spaces_is_refused_by_its_name(tmp_path):
    """' Tiny Ink ' is the style 'Tiny Ink' (Blender's Train and the artifact strip the
    name): refused before the source is even read, the option named in each front end's
    words, the name as stored."""
    pytest.importorskip("torch")
    from test_style_install import make_trained_style

    from restyle.core.train.keyframes import train_from_keyframes

    library = StyleLibrary(tmp_path / "library", bundled=None)
    make_trained_style(library.trained_folder("Tiny Ink"))
    with pytest.raises(RestyleError) as error:
        train_from_keyframes(
            tmp_path / "absent.mp4", {0: tmp_path / "a.png"}, " Tiny Ink ", library
        )
    words = "a style named 'Tiny Ink' already exists; use another name or "
    assert error.value.said(COMMAND_LINE) == words + "--overwrite"
    assert error.value.said(BLENDER) == words + "Replace Existing"
    assert [s.name for s in library.trained()] == ["Tiny Ink"]


def test_barely_trained_words():
    from restyle.core.train.keyframes import barely_trained

    assert barely_trained(1, 100) == (
        "only 1 training iteration (fewer than 100, the trainer's first checkpoint): the "
        "style has barely learned; train again with a longer time budget and overwrite=True "
        "to replace it"
    )
    assert barely_trained(7, 100).startswith("only 7 training iterations (fewer than 100")
    assert barely_trained(100, 100) == ""


def test_restyle_train_warns_of_a_style_trained_too_briefly(tmp_path, capsys):
    """A budget too short for the first checkpoint (100 iterations): the command line warns
    as Blender's Train does, and counts the iterations in words ('1 iteration')."""
    pytest.importorskip("torch")
    frames = make_image_sequence(tmp_path / "shot", 4)
    painted = tmp_path / "0002.png"
    assert cv2.imwrite(str(painted), 255 - cv2.imread(str(frames[2])))
    root = tmp_path / "library"
    args = ["train", str(frames[0].parent), "-k", f"2={painted}", "-n", "Brief",
            "--time-budget", "0.01", "--library", str(root)]  # fmt: skip
    assert cli.main(args) == 0
    out, err = capsys.readouterr()
    folder = StyleLibrary(root, bundled=None).trained_folder("Brief")
    training = json.loads((folder / "style.json").read_text())["training"]
    iterations = training["iterations"]
    assert 1 <= iterations < training["config"]["val_every"] == 100
    assert f"restyle: warning: only {count(iterations, 'training iteration')} (fewer than " in err
    assert "train again with a longer time budget" in err
    assert f"in {training['seconds']:.0f} s ({count(iterations, 'iteration')}, stopped:" in out
    assert not re.search(r"\b1 iterations", out + err)


def test_restyle_train_json_carries_the_warning(tmp_path, capsys):
    pytest.importorskip("torch")
    frames = make_image_sequence(tmp_path / "shot", 4)
    painted = tmp_path / "0001.png"
    assert cv2.imwrite(str(painted), 255 - cv2.imread(str(frames[1])))
    args = ["train", str(frames[0].parent), "-k", f"1={painted}", "-n", "Brief", "--json",
            "--time-budget", "0.01", "--library", str(tmp_path / "library")]  # fmt: skip
    assert cli.main(args) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert any(w.startswith("only ") and "first checkpoint" in w for w in record["warnings"])


def test_the_cheap_checks_decode_nothing(tmp_path, monkeypatch):
    """What Blender's Train checks on its own thread: the range, each painting a readable
    file of the source's aspect (from its header); no frame decoded, no unpainted check."""
    from restyle.core import media
    from restyle.core.train import keyframes as module

    frames = make_image_sequence(tmp_path / "shot", 4)
    info = media.probe(frames[0].parent)

    def no_decoding(*args, **kwargs):
        raise AssertionError("a frame was decoded")

    monkeypatch.setattr(module, "decode_range", no_decoding)
    monkeypatch.setattr(module, "read_picture", no_decoding)
    module.check_keyframes({1: frames[1]}, info)  # unpainted: the job's to refuse
    with pytest.raises(RestyleError, match=r"^keyframe 2's painting not found: .*nope\.png$"):
        module.check_keyframes({1: frames[1], 2: tmp_path / "nope.png"}, info)
    with pytest.raises(RestyleError, match=r"^keyframe 4 is outside the source's frames 0\.\.3"):
        module.check_keyframes({4: frames[1]}, info)
    wide = tmp_path / "wide.png"
    w, h = info.size
    assert cv2.imwrite(str(wide), cv2.resize(cv2.imread(str(frames[1])), (w * 2, h)))
    with pytest.raises(RestyleError, match=rf"^keyframe 1's painting wide.png is {w * 2}x{h} but"):
        module.check_keyframes({1: wide}, info)
    half = tmp_path / "half.png"  # the same aspect: scaled when read, not refused
    assert cv2.imwrite(str(half), cv2.resize(cv2.imread(str(frames[1])), (w // 2, h // 2)))
    module.check_keyframes({1: half}, info)
