"""The one interface both inference engines implement."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ...models.registry import ArchSpec


@dataclass(frozen=True)
class ModelFiles:
    """A network and where its weights live: ONNX for ONNX Runtime, safetensors for torch."""

    arch: ArchSpec
    onnx: Path | None = None
    weights: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)  # arch overrides (trained styles)


class Engine(Protocol):
    """Runs one network on a batch: NCHW float32 in [0,1] (+ condition) → NCHW float32."""

    backend: str
    device: str
    arch: ArchSpec

    def run(self, images: np.ndarray, condition: np.ndarray | None = None) -> np.ndarray: ...
