"""The precision bar every faster numeric path must meet against fp32 output."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# Output PSNR against the fp32 path, for images in [0, 1].
PRECISION_BAR_DB = 35.0
# A frame whose pixels vary less than one 8-bit level (standard deviation, as shots.FLAT_STD)
# shows nothing: a black or flat frame. Instance normalisation divides its ~0 spread by
# ~sqrt(eps), so the styled output is rounding noise blown up, in fp32 as much as in bf16:
# comic-ink on a black 160x128 frame gave fp32 output spanning 0..0.93 and bf16 7.9 dB against
# it (OpenVINO fast graph; plain graph 30 dB), while real frames gave 48-51 dB. Such a frame
# says nothing of the precision, and a black first frame switched whole runs to fp32.
FLAT_STD = 1.0 / 255.0


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


def shown(images: np.ndarray) -> np.ndarray:
    """Which frames of a batch (N, C, H, W) show something: not flat (``FLAT_STD``)."""
    frames = np.asarray(images, np.float32).reshape(len(images), -1)
    return frames.std(axis=1) >= FLAT_STD


def judged_psnr(output: np.ndarray, reference: np.ndarray, images: np.ndarray) -> float | None:
    """``psnr`` of a batch's outputs against fp32 over the frames that show something, or
    None where every frame is flat (the check waits for a batch with something in it).

    A non-finite output anywhere still scores -inf: a flat frame's NaN is no rounding."""
    if not np.isfinite(np.asarray(output, np.float64)).all():
        return -math.inf
    rows = shown(images)
    if not rows.any():
        return None
    return psnr(np.asarray(output)[rows], np.asarray(reference)[rows])


def checked_batch(
    images: np.ndarray, reduced: Callable[[], np.ndarray], fp32: Callable[[], np.ndarray]
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """One batch of the first-batch check: the reduced precision's output, fp32's, and
    ``judged_psnr`` between them; every engine's check runs through here.

    A batch whose frames are all flat (``shown``) says nothing of the precision: only fp32
    runs, its output is returned as both and the PSNR is None (the check waits for the next
    batch). So a black lead-in costs one run a batch, not two, and its frames are fp32's
    whatever the check later decides (an unchecked engine's frames of content are the
    reduced precision's, or fp32's where the check fails)."""
    if not shown(images).any():
        reference = fp32()
        return reference, reference, None
    out = reduced()
    reference = fp32()
    return out, reference, judged_psnr(out, reference, images)
