"""Split a frame range into chunks that can run anywhere, in any order, and join invisibly.

Chunks follow shot boundaries: coherence (and stabilisation) reset at a cut anyway, so a chunk
that starts at a cut gives exactly the frames a single run would. A shot longer than
``max_frames`` is split into balanced pieces; each piece after the first starts early by
``warmup`` pictures, frames that are computed to settle the coherence state but never written.
A picture held over several frames (a slideshow, a variable-rate movie's empty slots: ``held``)
is styled once and written again as a copy, so coherence steps once per picture, not per
frame: the warm-up reaches back over that many distinct pictures (before the picture the
chunk's first frame shows), within the shot, as it does on ordinary footage.

The plan is plain data (``Plan.to_json``), so it can be printed (``--plan``), shipped to
workers and tested without a cluster.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

from .errors import Cancelled, RestyleError

DEFAULT_MAX_FRAMES = 240  # 10 s at 24 fps: long enough to amortise a model load
DEFAULT_WARMUP = 8  # pictures: coherence forgets a frame's influence within a few frames


@dataclass(frozen=True)
class Chunk:
    """Frames ``start..end`` (inclusive) are written; ``warmup`` frames before are not.
    ``pictures``: the distinct pictures those frames style (the one the chunk's first frame
    shows among them where it begins before it), fewer than ``warmup`` where pictures are
    held over several frames; None where each frame is one."""

    start: int
    end: int
    warmup: int = 0
    pictures: int | None = None

    @property
    def first_computed(self) -> int:
        return self.start - self.warmup

    def __len__(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class Plan:
    start: int
    end: int
    cuts: tuple[int, ...]
    chunks: tuple[Chunk, ...] = field(default_factory=tuple)

    @property
    def computed_frames(self) -> int:
        return sum(len(c) + c.warmup for c in self.chunks)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        chunks = tuple(Chunk(**c) for c in data["chunks"])
        return cls(data["start"], data["end"], tuple(data["cuts"]), chunks)


def plan_chunks(
    start: int,
    end: int,
    cuts: Iterable[int] = (),
    *,
    max_frames: int = DEFAULT_MAX_FRAMES,
    warmup: int = DEFAULT_WARMUP,
    held: Iterable[int] = (),
) -> Plan:
    """Chunks covering ``start..end`` exactly once, split at ``cuts`` (first frames of shots).
    ``warmup``: how many pictures each chunk but a shot's first styles before its own;
    ``held``: the frames that show the picture of the frame before them (``shots.note_held``),
    which a run writes as that frame's result, so they are passed over in counting them."""
    if end < start:
        raise RestyleError(f"frame range {start}..{end} is empty")
    if max_frames < 1:
        raise RestyleError(f"chunk length must be at least 1 frame, got {max_frames}")
    if warmup < 0:
        raise RestyleError(f"warm-up must be 0 or more frames, got {warmup}")
    inside = sorted({c for c in cuts if start < c <= end})
    shot_starts = [start, *inside]
    shot_ends = [c - 1 for c in inside] + [end]
    held = frozenset(held)
    chunks: list[Chunk] = []
    for first, last in zip(shot_starts, shot_ends, strict=True):
        chunks.extend(_split_shot(first, last, max_frames, warmup, held))
    return Plan(start, end, tuple(inside), tuple(chunks))


def _split_shot(
    first: int, last: int, max_frames: int, warmup: int, held: frozenset[int]
) -> list[Chunk]:
    """Balanced pieces of one shot; every piece but the first warms up inside the shot."""
    length = last - first + 1
    pieces = math.ceil(length / max_frames)
    bounds = [first + (length * k) // pieces for k in range(pieces + 1)]
    return [
        _warmed(lo, hi - 1, first, warmup, held)
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def _warmed(lo: int, hi: int, first: int, pictures: int, held: frozenset[int]) -> Chunk:
    """Chunk ``lo..hi`` of the shot that starts at ``first``, warmed up over ``pictures``
    pictures before the one its frame ``lo`` shows (that one too, where it begins earlier):
    from the first frame of the earliest, or from ``first``. A shot's first frame, and the
    first frame a chunk computes, are styled whether or not held. The warm-up takes at most
    as many frames as the chunk's own (``pictures`` at least): a chunk decodes and writes
    (to its staging folder) a held picture's copies there as in its own frames, so pictures
    held for seconds cost it at most twice its own frames."""
    if pictures == 0 or lo == first:
        return Chunk(lo, hi)
    at = lo
    while at > first and at in held:  # back to the first frame of the picture ``lo`` shows
        at -= 1
    count = 0
    while count < pictures and at > first:
        at -= 1
        if at not in held or at == first:
            count += 1
    at = max(at, lo - max(pictures, hi - lo + 1))
    styled = sum(1 for i in range(at, lo) if i == at or i not in held)
    return Chunk(lo, hi, lo - at, None if styled == lo - at else styled)


def detect_plan(
    source,
    start: int,
    end: int,
    *,
    info=None,
    max_frames: int = DEFAULT_MAX_FRAMES,
    warmup: int = DEFAULT_WARMUP,
    cancel=None,
) -> Plan:
    """Plan ``start..end`` of ``source`` at the cuts found in that range (one decode pass).
    ``cancel`` (a CancelToken: Ctrl-C, SIGTERM, Esc) is polled between frames: once set,
    the scan stops with ``Cancelled`` (a Ray stop kills the command 3 s after its SIGTERM,
    and an hour-long range takes minutes to scan)."""
    from .media import decode_range
    from .shots import detect_cuts, note_held

    retimed: set[int] = set()  # slots with no picture of their own (a variable rate)
    frames = decode_range(
        source,
        start,
        end,
        info=info,
        on_retimed=lambda index, dropped: dropped or retimed.add(index),
    )
    if cancel is not None:
        frames = _until_cancelled(frames, cancel)
    held: list[int] = []
    if warmup:
        frames = note_held(frames, start, retimed, held)
    cuts = [start + c for c in detect_cuts(frames)]
    return plan_chunks(start, end, cuts, max_frames=max_frames, warmup=warmup, held=held)


def _until_cancelled(frames: Iterable, cancel) -> Iterator:
    for count, frame in enumerate(frames):
        if cancel.cancelled:
            raise Cancelled(f"cancelled while finding the cuts, after {count} frames")
        yield frame


def plan_for(job, checked, max_frames: int | None = None, *, cancel=None) -> Plan:
    """The plan a Ray run of ``job`` (validated into ``checked``) runs, and ``--plan`` prints:
    chunks at the job's own ``cuts`` where it has them (a stabiliser's camera path, a
    script's), else at the source's (and its held pictures, in the same pass); warm-up
    frames only where coherence needs them. ``cancel``: `detect_plan`'s."""
    max_frames = max_frames or DEFAULT_MAX_FRAMES
    warmup = DEFAULT_WARMUP if job.temporal > 0 else 0
    cuts = getattr(job, "cuts", None)
    camera = getattr(job, "camera", None)
    if camera is not None:
        cuts = [c + job.camera_start for c in camera.cuts]
    if cuts is not None:
        return plan_chunks(checked.start, checked.end, cuts, max_frames=max_frames, warmup=warmup)
    return detect_plan(
        job.source,
        checked.start,
        checked.end,
        info=checked.info,
        max_frames=max_frames,
        warmup=warmup,
        cancel=cancel,
    )
