"""The streaming pipeline: decode → preprocess → infer → postprocess → encode, overlapped.

Three threads joined by bounded queues keep memory flat for any clip length: a reader
decodes and preprocesses (and prepares temporal guidance, which needs source frames only),
the calling thread runs the network, and a finisher post-processes, applies temporal
coherence in frame order and hands frames to the writer, which encodes on its own threads.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .errors import Cancelled
from .progress import CancelToken, ProgressCallback, RateMeter
from .stylizer import Stylizer

_END = object()


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


def _rgb8(frame: np.ndarray) -> np.ndarray:
    """Flow guidance wants 8-bit RGB whatever the source depth and alpha."""
    rgb = frame[..., :3]
    return (rgb >> 8).astype(np.uint8) if rgb.dtype == np.uint16 else np.ascontiguousarray(rgb)


def _coherent(temporal: Any, guide: Any, styled: np.ndarray) -> np.ndarray:
    """Temporal blending on the colour channels; alpha stays the source's, depth is kept."""
    rgb = np.ascontiguousarray(styled[..., :3])
    if rgb.dtype == np.uint16:
        blended = temporal.apply(guide, rgb.astype(np.float32) * (1 / 65535))
        rgb = np.clip(blended * 65535 + 0.5, 0, 65535).astype(np.uint16)
    else:
        rgb = temporal.apply(guide, rgb)
    if styled.shape[-1] == 4:
        return np.concatenate([rgb, styled[..., 3:]], axis=2)
    return rgb


def run_pipeline(
    frames: Iterator[tuple[int, np.ndarray]],
    stylizer: Stylizer,
    write: Callable[[int, np.ndarray], None],
    total: int,
    *,
    batch_size: int = 1,
    temporal: Any | None = None,
    on_frame: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    depth: int = 3,
) -> PipelineStats:
    """Style every ``(index, frame)`` and ``write`` it; returns when all are written.

    ``temporal`` (a ``TemporalBlender``) and ``on_frame(index, source, styled)`` (metrics)
    see frames in order. ``frames`` may restart the temporal state by yielding ``None``
    (a cut or a gap).
    """
    stats = PipelineStats()
    stop = threading.Event()
    inputs: queue.Queue = queue.Queue(maxsize=max(2, depth * batch_size))
    outputs: queue.Queue = queue.Queue(maxsize=depth)
    meter = RateMeter(total)
    start = time.perf_counter()

    def read() -> None:
        prev_source: np.ndarray | None = None
        for item in frames:
            if cancel is not None and cancel.cancelled:
                break
            if item is None:  # a cut or a gap: no coherence across it
                prev_source = None
                continue
            index, frame = item
            guide = None
            if temporal is not None:
                rgb8 = _rgb8(frame)
                guide = temporal.prepare(prev_source, rgb8)
                prev_source = rgb8
            if not _put(inputs, (index, frame, stylizer.preprocess(frame), guide), stop):
                return
        _put(inputs, _END, stop)

    def finish() -> None:
        done = 0
        while True:
            item = _get(outputs, stop)
            if item is _END:
                return
            for index, frame, out, guide in item:
                styled = stylizer.postprocess(out, frame)
                if temporal is not None:
                    styled = _coherent(temporal, guide, styled)
                if on_frame is not None:
                    on_frame(index, frame, styled)
                write(index, styled)
                done += 1
                stats.written = done
                if progress is not None:
                    progress(meter.update(done))

    # Parallelism comes from these threads and the engine's pool; OpenCV's own pool would
    # fight the engine for the same cores (measured: 5-10% slower on 2 cores), so it is
    # switched off for the run and restored after.
    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    reader, finisher = _Stage("reader", read, stop), _Stage("finisher", finish, stop)
    reader.start()
    finisher.start()
    try:
        ended = False
        while not ended:
            batch = []
            while len(batch) < batch_size:
                item = _get(inputs, stop)
                if item is _END:
                    ended = True
                    break
                batch.append(item)
            if cancel is not None and cancel.cancelled:
                break
            if reader.error or finisher.error:
                break
            if not batch:
                continue
            # Same-size frames are batched; a size change (rare) runs on its own.
            groups: dict[tuple, list] = {}
            for entry in batch:
                groups.setdefault(entry[2].shape, []).append(entry)
            results = []
            for group in groups.values():
                t0 = time.perf_counter()
                out = stylizer.infer(np.stack([g[2] for g in group]))
                stats.infer_seconds += time.perf_counter() - t0
                results += [(g[0], g[1], o, g[3]) for g, o in zip(group, out, strict=True)]
            results.sort(key=lambda r: r[0])
            if not _put(outputs, results, stop):
                break
        _put(outputs, _END, stop)
        finisher.join()
    finally:
        stop.set()
        reader.join()
        finisher.join()
        cv2.setNumThreads(cv_threads)
        stats.seconds = time.perf_counter() - start
    for stage in (reader, finisher):
        if stage.error is not None:
            raise stage.error
    if cancel is not None and cancel.cancelled:
        stats.cancelled = True
        raise Cancelled(f"cancelled after {stats.written} of {total} frames")
    return stats
