"""The streaming pipeline: decode → preprocess → infer → postprocess → encode, overlapped.

Threads joined by bounded queues keep memory flat for any clip length: a reader
decodes and preprocesses (and prepares temporal guidance, which needs source frames only),
the calling thread runs the network, and a finisher post-processes, applies temporal
coherence in frame order, then the stylizer's ``finish`` (bars, the mix with the source by
strength: after coherence, so strength 0 is the source exactly) and hands frames to the
writer, which encodes on its own threads.
With a lookahead coherence the finisher holds one styled frame until the next is styled.
An engine that serves several calls at once (``lanes``: ONNX Runtime's CPU workers) gets
as many inference threads, so a worker that finishes its frame starts the next batch's
instead of waiting at the end of each batch for the slower one.
"""

from __future__ import annotations

import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .errors import Cancelled
from .flow import rgb8 as to_rgb8
from .progress import CancelToken, ProgressCallback, RateMeter
from .stylizer import Stylizer

_END = object()
_LANE_DONE = object()  # one inference lane has no more batches


@dataclass(frozen=True)
class Warm:
    """A frame an earlier run already wrote: it rebuilds the coherence state (its written
    output becomes the previous output, its source the previous source) so the next frame
    comes out exactly as in an uninterrupted run. It is never written again; under lookahead
    it is styled again when it directly follows a frame to finish in the stream, with no
    ``None`` between (that frame looks at it, across any repeats of its picture).
    Without an output (the frame after a Ray chunk's range) it is only looked at."""

    index: int
    source: np.ndarray
    output: np.ndarray | None


@dataclass
class PipelineStats:
    written: int = 0
    seconds: float = 0.0
    infer_seconds: float = 0.0
    cancelled: bool = False

    @property
    def fps(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0


class _Stage(threading.Thread):
    """A worker thread whose exception is re-raised in the caller."""

    def __init__(self, name: str, target: Callable[[], None], stop: threading.Event) -> None:
        super().__init__(name=f"restyle-{name}", daemon=True)
        self._target_fn = target
        self._stop_all = stop
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._target_fn()
        except BaseException as exc:  # handed to the caller, never lost
            self.error = exc
            self._stop_all.set()


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event) -> Any:
    while True:
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                return _END


