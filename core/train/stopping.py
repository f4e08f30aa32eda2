"""When a training run's held-out quality has really stopped improving.

The validation loss of a small generator trained at a high rate bounces from one validation to
the next, so a rule that compares single validations stops on a bad draw (a user's run once
quit after 120 s of a 480 s budget) or never stops on a curve that creeps down by noise-sized
steps. This rule smooths the curve (median of the last five validations: one or two outliers
neither ends nor extends a run) and asks for a real improvement, a relative drop of
``min_improvement`` of the smoothed value, within ``patience_s`` seconds of the run's clock,
so the same rule holds whatever an iteration costs on the machine.

No torch here: the rule is plain arithmetic on (seconds, value) points, tested on its own.
"""

from __future__ import annotations

import statistics
from collections import deque
from typing import Literal

Verdict = Literal["improving", "waiting", "plateau"]


class PlateauRule:
    """Feed it every validation as ``update(seconds, value)`` (lower is better).

    It answers "improving" when the smoothed value fell ``min_improvement`` (relative) below
    the reference (the smoothed value at the last real improvement, which becomes the new
    reference), "plateau" when ``patience_s`` seconds passed since the reference was set
    without that, and "waiting" otherwise. After a plateau the window restarts from that
    moment (the caller lowers the learning rate and gives it a fresh ``patience_s``).
    """

    def __init__(self, patience_s: float, min_improvement: float, smooth: int = 5) -> None:
        if not patience_s > 0 or not 0 <= min_improvement < 1 or smooth < 1:
            raise ValueError("patience_s > 0, 0 <= min_improvement < 1 and smooth >= 1 needed")
        self.patience_s = patience_s
        self.min_improvement = min_improvement
        self.recent: deque[float] = deque(maxlen=smooth)
        self.reference: float | None = None
        self.since: float = 0.0
        self.smoothed: float | None = None

    def update(self, seconds: float, value: float) -> Verdict:
        if value != value:  # NaN (a diverged step) counts as no improvement
            value = float("inf")
        self.recent.append(value)
        self.smoothed = statistics.median(self.recent)
        if self.reference is None:
            self.reference, self.since = self.smoothed, seconds
            return "improving"
        if self.smoothed < self.reference * (1 - self.min_improvement):
            self.reference, self.since = self.smoothed, seconds
            return "improving"
        if seconds - self.since >= self.patience_s:
            self.reference = min(self.reference, self.smoothed)
            self.since = seconds
            return "plateau"
        return "waiting"
