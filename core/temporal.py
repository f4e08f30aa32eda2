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

What real footage with independent motion taught (benchmarks/bench_temporal.py,
docs/performance/temporal.md): the flicker of the style networks is almost all in the finest
texture band (2-4 px), so blending only low frequencies removes nothing; what removes it is
carrying that texture along moving things too. Hence flow at 320 px with DIS's finest level at
half that (the "fast" preset stops at a quarter, and small walkers get no usable flow), no
motion-boundary test (it rejected nearly every pixel of a walking person), no forward-backward
occlusion test (one flow instead of two, the same flicker/fidelity trade-off: the photometric
test catches what is uncovered), bicubic warping (bilinear blurs the texture a little more at
every frame of the recursion), and exactly zero flow where the source stood still (DIS's noise
there is a pixel or more at 720p: following it blurs the texture and lets it flicker; a still
background is then not resampled at all, which also costs less).

The work splits in two so a pipeline can run the expensive half ahead of time:
``prepare(prev_source, source) -> Guide`` looks at source frames only (optical flow, masks;
thread-safe, each thread gets its own DIS object) and ``apply(guide, styled)`` is the cheap,
strictly sequential blend. ``step`` does both for simple loops.

Lookahead (``lookahead=True``, for offline rendering that can hold one frame): each output
also takes the NEXT styled frame, warped back onto this one::

    out_t = styled_t + w_prev * (warp(out_{t-1}) - styled_t) + w_next * (warp_back(styled_{t+1}) - styled_t)

A non-causal filter removes the same flicker for less deviation from each frame (with
independent per-frame flicker). The next frame's guide carries, in ``ahead``, where each pixel
of this frame is in the next one (the inverse of its backward flow, or a second DIS flow)
with the same photometric confidence and still-pixel snapping; where that confidence is 0
(uncovered, a cut, the last frame) the blend is the causal one at ``strength``.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from .flow import (
    FlowEstimator,
    backward_warp,
    pixel_grid_map,
    shrink,
    to_gray,
)
from .shots import histogram_distance, hsv_histogram

MAX_WEIGHT = 0.99  # strength 1 would freeze consistent regions forever; keep a trickle of new
STRENGTH = 0.5  # the causal blend's weight of the warped previous output
LOOKAHEAD = True  # jobs (CLI, Blender) blend with the next styled frame too (one frame held)
# Lookahead: weights of the warped previous output and of the warped next styled frame.
LOOKAHEAD_WEIGHTS = (0.35, 0.2)
# Bumped when the same settings give other pixels (a job's settings key holds it, so a resumed
# sequence never mixes two revisions): 2 = constant-weight blend passes (rounding differs);
# 3 = jobs also restart at every cut core.shots finds (where a Ray plan splits).
REVISION = 3


class Patch(NamedTuple):
    """Remap maps for the output rectangle rows y0:y1, columns x0:x1 (a tuple: a 720p frame
    makes ~200 of them)."""

    y0: int
    y1: int
    x0: int
    x1: int
    map_xy: np.ndarray
    map_frac: np.ndarray


@dataclass(frozen=True)
class Ahead:
    """How to carry the NEXT frame back onto this one (lookahead): patches map this frame's
    pixels into the next frame; ``confidence`` is the per-pixel trust in that (float32, at
    the flow's size)."""

    patches: tuple[Patch, ...]
    confidence: np.ndarray


