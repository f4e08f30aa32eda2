"""Convert to Float's order against Saturation (``StripColor.saturate_in_float``): Blender
5.2 and later make an 8-bit picture float before saturating it, 4.2 to 5.1 saturate it as a
byte image and then make it float. The grade's settings key holds that order and the grade's
formula (``GRADE_REVISION``) for a graded job only, so a resumed run never mixes frames of
another formula while an ungraded job keeps its key."""

from __future__ import annotations

import numpy as np
import pytest

from restyle.core import strip_frames
from restyle.core.job import StyleJob
from restyle.core.strip_frames import StripColor


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    """As tests/blender/test_color_float.py: random colours, the top half dark (0..63)."""
    image = np.random.default_rng(1).integers(0, 256, (96, 160, 3), dtype=np.uint8)
    image[:48] //= 4
    return image


def float_first(image: np.ndarray, saturation: float, multiply: float) -> np.ndarray:
    """Made float, saturated and multiplied unrounded (float64), then rounded once."""
    rgb = image.astype(np.float64) / 255.0
    value = rgb.max(axis=-1, keepdims=True)
    rgb = (value + saturation * (rgb - value)) * multiply
    return np.floor(np.clip(rgb * 255.0, 0.0, 255.0) + 0.5).astype(np.uint8)


def off(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(int) - b.astype(int)).max())


@pytest.mark.parametrize(("saturation", "multiply"), [(0.5, 4.0), (0.3, 2.7), (0.5, 1.3)])
def test_float_first_saturates_the_picture_made_float(picture, saturation, multiply):
    """Blender 5.2+'s order: no rounding between Saturation and Multiply (float32 HSV steps
    leave at most a level at halves); the 4.2-5.1 order rounds the saturation to levels, which
    Multiply then scales (2 levels off at 0.5/4.0 and 0.3/2.7)."""
    later = StripColor(saturation, multiply, as_float=True, saturate_in_float=True)
    earlier = StripColor(saturation, multiply, as_float=True)
    reference = float_first(picture, saturation, multiply)
    assert later.saturates_in_float and not earlier.saturates_in_float
    assert off(later.apply(picture), reference) <= 1
    assert not np.array_equal(later.apply(picture), earlier.apply(picture))
    if multiply > 2:
        assert off(earlier.apply(picture), reference) >= 2


@pytest.mark.parametrize(
    "color",
    [
        StripColor(0.5, 4.0, as_float=False, saturate_in_float=True),  # no Convert to Float
        StripColor(1.0, 4.0, as_float=True, saturate_in_float=True),  # no Saturation
    ],
)
def test_the_order_changes_nothing_else(picture, color):
    """Without Convert to Float or without a Saturation the order has nothing to order; a
    16-bit frame is float-like either way."""
    other = StripColor(color.saturation, color.multiply, color.as_float)
    assert not color.saturates_in_float
    assert np.array_equal(color.apply(picture), other.apply(picture))
    deep = picture.astype(np.uint16) * 257
    graded = StripColor(0.5, 1.3, True, True)
    assert np.array_equal(graded.apply(deep), StripColor(0.5, 1.3, True).apply(deep))


def keys(clip, tmp_path, library, *colors) -> list[str]:
    made = []
    for color in colors:
        job = StyleJob(clip, tmp_path / "out", "comic-ink", library=library, strip_color=color)
        made.append(job.validate().key)
    return made


def test_the_order_is_in_a_graded_jobs_key(index_clip_h264, tmp_path, library):
    later, earlier, byte_later, byte_earlier = keys(
        index_clip_h264,
        tmp_path,
        library,
        StripColor(0.5, 4.0, True, True),
        StripColor(0.5, 4.0, True, False),
        StripColor(0.5, 4.0, False, True),  # the same pixels as the next: the same key
        StripColor(0.5, 4.0, False, False),
    )
    assert later != earlier
    assert byte_later == byte_earlier


def test_the_grade_formula_is_in_a_graded_jobs_key_only(
    index_clip_h264, tmp_path, library, monkeypatch
):
    """Another GRADE_REVISION gives a graded job another key (its old frames are made again,
    not mixed with new ones) and leaves an ungraded job's key (None or the identity) alone."""
    colors = [
        StripColor(0.5, 1.3),
        StripColor(1.0, 2.0, True),
        None,
        StripColor(),
        StripColor(as_float=True),
    ]
    before = keys(index_clip_h264, tmp_path, library, *colors)
    monkeypatch.setattr(strip_frames, "GRADE_REVISION", strip_frames.GRADE_REVISION + 1)
    after = keys(index_clip_h264, tmp_path, library, *colors)
    assert [a != b for a, b in zip(before, after, strict=True)] == [True, True, False, False, False]
    assert before[2] == before[3] == before[4]  # ungraded: one key
