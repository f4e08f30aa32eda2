"""Carry a trained style's painted keyframes onto the frames around them (EbSynth-style).

Why: a generator trained for minutes on two keyframes cannot reproduce a detailed look
(pencil strokes, paper texture) on other frames, yet wherever a frame shows what a keyframe
showed, the artist's own pixels are the right answer. So each frame is matched to its most
similar keyframes by optical flow (current source → keyframe source), the painted keyframe is
moved onto the frame along that flow, and its pixels are taken where the moved keyframe
*source* matches the current source (photometric check) and the flow stays inside the frame.
Where something moved, was uncovered or changed, or on another clip altogether, the check
fails and the network's output is kept: no ghosts of the keyframe's paint.

    out = net + strength * confidence * (carried - net)

Once calibrated on the network's own output for the keyframes (``calibrate``, what the
Stylizer does), what is carried is each painting's *correction*, painting minus the network's
output for that keyframe: out = net + strength * confidence * carried correction. A keyframe
still comes back as painted, and where the look changes between the keyframe and the frame
in a way the network follows (a pencil sketch's rows shift with the people elsewhere on them,
a grade follows the light), that change is kept instead of the keyframe's old pixels
(300 CPU-s, eight cases: held-out mean 35.6 -> 36.6 dB, pencil sketch vtest 25.2 -> 26.4).

numpy + OpenCV only (no torch, no bpy); ``KeyframeCarrier.apply`` is thread-safe (one DIS
object per thread). All tunables live in ``CarryTunables``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import RestyleError, setting
from .flow import FlowEstimator, pixel_grid, resize_flow, rgb8, shrink, to_gray
from .shots import histogram_distance, hsv_histogram


@dataclass(frozen=True)
class CarryTunables:
    """Every number that decides what is carried (one place, measured in bench_keyframes)."""

    # Flow: DIS at this long side, finest level at half of it (as core/temporal.py).
    flow_side: int = 320
    preset: str = "fast"
    finest_scale: int = 1
    # The photometric check runs at most at this long side (larger frames: its confidence
    # is scaled up; the paintings are always moved at full size). ~8x cheaper at 1080p.
    check_side: int = 960
    # Keyframes looked at per frame: the most similar ones (tiny-thumbnail difference, in
    # 8-bit levels), mixed per pixel by confidence / (floor + difference)^power.
    keyframes_per_frame: int = 2
    similarity_floor: float = 0.5
    similarity_power: float = 2.0
    # Photometric check, in 8-bit levels of the largest channel difference between the moved
    # keyframe source and the current source (blurred over `blur_px`): full confidence at or
    # below `low`, none at or above `high`.
    low: float = 6.0
    high: float = 18.0
    # calibrate() tries these `low`s (`high` scaled with it, as high/low above) and this
    # share of the network's RMS error on the keyframes (in levels) when that is smaller, and
    # keeps the loosest whose carried blend is within `calibration_margin` of the closest on
    # the keyframes, or none (carry off) when the closest is not closer than the network.
    # 12 and 24 (with corrections carried; the same 300 CPU-s networks): held-out mean
    # 36.56 -> 36.64 dB, 60 CPU-s networks 32.99 -> 33.38, no look lower.
    calibration_lows: tuple[float, ...] = (1.5, 3.0, 6.0, 12.0, 24.0)
    tolerance_per_error: float = 0.5
    calibration_margin: float = 0.01
    blur_px: int = 5
    # Confidence is shrunk by this many pixels around rejected regions (a walker's outline
    # must not keep the background's paint), then softened over `soften_px`.
    erode_px: int = 2
    soften_px: int = 9
    # A pixel takes the keyframe unmoved where that matches within this many levels of the
    # flow's candidate: a still background gets the painted pixels exactly, unresampled.
    still_margin: float = 2.0
    # A keyframe is not used for a frame whose colours differ more than this (HSV histogram
    # distance, 0..1), or when less than `min_fraction` of the frame passes the check.
    max_histogram_distance: float = 0.3
    min_fraction: float = 0.05


TUNABLES = CarryTunables()
THUMB_SIDE = 48  # tiny grey thumbnails that rank keyframes by similarity


@dataclass(frozen=True)
class Keyframe:
    """One painted keyframe: its source frame and the artist's painting (uint8 RGB, same size)."""

    frame: int
    source: np.ndarray
    painted: np.ndarray