@dataclass(frozen=True)
class Guide:
    """How to carry the previous output onto the current frame; ``cut`` means start afresh.

    ``patches`` are the rectangles where something moved, each with its OpenCV fixed-point
    remap maps (current frame → previous frame); everywhere else the flow is exactly zero and
    the previous output is taken as it is. ``confidence`` is the per-pixel trust in the
    warped previous frame, at the flow's size (float32); the blend weight is strength × it.
    """

    cut: bool
    height: int
    width: int
    patches: tuple[Patch, ...] = ()
    reliable_fraction: float = 0.0
    reason: str = ""
    confidence: np.ndarray | None = None
    ahead: Ahead | None = None  # the PREVIOUS frame's lookahead onto this one


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
    lookahead: blend with the next styled frame too (``apply`` then wants the next frame's
        guide and styled frame; a pipeline holds one frame back). Off here, for callers that
        step frame by frame (mattes); jobs turn it on by ``LOOKAHEAD``.
    lookahead_weights: (previous output, next styled frame) weights where both are trusted.
    lookahead_flow: "inverse" (of the next frame's backward flow: no extra flow) or "dis"
        (a second DIS flow, this frame → next).
    """

    def __init__(
        self,
        strength: float = STRENGTH,
        *,
        flow_side: int = 320,
        preset: str = "fast",
        finest_scale: int = 1,
        photometric_tolerance: tuple[float, float] = (16.0, 48.0),
        cut_histogram_distance: float = 0.3,
        min_reliable_fraction: float = 0.15,
        still_margin: float | None = 2.0,
        lookahead: bool = False,
        lookahead_weights: tuple[float, float] = LOOKAHEAD_WEIGHTS,
        lookahead_flow: str = "inverse",
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
        previous_weight, next_weight = lookahead_weights
        if not (previous_weight >= 0 and next_weight >= 0 and previous_weight + next_weight < 1):
            raise ValueError(f"lookahead weights need w >= 0 and sum < 1, got {lookahead_weights}")
        if lookahead_flow not in ("inverse", "dis"):
            raise ValueError(f"lookahead flow is 'inverse' or 'dis', got {lookahead_flow!r}")
        self.lookahead = bool(lookahead)
        self.lookahead_weights = (float(previous_weight), float(next_weight))
        self.lookahead_flow = lookahead_flow
        self.lookahead_interpolation = cv2.INTER_LINEAR
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

    def keep(self, output: np.ndarray) -> None:
        """Carry ``output`` forward in place of the last one (a mapping whose written frame is
        not what it blends: a resumed run rebuilds the state from the written frame)."""
        self._prev_output = output

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
        prev_small, prev_gray, prev_hist = self._small(prev_source)
        small, gray, hist = self._small(source)
        if histogram_distance(prev_hist, hist) > self.cut_histogram_distance:
            return Guide(cut=True, height=height, width=width, reason="histogram change")

        flow_to_prev = self._estimator().flow(gray, prev_gray)
        # Photometric check: the source itself changed, something was uncovered, or the flow
        # is wrong → new pixels win.
        difference = _difference(backward_warp(prev_small, flow_to_prev), small)
        unmoved = _difference(prev_small, small)  # the same both ways: the lookahead's too
        difference = self._snap_still_pixels(flow_to_prev, difference, unmoved)
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

        return Guide(
            cut=False,
            height=height,
            width=width,
            patches=_moving_patches(flow_to_prev, height, width),
            reliable_fraction=reliable_fraction,
            confidence=confidence,
            ahead=self._ahead(flow_to_prev, prev_small, small, unmoved, height, width)
            if self.lookahead
            else None,
        )

    def _ahead(self, flow_to_prev, prev_small, small, unmoved, height: int, width: int) -> Ahead:
        """Where each pixel of the previous frame is in this one, and how far to trust it:
        the same photometric check, still-pixel snapping and patches as the backward path."""
        if self.lookahead_flow == "dis":
            flow = self._estimator().flow(to_gray(prev_small), to_gray(small))
        else:
            flow = _invert_flow(flow_to_prev)
        difference = _difference(backward_warp(small, flow), prev_small)
        difference = self._snap_still_pixels(flow, difference, unmoved)
        low, high = self.photometric_tolerance
        confidence = np.clip((high - difference) / (high - low), 0.0, 1.0)
        confidence *= _inside(flow)
        return Ahead(patches=_moving_patches(flow, height, width), confidence=confidence)

    def _small(self, source: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The source at the flow's size (RGB), its gray and its HSV histogram; the last
        frame's are kept per thread, as each frame is the next call's previous frame."""
        last = getattr(self._local, "small", None)
        if last is not None and last[0] is source:
            return last[1]
        small = shrink(source, self.flow_side)
        if small.ndim == 2:
            small = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB)
        made = (small, to_gray(small), hsv_histogram(cv2.cvtColor(small, cv2.COLOR_RGB2HSV)))
        self._local.small = (source, made)
        return made

    def _snap_still_pixels(self, flow, difference, unmoved) -> np.ndarray:
        """Zero the flow (in place) where the source stood still; returns the photometric
        difference of the flow now used.

        Still: the flow is under a pixel (at the flow's size) and the unmoved previous frame
        matches the current one at least as well as the warped one (within ``still_margin``
        levels). DIS's noise on a still background is a pixel or more at 720p; following it
        shifts the fine texture a little at every frame, which blurs it and lets it flicker.
        """
        if self.still_margin is None:
            return difference
        u, v = cv2.split(flow)
        # OpenCV masks, not numpy boolean indexing (several times slower on these planes).
        still = cv2.compare(cv2.add(difference, self.still_margin), unmoved, cv2.CMP_GE)
        still &= cv2.compare(cv2.magnitude(u, v), 1.0, cv2.CMP_LT)
        zero = _zeros(*u.shape)
        cv2.copyTo(zero, still, dst=u)
        cv2.copyTo(zero, still, dst=v)
        cv2.merge((u, v), dst=flow)
        return cv2.copyTo(unmoved, still, dst=difference)

    def apply(
        self,
        guide: Guide,
        styled: np.ndarray,
        next_guide: Guide | None = None,
        next_styled: np.ndarray | None = None,
    ) -> np.ndarray:
        """The coherent output for this frame (sequential: frames in order, one guide each).

        With ``lookahead``, ``next_guide`` and ``next_styled`` are the next frame's (None at
        the end of a shot); without them, or without lookahead, the blend is causal. After a
        cut guide or ``reset()`` the styled frame itself is returned (blended with the next
        one under lookahead).
        """
        if styled.shape[:2] != (guide.height, guide.width):
            raise ValueError(
                f"styled frame is {styled.shape[1]}x{styled.shape[0]} but its source is "
                f"{guide.width}x{guide.height}; resize one to match"
            )
        previous = self._prev_output
        if not self.enabled:
            return styled
        restart = guide.cut or previous is None or previous.shape != styled.shape
        ahead = self._usable_ahead(next_guide, next_styled, styled)
        if ahead is not None:
            output = self._blend_both(guide, styled, None if restart else previous, ahead)
            self._prev_output = output
            return output
        if restart:
            self._prev_output = styled.copy()
            return styled
        warped = _warp(previous, guide.patches, cv2.INTER_CUBIC, _scratch_like("p", styled))
        output = self._blend_causal(guide, styled, warped)
        self._prev_output = output
        return output

    def _blend_causal(self, guide: Guide, styled, warped) -> np.ndarray:
        """w · warped previous + (1 - w) · styled, w = strength × confidence: one constant-
        weight pass covers the frame (the confidence is 1 nearly everywhere), then only the
        rectangles where it is under 1 are blended again with per-pixel weights."""
        strength = min(self.strength, MAX_WEIGHT)
        output = cv2.addWeighted(warped, strength, styled, 1.0 - strength, 0.0)
        rects = _band_rects(
            cv2.compare(guide.confidence, 1.0, cv2.CMP_LT), guide.height, guide.width
        )
        if rects:
            size = (guide.width, guide.height)
            small = guide.confidence * np.float32(strength)
            weight = cv2.resize(small, size, dst=_scratch("w0", size[::-1]))
            rest = _scratch("w1", size[::-1])  # made in the rectangles only
            for y0, y1, x0, x1 in rects:
                at = (slice(y0, y1), slice(x0, x1))
                np.subtract(np.float32(1.0), weight[at], out=rest[at])
                cv2.blendLinear(warped[at], styled[at], weight[at], rest[at], dst=output[at])
        return output

    def _usable_ahead(self, next_guide, next_styled, styled) -> tuple | None:
        """(Ahead, next styled frame) when lookahead applies: on, and the next frame follows
        in the same shot."""
        if not self.lookahead or next_guide is None or next_styled is None:
            return None
        if next_guide.cut or next_guide.ahead is None or next_styled.shape != styled.shape:
            return None
        return next_guide.ahead, next_styled

    def _blend_both(self, guide: Guide, styled, previous, ahead: tuple) -> np.ndarray:
        """w_prev · warped previous + w_next · warped next + the rest · styled, per pixel.

        w_next = b · c_next; w_prev = c_prev · (s + (strength - s) · (1 - c_next)): where the
        next frame is not trusted the blend falls back to the causal one. Where both frames
        are fully trusted (nearly every pixel) the weights are the constants s and b: two
        constant-weight passes cover the frame, and only the rectangles where a confidence is
        under 1 are blended again with per-pixel weights (made at the flow's size, scaled up)."""
        next_ahead, next_styled = ahead
        s, b = self.lookahead_weights
        c_prev, c_next = guide.confidence, next_ahead.confidence
        if previous is None or c_prev is None:
            c_prev, s = None, 0.0
        # The next frame is warped once, not along a recursion: bilinear is enough there.
        warped_next = _warp(
            next_styled,
            next_ahead.patches,
            self.lookahead_interpolation,
            _scratch_like("n", styled),
        )
        if c_prev is None:
            output = cv2.addWeighted(warped_next, b, styled, 1.0 - b, 0.0)
            blended = warped = None
        else:
            rest = 1.0 - s
            blended = _scratch_like("b", styled)
            cv2.addWeighted(warped_next, b / rest, styled, (rest - b) / rest, 0.0, dst=blended)
            warped = _warp(previous, guide.patches, cv2.INTER_CUBIC, _scratch_like("p", styled))
            output = cv2.addWeighted(warped, s, blended, rest, 0.0)
        uneven = cv2.compare(c_next, 1.0, cv2.CMP_LT)
        if c_prev is not None:
            uneven |= cv2.compare(c_prev, 1.0, cv2.CMP_LT)
        rects = _band_rects(uneven, guide.height, guide.width)
        if not rects:
            return output
        size, one = (guide.width, guide.height), np.float32(1.0)
        w_next, w_prev = self._weight_planes(c_prev, c_next, size)
        keep, rest = (_scratch(name, size[::-1]) for name in ("w2", "w3"))
        for y0, y1, x0, x1 in rects:  # 1 - w_prev and 1 - w_prev - w_next: here only
            at = (slice(y0, y1), slice(x0, x1))
            if w_prev is None:
                np.subtract(one, w_next[at], out=rest[at])
                cv2.blendLinear(warped_next[at], styled[at], w_next[at], rest[at], dst=output[at])
                continue
            np.subtract(one, w_prev[at], out=keep[at])
            np.subtract(keep[at], w_next[at], out=rest[at])
            cv2.blendLinear(warped_next[at], styled[at], w_next[at], rest[at], dst=blended[at])
            cv2.blendLinear(warped[at], blended[at], w_prev[at], keep[at], dst=output[at])
        return output

    def _weight_planes(self, c_prev, c_next, size: tuple[int, int]) -> tuple:
        """Full-size w_next and w_prev (None without a previous output), made at the flow's
        size and scaled up (cheaper than full-size arithmetic)."""
        s, b = (np.float32(w) for w in self.lookahead_weights)
        w_next = cv2.resize(b * c_next, size, dst=_scratch("w0", size[::-1]))
        if c_prev is None:
            return w_next, None
        causal = np.float32(min(self.strength, MAX_WEIGHT))
        w_prev = c_prev * (causal - (causal - s) * c_next)
        return w_next, cv2.resize(w_prev, size, dst=_scratch("w1", size[::-1]))

    def step(self, source: np.ndarray, styled: np.ndarray) -> np.ndarray:
        """``prepare`` against the previous source frame, then ``apply``: one call per frame,
        causal (there is no next frame to look at; a pipeline or ``apply`` can)."""
        if not self.enabled:
            return styled
        guide = self.prepare(self._prev_source, source)
        self._prev_source = source
        return self.apply(guide, styled)


