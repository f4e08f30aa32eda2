"""The one interface both inference engines implement."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ...models.registry import ArchSpec
from ..errors import RestyleError

if TYPE_CHECKING:  # annotations only: parsing a command line imports no numpy
    import numpy as np


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

    def close(self) -> None: ...


class Closing:
    """``close()`` ends what an engine holds (worker threads, sessions, a child process,
    device memory) when its job ends: a long-lived process such as Blender would otherwise
    keep them until the garbage collector happens to reach the engine. Safe to call twice;
    ``with engine:`` closes too. A closed engine refuses to run."""

    closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._release()

    def _release(self) -> None:
        raise NotImplementedError

    def _check_open(self) -> None:
        if self.closed:
            raise RestyleError(f"the {self.backend} engine was closed: create a new one")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def closed_on_error(owner) -> Iterator[None]:
    """Closes ``owner`` (an engine, a stylizer) if the block fails, then re-raises: what a
    half-built owner started ends with it."""
    try:
        yield
    except BaseException:
        owner.close()
        raise
