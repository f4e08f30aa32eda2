"""Letterbox and pillarbox bars: found so that only the active picture is styled.

The style networks normalise each feature map over the frame (instance norm), so constant
black bars at the frame's edges come out as the network's bright bias texture and skew the
picture's own statistics. ``detect_bars`` finds them the way ffmpeg's cropdetect does (edge
rows and columns that stay under a black level), made noise-tolerant and strict enough that
a dark but textured edge of a real picture is not taken for a bar; ``BarTracker`` keeps the
decision steady over a stream of frames (hysteresis), so the bars do not jitter.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np

from .contrast import FLAT_CONTRAST, signal_contrast

# Levels of 255 (scaled for 16-bit). A bar line's brightest channel averages at most
# BLACK_MEAN (ffmpeg cropdetect's default limit, 24) and varies by at most BLACK_STD along
# the line: compressed bars measure 0-2, while the darkest real edge measured (Megamind
# frame 265's right edge, a dark background: mean 12) varies by 4.1 and more further in.
BLACK_MEAN = 24.0
BLACK_STD = 3.0
MIN_BAR = 2  # thinner bars are ignored (a half-line of black is harmless)
MIN_ACTIVE = 0.25  # less picture than this on a side: a black or flat frame, not bars
GROW_AFTER = 8  # frames the bars must be larger in a row before the tracker grows them


@dataclass(frozen=True)
class Bars:
    """Rows/columns of bar at each edge of a frame (0: none)."""

    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    def __bool__(self) -> bool:
        return bool(self.top or self.bottom or self.left or self.right)

    def active(self, height: int, width: int) -> tuple[int, int, int, int]:
        """The active picture as (y0, y1, x0, x1)."""
        return self.top, height - self.bottom, self.left, width - self.right


NO_BARS = Bars()


def _black(lines: np.ndarray, scale: float) -> np.ndarray:
    """Which of ``lines`` (lines x length x RGB or RGBA) are bar-black: measured on the
    brightest of the three channels (a coloured line is not black). With alpha, a line with
    a pixel under half opaque is not black either: what shows there is what lies beneath (a
    transparent background round a cut-out subject, not a bar)."""
    bright = np.maximum(np.maximum(lines[..., 0], lines[..., 1]), lines[..., 2])
    bright = bright.astype(np.float32)
    mean = bright.mean(axis=1)
    var = np.maximum(np.square(bright).mean(axis=1) - np.square(mean), 0.0) * (scale * scale)
    black = (mean * scale <= BLACK_MEAN) & (var <= BLACK_STD * BLACK_STD)
    if lines.shape[-1] > 3:
        black &= lines[..., 3].min(axis=1) * scale >= 127.5
    return black


def _edge_run(frame: np.ndarray, side: str, scale: float) -> int:
    """How many lines from ``side`` inward are black: read in growing chunks from the edge
    (8, 16, 32 ... lines), so a frame without bars costs four chunks of 8 lines."""
    rgb = frame  # alpha too, if any: see _black
    n = rgb.shape[0] if side in ("top", "bottom") else rgb.shape[1]
    run, step = 0, 8
    while run < n:
        k = min(step, n - run)
        if side == "top":
            lines = rgb[run : run + k]
        elif side == "bottom":
            lines = rgb[n - run - k : n - run][::-1]
        elif side == "left":
            lines = rgb[:, run : run + k].transpose(1, 0, 2)
        else:
            lines = rgb[:, n - run - k : n - run][:, ::-1].transpose(1, 0, 2)
        off = np.flatnonzero(~_black(lines, scale))
        if off.size:
            return run + int(off[0])
        run, step = run + k, step * 2
    return n


def detect_bars(frame: np.ndarray) -> Bars | None:
    """This frame's bars; ``None`` when it has too little picture to tell (a black or dark
    flat frame, whose every line is 'black': flat_weight handles those). A flat bright frame
    reads as no bars here; BarTracker tells it by its contrast (``_flat``)."""
    height, width = frame.shape[:2]
    scale = 255.0 / (65535.0 if frame.dtype == np.uint16 else 255.0)
    top, bottom, left, right = (
        _edge_run(frame, side, scale) for side in ("top", "bottom", "left", "right")
    )
    if height - top - bottom < MIN_ACTIVE * height or width - left - right < MIN_ACTIVE * width:
        return None
    return Bars(*(n if n >= MIN_BAR else 0 for n in (top, bottom, left, right)))


class BarTracker:
    """Bars decided over a stream of frames, in order, steady over time.

    A side's bar shrinks at once when a frame shows picture in it (picture is never cropped
    away); a title or subtitle inside a bar (its lines next to the picture still black) leaves
    the bar as it is, the title kept as the source. A bar grows only after GROW_AFTER frames in a row show it larger (a dark scene
    does not eat into the picture for a frame or two). The first frame with picture sets
    them; black or flat frames change nothing. One state per frame size.

    ``new_shot()`` at every cut the stream knows (the pipeline calls ``Stylizer.new_shot``
    at each cut, coherence or not) forgets the bars, so a new shot sets its own. A resumed run
    shows it the finished frames before its own (``see``, the job's ``_frames``), so it crops
    as an uninterrupted run. A Ray chunk started mid-shot shows it the frames of its shot
    before its first warm-up frame the same way (``see``; decoded, not styled: up to
    ``ray_runner.BAR_HISTORY`` of them), so it crops as one single-machine run; where the
    shot reaches back further, it can differ while the bars still hang on older frames (a
    title held in a bar, a long black stretch).

    ``decide(frame)`` is called once per frame in stream order (the pipeline's reader);
    ``recall(frame)`` gives the same frame's decision later (its finisher), from any thread;
    decisions are held by weak reference, so they go with their frames.
    """

    def __init__(self) -> None:
        self._state: dict[tuple[int, int], list] = {}
        self._decided: dict[int, tuple[weakref.ref, Bars]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._state.clear()
            self._decided.clear()

    def new_shot(self) -> None:
        """A cut: the next frame with picture sets the bars afresh (a shot cut into a
        letterbox is cropped from its first frame, not after GROW_AFTER). Decisions already
        made stay for their frames' postprocess."""
        with self._lock:
            self._state.clear()

    def see(self, frame: np.ndarray) -> None:
        """Take in a frame of the stream that is not styled (finished by an earlier run), so
        the state after it is what deciding every frame would have left."""
        self._update(frame)

    def decide(self, frame: np.ndarray) -> Bars:
        with self._lock:
            known = self._decided.get(id(frame))
            if known is not None and known[0]() is frame:
                return known[1]
        bars = self._update(frame)
        with self._lock:
            if len(self._decided) > 256:
                self._decided = {k: v for k, v in self._decided.items() if v[0]() is not None}
            self._decided[id(frame)] = (weakref.ref(frame), bars)
        return bars

    def recall(self, frame: np.ndarray, forget: bool = False) -> Bars:
        """The bars ``decide`` gave this frame; a frame never decided is decided here."""
        known = self.known(frame, forget)
        return self._update(frame) if known is None else known

    def known(self, frame: np.ndarray, forget: bool = False) -> Bars | None:
        """The bars ``decide`` gave this frame, None if it was never decided (or forgotten);
        ``forget``: drop the decision (the frame's last use)."""
        with self._lock:
            known = self._decided.get(id(frame))
            if known is None or known[0]() is not frame:
                return None
            if forget:
                del self._decided[id(frame)]
            return known[1]

    def _update(self, frame: np.ndarray) -> Bars:
        seen = detect_bars(frame)
        size = frame.shape[:2]
        with self._lock:
            state = self._state.get(size)
            if seen is not None and _flat(frame, state, seen):
                seen = None  # flat at any level (a white flash): no edge of a picture in it
            if seen is None:  # black or flat: keep the bars (they hold: all is black)
                return state[0] if state else NO_BARS
            if state is None:
                self._state[size] = [seen, [0, 0, 0, 0], list(_sides(seen))]
                return seen
            current, streak, smallest = state
            sides = list(_sides(current))
            for i, n in enumerate(_sides(seen)):
                if n < sides[i] and _inner_black(frame, SIDES[i], sides[i]):
                    streak[i] = 0  # a title or subtitle in the bar: the bar stays, as it is
                elif n < sides[i]:
                    sides[i], streak[i] = n, 0
                elif n > sides[i]:
                    smallest[i] = n if streak[i] == 0 else min(smallest[i], n)
                    streak[i] += 1
                    if streak[i] >= GROW_AFTER:
                        sides[i], streak[i] = smallest[i], 0
                else:
                    streak[i] = 0
            state[0] = Bars(*sides)
            return state[0]


SIDES = ("top", "bottom", "left", "right")
INNER = 4  # lines of a bar next to the picture that tell a title in it from picture


def _inner_black(frame: np.ndarray, side: str, bar: int) -> bool:
    """Whether the ``INNER`` lines of a ``bar`` lines deep next to the picture are black:
    then what shows further out in the bar is a title or subtitle laid over it (kept as
    the source), not the picture grown into it."""
    rgb = frame  # alpha too, if any: see _black
    inner = min(INNER, bar)
    if side == "top":
        lines = rgb[bar - inner : bar]
    elif side == "bottom":
        lines = rgb[rgb.shape[0] - bar : rgb.shape[0] - bar + inner]
    elif side == "left":
        lines = rgb[:, bar - inner : bar].transpose(1, 0, 2)
    else:
        lines = rgb[:, rgb.shape[1] - bar : rgb.shape[1] - bar + inner].transpose(1, 0, 2)
    scale = 255.0 / (65535.0 if frame.dtype == np.uint16 else 255.0)
    return bool(_black(lines, scale).all())


def _flat(frame: np.ndarray, state: list | None, seen: Bars) -> bool:
    """Whether a frame that would set the bars or shrink one is flat (``signal_contrast``
    under FLAT_CONTRAST); measured only then, so a steady stream costs nothing more."""
    old = _sides(state[0]) if state is not None else None
    if old is not None and all(n >= b for n, b in zip(_sides(seen), old, strict=True)):
        return False
    return signal_contrast(frame) < FLAT_CONTRAST


def _sides(bars: Bars) -> tuple[int, int, int, int]:
    return bars.top, bars.bottom, bars.left, bars.right
