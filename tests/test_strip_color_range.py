"""A job's strip grade (``strip_color``) is held to Blender's own ranges for a strip's
Saturation and Multiply, 0 to 20 (the RNA hard limits of ``color_saturation`` and
``color_multiply`` in 4.2.23 and 5.0.1), and refused before any work, naming the field and
the range. Any finite value of 0 or more passed: Multiply 1e300 then raised OverflowError in
``run``, Saturation 1e300 gave black frames without a word."""

from __future__ import annotations

import math

import numpy as np
import pytest

from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob
from restyle.core.strip_frames import StripColor


def graded(clip, tmp_path, library, color: StripColor) -> StyleJob:
    return StyleJob(clip, tmp_path / "out", "comic-ink", library=library, strip_color=color)


@pytest.mark.parametrize(
    ("color", "field", "value"),
    [
        (StripColor(1.0, 1e300), "multiply", "1e+300"),
        (StripColor(1e300, 1.0), "saturation", "1e+300"),
        (StripColor(20.5, 1.0), "saturation", "20.5"),
        (StripColor(1.0, 20.001), "multiply", "20.001"),
        (StripColor(1.0, math.inf), "multiply", "inf"),
        (StripColor(math.nan, 1.0), "saturation", "nan"),
        (StripColor(1.0, -0.5), "multiply", "-0.5"),
    ],
)
def test_a_grade_outside_blenders_range_is_refused(
    index_clip_h264, tmp_path, library, color, field, value
):
    with pytest.raises(RestyleError) as refused:
        graded(index_clip_h264, tmp_path, library, color).validate()
    said = str(refused.value)
    assert said == f"strip_color.{field}={value} is out of range 0..20"  # --{field}'s words


@pytest.mark.parametrize("color", [StripColor(0.0, 0.0), StripColor(20.0, 20.0, True)])
def test_blenders_own_limits_are_taken(index_clip_h264, tmp_path, library, color):
    plan = graded(index_clip_h264, tmp_path, library, color).validate()
    assert plan.total == 60
    frame = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=-1)
    assert color.apply(frame).dtype == np.uint8  # no overflow at the top
