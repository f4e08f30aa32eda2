"""Shot boundaries and keyframe suggestions from a stream of frames.

Cuts: a content detector in the manner of PySceneDetect's adaptive detector. Each frame gets a
content value, the mean absolute difference of its H, S and V channels from the previous
frame (on a small copy), and a histogram change; a cut is a frame whose value is both large in
absolute terms and several times the average of its neighbours on both sides, so steady fast
motion (a whole run of large values) does not read as a run of cuts, nor does a flash. The
rule decides each frame a couple of frames later (``CutDetector``), so a job restarts its
coherence at the very cuts a Ray plan splits at, in its own decoding pass (``mark_cuts``).

Keyframes: per shot, the frame closest to the shot's mean look, plus one more per stretch of
camera/object motion (mean optical-flow magnitude summed along the shot), so a long pan gets
keyframes for the new content it reveals. A blank frame (one flat colour: black between
shots) is never suggested; a shot of nothing else is ``blank`` and gets none.

Everything streams: a frame is reduced to a few numbers and a thumbnail (``FrameFeatures``)
and then dropped, so an hour of video costs tens of megabytes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from .flow import FlowEstimator, rgb8, shrink

ANALYSIS_SIDE = 160
REPEAT_CONTENT = 1.0  # a content value below this: the frame repeats the one before
FLAT_STD = 1.0  # a frame whose small copy varies less than this (8-bit levels) shows nothing
THUMBNAIL_SIZE = (32, 18)


@dataclass(frozen=True)
class Shot:
    """Frames ``start`` .. ``end - 1`` (end exclusive, like ``range``) and suggested keyframes."""

    start: int
    end: int
    keyframes: tuple[int, ...] = field(default=())
    blank: bool = False  # every frame one flat colour (black): nothing to paint, no keyframe

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class FrameFeatures:
    """What shot analysis keeps of one frame; ``content`` and ``motion`` compare to the previous."""

    content: float
    histogram_change: float
    motion: float
    thumbnail: np.ndarray
    flat: bool = False  # one flat colour (a black frame): never a keyframe


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


def _analysis(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A frame's small copy, its HSV and its HSV histogram (what cut detection compares);
    16-bit frames and alpha are looked at as 8-bit colour."""
    small = shrink(rgb8(frame) if frame.ndim == 3 else frame, ANALYSIS_SIDE)
    hsv = _rgb_to_hsv(small)
    return small, hsv, hsv_histogram(hsv)


def _changes(previous: tuple | None, current: tuple, index: int) -> tuple[float, float]:
    """(content value, histogram change) of a frame's ``_analysis`` against the previous
    frame's (0, 0 for the first)."""
    if previous is None:
        return 0.0, 0.0
    if previous[1].shape != current[1].shape:
        raise ValueError(f"frame {index} changes size: {current[1].shape[:2]}")
    return content_value(previous[1], current[1]), histogram_distance(previous[2], current[2])


def frame_features(frames: Iterable[np.ndarray]) -> list[FrameFeatures]:
    """Reduce uint8 RGB frames, in order, to ``FrameFeatures`` (one streaming pass)."""
    estimator = FlowEstimator(preset="ultrafast", max_side=None)
    features: list[FrameFeatures] = []
    previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    previous_gray = None
    for frame in frames:
        analysis = _analysis(frame)
        small, hsv = analysis[0], analysis[1]
        gray = hsv[:, :, 2] if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        thumbnail = cv2.resize(small, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA)
        content, histogram_change = _changes(previous, analysis, len(features))
        motion = 0.0
        if previous_gray is not None:
            flow = estimator.flow(previous_gray, gray)
            magnitude = np.sqrt((flow**2).sum(axis=2)).mean()
            motion = float(magnitude / max(gray.shape))
        flat = float(small.std()) < FLAT_STD
        features.append(FrameFeatures(content, histogram_change, motion, thumbnail, flat))
        previous, previous_gray = analysis, gray
    return features


def _as_features(frames: Iterable[np.ndarray] | Sequence[FrameFeatures]) -> list[FrameFeatures]:
    items = frames if isinstance(frames, Sequence) else list(frames)
    if items and isinstance(items[0], FrameFeatures):
        return list(items)
    return frame_features(items)


