"""Round 23 (lead): a picture style below strength 1 mixes one footage style per source."""

from __future__ import annotations

import cv2
import numpy as np


def _picture(path):
    rng = np.random.default_rng(7)
    cv2.imwrite(str(path), rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
    return path


def _frames(folder):
    return {p.name: cv2.imread(str(p)) for p in sorted(folder.glob("*.png"))}


def test_a_picture_style_below_strength_1_styles_parts_as_the_whole(
    index_clip_h264, library, tmp_path
):
    """The footage's own style was sampled from the range styled, so frames 3-5 made by
    extending a 0-2 run differed from the same frames of a 0-5 run (another mixed style)."""
    from restyle.core.job import StyleJob

    style = str(_picture(tmp_path / "paint.png"))
    common = dict(library=library, strength=0.5, temporal=0.0, backend="onnx")
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    StyleJob(index_clip_h264, whole, style, end=5, **common).run()
    StyleJob(index_clip_h264, parts, style, end=2, **common).run()
    result = StyleJob(index_clip_h264, parts, style, end=5, **common).run()
    assert result.written == 3
    made, extended = _frames(whole), _frames(parts)
    assert made.keys() == extended.keys() and len(made) == 6
    for name, pixels in made.items():
        assert np.array_equal(pixels, extended[name]), name
