"""A stabilization job: ``StyleJob``'s plan, checks, output rules, resume and cancel, with a
camera-path pass first and then a per-frame warp in place of a style.

The first pass (tracking, cuts, the L1-optimal path) reads the range once and keeps a few
numbers per frame; the second streams the frames through the same pipeline, with the warp
applied as each frame is handed to the writer (it needs the frame's index).
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import RestyleError, setting
from ..fields import frames_refusal, instance_of
from ..job import JobPlan, JobResult, StyleJob, check_types, finished_manifest
from ..progress import CancelToken, Progress, ProgressCallback, RateMeter
from ..styles import StyleInfo
from ..writers import made_facts
from .stabilize import (
    PIPELINE_VERSION,
    StabilizationPlan,
    StabilizeSettings,
    plan_stabilization,
    track_camera,
)

STABILIZE = StyleInfo("stabilize", "Stabilized", "stabilize", "Camera stabilization")


@dataclass
class _Warp:
    """The pipeline's mapping stage for stabilization: frames pass through unchanged (the
    warp is applied at the writer, where the index is known); no network runs."""

    backend: str = "opencv"
    device: str = "cpu"
    reason: str = "L1-optimal camera path, per-frame warp"
    light: bool = True  # no network: encoding may use every core

    @property
    def engine(self) -> _Warp:
        return self

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        return np.zeros((1,), np.uint8)  # nothing to batch: the frame itself travels along

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return batch

    def postprocess(self, _out: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return frame

    def close(self) -> None:
        """Nothing to end: no engine (the ``Stylizer`` interface)."""


class WarpingWriter:
    """Warps each frame by its plan before the real writer stores it."""

    def __init__(self, writer, plan: StabilizationPlan, start: int) -> None:
        self._writer = writer
        self.plan = plan
        self.start = start

    def write(self, index: int, frame: np.ndarray) -> None:
        self._writer.write(index, self.plan.warp(index - self.start, frame))

    def __getattr__(self, name: str):
        return getattr(self._writer, name)


@dataclass
class StabilizeJob(StyleJob):
    """Stabilize frames ``start..end`` (0-based, inclusive) of ``source`` into ``output``:
    the same frame count, at the source's size. ``strength`` blends the correction."""

    style: str = "stabilize"
    temporal: float = 0.0
    mode: str = "similarity"
    smoothness: float = 0.7
    crop: float = 0.1
    tripod: bool = False
    # A camera path planned over a larger range that starts at ``camera_start``: the run warps
    # its frames from it instead of tracking (how a Ray chunk stabilizes its part of a shot).
    camera: StabilizationPlan | None = None
    camera_start: int = 0
    kept_area = ()  # after run: per shot, the fraction of the frame area kept
    cuts = ()  # after run: source frames that start a new shot
    stage: ClassVar[str] = "stabilize"
    done_word: ClassVar[str] = "stabilized"
    # its strength in its own row's words (Blender's 'Stabilize Strength', not the style's)
    said_settings: ClassVar[tuple[str, ...]] = (
        "stabilize_strength",
        "smoothness",
        "crop",
        "mode",
        "tripod",
    )
    # StyleJob's fields a stabilisation never reads (strength blends its correction)
    ignored: ClassVar[dict[str, str]] = {
        **dict.fromkeys(
            ("style", "scale", "max_side", "preserve_colors", "carry"), "does not style"
        ),
        "temporal": "has no coherence stage (its frames are the source's, warped)",
        "lookahead": "has no coherence stage (its frames are the source's, warped)",
        **dict.fromkeys(("backend", "device", "precision"), "runs no network"),
    }
    # camera's declared type, read by the fields' rule (``fields.coerce_fields``)
    field_kinds: ClassVar[dict] = {"StabilizationPlan": instance_of(StabilizationPlan)}

    @property
    def stabilize_strength(self) -> float:
        """``strength``, as ``said_settings``' row names it (``job._made_from`` reads it)."""
        return self.strength

    @property
    def stabilize_settings(self) -> StabilizeSettings:
        return StabilizeSettings(
            mode=self.mode,
            smoothness=self.smoothness,
            crop=self.crop,
            strength=self.strength,
            tripod=self.tripod,
        )

    def _check_options(self) -> None:
        check_types(self)  # then its own ranges first: its strength is Stabilize Strength
        self.stabilize_settings.check()  # (Blender's label), not the style's Strength
        super()._check_options()  # temporal=0.5 is refused (``ignored``), not set to 0
        if refused := frames_refusal("camera_start", self.camera_start):
            raise RestyleError(refused)
        if self.camera is not None and self.camera_start > self.start:
            raise RestyleError(
                f"camera_start={self.camera_start} is after {setting('start', self.start)}: "
                "the camera path must start at or before the frames it warps"
            )

    def check_settings(self) -> JobPlan:
        """A range of at least 2 frames, too: one has no camera motion to steady (a still
        picture made a 'Stabilized' copy of itself). A Ray chunk warps its frames along a
        path planned over the whole shot (``camera``), one frame or more."""
        plan = super().check_settings()
        if plan.total < 2 and self.camera is None:
            raise RestyleError(_one_frame(plan))
        return plan

    def _style_info(self) -> StyleInfo:
        return STABILIZE

    def _settings_key(self, style: StyleInfo, info) -> str:
        record = {
            "base": super()._settings_key(style, info),
            "stabilize": PIPELINE_VERSION,
            "settings": [self.mode, self.smoothness, self.crop, self.strength, self.tripod],
            "range": self._frame_range(info),  # the path depends on the whole range
        }
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]

    # -- running ---------------------------------------------------------------------------
    def run(
        self,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        plan: JobPlan | None = None,
    ) -> JobResult:
        """Track and plan the camera path over the range, then warp and write every frame
        (both under the output's lock: ``_prepare_locked``)."""
        t0 = time.perf_counter()
        result = super().run(progress, cancel, plan)
        if result.finished_before and result.output.is_file():  # its movie's tag keeps them
            self.kept_area, self.cuts = finished_movie_facts(result.output)
        result.seconds = time.perf_counter() - t0  # both passes
        result.fps = result.written / result.seconds if result.seconds else 0.0
        return result

    def _prepare_locked(self, plan: JobPlan, progress, cancel) -> None:
        """The first pass, once no other run holds the output. A rerun into a sequence whose
        every frame is written with these settings takes the path's facts (cuts, kept area)
        from its manifest and does not track again."""
        self.kept_area, self.cuts = (), ()
        self._path = None
        if self.camera is not None:
            self._path, self._start = self.camera, self.camera_start
        elif (facts := _finished_facts(plan)) is not None:
            self.kept_area, self.cuts = facts
            self._start = plan.start
            return
        else:
            self._path = self.camera_plan(plan, progress, cancel)
            self._start = plan.start
        self.kept_area = self._path.kept_area
        self.cuts = [c + self._start for c in self._path.cuts]

    def _manifest_facts(self) -> dict:
        return {"kept_area": list(self.kept_area), "cuts": list(self.cuts)}

    def camera_plan(
        self, plan: JobPlan, progress: ProgressCallback | None, cancel: CancelToken | None
    ) -> StabilizationPlan:
        """The first pass: track the camera over the range, find cuts, smooth the path."""
        from ..media import decode_range

        meter = RateMeter(plan.total)

        def tracked(count: int) -> None:
            if progress and (count % 8 == 0 or count == plan.total):
                p = meter.update(count)
                progress(replace(p, stage="track", message="Tracking the camera"))

        tracked(0)  # its first event, before the source is opened (no network to build)
        frames = _prefetched(decode_range(self.source, plan.start, plan.end, info=plan.info))
        try:
            motion = track_camera(frames, self.mode, on_frame=tracked, cancel=cancel)
        finally:
            frames.close()
        if progress:
            done = plan.total  # every frame is tracked (a bar left at 0% read as none were)
            progress(Progress(done, plan.total, stage="track", message="Smoothing the camera path"))
        return plan_stabilization(motion, self.stabilize_settings)

    # -- the hooks StyleJob's run calls ----------------------------------------------------
    def _ensure_builtins(self, plan: JobPlan, progress) -> None:
        """Stabilization needs no style files."""

    def _builds_network(self, plan: JobPlan) -> bool:
        """Its warp is no network: its first event is tracking's (``camera_plan``)."""
        return False

    def _stylizer(self, plan: JobPlan) -> _Warp:
        return _Warp()

    def _wrap_writer(self, writer):
        if self._path is None:  # a finished rerun: every frame is reused, none warped
            return _NothingToWarp(writer)
        return WarpingWriter(writer, self._path, self._start)