class CutDetector:
    """``detect_cuts``'s rule one frame at a time, for a pipeline that decodes once: ``add``
    each frame's content value and histogram change, in order, and get back whether each
    frame now decided starts a shot (in order); ``finish`` decides the rest at the end.

    A frame is a cut when its content value is at least ``min_content`` and
    ``content_ratio`` times the mean of its neighbours' (PySceneDetect's adaptive rule), or
    when its HSV-histogram change is at least ``min_histogram_change`` and
    ``histogram_ratio`` times its neighbours' (catches cuts hidden by fast motion, since
    motion barely changes histograms). The neighbours are up to ``window`` frames on each
    side; comparing with both sides lets a one-frame flash, whose neighbour is as high, pass.
    Frames that repeat the one before are skipped when looking for neighbours (up to
    ``4 * window`` frames away): a clip that stutters (frames held, then a jump, as in
    duplicated-frame video) compares a jump with the other jumps, not with the stillness
    between them. A cut closer than ``min_shot_length`` frames to the previous cut is dropped
    (a flash or a burst of motion is not several cuts); the first frame is where the user
    chose to begin, not a cut, so a cut just after it is still found (a range started three
    frames before a cut restarts coherence there, as a range started earlier does).
    So a frame is decided once ``window`` moving frames follow it (``4 * window`` frames at
    most): a stream is held back ``window`` frames, more only where frames repeat.
    """

    def __init__(
        self,
        *,
        min_content: float = 12.0,
        content_ratio: float = 3.0,
        min_histogram_change: float = 0.05,
        histogram_ratio: float = 6.0,
        window: int = 2,
        min_shot_length: int = 6,
    ) -> None:
        self.min_content, self.content_ratio = min_content, content_ratio
        self.min_histogram_change, self.histogram_ratio = min_histogram_change, histogram_ratio
        self.window, self.reach = window, 4 * window
        self.min_shot_length = min_shot_length
        self._content: list[float] = []  # from frame ``_base`` on
        self._histogram: list[float] = []
        self._base = 0
        self._next = 0  # the first frame not decided yet
        self._last_cut: int | None = None  # the last frame found to start a shot

    def add(self, content: float, histogram_change: float) -> list[bool]:
        """The next frame's values; returns the decisions this makes possible."""
        self._content.append(float(content))
        self._histogram.append(float(histogram_change))
        return self._decide(final=False)

    def finish(self) -> list[bool]:
        """The decisions for every frame still undecided (the stream has ended)."""
        return self._decide(final=True)

    def _decide(self, final: bool) -> list[bool]:
        decided: list[bool] = []
        count = self._base + len(self._content)
        while self._next < count:
            index = self._next
            soon = index == 0 or self._too_soon(index)
            after = [] if soon else self._moving(index + 1, min(count, index + self.reach + 1))
            known = final or len(after) >= self.window or index + self.reach < count
            if not (soon or known):
                break
            cut = not soon and self._is_cut(index, after[: self.window])
            if cut:
                self._last_cut = index
            decided.append(cut)
            self._next += 1
        self._forget()
        return decided

    def _too_soon(self, index: int) -> bool:
        """Whether ``index`` is closer than ``min_shot_length`` to the last cut found."""
        return self._last_cut is not None and index - self._last_cut < self.min_shot_length

    def _moving(self, start: int, stop: int) -> list[int]:
        """Frames start..stop-1 (in that order, ``stop < start`` counts down) that do not
        repeat the one before."""
        step = 1 if stop >= start else -1
        values, base = self._content, self._base
        return [i for i in range(start, stop, step) if i >= 1 and values[i - base] > REPEAT_CONTENT]

    def _is_cut(self, index: int, after: list[int]) -> bool:
        before = self._moving(index - 1, max(0, index - self.reach) - 1)[: self.window]
        neighbours = [i - self._base for i in before + after]
        at = index - self._base
        by_content = self._content[at] >= self.min_content and (
            _ratio(self._content, at, neighbours, 1.0) >= self.content_ratio
        )
        by_histogram = self._histogram[at] >= self.min_histogram_change and (
            _ratio(self._histogram, at, neighbours, 0.01) >= self.histogram_ratio
        )
        return by_content or by_histogram

    def _forget(self) -> None:
        """Drop values no undecided frame can look back at (memory stays flat)."""
        drop = self._next - self.reach - 1 - self._base
        if drop > 256:
            del self._content[:drop], self._histogram[:drop]
            self._base += drop


