"""``restyle train --hold-lead-in``: keyframes numbered as Blender's strip shows the movie.

Export Keyframes writes frames in the strip's view: on a movie whose stream starts before
its first picture (mpeg4 with a B-frame in AVI: lead-in 1), frame N shows picture N - 1.
Without the flag, ``restyle train SOURCE -k N=painted.png`` paired the painting of frame N
with picture N, the next picture. The style folder keeps each keyframe's source picture
(core/carry.py), which tells which one was paired."""

from __future__ import annotations

import json

import cv2
import pytest

from restyle.core.cli import main
from restyle.core.engines import torch_available

from clips import index_frame, make_index_clip, read_index

SIZE = (160, 96)

pytestmark = pytest.mark.skipif(not torch_available(), reason="training needs PyTorch")


@pytest.fixture(scope="module")
def lead_in_movie(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lead")
    return make_index_clip(folder / "bframes.avi", 12, SIZE, codec="mpeg4", gop=12, bframes=1)


def _paired_picture(tmp_path, movie, *flags: str) -> int:
    painted = tmp_path / "painted.png"
    cv2.imwrite(str(painted), cv2.cvtColor(index_frame(40, SIZE), cv2.COLOR_RGB2BGR))
    library = tmp_path / "library"
    args = ["train", str(movie), "-k", f"5={painted}", "-n", "lead", "--time-budget", "1"]
    assert main([*args, "--library", str(library), "--json", *flags]) == 0
    (folder,) = [p for p in library.rglob("style.json")]
    carry = json.loads(folder.read_text(encoding="utf-8"))["carry"]
    assert [entry["frame"] for entry in carry] == [5]
    source = cv2.imread(str(folder.parent / carry[0]["source"]))
    return read_index(cv2.cvtColor(source, cv2.COLOR_BGR2RGB))


def test_train_holds_the_lead_in_when_asked(tmp_path, lead_in_movie):
    assert _paired_picture(tmp_path, lead_in_movie, "--hold-lead-in") == 4


def test_train_reads_from_the_first_picture_by_default(tmp_path, lead_in_movie):
    assert _paired_picture(tmp_path, lead_in_movie) == 5


def test_train_help_says_it_as_stylize_does(capsys):
    main(["train", "--help"])
    train = " ".join(capsys.readouterr().out.split())
    main(["stylize", "--help"])
    stylize = " ".join(capsys.readouterr().out.split())
    words = stylize.split("--hold-lead-in ", 1)[1].split(" as players show it)")[0]
    assert words in train
