"""Inference engines behind one interface, and the one place that chooses between them."""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

from ..errors import RestyleError
from .base import Engine, ModelFiles

__all__ = ["Engine", "ModelFiles", "create_engine", "torch_available"]


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


@functools.cache
def native_bf16_cpu() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX), read without torch."""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", info))


def auto_backend(model: ModelFiles, device: str = "auto") -> str:
    """The fastest engine that can run ``model`` here.

    ONNX Runtime (fp32) by default; PyTorch in bf16 where it is installed and the CPU has
    native bf16, which ran the 26-style network 1.3x faster than ONNX Runtime at 720p.
    """
    has_onnx = model.onnx is not None and model.onnx.is_file()
    has_weights = model.weights is not None and model.weights.is_file()
    word = device.partition(":")[0]
    if word not in ("auto", "cpu") and has_weights and torch_available():
        from .onnx_engine import available_devices

        if word == "mps" or word not in available_devices():
            return "torch"  # e.g. cuda with the CPU-only onnxruntime, or Apple's mps
    if (
        device in ("auto", "cpu")
        and has_weights
        and model.arch.half_precision
        and native_bf16_cpu()
        and torch_available()
    ):
        return "torch"
    return "onnx" if has_onnx else "torch"


def create_engine(
    model: ModelFiles, backend: str = "auto", device: str = "auto", precision: str = "auto"
) -> Engine:
    """``auto`` picks with ``auto_backend``; ``onnx`` and ``torch`` force an engine."""
    if backend not in ("auto", "onnx", "torch"):
        raise RestyleError(f"unknown backend '{backend}': use auto, onnx or torch")
    if backend == "auto":
        backend = auto_backend(model, device)
    if backend == "onnx":
        from .onnx_engine import OnnxEngine

        if model.onnx is None or not model.onnx.is_file():
            raise RestyleError(f"no ONNX file for {model.arch.name}: run 'restyle setup'")
        if precision not in ("auto", "fp32"):
            raise RestyleError(f"precision '{precision}' needs the torch backend (--backend torch)")
        return OnnxEngine(model.onnx, model.arch, device)
    if not torch_available():
        raise RestyleError("the torch backend needs PyTorch: pip install torch==2.13.0")
    from .torch_engine import TorchEngine

    if model.weights is None or not model.weights.is_file():
        raise RestyleError(f"no weights for {model.arch.name}: run 'restyle setup'")
    return TorchEngine(model.arch, model.weights, device, precision, config=model.config)
