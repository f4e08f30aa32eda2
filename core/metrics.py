"""Quality metrics: temporal warping error (Lai et al. 2018), PSNR and SSIM.

Images are RGB (or gray) ``uint8`` or floats in [0, 1]; uint8 is divided by 255, so every
metric is computed in the [0, 1] range whatever the input type.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from .flow import backward_warp, consistency_mask, make_estimator, to_gray, work_size


def as_unit_float(image: np.ndarray) -> np.ndarray:
    """float32 copy in [0, 1]: uint8 is divided by 255, floats are taken as already in [0, 1]."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) * np.float32(1.0 / 255.0)
    return np.asarray(image, dtype=np.float32)


def _downscale(image: np.ndarray, max_side: int | None) -> np.ndarray:
    height, width = image.shape[:2]
    small_h, small_w = work_size(height, width, max_side)
    if (small_h, small_w) == (height, width):
        return image
    return cv2.resize(image, (small_w, small_h), interpolation=cv2.INTER_AREA)


def pair_warping_error(
    input_t: np.ndarray,
    input_next: np.ndarray,
    output_t: np.ndarray,
    output_next: np.ndarray,
    estimator,
) -> float:
    """Warping error of one frame pair: masked MSE between output t and output t+1 warped to t.

    Flow and occlusion come from the *input* video, exactly as in Lai et al. 2018
    (evaluate_WarpError.py): the mean is over non-occluded pixels and channels; when every pixel
    is occluded the error is 0.
    """
    flow_fw, valid = _judged_pair(input_t, input_next, estimator)
    return _masked_warp_error(output_t, output_next, flow_fw, valid)


def _judged_pair(input_t: np.ndarray, input_next: np.ndarray, estimator):
    """Flow t → t+1 on the inputs and its reliable (non-occluded) pixels."""
    gray_t, gray_next = to_gray(input_t), to_gray(input_next)
    flow_fw = estimator.flow(gray_t, gray_next)
    flow_bw = estimator.flow(gray_next, gray_t)
    return flow_fw, consistency_mask(flow_fw, flow_bw)


def _masked_warp_error(
    output_t: np.ndarray, output_next: np.ndarray, flow_fw: np.ndarray, valid: np.ndarray
) -> float:
    out_t, out_next = as_unit_float(output_t), as_unit_float(output_next)
    if out_t.shape[:2] != valid.shape:
        raise ValueError(f"output size {out_t.shape[:2]} differs from input size {valid.shape}")
    warped = backward_warp(out_next, flow_fw)
    squared = (warped - out_t) ** 2
    if squared.ndim == 2:
        squared = squared[:, :, None]
    count = int(valid.sum()) * squared.shape[2]
    if count == 0:
        return 0.0
    return float(squared[valid].sum() / count)


class WarpingErrorMeter:
    """Streaming warping error: feed (input, output) frames in order, read ``value`` at any time.

    Keeps only the previous pair. Call ``reset()`` at a shot boundary so no pair spans a cut;
    ``value`` stays the mean over every pair seen (NaN before the first pair). ``max_side``
    computes the metric on frames downscaled to that long side (cheaper, not Lai's numbers);
    None keeps full resolution. ``flow`` picks the judge's flow: "dis" (``preset``) or
    "farneback" (independent of the DIS flow that temporal coherence uses).
    """

    def __init__(
        self, max_side: int | None = None, preset: str = "medium", flow: str = "dis"
    ) -> None:
        self.max_side = max_side
        self._estimator = make_estimator(flow, preset)
        self._previous: tuple[np.ndarray, np.ndarray] | None = None
        self._total = 0.0
        self.pairs = 0

    def reset(self) -> None:
        """Forget the previous frame (a cut): the next frame starts a new run of pairs."""
        self._previous = None

    def add(self, input_frame: np.ndarray, output_frame: np.ndarray) -> float | None:
        """Add the next frame; returns this pair's error, or None for the first frame of a shot."""
        current = (_downscale(input_frame, self.max_side), _downscale(output_frame, self.max_side))
        previous, self._previous = self._previous, current
        if previous is None:
            return None
        error = pair_warping_error(
            previous[0], current[0], previous[1], current[1], self._estimator
        )
        self._total += error
        self.pairs += 1
        return error

    @property
    def value(self) -> float:
        return self._total / self.pairs if self.pairs else math.nan


