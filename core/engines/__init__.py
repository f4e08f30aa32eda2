"""Inference engines behind one interface, and the one place that chooses between them."""

from __future__ import annotations

import importlib.util

from ..errors import RestyleError
from .base import Engine, ModelFiles

__all__ = ["Engine", "ModelFiles", "create_engine", "torch_available"]


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def create_engine(
    model: ModelFiles, backend: str = "auto", device: str = "auto", precision: str = "auto"
) -> Engine:
    """``auto`` prefers ONNX Runtime (smallest, fastest start) and falls back to torch."""
    if backend not in ("auto", "onnx", "torch"):
        raise RestyleError(f"unknown backend '{backend}': use auto, onnx or torch")
    if backend == "auto":
        backend = "onnx" if model.onnx is not None and model.onnx.is_file() else "torch"
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