def keyframe_file_names(frame: int) -> tuple[str, str]:
    """The style folder's file names for keyframe ``frame``: (source, painted)."""
    return f"keyframe-{frame:06d}-source.png", f"keyframe-{frame:06d}-painted.png"


def _read_png(path: Path) -> np.ndarray:
    data = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
    if data is None:
        raise RestyleError(f"keyframe image {path} is missing or corrupt; retrain the style")
    return np.ascontiguousarray(data[:, :, ::-1])


def read_keyframes(folder: Path, meta: dict) -> list[Keyframe]:
    """The keyframes a style folder lists in ``style.json`` ("carry"); [] for older styles."""
    entries = meta.get("carry") or []
    if not isinstance(entries, list):
        raise RestyleError(f"{folder}/style.json: 'carry' must be a list of keyframes")
    keyframes = []
    for entry in entries:
        try:
            frame = int(entry["frame"])
            names = (str(entry["source"]), str(entry["painted"]))
        except (KeyError, TypeError, ValueError):
            raise RestyleError(f"{folder}/style.json: a 'carry' entry is malformed") from None
        if any(Path(n).name != n or n.startswith(".") for n in names):
            raise RestyleError(f"{folder}/style.json: keyframe file names must be plain names")
        source, painted = (_read_png(folder / n) for n in names)
        if source.shape != painted.shape:
            raise RestyleError(f"{folder}: keyframe {frame}'s source and painting differ in size")
        keyframes.append(Keyframe(frame, source, painted))
    return keyframes


def write_keyframes(folder: Path, keyframes: list[Keyframe]) -> list[dict]:
    """Write lossless PNGs of ``keyframes`` into ``folder``; returns the "carry" entries."""
    entries = []
    for key in keyframes:
        names = keyframe_file_names(key.frame)
        for name, image in zip(names, (key.source, key.painted), strict=True):
            ok, png = cv2.imencode(".png", np.ascontiguousarray(image[:, :, ::-1]))
            if not ok:
                raise RestyleError(f"could not encode keyframe {key.frame}")
            (folder / name).write_bytes(png.tobytes())
        entries.append({"frame": int(key.frame), "source": names[0], "painted": names[1]})
    return entries


@dataclass(frozen=True)
class _Prepared:
    """A keyframe at one frame size, with what ranking and flow need precomputed."""

    source: np.ndarray
    painted: np.ndarray
    small: np.ndarray  # at flow_side
    check: np.ndarray  # at check_side
    thumb: np.ndarray
    histogram: np.ndarray


