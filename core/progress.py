"""Progress reports and cooperative cancellation shared by the CLI, Blender and scripts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """A snapshot a worker hands to its caller: safe to pass between threads."""

    done: int
    total: int
    fps: float = 0.0
    eta_s: float | None = None
    stage: str = "stylize"
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[Progress], None]


class CancelToken:
    """Set from any thread (Esc in Blender, Ctrl-C in the CLI); workers poll it between frames."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class RateMeter:
    """Frames/s and ETA over a sliding window, so a slow first frame does not skew the ETA."""

    def __init__(self, total: int, window: int = 16) -> None:
        self.total = total
        self.window = window
        self._stamps: list[tuple[float, int]] = [(time.perf_counter(), 0)]

    def update(self, done: int, stage: str = "stylize") -> Progress:
        now = time.perf_counter()
        self._stamps.append((now, done))
        self._stamps = self._stamps[-self.window :]
        t0, d0 = self._stamps[0]
        fps = (done - d0) / (now - t0) if now > t0 and done > d0 else 0.0
        eta = (self.total - done) / fps if fps > 0 else None
        return Progress(done=done, total=self.total, fps=fps, eta_s=eta, stage=stage)