def _invert_flow(flow: np.ndarray, iterations: int = 3) -> np.ndarray:
    """The flow the other way round, f(y) = -g(y + f(y)), by fixed-point iteration (no
    second flow estimate): ``flow`` g is on frame B pointing into A, the result on A into B."""
    grid = pixel_grid_map(flow.shape[0], flow.shape[1])
    inverse = np.negative(flow)
    for _ in range(iterations):  # one two-channel map, no fresh arrays but the map
        at = cv2.add(inverse, grid)
        cv2.remap(flow, at, None, cv2.INTER_LINEAR, dst=inverse, borderMode=cv2.BORDER_REPLICATE)
        np.negative(inverse, out=inverse)
    return inverse


def _inside(flow: np.ndarray) -> np.ndarray:
    """1 where the flow points inside the previous frame, 0 outside, softened (float32)."""
    height, width = flow.shape[:2]
    at = cv2.add(flow, pixel_grid_map(height, width))
    inside = cv2.inRange(at, (0.0, 0.0), (width - 1.0, height - 1.0))  # 255 inside
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8))
    return cv2.GaussianBlur(inside.astype(np.float32) * np.float32(1 / 255), (5, 5), 0)


@functools.lru_cache(maxsize=4)
def _zeros(height: int, width: int) -> np.ndarray:
    zeros = np.zeros((height, width), np.float32)
    zeros.flags.writeable = False
    return zeros


