"""Round 18's review of training's refusals: every one names the keyframe whose painting it
refuses as the newer words did ("cannot read keyframe 5's painting junk.png"), by the
frame the user knows (``called``: Blender's scene frame); it said "styled keyframe not
found: PATH", "cannot read styled keyframe PATH: permission denied" and "styled keyframe
X.png is WxH". A style without a name is refused in the library's words wherever it is
refused (``styles.check_style_name``); writing one said "A trained style needs a name".
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from restyle.core import media
from restyle.core.errors import RestyleError
from restyle.core.styles import StyleLibrary
from restyle.core.train import keyframes as module

from clips import make_image_sequence


@pytest.fixture
def shot(tmp_path):
    """Four index frames (160x96) and their ``media.probe``."""
    frames = make_image_sequence(tmp_path / "shot", 4)
    return frames, media.probe(frames[0].parent)


def refused(run, *args, **kwargs) -> str:
    """What ``run(*args, **kwargs)`` is refused with, in neutral words."""
    with pytest.raises(RestyleError) as error:
        run(*args, **kwargs)
    return error.value.neutral


def test_a_missing_painting_is_named_by_its_keyframe(shot, tmp_path):
    frames, info = shot
    nope = tmp_path / "nope.png"
    said = refused(lambda: module.check_keyframes({1: frames[1], 2: nope}, info))
    assert said == f"keyframe 2's painting not found: {nope}"
    said = refused(lambda: module.check_keyframes({2: nope}, info, {2: 102}))  # Blender's
    assert said == f"keyframe 102's painting not found: {nope}"
    said = refused(lambda: module.read_styled_keyframe(nope, info.size, 102))
    assert said == f"keyframe 102's painting not found: {nope}"


def test_an_unreadable_painting_is_named_by_its_keyframe(shot, monkeypatch):
    frames, info = shot
    readable = os.access  # root reads anything: the check's answer is what is tested
    monkeypatch.setattr(os, "access", lambda path, mode: path != frames[2] and readable(path, mode))
    said = refused(lambda: module.check_keyframes({2: frames[2]}, info, {2: 7}))
    assert said == f"cannot read keyframe 7's painting {frames[2]}: permission denied"


def test_a_painting_of_another_aspect_is_named_by_its_keyframe(shot, tmp_path):
    frames, info = shot
    w, h = info.size
    wide = tmp_path / "wide.png"
    assert cv2.imwrite(str(wide), np.zeros((h, w * 2, 3), np.uint8))
    rest = f"is {w * 2}x{h} but the source frames are {w}x{h}: paint over the exported frame"
    said = refused(lambda: module.check_keyframes({3: wide}, info, {3: 53}))
    assert said.startswith(f"keyframe 53's painting wide.png {rest}"), said
    said = refused(lambda: module.read_styled_keyframe(wide, info.size, 3))  # training's read
    assert said.startswith(f"keyframe 3's painting wide.png {rest}"), said


def test_a_style_without_a_name_is_refused_in_one_wording(shot, tmp_path):
    pytest.importorskip("torch")
    from restyle.core.train.artifact import write_trained_style

    frames, _info = shot
    library = StyleLibrary(tmp_path / "library", bundled=None)
    given = {"source": "s", "keyframes": [1], "thumbnail": None}
    for name in ("", "  ", None):
        train = module.train_from_keyframes
        said = refused(train, frames[0].parent, {1: frames[1]}, name, library)
        assert said == "a trained style needs a name", name
        said = refused(write_trained_style, tmp_path / "style", None, name=name, **given)
        assert said == "a trained style needs a name", name  # was 'A trained ...'
    assert not (tmp_path / "style").exists()