class _Arrays:
    """Float32 arrays handed out and taken back for reuse. A fresh 11 MB array for each 720p
    frame came from the kernel every time (~500 page faults): preprocess took 8-15 ms of CPU
    a frame in the pipeline, 2.4 ms into a reused array. Only arrays it handed out are taken
    back, and spares of the last shape asked for only (frames of many sizes keep no more)."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._shape: tuple = ()
        self._free: list[np.ndarray] = []
        self._lent: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def take(self, shape: tuple) -> np.ndarray:
        with self._lock:
            if shape != self._shape:
                self._shape, self._free = shape, []
            array = self._free.pop() if self._free else np.empty(shape, np.float32)
            self._lent[id(array)] = array
            return array

    def give(self, array: np.ndarray) -> None:
        """Back for reuse: the caller is done with ``array`` (arrays not lent are ignored)."""
        with self._lock:
            lent = self._lent.pop(id(array), None) is array
            if lent and array.shape == self._shape and len(self._free) < self._keep:
                self._free.append(array)


def _colour(styled: np.ndarray) -> np.ndarray:
    """The colour channels the blender sees: uint8 as they are, 16-bit as float in [0, 1]."""
    rgb = np.ascontiguousarray(styled[..., :3])
    return rgb.astype(np.float32) * (1 / 65535) if rgb.dtype == np.uint16 else rgb


def _coherent(
    temporal: Any, guide: Any, styled: np.ndarray, following: tuple | None = None
) -> np.ndarray:
    """Temporal blending on the colour channels; alpha stays the source's, depth is kept.

    ``following`` is the next frame's (guide, styled frame) for a blender with lookahead.
    A coherence stage with its own ``apply_frame`` (mattes: it steadies the alpha) takes
    the whole frame instead."""
    if hasattr(temporal, "apply_frame"):
        return temporal.apply_frame(guide, styled)
    after = () if following is None else (following[0], _colour(following[1]))
    rgb = temporal.apply(guide, _colour(styled), *after)
    if styled.dtype == np.uint16:
        rgb = np.clip(rgb * 65535 + 0.5, 0, 65535).astype(np.uint16)
    if styled.shape[-1] == 4:
        return np.concatenate([rgb, styled[..., 3:]], axis=2)
    return rgb


@dataclass
class _Pipeline:
    """One run's shared state; each stage is a short method running on its own thread."""

    stylizer: Stylizer
    write: Callable[[int, np.ndarray], int | None]
    total: int
    batch_size: int = 1
    temporal: Any | None = None
    on_frame: Callable[[int, np.ndarray, np.ndarray], None] | None = None
    progress: ProgressCallback | None = None
    cancel: CancelToken | None = None
    depth: int = 3
    lanes: int = 1

    def __post_init__(self) -> None:
        self.stats = PipelineStats()
        self.stop = threading.Event()
        self.inputs: queue.Queue = queue.Queue(maxsize=max(2, self.depth * self.batch_size))
        self.outputs: queue.Queue = queue.Queue(maxsize=self.depth + self.lanes - 1)
        self.meter: RateMeter | None = None  # from the first frame (``finish``)
        self._taking = threading.Lock()  # one lane at a time takes a batch, in order
        self._taken = 0  # batches taken so far: the next one's number
        self._inputs_ended = False
        self._stats_lock = threading.Lock()
        # Batches taken and not yet finished in order: a lane far ahead of a slow one waits
        # here instead of piling up styled frames the finisher cannot write yet.
        self._room = threading.Semaphore(self.depth + self.lanes)
        self.frame_arrays = _Arrays(keep=(self.depth + self.lanes + 1) * self.batch_size)

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled

    # -- reader thread: decode, preprocess, temporal guidance --------------------------------
    def read(self, frames: Iterator[tuple[int, np.ndarray] | None]) -> None:
        prev_source: np.ndarray | None = None
        last_index: int | None = None  # the frame just queued, if one to style and write
        for item in frames:
            if self.cancelled:
                break
            if item is None:  # a cut or a gap: no coherence across it
                prev_source, last_index = None, None
                new_shot = getattr(self.stylizer, "new_shot", None)
                if new_shot is not None:  # nor letterbox bars grown over the shot before
                    new_shot()
                continue
            if isinstance(item, Warm):  # the state becomes the written frame
                entry, prev_source = self._warm_entry(item, prev_source, last_index)
                if not _put(self.inputs, entry, self.stop):
                    return
                last_index = None
                continue
            index, frame = item
            guide, prev_source = self._guide(prev_source, frame)
            network_input = None if self._source_only else self._preprocess(frame)
            entry = (index, frame, network_input, guide, None)
            if not _put(self.inputs, entry, self.stop):
                return
            last_index = index
        _put(self.inputs, _END, self.stop)

    def _warm_entry(self, warm: Warm, prev_source: Any, last_index: int | None) -> tuple:
        """A cut guide for the state; under lookahead, when the warm frame directly follows a
        frame still to finish, its guide against that frame and its styled frame too (that
        frame's uninterrupted output looked ahead at it). Directly: next in the stream, the
        frames between them (``last_index`` + 1 ...) at most copies of that frame's picture
        the caller writes as its result (a held picture), never handed on."""
        if not self._lookahead or last_index is None:
            guide, source = self._guide(None, warm.source)
            return (warm.index, warm.source, None, guide, warm), source
        guide, source = self._guide(prev_source, warm.source)
        return (warm.index, warm.source, self._preprocess(warm.source), guide, warm), source

    def _preprocess(self, frame: np.ndarray) -> np.ndarray:
        """The network input, in a reused array where the stylizer writes into one."""
        if not hasattr(self.stylizer, "input_shape"):
            return self.stylizer.preprocess(frame)
        array = self.frame_arrays.take(self.stylizer.input_shape(frame))
        return self.stylizer.preprocess(frame, array)

    @property
    def _source_only(self) -> bool:
        """Strength 0: each frame's finished output is its source (``Stylizer.gives_source``);
        nothing is preprocessed or styled (``run_pipeline`` drops the coherence too)."""
        return bool(getattr(self.stylizer, "gives_source", False))

    @property
    def _lookahead(self) -> bool:
        return bool(getattr(self.temporal, "lookahead", False))

    def _guide(self, prev_source: np.ndarray | None, frame: np.ndarray) -> tuple[Any, Any]:
        """Temporal guidance needs source frames only, so it is prepared ahead of inference."""
        if self.temporal is None:
            return None, None
        rgb8 = to_rgb8(frame)
        return self.temporal.prepare(prev_source, rgb8), rgb8

    # -- inference lanes (the calling thread, and one more thread per extra lane) -------------
    def infer_all(self, stages: tuple[_Stage, ...]) -> None:
        """One lane: take the next batch, style it, hand it on numbered; the finisher puts
        the lanes' batches back in order."""
        ended = False
        while not ended:
            number, batch, ended = self._next_batch()
            if self.cancelled or any(stage.error for stage in stages):
                break
            if batch and not _put(self.outputs, (number, self._infer(batch)), self.stop):
                break
        _put(self.outputs, _LANE_DONE, self.stop)

    def _next_batch(self) -> tuple[int, list, bool]:
        """The next batch and its number (consecutive frames, taken by one lane at a time)."""
        batch: list = []
        while not self._room.acquire(timeout=0.1):
            if self.stop.is_set():
                return -1, batch, True
        with self._taking:
            number, self._taken = self._taken, self._taken + 1
            while len(batch) < self.batch_size and not self._inputs_ended:
                item = _get(self.inputs, self.stop)
                if item is _END:
                    self._inputs_ended = True
                    break
                batch.append(item)
            return number, batch, self._inputs_ended

    def _infer(self, batch: list) -> list:
        """Same-size frames are batched; a size change (rare) runs on its own."""
        groups: dict[tuple, list] = {}
        results = [entry for entry in batch if entry[2] is None]  # warm frames not styled
        for entry in batch:
            if entry[2] is not None:
                groups.setdefault(entry[2].shape, []).append(entry)
        for group in groups.values():
            out = self._style([g[2] for g in group])
            results += [(g[0], g[1], o, *g[3:]) for g, o in zip(group, out, strict=True)]
        results.sort(key=lambda r: r[0])
        return results

    def _style(self, arrays: list[np.ndarray]) -> np.ndarray:
        """Same-size inputs through the network as one batch. A batch of several is a copy,
        so their arrays go back for reuse at once; a batch of one (OpenVINO's lanes, the
        child's) is its array seen as a batch, no copy, and goes back once styled, unless
        the output is (a view of) it."""
        t0 = time.perf_counter()
        if len(arrays) == 1:
            out = self.stylizer.infer(arrays[0][None])
            if not np.may_share_memory(out, arrays[0]):
                self.frame_arrays.give(arrays[0])
        else:
            inputs = np.stack(arrays)
            for array in arrays:
                self.frame_arrays.give(array)
            out = self.stylizer.infer(inputs)
        with self._stats_lock:  # summed over the lanes: overlapping calls count twice
            self.stats.infer_seconds += time.perf_counter() - t0
        return out

    # -- finisher thread: postprocess, coherence in frame order, write ------------------------
    def finish(self) -> None:
        """Under lookahead one styled frame is held until the next one is styled; at the end
        of the stream it is finished alone, on cancel or error it is dropped (only finished
        frames are written, so a resumed run matches an uninterrupted one)."""
        held = None
        for item in self._batches_in_order():
            if item is _END:
                if held is not None and not (self.cancelled or self.stop.is_set()):
                    self._write_frame(*held)
                return
            for index, frame, out, guide, warm in item:
                if self._source_only:  # finish gives the source back: mixed from itself
                    styled = frame
                else:
                    styled = None if out is None else self.stylizer.postprocess(out, frame)
                if held is not None:
                    self._write_frame(*held, (guide, styled) if styled is not None else None)
                    held = None
                if warm is not None:
                    self._restore(guide, warm)
                elif self._lookahead:
                    held = (index, frame, styled, guide)
                else:
                    self._write_frame(index, frame, styled, guide)

    def _batches_in_order(self) -> Iterator[Any]:
        """The lanes' batches by number, then ``_END`` once every lane is done, or at once
        on a stop or a cancel: batches styled after it are dropped, not written (with more
        than one lane, more of them are already under way when it comes)."""
        early: dict[int, list] = {}
        wanted, done = 0, 0
        while done < self.lanes and not self.cancelled:
            item = _get(self.outputs, self.stop)
            if item is _END:
                break
            if item is _LANE_DONE:
                done += 1
                continue
            early[item[0]] = item[1]
            while wanted in early and not self.cancelled:
                yield early.pop(wanted)
                wanted += 1
                self._room.release()
        if self.cancelled:  # the lanes and the reader stop handing on too
            self.stop.set()
        yield _END

    def _restore(self, guide: Any, warm: Warm) -> None:
        """The coherence state becomes a frame an earlier run wrote."""
        if self.temporal is None or warm.output is None:
            return
        if hasattr(self.temporal, "reset"):
            self.temporal.reset()
        if not self._carry(warm.source, warm.output):
            _coherent(self.temporal, guide, warm.output)

    def _carry(self, frame: np.ndarray, written: np.ndarray) -> bool:
        """The coherence state after ``written`` (``frame``'s finished output): derived from
        the written frame alone (``Stylizer.unmix``), both after a frame is written here and
        when a resume rebuilds it from the frame on disk, so a resumed run goes on bit-
        identically to an uninterrupted one at every strength. At strength 1 that is the
        written frame, as before; below it the rounded mix unmixed (the state then differs
        from the unrounded coherent frame by the mix's rounding / strength, clipped to the
        range: its effect on the next written frames is scaled back by strength). False
        where the stage keeps its own state (a mapping's: no ``unmix``, or ``apply_frame``)."""
        unmix = getattr(self.stylizer, "unmix", None)
        temporal = self.temporal
        if temporal is None or unmix is None or not hasattr(temporal, "keep"):
            return False
        if hasattr(temporal, "apply_frame"):
            return False
        temporal.keep(_colour(unmix(frame, written)))
        return True

    def _write_frame(
        self, index: int, frame: np.ndarray, styled: Any, guide: Any, following=None
    ) -> None:
        # The one stage order, for every engine, chunk, resume and front end: coherence on
        # the styled picture, then the stylizer's finish: the bars put back (the warp may pull
        # styled pixels into a black bar) and the mix with the source by strength.
        if self.temporal is not None:
            styled = _coherent(self.temporal, guide, styled, following)
        finish = getattr(self.stylizer, "finish", None)  # a mapping's stylizer has none
        if finish is not None:
            styled = finish(frame, styled)
            if self.temporal is not None:  # the state a resume would rebuild from it
                self._carry(frame, styled)
        if self.on_frame is not None:
            self.on_frame(index, frame, styled)
        wrote = self.write(index, styled)  # a caller writing repeats of it says how many
        self.stats.written += wrote if isinstance(wrote, int) else 1
        if self.progress is not None:
            if self.meter is None:  # not from the start: the network's build and precision
                # check ran before the first frame (ETAs of 114-229 s for 5-14 s runs)
                self.meter = RateMeter(self.total, done=self.stats.written)
            self.progress(self.meter.update(self.stats.written))