def _ratio(values: list[float], at: int, neighbours: list[int], floor: float) -> float:
    """values[at] over the mean of its neighbours' values (at least ``floor``)."""
    baseline = float(np.array([values[i] for i in neighbours]).mean()) if neighbours else 0.0
    return values[at] / max(baseline, floor)


def mark_cuts(frames: Iterable[np.ndarray], **rule) -> Iterator[tuple[np.ndarray, bool]]:
    """Each uint8 RGB frame with whether it starts a shot, as ``detect_cuts`` over the same
    frames says, in one pass: a frame is held until the frames after it decide
    (``CutDetector``), so a pipeline that decodes once can restart exactly where a plan
    made by ``detect_cuts`` splits."""
    detector = CutDetector(**rule)
    held: deque[np.ndarray] = deque()
    previous = None
    for count, frame in enumerate(frames):
        analysis = _analysis(frame)
        held.append(frame)
        for cut in detector.add(*_changes(previous, analysis, count)):
            yield held.popleft(), cut
        previous = analysis
    for cut in detector.finish():
        yield held.popleft(), cut


def note_held(
    frames: Iterable[np.ndarray], start: int, retimed: set[int], held: list[int]
) -> Iterator[np.ndarray]:
    """``frames`` (frame ``start`` first) passed on, noting in ``held`` each one that a run
    writes as the frame before's result (``StyleJob``'s rule): a slot the decoder filled
    with no picture of its own (in ``retimed``, filled while it is decoded) that shows the
    picture before it. The comparison is made on those frames only: none on ordinary
    footage."""
    previous = None
    for index, frame in enumerate(frames, start):
        if index in retimed and previous is not None and np.array_equal(frame, previous):
            held.append(index)
        previous = frame
        yield frame


def detect_cuts(frames: Iterable[np.ndarray] | Sequence[FrameFeatures], **rule) -> list[int]:
    """Indices of the frames that start a new shot (never 0), in order, by ``CutDetector``'s
    rule (``rule``: its settings, e.g. ``min_shot_length``). ``frames`` are uint8 RGB frames
    (streamed: any iterable, any length) or their ``frame_features``."""
    if isinstance(frames, Sequence) and frames and isinstance(frames[0], FrameFeatures):
        detector = CutDetector(**rule)
        flags = [cut for f in frames for cut in detector.add(f.content, f.histogram_change)]
        flags += detector.finish()
    else:
        flags = [cut for _, cut in mark_cuts(frames, **rule)]
    return [index for index, cut in enumerate(flags) if cut]


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
    """Suggested keyframe indices: at least one inside every shot that shows something (never
    a blank frame, ``FrameFeatures.flat``), more where things move.

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
            shown = [i for i in range(start, end) if not features[i].flat]
            if not shown:  # blank frames only: nothing to paint
                continue
            thumbnails = np.stack([features[i].thumbnail for i in shown]).astype(np.float32)
            keyframes.append(shown[_representative(thumbnails)])
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
        Shot(
            shot.start,
            shot.end,
            tuple(k for k in keyframes if shot.start <= k < shot.end),
            blank=all(f.flat for f in features[shot.start : shot.end]),
        )
        for shot in shots_from_cuts(cuts, len(features))
    ]


def is_hard_cut(prev_rgb: np.ndarray, rgb: np.ndarray, threshold: float = 0.3) -> bool:
    """A cheap streaming cut test (HSV histogram change on thumbnails), for metrics."""
    a, b = (cv2.resize(f[..., :3], (64, 36), interpolation=cv2.INTER_AREA) for f in (prev_rgb, rgb))
    return (
        histogram_distance(hsv_histogram(_rgb_to_hsv(a)), hsv_histogram(_rgb_to_hsv(b))) > threshold
    )