def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel largest channel difference of two uint8 images, lightly smoothed (float32)."""
    difference = cv2.absdiff(a, b)
    if difference.ndim == 3:
        difference = np.maximum.reduce(cv2.split(difference))
    return cv2.GaussianBlur(difference.astype(np.float32), (3, 3), 0)


_SCRATCH = threading.local()


def _scratch(name: str, shape: tuple, dtype=np.float32) -> np.ndarray:
    """A reused full-size buffer (per thread) for what a call consumes before it returns:
    fresh full-size arrays cost page faults (measured: 4.9 → 2.0 ms for four weight planes at
    720p). Never returned to a caller, never kept in a guide or the state."""
    buffers = _SCRATCH.__dict__
    buffer = buffers.get(name)
    if buffer is None or buffer.shape != tuple(shape) or buffer.dtype != dtype:
        buffer = buffers[name] = np.empty(shape, dtype)
    return buffer


def _scratch_like(name: str, image: np.ndarray) -> np.ndarray:
    return _scratch(name, image.shape, image.dtype)


PATCH_ROWS = 32  # output rows per band when looking for what moved
PATCH_GAP = 4  # still columns (at the flow's size, even) that merge two runs into one patch


def _moving_patches(flow: np.ndarray, height: int, width: int) -> tuple[Patch, ...]:
    """One rectangle per run of moving columns in each band of output rows (runs closer than
    ``PATCH_GAP`` merged), with its remap maps; a still camera's background needs no
    resampling at all, and neither do the still gaps between moving things."""
    u, v = cv2.split(flow)
    rects = _band_rects(((u != 0.0) | (v != 0.0)).view(np.uint8), height, width)
    if not rects:
        return ()
    map_x, map_y = _full_maps(u, v, height, width)
    patches = []
    for y0, y1, x0, x1 in rects:
        map_xy, map_frac = cv2.convertMaps(map_x[y0:y1, x0:x1], map_y[y0:y1, x0:x1], cv2.CV_16SC2)
        patches.append(Patch(y0, y1, x0, x1, map_xy, map_frac))
    return tuple(patches)


def _band_rects(mask: np.ndarray, height: int, width: int) -> list:
    """Output rectangles (y0, y1, x0, x1) covering every output pixel that bilinear upscaling
    of a plane at the mask's size takes from a marked pixel (uint8, not 0): one per run of
    marked columns in each band of ``PATCH_ROWS`` output rows."""
    small_h, small_w = mask.shape[:2]
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))  # upscaling spreads to neighbours
    if not mask.any():
        return []
    rows = _band_rows(small_h, height)
    columns = np.stack([mask[r0:r1].any(axis=0) for r0, r1 in rows]).view(np.uint8)
    band, first, last = _runs(columns)
    sx = small_w / width
    y0 = band * PATCH_ROWS
    y1 = np.minimum(height, y0 + PATCH_ROWS)
    x0 = np.maximum(0, (first / sx).astype(np.int64) - 1)
    x1 = np.minimum(width, np.ceil((last + 1) / sx).astype(np.int64) + 1)
    return np.stack([y0, y1, x0, x1], axis=1).tolist()


@functools.lru_cache(maxsize=8)
def _band_rows(small_h: int, height: int) -> tuple:
    """Per band of ``PATCH_ROWS`` output rows, the rows (r0, r1) at the small size it reads."""
    sy = small_h / height
    return tuple(
        (int(y0 * sy), min(small_h, int(np.ceil((y0 + PATCH_ROWS) * sy)) + 1))
        for y0 in range(0, height, PATCH_ROWS)
    )


def _runs(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band, first and last column of each run of marked columns (uint8 0/1, a row per
    band), runs at most ``PATCH_GAP`` columns apart merged (a closing along the rows)."""
    pad = PATCH_GAP + 1  # zeros beyond both ends, so no run grows into the border
    padded = np.pad(columns, ((0, 0), (pad, pad)))
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, np.ones((1, PATCH_GAP + 1), np.uint8))
    steps = np.diff(closed[:, pad - 1 : closed.shape[1] - pad + 1].astype(np.int8), axis=1)
    band, first = np.nonzero(steps == 1)
    _, last = np.nonzero(steps == -1)
    return band, first, last - 1


