"""The one exception type users see: a one-line, actionable message, never a traceback.

A message that names a setting the user can change names it with ``setting(key)`` or
``setting(key, value)``, never as one front end spells it, and each front end says it once,
in its own words: the command line as its flag (``--format ffv1``), Python as the keyword
(``format='ffv1'``; ``str(error)`` says this), Blender as the control's label (``Format 'FFV1
Movie'``). ``SETTINGS`` is the one table of those words.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

COMMAND_LINE, PYTHON, BLENDER = "command line", "python", "blender"


@dataclass(frozen=True)
class Setting:
    """One setting in each front end's words."""

    flag: str  # the command line's option
    keyword: str  # the jobs' field, install()'s argument
    label: str | None = None  # the Blender control; None: Blender has none (Python's words)
    choices: str | None = None  # whose labels Blender shows for the values: ``_value_labels``
    words: str | None = None  # Blender's words where no control holds the value (``label`` None)
    python: str | None = None  # Python's words where not ``keyword`` alone: a part of its value


SETTINGS = {
    # The job's 0-based source indices; the sidebar's Start/End hold scene frames
    "start": Setting("--start", "start", words="first source frame"),
    "end": Setting("--end", "end", words="last source frame"),
    "format": Setting("--format", "format", "Format", choices="format"),
    "backend": Setting("--backend", "backend", "Backend", choices="backend"),
    "device": Setting("--device", "device", "Device", choices="device"),
    "overwrite": Setting("--overwrite", "overwrite"),  # Blender writes a new folder instead
    # Training's overwrite: Blender's Train Style has a control for it (the sidebar's too)
    "overwrite_style": Setting("--overwrite", "overwrite", "Replace Existing"),
    "fps": Setting("--fps", "fps"),  # Blender reads a strip at its own rate
    "output": Setting("-o", "output", words="output"),  # Blender names its folders itself
    "replace": Setting("--replace", "replace"),  # Blender: Replace Background, after Matte
    # Ranged settings, with the labels of the sidebar and the Apply Style, Stabilize and
    # Matte operators (one label each: the sidebar's and the operators' agree)
    "strength": Setting("--strength", "strength", "Strength"),
    "stabilize_strength": Setting("--strength", "strength", "Stabilize Strength"),
    "scale": Setting("--scale", "scale", "Scale"),
    "max_side": Setting("--max-side", "max_side", "Longest Side"),
    "preserve_colors": Setting("--preserve-colors", "preserve_colors", "Preserve Colors"),
    "temporal": Setting("--temporal", "temporal", "Temporal Coherence"),
    "carry": Setting("--carry", "carry", "Carry Keyframes"),
    "batch": Setting("--batch", "batch_size"),  # Blender chooses the batch itself
    "precision": Setting("--precision", "precision"),  # Blender's is auto
    "smoothness": Setting("--smoothness", "smoothness", "Smoothness"),
    "crop": Setting("--crop", "crop", "Crop"),
    "mode": Setting("--mode", "mode", "Mode"),  # stabilize's motion model
    "tripod": Setting("--tripod", "tripod", "Tripod"),
    "model": Setting("--model", "model", words="matte network"),  # Blender's Matte chooses
    # contact_sheet()'s width of a tile (restyle sheet's; Blender makes no contact sheet)
    "tile_width": Setting("--tile-width", "tile_width"),
    # A switch that turns something off: named with False (``setting("refine", False)``:
    # --no-refine, refine=False, Refine Edges off), the matte's guided-filter edges
    "refine": Setting("--no-refine", "refine", "Refine Edges"),
    # A training's time budget (core/train/budget.py): one flag and one label, and a row for
    # each name Python gives it, TrainConfig's and MatteJob's (Blender's Matte learns no
    # keyframes, so has no control for it)
    "time_budget": Setting("--time-budget", "time_budget_s", "Time Budget"),
    "train_seconds": Setting("--time-budget", "train_seconds"),  # matte keyframes, as train
    # A strip's Color settings (fields.grade_refusal): the command line's strip grade, a
    # job's strip_color (a StripColor) in Python; Opacity only the command line takes
    # (Python's StripColor.blended folds it into the multiply, which the job checks)
    "saturation": Setting(
        "--saturation", "strip_color", "Saturation", python="strip_color.saturation"
    ),
    "multiply": Setting("--multiply", "strip_color", "Multiply", python="strip_color.multiply"),
    "opacity": Setting("--opacity", "strip_color", "Opacity", python="opacity"),
}

# What each front end does to install something an error asks for (``remedy(key)``): the
# command line and Python say the command, Blender the preferences' button.
REMEDIES = {
    "gpu_support": {
        COMMAND_LINE: "pip install onnxruntime-gpu (ONNX Runtime with CUDA)",
        PYTHON: "pip install onnxruntime-gpu (ONNX Runtime with CUDA)",
        BLENDER: "use Install GPU Support in the add-on preferences",
    },
    # engines.OPENVINO_REQUIREMENT's pin (tests/test_bf16_round21.py holds them equal)
    "openvino": {
        COMMAND_LINE: "pip install openvino==2026.4.1",
        PYTHON: "pip install openvino==2026.4.1",
        BLENDER: "install OpenVINO in the add-on preferences",
    },
}

