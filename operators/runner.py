"""The one job that may run at a time: its worker thread and the state the sidebar draws.

The worker never touches bpy. It reports through a queue that the modal operator drains
on a timer, on the main thread, where ``RUN`` is updated and the sidebar redrawn.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from dataclasses import dataclass, field, replace

from ..core.errors import BLENDER, RestyleError
from ..core.progress import TRAINING, CancelToken, Progress

IDLE, RUNNING, FINISHED, FAILED, CANCELLED = "IDLE", "RUNNING", "FINISHED", "FAILED", "CANCELLED"
# The stages counting frames made: a message they start with (a resume's 'N frames kept from
# before') is kept on their later events, which carry none (the sidebar polls 5 times a second:
# the bar went from 'building the network' to '7 / 12' without it)
FRAME_STAGES = ("stylize", "stabilize", "matte", "encode")


@dataclass
class RunState:
    """What the sidebar shows: the job in progress, or how the last one ended."""

    status: str = IDLE
    task: str = "apply"  # what runs or ran: "apply", "train" or "shots"
    # What the progress counts: "frames", or "pictures" where the source's pictures are not
    # one per scene frame (a 10 fps movie in a 24 fps scene: 11 pictures over 26 frames).
    unit: str = "frames"
    strip: str = ""
    style: str = ""
    progress: Progress | None = None
    summary: str = ""
    folder: str = ""
    # A passing remark at the end of ``summary`` that goes once it no longer holds (the
    # unsaved .blend's temporary folder, dropped when saving keeps the frames beside it).
    note: str = ""
    token: CancelToken | None = None
    worker: Worker | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    def begin(
        self,
        strip: str,
        style: str,
        total: int,
        worker: Worker,
        task: str = "apply",
        unit: str = "frames",
    ) -> None:
        self.status, self.strip, self.style, self.task = RUNNING, strip, style, task
        self.unit = unit
        self.progress = Progress(0, total, stage="starting")
        self.summary, self.note, self.worker, self.token = "", "", worker, worker.token

    def end(self, status: str, summary: str, folder: str = "", note: str = "") -> None:
        if self.status != RUNNING:  # no job began (a tool's summary, a refusal, a shortcut):
            self.task = ""  # not the task before's (a summary about a strip it made)
        self.status, self.folder, self.note = status, folder, note
        self.summary = "; ".join(part for part in (summary, note) if part)
        self.worker = None
        self.token = None

    def moved(self, folder: str) -> None:
        """The last output now lives in ``folder`` (kept beside the saved .blend): the
        note about the temporary folder no longer holds."""
        if self.note:
            self.summary = self.summary.removesuffix(f"; {self.note}")
        self.folder, self.note = folder, ""

    def cancel(self) -> None:
        if self.token is not None:
            self.token.cancel()

    def reset(self) -> None:
        """Idle, with no summary, as when Blender started: another .blend was loaded, and
        the last run's summary and folder were the file before's (shown beside a strip of
        the same name). A running job is told to stop; its frames stay."""
        self.cancel()
        vars(self).update(vars(RunState()))


RUN = RunState()


class Worker(threading.Thread):
    """Runs ``job.run`` and posts ("progress", Progress), then ("done", JobResult) or
    ("error", message)."""

    def __init__(self, job, echo: bool = False, unit: str = "frames") -> None:
        super().__init__(name="restyle-job", daemon=True)
        self.job = job
        self.echo = echo  # print progress now and then (headless runs have no sidebar)
        # What its progress counts (RunState.unit): this job's, not whatever RUN holds.
        self.unit = unit
        self._printed = 0.0
        self._last_line: tuple = ()  # (stage, done, total) printed last: said once
        self.token = CancelToken()
        self.events: queue.Queue = queue.Queue()
        self.progress: Progress | None = None  # the latest, as of the last poll()

    def run(self) -> None:
        try:
            result = self.job.run(progress=self._progress, cancel=self.token)
        except RestyleError as exc:
            self.events.put(("error", blender_message(exc)))
        except Exception as exc:  # a bug: keep Blender alive, show it, print the traceback
            traceback.print_exc()
            self.events.put(("error", blender_message(exc)))
        else:
            self.events.put(("done", result))

    def _progress(self, progress: Progress) -> None:
        self.events.put(("progress", progress))
        now = time.monotonic()
        line = (progress.stage, progress.done, progress.total)
        if line == self._last_line:  # a stage's end is reported again (training's save)
            return
        if self.echo and (now - self._printed > 2.0 or progress.done == progress.total):
            self._printed, self._last_line = now, line
            rate = f", {progress.fps:.1f} frames/s" if progress.fps else ""
            unit = " pictures" if self.unit == "pictures" else ""
            if progress.stage == TRAINING:  # seconds of the time budget, not frames
                rate, unit = "", " s of the time budget"
            counts = f"{progress.done}/{progress.total}{unit}"
            print(f"Restyle: {progress.stage} {counts}{rate}", flush=True)

    def poll(self) -> tuple[str, object] | None:
        """Drain the queue on the main thread; returns the final event once the job ended."""
        while True:
            try:
                kind, value = self.events.get_nowait()
            except queue.Empty:
                return None
            if kind == "progress":
                last = self.progress
                if last is not None and last.message and not value.message:
                    if last.stage == value.stage in FRAME_STAGES:  # 'N frames kept from before'
                        value = replace(value, message=last.message)  # stays with its count
                self.progress = value
            else:
                return kind, value


def blender_message(exc: Exception) -> str:
    """What Blender shows for ``exc`` (sidebar, report): a RestyleError with its settings
    named as Blender's controls are (``Device 'CPU'``, not ``--device cpu``), else
    ``_user_message``. Operators that catch a RestyleError say it with this too
    (``report_error``)."""
    if isinstance(exc, RestyleError):
        return exc.said(BLENDER)
    if (broken := torch_does_not_load(exc)) is not None:
        return broken.said(BLENDER)
    return _user_message(exc)


def torch_does_not_load(exc: BaseException) -> RestyleError | None:
    """``exc`` raised while an installed PyTorch was imported and failed to load (a broken
    install: Train said 'ValueError: libcublasLt.so.*[0-9] not found in the system path
    [...]', every folder on sys.path listed), in one line that says what to do; else None."""
    from ..core.engines import torch_load_error

    if not _raised_in_torch(exc) or (reason := torch_load_error()) is None:
        return None
    return RestyleError(TORCH_BROKEN.format(reason=reason))


TORCH_BROKEN = "PyTorch is installed but does not load ({reason}): reinstall it from Preferences"


def _raised_in_torch(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it came from) was raised in PyTorch's own files."""
    import importlib.util
    import os

    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return False
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if not folders:
        return False
    roots = tuple(os.path.join(os.path.realpath(folder), "") for folder in folders)
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for frame, _line in traceback.walk_tb(exc.__traceback__):
            if os.path.realpath(frame.f_code.co_filename).startswith(roots):
                return True
        exc = exc.__cause__ or exc.__context__
    return False


def report_error(operator, exc: Exception) -> str:
    """Report ``exc`` on ``operator`` in Blender's words (``blender_message``), the one way
    an operator says an error it caught; returns those words for a summary or a dialog."""
    message = blender_message(exc)
    operator.report({"ERROR"}, message)
    return message


def _user_message(exc: Exception) -> str:
    """One line for the sidebar: never a raw multi-line OpenCV or FFmpeg dump."""
    library = type(exc).__module__.split(".")[0]
    if library in ("cv2", "av"):
        what = {"cv2": "OpenCV", "av": "FFmpeg"}[library]
        return f"Restyle could not process these frames ({what} failed; details in the console)"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"
