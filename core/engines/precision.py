"""The precision bar every faster numeric path must meet against fp32 output."""

from __future__ import annotations

import math

import numpy as np

# Output PSNR against the fp32 path, for images in [0, 1].
PRECISION_BAR_DB = 35.0


def psnr(output: np.ndarray, reference: np.ndarray) -> float:
    """PSNR in dB of ``output`` against ``reference`` (both in [0,1], clipped as written).

    A non-finite value (fp16 overflows to inf, then NaN) scores -inf: NaN compares false
    with the bar, so it would otherwise pass every check."""
    a = np.asarray(output, np.float64)
    if not np.isfinite(a).all():
        return -math.inf
    a = np.clip(a, 0.0, 1.0)
    b = np.clip(np.asarray(reference, np.float64), 0.0, 1.0)
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)
