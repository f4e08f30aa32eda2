"""Progress reports and cooperative cancellation shared by the CLI, Blender and scripts."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# The stage of every training's progress (a style learned from keyframes, a matte's
# keyframes): it counts seconds of the time budget, not frames, and the sidebar fills its bar.
TRAINING = "train"


@dataclass(frozen=True)
class Step:
    """One pass of a two-pass job: which, of how many, and what it does ('tracking')."""

    number: int
    count: int
    doing: str


# The two-pass jobs' passes, by job, then by the stage each pass reports: each pass's bar
# runs from 0 to its own end, so every front end says which step it is (the command line's
# 'step 1 of 2, tracking', the sidebar's 'Step 1 of 2: ...'). A matte learns its keyframes
# first only when it has some; without, it is one pass.
TWO_PASS_STEPS = {
    "stabilize": {"track": Step(1, 2, "tracking"), "stabilize": Step(2, 2, "stabilizing")},
    "keyframed matte": {
        TRAINING: Step(1, 2, "learning the keyframes"),
        "matte": Step(2, 2, "matting"),
    },
}


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
    """Frames/s and ETA over the last ``window_s`` seconds (since the start until then).

    A time window, not a count of updates: frames finishing together (a batch, frames
    reused on resume) must not read as thousands of frames per second, and a slow first
    frame must not skew the ETA for long. Before ``min_elapsed_s`` there is no estimate.
    ``done``: the count it starts from, now (a run's meter starts at its first frame, with
    that frame counted: a network built or a precision checked before it is no frame time).
    """

    def __init__(
        self,
        total: int,
        window_s: float = 10.0,
        min_elapsed_s: float = 0.5,
        resolution_s: float = 0.25,
        done: int = 0,
    ) -> None:
        self.total = total
        self.window_s = window_s
        self.min_elapsed_s = min_elapsed_s
        self.resolution_s = resolution_s
        self._stamps: deque[tuple[float, int]] = deque([(time.perf_counter(), done)])

    def update(self, done: int, stage: str = "stylize") -> Progress:
        now = time.perf_counter()
        if now - self._stamps[-1][0] >= self.resolution_s:
            self._stamps.append((now, done))
        while len(self._stamps) > 1 and now - self._stamps[1][0] >= self.window_s:
            self._stamps.popleft()  # the base is the newest stamp at least a window old
        t0, d0 = self._stamps[0]
        elapsed = now - t0
        fps = (done - d0) / elapsed if elapsed >= self.min_elapsed_s and done > d0 else 0.0
        eta = (self.total - done) / fps if fps > 0 else None
        return Progress(done=done, total=self.total, fps=fps, eta_s=eta, stage=stage)