def _full_maps(u: np.ndarray, v: np.ndarray, height: int, width: int) -> tuple:
    """Full-size absolute sampling coordinates x + u, y + v from a flow at a smaller size.

    The pixel grid is added at the flow's size (where each small pixel's centre lies in
    output pixels) before bilinear upscaling, which reproduces a linear ramp exactly: no
    full-size additions. Only the outermost rows and columns, where upscaling clamps instead
    of interpolating, are corrected. Reused per-thread buffers: consumed before returning."""
    grid_x, grid_y, fix_x, fix_y = _centre_grid(u.shape[0], u.shape[1], height, width)
    size = (width, height)
    map_x = cv2.resize(
        cv2.scaleAdd(u, width / u.shape[1], grid_x), size, dst=_scratch("u", size[::-1])
    )
    map_y = cv2.resize(
        cv2.scaleAdd(v, height / u.shape[0], grid_y), size, dst=_scratch("v", size[::-1])
    )
    for columns, shift in fix_x:
        map_x[:, columns] += shift
    for rows, shift in fix_y:
        map_y[rows] += shift[:, None]
    return map_x, map_y


@functools.lru_cache(maxsize=8)
def _centre_grid(small_h: int, small_w: int, height: int, width: int) -> tuple:
    """Output-pixel coordinates of each small pixel's centre (x and y planes), and per axis
    the (slice, correction) of the edges where bilinear upscaling of that ramp clamps."""
    centres_x = (np.arange(small_w, dtype=np.float32) + 0.5) * np.float32(width / small_w) - 0.5
    centres_y = (np.arange(small_h, dtype=np.float32) + 0.5) * np.float32(height / small_h) - 0.5
    grid_x = np.ascontiguousarray(np.broadcast_to(centres_x, (small_h, small_w)))
    grid_y = np.ascontiguousarray(np.broadcast_to(centres_y[:, None], (small_h, small_w)))
    up_x = cv2.resize(centres_x[None], (width, 1), interpolation=cv2.INTER_LINEAR)[0]
    up_y = cv2.resize(centres_y[:, None], (1, height), interpolation=cv2.INTER_LINEAR)[:, 0]
    fix_x = _edge_fixes(np.arange(width, dtype=np.float32) - up_x)
    fix_y = _edge_fixes(np.arange(height, dtype=np.float32) - up_y)
    for plane in (grid_x, grid_y):
        plane.flags.writeable = False
    return grid_x, grid_y, fix_x, fix_y


