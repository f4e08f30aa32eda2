"""How a device is spelt: the one rule for the command line's --device (parsed as it starts,
so this module imports no numpy: ``tests/test_cli_startup.py``) and the Python API's device
(``fields`` reads it for the jobs' fields). The words are ``engines.choices.DEVICES``'."""

from __future__ import annotations

from .engines.choices import DEVICES
from .errors import setting

GPU_NUMBER = "N: the GPU's number, 0 the first"


def device_words(only: tuple[str, ...] | None = None) -> str:
    """The devices as a user spells them, 'auto, cpu, cuda[:N], ...' (``only``: those)."""
    chosen = (c for c in DEVICES if only is None or c.word in only)
    return ", ".join(c.word + ("[:N]" if c.indexed else "") for c in chosen)


def device_refusal(value: str, said: str = "") -> str | None:
    """Why the device ``value`` is refused, by its spelling alone (no hardware is probed):
    a device's word, an indexed one's with a GPU number ('cuda:1'); None for one spelt so.
    Whether this machine has it is the engine's to say as it starts. ``said``: the value as
    the refusal names it (default the device setting: Python's device='gpu7'). 'cuda:x'
    and 'cpu:1' went on to the engines, which took them for another device or said less."""
    word, colon, number = value.partition(":")
    known = {c.word: c for c in DEVICES}
    if word in known and (
        not colon or known[word].indexed and number.isascii() and number.isdigit()
    ):
        return None
    said = said or setting("device", value)
    return f"{said} is not a device: use {device_words()} ({GPU_NUMBER})"
