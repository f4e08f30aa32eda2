"""A script's values in a settings dataclass, read by each field's declared type: the one rule
for the jobs' fields (``job.check_types``) and ``TrainConfig``'s. A whole number given as 2.0
becomes 2 and a number given as 1 becomes 1.0, and a value of another type is one clear
RestyleError naming the field: '2' as a frame compared as text, 2.5 became frame 2,
overwrite='no' replaced frames, and time_budget_s='5' was a TypeError from deep inside.

Light (numpy, no torch): the training settings use it without the jobs' imports.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Iterable
from fractions import Fraction

import numpy as np

from .errors import RestyleError, setting


def whole_number(name: str, value) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        if math.isfinite(value) and float(value).is_integer():
            return int(value)
    raise RestyleError(f"{name} must be a whole number, got {value!r}")


def real(name: str, value) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        return float(value)
    raise RestyleError(f"{name} must be a number, got {value!r}")


def flag(name: str, value) -> bool:
    if isinstance(value, bool | np.bool_) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    raise RestyleError(f"{name} must be True or False, got {value!r}")


def text(name: str, value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):  # a picture style or background given as a Path
        return os.fspath(value)
    raise RestyleError(f"{name} must be text, got {value!r}")


def rate(name: str, value) -> Fraction | int | float:
    """A frame rate (``fps``): a number, a Fraction kept exact; numpy's numbers too. Text
    and True are not rates: fps=True made a 1 fps movie, fps='24' passed unread."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        return int(value)
    return real(name, value)


# The frame rates a job takes for its images (fps=, --fps), in frames/s. Above 1000 a movie's
# frames collide: Matroska (FFV1) keeps 1 ms timestamps (1001 fps read back as 1000, 10000 as
# 30000) and H.264 in .mp4 decoded 2 of 3 frames at 2000 fps and none at 5000 (PyAV 18.1.0,
# FFmpeg 8.0; no encoder refused 1e9); below 1, Blender's Frame Rate (render.fps, 1..32767) has
# none, and 0.001 made a 12-frame movie 12000 s long.
FPS_RANGE = (1, 1000)


def rate_refusal(value: numbers.Real, typed: str | None = None) -> str | None:
    """Why the frame rate ``value`` (``fps``, a number) is refused: outside ``FPS_RANGE``
    (0, negative, nan and inf too), in each front end's words (``setting``: --fps in the
    command line, fps= in Python); None for a rate in range. ``typed``: the value as the user
    wrote it (the command line's '1e-6', '1/1000'), said instead of the number's digits."""
    low, high = FPS_RANGE
    if low <= value <= high:  # nan is not
        return None
    said = typed if typed is not None else _said(value)
    return f"{setting('fps', said)} is out of range {low}..{high} frames/s"


# A strip's Color settings, held to Blender's ranges (its RNA hard limits, 4.2.23 and 5.0.1:
# color_saturation and color_multiply 0..20, blend_alpha 0..1; Blender clamps, Restyle refuses)
GRADE_RANGES = {"saturation": (0.0, 20.0), "multiply": (0.0, 20.0), "opacity": (0.0, 1.0)}


def grade_refusal(name: str, value: float) -> str | None:
    """Why the strip grade's ``name`` (a row of ``GRADE_RANGES``) set to ``value`` is refused,
    in each front end's words (--saturation 30, strip_color.saturation=30); None in range.
    The one wording: Python said 'strip_color saturation 30 is outside Blender's range...'."""
    low, high = GRADE_RANGES[name]
    if low <= value <= high:  # nan is not
        return None
    return f"{setting(name, _said(value))} is out of range {low:g}..{high:g}"


def _said(value: numbers.Real) -> int | float:
    """A refused number as said: 30 for 30.0, 1e+300 (not its 301 digits), nan, inf."""
    whole = math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15
    return int(value) if whole else float(value)


def frames_refusal(name: str, frames: int | Iterable[int]) -> str | None:
    """Why the source frame or frames given as ``name`` (a Ray chunk's ``cuts``,
    ``seen_from``: the Python API's alone, said as written) are refused: frames count from
    0; None if none is negative. cuts=(5, -1) and seen_from=-3 passed unread."""
    one = isinstance(frames, numbers.Integral)
    negative = next((f for f in ([frames] if one else frames) if f < 0), None)
    if negative is None:
        return None
    return f"frames are 0-based: {name} {'is' if one else 'holds'} {negative}"


def instance_of(kind: type):
    """A field whose declared type is the class ``kind`` (a job's ``field_kinds``): a value
    of another type is refused naming the field (StabilizeJob(camera='x') was an
    AttributeError, 'str' object has no attribute 'kept_area', in run())."""

    def read(name: str, value):
        if isinstance(value, kind):
            return value
        raise RestyleError(f"{name} must be a {kind.__name__}, got {value!r}")

    return read


def whole_numbers(name: str, value) -> tuple[int, ...]:
    """Frames (``cuts``): a list or tuple of whole numbers; one number or text is not
    (cuts=2 was a TypeError, 'int' object is not iterable)."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise RestyleError(f"{name} must be a list of whole numbers, got {value!r}")
    one = f"a {name.removesuffix('s')}"  # 'a cut must be a whole number, got 'x''
    return tuple(whole_number(one, v) for v in value)


def upright(name: str, value) -> bool | str:
    """media.Upright: True, False or 'rotation'."""
    if value == "rotation":
        return "rotation"
    try:
        return flag(name, value)
    except RestyleError:
        raise RestyleError(f"{name} must be True, False or 'rotation', got {value!r}") from None


# A field's declared type (as written: the modules use ``from __future__ import annotations``)
# → how its value is read; '... | None' fields take None too, other types are left alone.
COERCE = {
    "int": whole_number,
    "float": real,
    "bool": flag,
    "str": text,
    "Upright": upright,
    "Fraction | float": rate,
    "tuple[int, ...]": whole_numbers,
}


def coerce_fields(obj) -> None:
    """Each of the dataclass ``obj``'s fields read by its declared type (``COERCE``, and the
    class's own ``field_kinds``: its fields of its own types), in place (a frozen one too);
    raises RestyleError naming the first field of another type."""
    kinds = {**COERCE, **getattr(obj, "field_kinds", {})}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        kind = str(f.type).replace(" | None", "")
        if value is None and "None" in str(f.type) or kind not in kinds:
            continue
        object.__setattr__(obj, f.name, kinds[kind](f.name, value))
