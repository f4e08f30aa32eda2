"""The engines and devices a user can choose: one table for the command line, the add-on
preferences, the sidebar and the operators, so their names and descriptions cannot drift.

A new backend or device is one row here; the CLI's choices and Blender's enum items
(identifier = the word in capitals, so saved .blend files keep their values) follow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    word: str  # what the CLI, StyleJob and the engines take
    label: str  # what Blender shows
    description: str
    indexed: bool = False  # a device that takes a GPU index (``cuda:1``)


BACKENDS: tuple[Choice, ...] = (
    Choice(
        "auto",
        "Automatic",
        "The fastest engine here: a GPU's engine when one is found; on the CPU, ONNX "
        "Runtime's fast graph, or OpenVINO bf16 where the CPU has bf16",
    ),
    Choice("onnx", "ONNX Runtime", "ONNX Runtime, bundled with Restyle"),
    Choice(
        "openvino",
        "OpenVINO",
        "OpenVINO, where installed (inside Blender in a child process): fastest with bf16",
    ),
    Choice("torch", "PyTorch", "PyTorch, when installed (the add-on preferences can install it)"),
)

DEVICES: tuple[Choice, ...] = (
    Choice("auto", "Automatic", "The fastest device found, else the processor"),
    Choice("cpu", "CPU", "The processor"),
    Choice("cuda", "CUDA", "An NVIDIA GPU", indexed=True),
    Choice("tensorrt", "TensorRT", "An NVIDIA GPU through TensorRT (slow first run)", indexed=True),
    Choice("coreml", "Core ML", "Apple silicon (ONNX Runtime)"),
    Choice("dml", "DirectML", "A GPU through DirectML on Windows (ONNX Runtime)"),
    Choice("mps", "Metal", "Apple silicon (PyTorch)"),
    Choice("gpu", "Intel GPU", "An Intel GPU through OpenVINO", indexed=True),
    Choice("npu", "Intel NPU", "An Intel NPU through OpenVINO"),
)

# Device words PyTorch runs on (auto picks cuda, then mps, then cpu): training's, and the
# torch engine's. Here, not in torch_engine, so parsing `train --device` imports no numpy.
TORCH_DEVICES = ("auto", "cpu", "cuda", "mps")


def words(choices: tuple[Choice, ...]) -> tuple[str, ...]:
    return tuple(c.word for c in choices)


def enum_items(choices: tuple[Choice, ...], default: str | None = None) -> tuple[tuple, ...]:
    """Blender EnumProperty items; ``default`` adds a first item that defers to the preferences."""
    items = tuple((c.word.upper(), c.label, c.description) for c in choices)
    if default is None:
        return items
    return (("DEFAULT", "From Preferences", default), *items)


def indexed_devices() -> frozenset[str]:
    """Devices a GPU index applies to (``cuda`` → ``cuda:1``)."""
    return frozenset(c.word for c in DEVICES if c.indexed)