def _one_frame(plan: JobPlan) -> str:
    """Why a one-frame range cannot be stabilized, naming the source or the range."""
    why = "nothing to stabilize (it needs at least 2 frames)"
    if plan.info.frame_count == 1:
        return f"{Path(plan.info.path).name} is a single frame: {why}"
    start, end = setting("start", plan.start), setting("end", plan.end)
    return f"{start} and {end} give a single frame: {why}"


class _NothingToWarp:
    """A finished rerun's writer: it tracked nothing, so it must not be asked to warp."""

    def __init__(self, writer) -> None:
        self._writer = writer

    def write(self, index: int, frame: np.ndarray) -> None:
        raise RestyleError(f"internal: frame {index} was to be written after tracking was skipped")

    def __getattr__(self, name: str):
        return getattr(self._writer, name)


def _finished_facts(plan: JobPlan) -> tuple[list[float], list[int]] | None:
    """A finished sequence's cuts and kept area, from its manifest: every frame of the range
    written with these settings, and the facts recorded (older manifests have none: the
    rerun tracks again). None when tracking is needed."""
    record = finished_manifest(plan)
    if record is None:
        return None
    kept, cuts = record.get("kept_area"), record.get("cuts")
    if not (isinstance(kept, list) and kept and isinstance(cuts, list)):
        return None
    return [float(k) for k in kept], [int(c) for c in cuts]


def finished_movie_facts(movie: Path) -> tuple[list[float] | None, list[int] | None]:
    """A finished movie's kept area and cuts, from its tag (``writers.made_facts``, as a
    sequence's manifest keeps them); None for each it does not say (an older movie)."""
    facts = made_facts(movie)
    kept, cuts = facts.get("kept_area"), facts.get("cuts")
    kept = [float(k) for k in kept] if isinstance(kept, list) else None
    return kept, [int(c) for c in cuts] if isinstance(cuts, list) else None


def _prefetched(frames: Iterator[np.ndarray], depth: int = 4) -> Generator[np.ndarray]:
    """Decode on a thread while the caller tracks (the two overlap on two cores)."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def read() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        items.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(end)
        except BaseException as exc:  # handed to the caller
            items.put(exc)

    thread = threading.Thread(target=read, name="restyle-track-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                items.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()
