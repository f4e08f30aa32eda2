"""Shot boundaries and keyframe suggestions from a stream of frames.

Cuts: a content detector in the manner of PySceneDetect's adaptive detector. Each frame gets a
content value, the mean absolute difference of its H, S and V channels from the previous
frame (on a small copy), and a histogram change; a cut is a frame whose value is both large in
absolute terms and several times the average of its neighbours on both sides, so steady fast
motion (a whole run of large values) does not read as a run of cuts, nor does a flash.

Keyframes: per shot, the frame closest to the shot's mean look, plus one more per stretch of
camera/object motion (mean optical-flow magnitude summed along the shot), so a long pan gets
keyframes for the new content it reveals.

Everything streams: a frame is reduced to a few numbers and a thumbnail (``FrameFeatures``)
and then dropped, so an hour of video costs tens of megabytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from .flow import FlowEstimator, shrink

ANALYSIS_SIDE = 160
REPEAT_CONTENT = 1.0  # a content value below this: the frame repeats the one before
THUMBNAIL_SIZE = (32, 18)


@dataclass(frozen=True)
class Shot:
    """Frames ``start`` .. ``end - 1`` (end exclusive, like ``range``) and suggested keyframes."""

    start: int
    end: int
    keyframes: tuple[int, ...] = field(default=())

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class FrameFeatures:
    """What shot analysis keeps of one frame; ``content`` and ``motion`` compare to the previous."""

    content: float
    histogram_change: float
    motion: float
    thumbnail: np.ndarray


def content_value(hsv_a: np.ndarray, hsv_b: np.ndarray) -> float:
    """PySceneDetect's content value: mean |ΔH|, |ΔS|, |ΔV| averaged (OpenCV uint8 HSV, 0..255)."""
    diff = cv2.absdiff(hsv_a, hsv_b)
    return float(diff.reshape(-1, 3).mean(axis=0).mean())


def hsv_histogram(hsv: np.ndarray) -> np.ndarray:
    """Normalised H (32 bins), S and V (16 bins each) histograms, concatenated."""
    parts = [
        cv2.calcHist([hsv], [0], None, [32], [0, 180]),
        cv2.calcHist([hsv], [1], None, [16], [0, 256]),
        cv2.calcHist([hsv], [2], None, [16], [0, 256]),
    ]
    pixels = float(hsv.shape[0] * hsv.shape[1])
    return np.concatenate([p.ravel() / pixels for p in parts]).astype(np.float32)


def histogram_distance(hist_a: np.ndarray, hist_b: np.ndarray) -> float:
    """Total-variation distance of two ``hsv_histogram`` results, 0 (same) .. 1 (disjoint).

    Blind to where things are, so motion barely moves it while a change of scene does.
    """
    return float(np.abs(hist_a - hist_b).sum() / 6.0)


