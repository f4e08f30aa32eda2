"""Flow-guided temporal coherence for per-frame stylised video, style-agnostic.

Each output frame is the per-frame styled frame pulled towards the previous *output* warped
along the source video's optical flow::

    out_t = styled_t + strength * confidence * (warp(out_{t-1}) - styled_t)

Where confidence is 1 this is an exponential moving average along motion trajectories with a
memory of about 1 / (1 - strength) frames: independent per-frame flicker of variance σ² keeps
σ² (1 - s) / (1 + s) of it (a third at s = 0.5). Confidence is 0 where the previous frame
cannot be carried over — the warped previous source differs from the current one (photometric
check: something was uncovered, changed, or the flow is wrong there) or the flow leaves the
frame — so new or changed things take the new styled pixels, and the blend never smears them.

What real footage with independent motion taught (benchmarks/bench_temporal.py, README): the
flicker of the style networks is almost all in the finest texture band (2-4 px), so blending
only low frequencies removes nothing; what removes it is carrying that texture along moving
things too. Hence flow at 320 px with DIS's finest level at half that (the "fast" preset
stops at a quarter, and small walkers get no usable flow), no motion-boundary test
(it rejected nearly every pixel of a walking person), no forward-backward occlusion test
(one flow instead of two, the same flicker/fidelity trade-off: the photometric test catches
what is uncovered), bicubic warping (bilinear blurs the texture a
little more at every frame of the recursion), and exactly zero flow where the source stood
still (DIS's noise there is a pixel or more at 720p: following it blurs the texture and lets it
flicker; a still background is then not resampled at all, which also costs less).

The work splits in two so a pipeline can run the expensive half ahead of time:
``prepare(prev_source, source) -> Guide`` looks at source frames only (optical flow, masks;
thread-safe, each thread gets its own DIS object) and ``apply(guide, styled)`` is the cheap,
strictly sequential blend. ``step`` does both for simple loops.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from .flow import (
    FlowEstimator,
    backward_warp,
    pixel_grid,
    remap_maps,
    resize_flow,
    shrink,
    to_gray,
)
from .shots import histogram_distance, hsv_histogram

MAX_WEIGHT = 0.99  # strength 1 would freeze consistent regions forever; keep a trickle of new


@functools.lru_cache(maxsize=2)
def _ones(height: int, width: int) -> np.ndarray:
    ones = np.ones((height, width), np.float32)
    ones.flags.writeable = False
    return ones


@dataclass(frozen=True)
class Patch:
    """Remap maps for the output rectangle rows y0:y1, columns x0:x1."""

    y0: int
    y1: int
    x0: int
    x1: int
    map_xy: np.ndarray
    map_frac: np.ndarray


@dataclass(frozen=True)
class Guide:
    """How to carry the previous output onto the current frame; ``cut`` means start afresh.

    ``patches`` are the rectangles where something moved, each with its OpenCV fixed-point
    remap maps (current frame → previous frame); everywhere else the flow is exactly zero and
    the previous output is taken as it is. ``odds`` is w / (1 - w) per pixel for the blend
    weight w = strength × confidence (float32): cv2.blendLinear(warped, styled, odds, 1) =
    w·warped + (1 - w)·styled, so a guide holds one float plane rather than two.
    """

    cut: bool
    height: int
    width: int
    patches: tuple[Patch, ...] = ()
    odds: np.ndarray | None = None
    reliable_fraction: float = 0.0
    reason: str = ""


class TemporalBlender:
    """Blends each styled frame with the motion-compensated previous output.

    strength: 0 turns it off (styled frames pass through untouched); towards 1 consistent
        regions freeze (the weight is capped at 0.99); 0.5–0.8 trades flicker for a little
        lag on styles that change.
    flow_side: long side, in pixels, at which flow and masks are computed.
    preset: DIS preset, "fast" or "medium" (slower, a little more accurate).
    finest_scale: DIS's finest pyramid level (0 = flow_side itself, 1 = half of it).
    photometric_tolerance: (low, high) per-pixel change of the warped previous source against
        the current source, in 8-bit levels: full confidence at or below low, none at high.
    cut_histogram_distance: consecutive source frames whose HSV histograms differ more than
        this (0..1) are treated as a cut, as are frames with less than
        ``min_reliable_fraction`` of pixels passing the photometric check.
    still_margin: pixels whose source did not move (see ``_snap_still_pixels``) take exactly
        zero flow, within this many 8-bit levels; None follows DIS everywhere.
    """

    def __init__(
        self,
        strength: float = 0.5,
        *,
        flow_side: int = 320,
        preset: str = "fast",
        finest_scale: int = 1,
        photometric_tolerance: tuple[float, float] = (16.0, 48.0),
        cut_histogram_distance: float = 0.3,
        min_reliable_fraction: float = 0.15,
        still_margin: float | None = 2.0,
    ) -> None:
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"temporal strength must be in [0, 1], got {strength}")
        low, high = photometric_tolerance
        if not 0.0 <= low < high:
            raise ValueError(f"photometric tolerance needs 0 <= low < high, got {low}, {high}")
        self.strength = float(strength)
        self.flow_side = flow_side
        self.preset = preset
        self.finest_scale = finest_scale
        self.photometric_tolerance = (float(low), float(high))
        self.cut_histogram_distance = cut_histogram_distance
        self.min_reliable_fraction = min_reliable_fraction
        self.still_margin = still_margin
        FlowEstimator(preset=preset)  # fail early on a bad preset, not on a worker thread
        self._local = threading.local()
        self._prev_source: np.ndarray | None = None
        self._prev_output: np.ndarray | None = None

    @property
    def enabled(self) -> bool:
        return self.strength > 0.0

    def reset(self) -> None:
        """Forget the previous frame (call at every cut): the next output is its styled frame."""
        self._prev_source = None
        self._prev_output = None

    def _estimator(self) -> FlowEstimator:
        estimator = getattr(self._local, "estimator", None)
        if estimator is None:
            estimator = FlowEstimator(
                preset=self.preset, max_side=None, finest_scale=self.finest_scale
            )
            self._local.estimator = estimator
        return estimator

    def prepare(self, prev_source: np.ndarray | None, source: np.ndarray) -> Guide:
        """Flow and confidence from the previous to the current uint8 RGB source frame.

        Pure and safe to call from worker threads, ahead of ``apply``. ``prev_source=None``
        (first frame of a shot) gives a cut guide.
        """
        height, width = source.shape[:2]
        if prev_source is None or not self.enabled:
            return Guide(cut=True, height=height, width=width, reason="start")
        if prev_source.shape != source.shape:
            return Guide(cut=True, height=height, width=width, reason="size change")
        prev_small = shrink(prev_source, self.flow_side)
        small = shrink(source, self.flow_side)
        if prev_small.ndim == 2:
            prev_small = cv2.cvtColor(prev_small, cv2.COLOR_GRAY2RGB)
            small = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB)

        change = histogram_distance(
            hsv_histogram(cv2.cvtColor(prev_small, cv2.COLOR_RGB2HSV)),
            hsv_histogram(cv2.cvtColor(small, cv2.COLOR_RGB2HSV)),
        )
        if change > self.cut_histogram_distance:
            return Guide(cut=True, height=height, width=width, reason="histogram change")

        flow_to_prev = self._estimator().flow(to_gray(small), to_gray(prev_small))
        # Photometric check: the source itself changed, something was uncovered, or the flow
        # is wrong → new pixels win.
        difference = _difference(backward_warp(prev_small, flow_to_prev), small)
        difference = self._snap_still_pixels(flow_to_prev, difference, prev_small, small)
        low, high = self.photometric_tolerance
        confidence = np.clip((high - difference) / (high - low), 0.0, 1.0)
        confidence *= _inside(flow_to_prev)
        reliable_fraction = np.count_nonzero(confidence) / confidence.size
        if reliable_fraction < self.min_reliable_fraction:
            return Guide(
                cut=True,
                height=height,
                width=width,
                reliable_fraction=reliable_fraction,
                reason="flow lost",
            )

        weight = cv2.resize(confidence, (width, height), interpolation=cv2.INTER_LINEAR)
        weight *= np.float32(min(self.strength, MAX_WEIGHT))
        return Guide(
            cut=False,
            height=height,
            width=width,
            patches=_moving_patches(flow_to_prev, height, width),
            odds=weight / (np.float32(1.0) - weight),
            reliable_fraction=reliable_fraction,
        )

    def _snap_still_pixels(self, flow, difference, prev_small, small) -> np.ndarray:
        """Zero the flow (in place) where the source stood still; returns the photometric
        difference of the flow now used.

        Still: the flow is under a pixel (at the flow's size) and the unmoved previous frame
        matches the current one at least as well as the warped one (within ``still_margin``
        levels). DIS's noise on a still background is a pixel or more at 720p; following it
        shifts the fine texture a little at every frame, which blurs it and lets it flicker.
        """
        if self.still_margin is None:
            return difference
        unmoved = _difference(prev_small, small)
        u, v = cv2.split(flow)
        still = (unmoved <= difference + self.still_margin) & (u * u + v * v < 1.0)
        flow[still] = 0.0
        return np.where(still, unmoved, difference)

    def apply(self, guide: Guide, styled: np.ndarray) -> np.ndarray:
        """The coherent output for this frame (sequential: frames in order, one guide each).

        After a cut guide or ``reset()`` the styled frame itself is returned.
        """
        if styled.shape[:2] != (guide.height, guide.width):
            raise ValueError(
                f"styled frame is {styled.shape[1]}x{styled.shape[0]} but its source is "
                f"{guide.width}x{guide.height}; resize one to match"
            )
        previous = self._prev_output
        if not self.enabled:
            return styled
        if guide.cut or previous is None or previous.shape != styled.shape:
            self._prev_output = styled.copy()
            return styled
        warped = _warp(previous, guide.patches)
        output = cv2.blendLinear(warped, styled, guide.odds, _ones(guide.height, guide.width))
        self._prev_output = output
        return output

    def step(self, source: np.ndarray, styled: np.ndarray) -> np.ndarray:
        """``prepare`` against the previous source frame, then ``apply``: one call per frame."""
        if not self.enabled:
            return styled
        guide = self.prepare(self._prev_source, source)
        self._prev_source = source
        return self.apply(guide, styled)


def _inside(flow: np.ndarray) -> np.ndarray:
    """1 where the flow points inside the previous frame, 0 outside, softened (float32)."""
    map_x, map_y = remap_maps(flow)
    height, width = flow.shape[:2]
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    inside = cv2.erode(inside.astype(np.float32), np.ones((3, 3), np.uint8))
    return cv2.GaussianBlur(inside, (5, 5), 0)


def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel largest channel difference of two uint8 images, lightly smoothed (float32)."""
    difference = cv2.absdiff(a, b)
    if difference.ndim == 3:
        difference = np.maximum.reduce(cv2.split(difference))
    return cv2.GaussianBlur(difference.astype(np.float32), (3, 3), 0)


PATCH_ROWS = 32  # output rows per band when looking for what moved


def _moving_patches(flow: np.ndarray, height: int, width: int) -> tuple[Patch, ...]:
    """One rectangle per band of output rows around the pixels whose flow is not zero, with
    its remap maps; a still camera's background needs no resampling at all."""
    small_h, small_w = flow.shape[:2]
    moving = np.any(flow != 0.0, axis=2).astype(np.uint8)
    # Bilinear upscaling spreads a small pixel's flow over its neighbours' output pixels.
    moving = cv2.dilate(moving, np.ones((3, 3), np.uint8))
    if not moving.any():
        return ()
    full = resize_flow(flow, height, width)
    xs, ys = pixel_grid(height, width)
    sy, sx = small_h / height, small_w / width
    patches = []
    for y0 in range(0, height, PATCH_ROWS):
        y1 = min(height, y0 + PATCH_ROWS)
        rows = moving[int(y0 * sy) : min(small_h, int(np.ceil(y1 * sy)) + 1)]
        columns = np.flatnonzero(rows.any(axis=0))
        if columns.size == 0:
            continue
        x0 = max(0, int(columns[0] / sx) - 1)
        x1 = min(width, int(np.ceil((columns[-1] + 1) / sx)) + 1)
        map_xy, map_frac = cv2.convertMaps(
            full[y0:y1, x0:x1, 0] + xs[y0:y1, x0:x1],
            full[y0:y1, x0:x1, 1] + ys[y0:y1, x0:x1],
            cv2.CV_16SC2,
        )
        patches.append(Patch(y0, y1, x0, x1, map_xy, map_frac))
    return tuple(patches)


def _warp(previous: np.ndarray, patches: tuple[Patch, ...]) -> np.ndarray:
    """The previous output moved along the flow: bicubic (bilinear blurs the texture a little
    more at every frame of the recursion), border replicated, only where something moved."""
    warped = previous.copy()
    for p in patches:
        warped[p.y0 : p.y1, p.x0 : p.x1] = cv2.remap(
            previous, p.map_xy, p.map_frac, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
        )
    return warped