class KeyframeCarrier:
    """Moves painted keyframes onto frames and blends them over the network's output."""

    def __init__(
        self, keyframes: list[Keyframe], strength: float = 1.0, tunables: CarryTunables = TUNABLES
    ) -> None:
        if not 0.0 <= strength <= 1.0:
            raise RestyleError(f"{setting('carry', strength)} is out of range 0..1")
        self.keyframes = keyframes
        self.strength = float(strength)
        self.tunables = tunables
        self.tolerance = (tunables.low, tunables.high)  # calibrate() may tighten it
        self.active = True  # calibrate() turns it off when carrying loses on the keyframes
        self.calibration: dict[str, float] = {}
        # calibrate(): per keyframe, the painting minus the network's output for it; carried
        # instead of the paintings (the network's own change between keyframe and frame kept)
        self.corrections: list[np.ndarray] | None = None
        self._local = threading.local()
        self._sizes: dict[tuple[int, int], list[_Prepared]] = {}
        self._lock = threading.Lock()

    def calibrate(self, network: Callable[[np.ndarray], np.ndarray]) -> None:
        """Fit carrying to this style from its own keyframes, once, before any frame.

        ``network(source)`` is the learned network's styled frame. From here on the
        paintings' corrections (painting - network output) are carried. Each keyframe gets
        the others' carried at each candidate tolerance, added to the network's output for it
        as a frame gets them (network + confidence x carried correction). Carrying is off
        when no blend is closer to the paintings (RMS over the whole keyframes) than the
        network alone; otherwise the loosest tolerance within ``calibration_margin`` of the
        closest blend is kept (a keyframe carried onto another 32 frames away is a harsher
        test than frames nearer a keyframe face, the more so the looser the tolerance:
        measured at 300 CPU-s with the paintings themselves carried, +0.1 to +0.3 dB on
        three looks; a 2 % margin lost 0.2 dB on a 48 dB colour grade).

        The blend is judged, not the carried pixels alone: a painting carried 32 frames can
        be less exact than the network's average yet more exact than the network where it
        is carried (vtest pencil sketch at 300 CPU-s, paintings carried: carried pixels 21.5
        levels off, the network 18.5, the blend 17.4; held-out 22.7 -> 25.2 dB, which a test
        on the carried pixels alone refused).
        With one keyframe there is nothing to judge: the tolerance shrinks to
        ``tolerance_per_error`` x the network's error (a look the network reproduces within
        a level must not be replaced by a painting moved within six)."""
        t = self.tunables
        outputs = [np.asarray(network(k.source), np.float32) for k in self.keyframes]
        network_error = _rms(
            [_difference_sq(out, k.painted) for out, k in zip(outputs, self.keyframes, strict=True)]
        )
        self.corrections = [
            k.painted.astype(np.float32) - out
            for k, out in zip(self.keyframes, outputs, strict=True)
        ]
        self._sizes.clear()
        fitted = min(t.low, t.tolerance_per_error * network_error)
        self.tolerance = self._scaled(fitted)
        self.calibration = {"network_error": network_error, "carry_error": 0.0, "low": fitted}
        if len(self.keyframes) < 2:
            return
        candidates = sorted({*t.calibration_lows, fitted})
        errors = {low: self._cross_error(outputs, self._scaled(low)) for low in candidates}
        closest = min(errors.values())
        best = max(
            low for low, error in errors.items() if error <= (1 + t.calibration_margin) * closest
        )
        self.active = closest < network_error
        self.tolerance = self._scaled(best)
        self.calibration.update(carry_error=errors[best], low=best)

    def _scaled(self, low: float) -> tuple[float, float]:
        """(low, high) with high/low as the defaults' (at least half a level apart)."""
        t = self.tunables
        return low, max(t.high / t.low * low, low + 0.5)

    def _cross_error(self, outputs: list[np.ndarray], tolerance: tuple[float, float]) -> float:
        """RMS error over the whole keyframes of each one's network output with the others'
        paintings carried onto it at ``tolerance``, as ``apply`` blends them."""
        errors = []
        assert self.corrections is not None
        for i, (key, out) in enumerate(zip(self.keyframes, outputs, strict=True)):
            others = KeyframeCarrier(
                self.keyframes[:i] + self.keyframes[i + 1 :], 1.0, self.tunables
            )
            others.corrections = self.corrections[:i] + self.corrections[i + 1 :]
            others.tolerance = tolerance
            carried, confidence = others.carry(key.source)
            if carried is not None:
                out = out + confidence[:, :, None] * carried
            errors.append(_difference_sq(out, key.painted))
        return _rms(errors)

    def _estimator(self) -> FlowEstimator:
        estimator = getattr(self._local, "estimator", None)
        if estimator is None:
            t = self.tunables
            estimator = FlowEstimator(t.preset, max_side=None, finest_scale=t.finest_scale)
            self._local.estimator = estimator
        return estimator

    def _at_size(self, height: int, width: int) -> list[_Prepared]:
        """The keyframes resized to a frame size of the same aspect (others are skipped)."""
        with self._lock:
            if (height, width) not in self._sizes:
                self._sizes[height, width] = [
                    self._prepare(k, height, width)
                    for k in self._carried_keyframes()
                    if _same_aspect(k.source.shape, height, width)
                ]
            return self._sizes[height, width]

    def _carried_keyframes(self) -> list[Keyframe]:
        """The keyframes with what is carried: the paintings, or once calibrated their
        corrections."""
        if self.corrections is None:
            return self.keyframes
        pairs = zip(self.keyframes, self.corrections, strict=True)
        return [Keyframe(k.frame, k.source, correction) for k, correction in pairs]

    def _prepare(self, key: Keyframe, height: int, width: int) -> _Prepared:
        source, painted = key.source, key.painted
        if source.shape[:2] != (height, width):
            interp = cv2.INTER_AREA if source.shape[0] > height else cv2.INTER_CUBIC
            source = cv2.resize(source, (width, height), interpolation=interp)
            painted = cv2.resize(painted, (width, height), interpolation=interp)
        small = shrink(source, self.tunables.flow_side)
        check = shrink(source, self.tunables.check_side)
        return _Prepared(source, painted, small, check, _thumb(source), _histogram(small))

    def apply(self, source: np.ndarray, styled: np.ndarray) -> np.ndarray:
        """``styled`` (the network's output, uint8 or float RGB at the source's size) with
        the carried keyframes blended in; returned unchanged where nothing is carried."""
        if self.strength <= 0.0 or not self.keyframes or not self.active:
            return styled
        carried, confidence = self.carry(rgb8(source))
        if carried is None:
            return styled
        weight = (confidence * np.float32(self.strength))[:, :, None]
        if self.corrections is not None:  # carried: the paintings' corrections, moved
            carried *= weight
            if styled.dtype != np.uint8:
                return (styled + carried * np.float32(1 / 255)).astype(styled.dtype)
            carried += styled
            carried += np.float32(0.5)
            return np.clip(carried, 0, 255, out=carried).astype(np.uint8)
        if styled.dtype == np.uint8:
            carried -= styled
            carried *= weight
            carried += styled
            carried += np.float32(0.5)
            return np.clip(carried, 0, 255, out=carried).astype(np.uint8)
        painted = carried * np.float32(1 / 255)
        return (styled + weight * (painted - styled)).astype(styled.dtype)

    def carry(self, source: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """(paintings moved onto ``source`` and mixed, per-pixel confidence 0..1); (None,
        zeros) when no keyframe matches this frame.

        Where several keyframes match a pixel, each counts by its confidence over (floor +
        its thumbnail difference to this frame)^power: the keyframe most like this frame
        dominates (a keyframe comes back as painted), and two equally near ones are
        averaged, as EbSynth blends the runs from the keyframes either side of a frame."""
        height, width = source.shape[:2]
        small = shrink(source, self.tunables.flow_side)
        check = shrink(source, self.tunables.check_side)
        total = weights = None
        best = np.zeros((height, width), np.float32)
        for key, distance in self._nearest(self._at_size(height, width), source, small):
            painted, confidence = self._carry_one(key, small, check, height, width)
            if painted is None:
                continue
            weight = confidence * np.float32(self._closeness(distance))
            term = painted.astype(np.float32) * weight[:, :, None]
            total = term if total is None else total + term
            weights = weight if weights is None else weights + weight
            best = np.maximum(best, confidence)
        if total is None:
            return None, best
        return total / np.maximum(weights, np.float32(1e-12))[:, :, None], best

    def _closeness(self, distance: float) -> float:
        t = self.tunables
        return (t.similarity_floor + distance) ** -t.similarity_power

    def _nearest(self, keys: list[_Prepared], source: np.ndarray, small) -> list:
        """(keyframe, thumbnail difference) of those whose colours are close enough, most
        similar first."""
        t = self.tunables
        histogram = _histogram(small)
        thumb = _thumb(source)
        close = [
            (k, float(np.mean(cv2.absdiff(k.thumb, thumb))))
            for k in keys
            if histogram_distance(k.histogram, histogram) <= t.max_histogram_distance
        ]
        close.sort(key=lambda pair: pair[1])
        return close[: t.keyframes_per_frame]

    def _carry_one(self, key: _Prepared, small, check, height: int, width: int):
        """One keyframe's painting moved onto a frame of (height, width) and its confidence,
        or (None, None) when too little of it matches.

        The check runs at ``check_side`` (a frame that size or smaller: every pixel). Each
        pixel takes the keyframe unmoved where that matches as well as the flow's candidate
        (within ``still_margin``): DIS's noise on a still background would resample the
        strokes; there the painted pixels come back exactly."""
        t = self.tunables
        flow = self._estimator().flow(to_gray(small), to_gray(key.small))
        at_check = resize_flow(flow, *check.shape[:2])
        moved_source, inside = _warp_inside(key.check, at_check)
        moved = _difference(moved_source, check, t.blur_px)
        still = _difference(key.check, check, t.blur_px)
        keep = still <= moved + t.still_margin
        difference = np.where(keep, still, moved)
        low, high = self.tolerance
        confidence = np.clip((high - difference) / (high - low), 0.0, 1.0)
        confidence *= np.where(keep, np.float32(1), inside)
        if np.count_nonzero(confidence) < t.min_fraction * confidence.size:
            return None, None
        confidence = _soften(confidence, t.erode_px, t.soften_px)
        if check.shape[:2] != (height, width):
            confidence = cv2.resize(confidence, (width, height), interpolation=cv2.INTER_LINEAR)
            keep = cv2.resize(keep.view(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
        moved_painting, _ = _warp_inside(key.painted, resize_flow(flow, height, width))
        return np.where(keep[:, :, None] > 0, key.painted, moved_painting), confidence


def _difference_sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel mean squared channel difference, in 8-bit levels squared."""
    d = np.asarray(a, np.float32)[..., :3] - np.asarray(b, np.float32)[..., :3]
    return np.mean(d * d, axis=-1)


def _rms(squares: list[np.ndarray]) -> float:
    return float(np.sqrt(np.mean(np.concatenate([np.ravel(s) for s in squares]))))


def _same_aspect(shape: tuple[int, ...], height: int, width: int) -> bool:
    return abs(shape[1] / shape[0] - width / height) <= 0.01 * (width / height)


def _thumb(image: np.ndarray) -> np.ndarray:
    return shrink(to_gray(image), THUMB_SIDE)


def _histogram(small: np.ndarray) -> np.ndarray:
    return hsv_histogram(cv2.cvtColor(small, cv2.COLOR_RGB2HSV))


def _warp_inside(image: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``image`` backward-warped along ``flow`` (bilinear; unchanged where the flow is exactly
    zero) and 1 where the flow lands inside it, 0 where it leaves (float32)."""
    height, width = flow.shape[:2]
    if not flow.any():
        return image, np.ones((height, width), np.float32)
    where = flow + _grid(height, width)  # one two-channel map: no split, one pass
    warped = cv2.remap(image, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    x, y = where[:, :, 0], where[:, :, 1]
    inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
    return warped, inside.astype(np.float32)


@functools.lru_cache(maxsize=4)
def _grid(height: int, width: int) -> np.ndarray:
    """Read-only (x, y) of every pixel, [H, W, 2] float32 (cached)."""
    xs, ys = pixel_grid(height, width)
    grid = np.dstack([xs, ys])
    grid.flags.writeable = False
    return grid


def _difference(a: np.ndarray, b: np.ndarray, blur_px: int) -> np.ndarray:
    """Largest channel difference of two uint8 images, blurred (float32)."""
    difference = cv2.absdiff(a, b)
    if difference.ndim == 3:
        difference = np.maximum.reduce(cv2.split(difference))
    size = blur_px | 1
    return cv2.GaussianBlur(difference.astype(np.float32), (size, size), 0)


def _soften(confidence: np.ndarray, erode_px: int, soften_px: int) -> np.ndarray:
    """Shrink confident regions by ``erode_px`` (outlines of rejected things stay rejected),
    then blur the edge over ``soften_px`` so the seam with the network's output is soft."""
    if erode_px > 0:
        kernel = np.ones((2 * erode_px + 1, 2 * erode_px + 1), np.uint8)
        confidence = cv2.erode(confidence, kernel)
    if soften_px > 0:
        size = soften_px | 1
        confidence = cv2.GaussianBlur(confidence, (size, size), 0)
    return confidence