_UNSET = object()
_MARK = re.compile("\x02(\\w+)(?:\x1f([^\x03]*))?\x03")


def setting(key: str, value: object = _UNSET) -> str:
    """The setting ``key`` (a row of ``SETTINGS``), or ``key`` set to ``value``, marked in a
    message for each front end to say in its own words (``RestyleError.said``)."""
    if key not in SETTINGS:
        raise KeyError(f"no setting {key!r} in errors.SETTINGS")  # a typo fails where written
    if value is _UNSET:
        return f"\x02{key}\x03"
    return f"\x02{key}\x1f{json.dumps(value)}\x03"


def remedy(key: str) -> str:
    """The install ``key`` (a row of ``REMEDIES``), marked in a message as ``setting``'s
    are, for each front end to say in its own words."""
    if key not in REMEDIES:
        raise KeyError(f"no remedy {key!r} in errors.REMEDIES")
    return f"\x02{key}\x03"


def say(text: str, front_end: str) -> str:
    """``text`` with each setting marked by ``setting`` in ``front_end``'s words."""
    return _MARK.sub(lambda mark: _say_setting(mark[1], mark[2], front_end), text)


_PLAIN = re.compile(r"\{\{(\w+)(?:=([^{}\n]*))?\}\}")


def plain(text: str) -> str:
    """``text`` with its settings' marks printable: ``{{overwrite=true}}`` (the value as
    JSON), ``{{format}}`` named alone; what ``--json``'s error event carries (``neutral``),
    which ``marked`` reads back. No control characters reach a script or a terminal."""

    def printable(mark: re.Match[str]) -> str:
        return "{{" + mark[1] + ("" if mark[2] is None else f"={mark[2]}") + "}}"

    return _MARK.sub(printable, text)


def marked(text: str) -> str:
    """``plain``'s text with its settings marked again (``setting``'s marks), for ``say``;
    a ``{{...}}`` that names no setting, or holds no JSON value, is left as written."""

    def mark(found: re.Match[str]) -> str:
        if found[1] not in SETTINGS and found[1] not in REMEDIES:
            return found[0]
        if found[2] is None:
            return f"\x02{found[1]}\x03"
        try:
            json.loads(found[2])
        except ValueError:
            return found[0]
        return f"\x02{found[1]}\x1f{found[2]}\x03"

    return _PLAIN.sub(mark, text)


def _say_setting(key: str, encoded: str | None, front_end: str) -> str:
    if key in REMEDIES:
        return REMEDIES[key][front_end]
    row = SETTINGS[key]
    value = True if encoded is None else json.loads(encoded)  # named alone: as a switch
    if front_end == COMMAND_LINE:
        if value is False and row.flag.startswith("--no-"):  # the switch that turns it off
            return row.flag
        return row.flag if value is True else f"{row.flag} {value}"
    if front_end == BLENDER and row.label:
        if value is True:
            return row.label
        if value is False:  # a checkbox unticked
            return f"{row.label} off"
        if isinstance(value, str):
            labels = _value_labels(row.choices) if row.choices else {}
            return f"{row.label} '{labels.get(value, value)}'"
        return f"{row.label} {value}"
    if front_end == BLENDER and row.words:
        return row.words if value is True else f"{row.words} {value}"
    keyword = row.python or row.keyword
    if encoded is None:
        return keyword
    return f"{keyword}={value!r}"


# Output formats' labels, put here by core.writers from its one table as it loads (it
# imports this module, so importing it here would be a cycle; a format is only ever named
# in an error once writers is loaded).
FORMAT_LABELS: dict[str, str] = {}


def _value_labels(choices: str) -> dict[str, str]:
    """Blender shows a value by its label (cpu: 'CPU', ffv1: 'FFV1 Movie'), from the one
    table each comes from."""
    if choices == "format":
        return FORMAT_LABELS
    from .engines.choices import BACKENDS, DEVICES

    return {c.word: c.label for c in {"backend": BACKENDS, "device": DEVICES}[choices]}


class RestyleError(Exception):
    """Bad input or an unusable environment; the message is shown to the user as is, its
    settings (``setting``) in the words of the front end that shows it."""

    def __init__(self, message: object = "", *args: object) -> None:
        self.neutral = str(message)  # settings still marked: what ``said`` words
        super().__init__(say(self.neutral, PYTHON), *args)

    def said(self, front_end: str) -> str:
        """The message with its settings in ``front_end``'s words (``str()``: Python's)."""
        return say(getattr(self, "neutral", str(self)), front_end)


class Cancelled(RestyleError):
    """The user cancelled; finished frames stay on disk."""