def _rgb_to_hsv(small_rgb: np.ndarray) -> np.ndarray:
    if small_rgb.ndim == 2:
        small_rgb = cv2.cvtColor(small_rgb, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(small_rgb, cv2.COLOR_RGB2HSV)


def frame_features(frames: Iterable[np.ndarray]) -> list[FrameFeatures]:
    """Reduce uint8 RGB frames, in order, to ``FrameFeatures`` (one streaming pass)."""
    estimator = FlowEstimator(preset="ultrafast", max_side=None)
    features: list[FrameFeatures] = []
    previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    for frame in frames:
        small = shrink(frame, ANALYSIS_SIDE)
        hsv = _rgb_to_hsv(small)
        histogram = hsv_histogram(hsv)
        gray = hsv[:, :, 2] if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        thumbnail = cv2.resize(small, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA)
        content = histogram_change = motion = 0.0
        if previous is not None:
            prev_hsv, prev_histogram, prev_gray = previous
            if prev_hsv.shape != hsv.shape:
                raise ValueError(f"frame {len(features)} changes size: {hsv.shape[:2]}")
            content = content_value(prev_hsv, hsv)
            histogram_change = histogram_distance(prev_histogram, histogram)
            flow = estimator.flow(prev_gray, gray)
            magnitude = np.sqrt((flow**2).sum(axis=2)).mean()
            motion = float(magnitude / max(gray.shape))
        features.append(FrameFeatures(content, histogram_change, motion, thumbnail))
        previous = (hsv, histogram, gray)
    return features


def _as_features(frames: Iterable[np.ndarray] | Sequence[FrameFeatures]) -> list[FrameFeatures]:
    items = frames if isinstance(frames, Sequence) else list(frames)
    if items and isinstance(items[0], FrameFeatures):
        return list(items)
    return frame_features(items)


def _adaptive_ratio(
    values: np.ndarray, index: int, window: int, floor: float, moving: np.ndarray | None = None
) -> float:
    """values[index] over the mean of up to ``window`` values each side (index 0 has none).

    With ``moving`` (False for a frame that repeats the one before), repeats are skipped when
    looking for neighbours (up to ``4 * window`` frames away): a clip that stutters (frames
    held, then a jump, as in duplicated-frame video) compares a jump with the other jumps,
    not with the stillness between them."""
    lo, hi = max(1, index - window), min(len(values), index + window + 1)
    if moving is None:
        neighbours = np.concatenate([values[lo:index], values[index + 1 : hi]])
    else:
        before = [
            i for i in range(index - 1, max(0, index - 4 * window) - 1, -1) if i >= 1 and moving[i]
        ]
        after = [i for i in range(index + 1, min(len(values), index + 4 * window + 1)) if moving[i]]
        neighbours = values[before[:window] + after[:window]]
    baseline = float(neighbours.mean()) if len(neighbours) else 0.0
    return float(values[index]) / max(baseline, floor)


def detect_cuts(
    frames: Iterable[np.ndarray] | Sequence[FrameFeatures],
    *,
    min_content: float = 12.0,
    content_ratio: float = 3.0,
    min_histogram_change: float = 0.05,
    histogram_ratio: float = 6.0,
    window: int = 2,
    min_shot_length: int = 6,
) -> list[int]:
    """Indices of the frames that start a new shot (never 0), in order.

    ``frames`` are uint8 RGB frames or their ``frame_features``. A frame is a cut when its
    content value is at least ``min_content`` and ``content_ratio`` times the mean of the
    ``window`` values on each side (PySceneDetect's adaptive rule), or when its HSV-histogram
    change is at least ``min_histogram_change`` and ``histogram_ratio`` times its neighbours'
    (catches cuts hidden by fast motion, since motion barely changes histograms). Comparing
    with both sides lets a one-frame flash, whose neighbour is as high, pass. A cut closer
    than ``min_shot_length`` frames to the previous one is dropped.
    """
    features = _as_features(frames)
    content = np.array([f.content for f in features], dtype=np.float64)
    histogram = np.array([f.histogram_change for f in features], dtype=np.float64)
    moving = content > REPEAT_CONTENT
    cuts: list[int] = []
    last_start = 0
    for index in range(1, len(features)):
        if index - last_start < min_shot_length:
            continue
        by_content = (
            content[index] >= min_content
            and _adaptive_ratio(content, index, window, 1.0, moving) >= content_ratio
        )
        by_histogram = (
            histogram[index] >= min_histogram_change
            and _adaptive_ratio(histogram, index, window, 0.01, moving) >= histogram_ratio
        )
        if by_content or by_histogram:
            cuts.append(index)
            last_start = index
    return cuts


def shots_from_cuts(cuts: Iterable[int], frame_count: int) -> list[Shot]:
    """Consecutive ``Shot``s covering ``frame_count`` frames, split at ``cuts``."""
    starts = sorted({0, *(c for c in cuts if 0 < c < frame_count)})
    ends = starts[1:] + [frame_count]
    return [Shot(start, end) for start, end in zip(starts, ends, strict=True) if end > start]


def _representative(thumbnails: np.ndarray) -> int:
    mean = thumbnails.mean(axis=0)
    distances = ((thumbnails - mean) ** 2).reshape(len(thumbnails), -1).sum(axis=1)
    return int(np.argmin(distances))


def suggest_keyframes(
    frames: Iterable[np.ndarray] | Sequence[FrameFeatures],
    cuts: Iterable[int],
    *,
    motion_budget: float = 0.5,
    max_per_shot: int = 8,
) -> list[int]:
    """Suggested keyframe indices: at least one inside every shot, more where things move.

    A shot is split into stretches each holding at most ``motion_budget`` of motion (summed
    mean flow magnitude, in fractions of the frame's long side: 0.5 is half a frame of
    panning); each stretch contributes the frame closest to its mean look. At most
    ``max_per_shot`` per shot (the budget grows to fit).
    """
    if max_per_shot < 1:
        raise ValueError(f"max_per_shot must be at least 1, got {max_per_shot}")
    features = _as_features(frames)
    keyframes: list[int] = []
    for shot in shots_from_cuts(cuts, len(features)):
        motion = np.array([f.motion for f in features[shot.start + 1 : shot.end]])
        budget = max(motion_budget, float(motion.sum()) / max_per_shot, 1e-9)
        stretch_start, accumulated = shot.start, 0.0
        stretches: list[tuple[int, int]] = []
        for offset, step in enumerate(motion, start=shot.start + 1):
            if accumulated + step > budget and offset > stretch_start:
                stretches.append((stretch_start, offset))
                stretch_start, accumulated = offset, 0.0
            accumulated += step
        stretches.append((stretch_start, shot.end))
        if len(stretches) > max_per_shot:
            stretches = stretches[: max_per_shot - 1] + [(stretches[max_per_shot - 1][0], shot.end)]
        for start, end in stretches:
            thumbnails = np.stack([f.thumbnail for f in features[start:end]]).astype(np.float32)
            keyframes.append(start + _representative(thumbnails))
    return keyframes


def analyze_shots(
    frames: Iterable[np.ndarray],
    *,
    motion_budget: float = 0.5,
    max_per_shot: int = 8,
) -> list[Shot]:
    """One pass over the frames: shots (default cut detection) with their suggested keyframes."""
    features = frame_features(frames)
    cuts = detect_cuts(features)
    keyframes = suggest_keyframes(
        features, cuts, motion_budget=motion_budget, max_per_shot=max_per_shot
    )
    return [
        Shot(shot.start, shot.end, tuple(k for k in keyframes if shot.start <= k < shot.end))
        for shot in shots_from_cuts(cuts, len(features))
    ]


def is_hard_cut(prev_rgb: np.ndarray, rgb: np.ndarray, threshold: float = 0.3) -> bool:
    """A cheap streaming cut test (HSV histogram change on thumbnails), for metrics."""
    a, b = (cv2.resize(f[..., :3], (64, 36), interpolation=cv2.INTER_AREA) for f in (prev_rgb, rgb))
    return (
        histogram_distance(hsv_histogram(_rgb_to_hsv(a)), hsv_histogram(_rgb_to_hsv(b))) > threshold
    )