def _edge_fixes(error: np.ndarray) -> tuple:
    """(slice, correction) for the leading and trailing entries whose error is not ~0."""
    wrong = np.flatnonzero(np.abs(error) > 1e-3)
    head = wrong[wrong < error.size // 2]
    tail = wrong[wrong >= error.size // 2]
    fixes = []
    if head.size:
        fixes.append((slice(0, head[-1] + 1), error[: head[-1] + 1].copy()))
    if tail.size:
        fixes.append((slice(tail[0], error.size), error[tail[0] :].copy()))
    return tuple(fixes)


def _warp(
    previous: np.ndarray,
    patches: tuple[Patch, ...],
    interpolation: int = cv2.INTER_CUBIC,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The previous output moved along the flow: bicubic (bilinear blurs the texture a little
    more at every frame of the recursion), border replicated, only where something moved.
    ``out``: a buffer of the same shape to write into (no fresh full-size array)."""
    if out is None:
        warped = previous.copy()
    else:
        warped = out
        np.copyto(warped, previous)
    for p in patches:
        cv2.remap(
            previous,
            p.map_xy,
            p.map_frac,
            interpolation,
            dst=warped[p.y0 : p.y1, p.x0 : p.x1],
            borderMode=cv2.BORDER_REPLICATE,
        )
    return warped