def warping_error(
    inputs: Sequence[np.ndarray],
    outputs: Sequence[np.ndarray],
    *,
    cuts: Iterable[int] = (),
    max_side: int | None = None,
    preset: str = "medium",
    flow: str = "dis",
) -> float:
    """Mean warping error over consecutive frame pairs (Lai et al. 2018), lower is steadier.

    ``cuts`` are frame indices that start a new shot: pairs that span them are skipped.
    The flow is OpenCV DIS (``preset``) or Farnebäck (``flow="farneback"``) instead of the
    paper's FlowNet2.
    """
    if len(inputs) != len(outputs):
        raise ValueError(f"{len(inputs)} input frames but {len(outputs)} output frames")
    shot_starts = set(cuts)
    meter = WarpingErrorMeter(max_side=max_side, preset=preset, flow=flow)
    for index, (input_frame, output_frame) in enumerate(zip(inputs, outputs, strict=True)):
        if index in shot_starts:
            meter.reset()
        meter.add(input_frame, output_frame)
    return meter.value


class FlowJudge:
    """Warping errors of many outputs of the same inputs: the inputs' flows and masks are
    computed once (benchmarks compare several outputs against one judge)."""

    def __init__(self, inputs: Sequence[np.ndarray], flow: str = "dis", preset: str = "medium"):
        estimator = make_estimator(flow, preset)
        self.pairs = [
            _judged_pair(a, b, estimator) for a, b in zip(inputs[:-1], inputs[1:], strict=True)
        ]

    def warping_error(self, outputs: Sequence[np.ndarray]) -> float:
        """Mean warping error over consecutive pairs, as ``warping_error(inputs, outputs)``."""
        if len(outputs) != len(self.pairs) + 1:
            raise ValueError(f"{len(self.pairs) + 1} input frames but {len(outputs)} outputs")
        errors = [
            _masked_warp_error(outputs[i], outputs[i + 1], flow, valid)
            for i, (flow, valid) in enumerate(self.pairs)
        ]
        return float(np.mean(errors)) if errors else math.nan


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over all pixels and channels, peak 1 (inf when equal)."""
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} and {b.shape}")
    mse = float(np.mean((as_unit_float(a) - as_unit_float(b)) ** 2, dtype=np.float64))
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


def _luma(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2 or image.shape[2] == 1:
        return image.reshape(image.shape[:2])
    return image[:, :, :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def ssim(a: np.ndarray, b: np.ndarray, *, luminance: bool = False) -> float:
    """Structural similarity (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03.

    Computed in [0, 1] range per channel and averaged over channels (or on BT.601 luma with
    ``luminance=True``), over the pixels the window fits in, with population statistics — the
    conventions of the original MATLAB code and scikit-image's ``gaussian_weights=True``.
    """
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} and {b.shape}")
    x, y = as_unit_float(a), as_unit_float(b)
    if luminance:
        x, y = _luma(x), _luma(y)
    if x.ndim == 2:
        x, y = x[:, :, None], y[:, :, None]
    pad = 5
    if min(x.shape[:2]) <= 2 * pad:
        raise ValueError(f"image {x.shape[:2]} is too small for an 11x11 SSIM window")
    c1, c2 = 0.01**2, 0.03**2
    scores = []
    for channel in range(x.shape[2]):
        xc = x[:, :, channel].astype(np.float64)
        yc = y[:, :, channel].astype(np.float64)

        def blur(image: np.ndarray) -> np.ndarray:
            return cv2.GaussianBlur(image, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

        mu_x, mu_y = blur(xc), blur(yc)
        var_x = blur(xc * xc) - mu_x**2
        var_y = blur(yc * yc) - mu_y**2
        cov = blur(xc * yc) - mu_x * mu_y
        numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
        denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
        ssim_map = numerator / denominator
        scores.append(ssim_map[pad:-pad, pad:-pad].mean())
    return float(np.mean(scores))