@contextmanager
def _opencv_single_threaded() -> Iterator[None]:
    """Parallelism comes from the stages and the engine's pool; OpenCV's own pool would
    fight the engine for the same cores (measured: 5-10% slower on 2 cores)."""
    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(cv_threads)


def run_pipeline(
    frames: Iterator[tuple[int, np.ndarray]],
    stylizer: Stylizer,
    write: Callable[[int, np.ndarray], int | None],
    total: int,
    *,
    batch_size: int = 1,
    temporal: Any | None = None,
    on_frame: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    depth: int = 3,
    lanes: int | None = None,
) -> PipelineStats:
    """Style every ``(index, frame)`` and ``write`` it; returns when all are written.

    ``write`` may return how many frames it wrote (the frame and later frames repeating its
    picture, never handed on here); ``total``, the progress, its rate and ETA and a cancel's
    count are then of frames written, not styled.

    ``temporal`` (a ``TemporalBlender``) and ``on_frame(index, source, styled)`` (metrics)
    see frames in order. ``frames`` may restart the temporal state by yielding ``None``
    (a cut or a gap), or restore it by yielding a ``Warm`` frame (resuming after a gap).
    ``lanes``: inference threads (default: as many as the engine serves at once).
    A cancel that comes as the last frame is written finds every frame done: the run
    finished, and is not reported as cancelled ("4 of 4 frames kept").
    """
    lanes = lanes or inference_lanes(stylizer)
    if getattr(stylizer, "gives_source", False):
        # Strength 0: every written frame is its source (``Stylizer.finish``) whatever the
        # coherence state, so no flow, no coherence, no state carried; a resume at strength
        # 0 needs none either (strength is in the settings key: no other strength reuses
        # these frames).
        temporal = None
    run = _Pipeline(
        stylizer, write, total, batch_size, temporal, on_frame, progress, cancel, depth, lanes
    )
    start = time.perf_counter()
    reader = _Stage("reader", lambda: run.read(frames), run.stop)
    finisher = _Stage("finisher", run.finish, run.stop)
    stages = (reader, finisher)
    extra = tuple(
        _Stage(f"infer-{n}", lambda: run.infer_all(stages), run.stop) for n in range(1, lanes)
    )
    with _opencv_single_threaded():
        for stage in stages + extra:
            stage.start()
        try:
            run.infer_all(stages + extra)
            finisher.join()
        finally:
            run.stop.set()
            for stage in stages + extra:
                stage.join()
            run.stats.seconds = time.perf_counter() - start
    _raise_first_error(reader, *extra, finisher)
    if run.cancelled and run.stats.written < total:  # after the last frame: nothing to stop
        run.stats.cancelled = True
        raise Cancelled(f"cancelled after {run.stats.written} of {total} frames")
    return run.stats


def inference_lanes(stylizer: Stylizer) -> int:
    """Inference threads for this engine: as many as it serves calls at once (ONNX Runtime
    on the CPU: one per worker session), else one."""
    return max(1, int(getattr(getattr(stylizer, "engine", None), "lanes", 1)))


def _raise_first_error(*stages: _Stage) -> None:
    for stage in stages:
        if stage.error is not None:
            raise stage.error
