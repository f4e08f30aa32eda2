"""The modal half of running a job in the UI, shared by Apply, Train and Suggest Keyframes.

An operator using ``ModalJob`` gives ``prepare(context)`` (everything copied out of bpy;
returns a ``JobRequest``) and ``finish(context, request, kind, value)`` (on the main thread,
with the worker's final event). ``start`` runs the job on a ``runner.Worker`` and drains
it on a timer; ``run_here`` runs it to the end on this thread (scripts, background mode).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import bpy

from .. import compat
from ..core.errors import RestyleError
from .runner import CANCELLED, FAILED, FINISHED, IDLE, RUN, Worker, report_error


@dataclass
class JobRequest:
    """What a ``ModalJob`` runs: ``job.run(progress=, cancel=)`` and what the sidebar shows."""

    job: object
    strip: str
    label: str
    total: int
    task: str
    data: object = None  # whatever ``finish`` needs besides the result
    unit: str = "frames"  # what ``total`` counts: "pictures" where they are not the frames


# 5.0 on, a Sequencer whose workspace has no ``sequencer_scene`` (``compat.sequencer_scene``):
# the sidebar's words (panels/sequencer.py)
NO_SEQUENCER_SCENE = "This Sequencer shows no scene: pick one in its header"


class SequencerOperator:
    """An operator that works on the sequencer scene's strips."""

    @classmethod
    def poll(cls, context):
        """A sequencer scene with strips; else Blender's tooltip (and a script's error) says
        which is missing, not only "poll() failed, context is incorrect"."""
        scene = compat.sequencer_scene(context)
        if scene is None:  # 5.0 on: a Sequencer whose workspace shows no scene
            cls.poll_message_set(NO_SEQUENCER_SCENE)
            return False
        if scene.sequence_editor is None:
            cls.poll_message_set(
                f"Scene '{scene.name}' has no sequencer strips: add a movie or image strip first"
            )
            return False
        return True


class ModalJob(SequencerOperator):
    task = "job"
    cancel_message = "Cancelled"
    _timer = None
    _request: JobRequest | None = None
    _worker: Worker | None = None

    @classmethod
    def poll(cls, context):
        """One Restyle job at a time, and only where there is a sequencer to work in."""
        if RUN.running:
            cls.poll_message_set("A Restyle job is running")
            return False
        return super().poll(context)

    # -- to override ---------------------------------------------------------------------
    def prepare(self, context) -> JobRequest:
        raise NotImplementedError

    def finish(self, context, request: JobRequest, kind: str, value) -> set[str]:
        raise NotImplementedError

    def on_poll(self, context, request: JobRequest) -> None:
        """Called on every timer tick and once at the end (e.g. to refresh a preview)."""

    def shortcut(self, context, request: JobRequest) -> set[str] | None:
        """A result without running the job (e.g. its output exists already), or None."""
        return None

    def _begin(self, context, background: bool):
        """Prepare, take a shortcut if there is one, else register a worker as running.

        Returns the operator result when there is nothing to run, else (request, worker).
        """
        try:
            request = self.prepare(context)
        except RestyleError as exc:
            # The sidebar says this refusal too: it showed the last run's summary (e.g. a
            # cancelled run's "Apply Style again to resume") under the refusal's report.
            RUN.strip = getattr(self, "strip", "") or active_strip_name(context)
            RUN.end(FAILED, f"Failed: {report_error(self, exc)}")
            RUN.task = self.task  # said in the panel of its button (panels.sequencer)
            return {"CANCELLED"}
        RUN.strip = request.strip  # a shortcut's summary is about it too (the sidebar)
        done = self.shortcut(context, request)
        if done is not None:
            return done
        worker = Worker(request.job, echo=background, unit=request.unit)
        RUN.begin(request.strip, request.label, request.total, worker, request.task, request.unit)
        return request, worker

    # -- entry points --------------------------------------------------------------------
    def invoke(self, context, _event):
        if bpy.app.background:
            return self.execute(context)
        started = self._begin(context, background=False)
        if isinstance(started, set):
            return started
        self._request, self._worker = started
        self._worker.start()
        self._timer = context.window_manager.event_timer_add(0.2, window=context.window)
        context.window_manager.modal_handler_add(self)
        redraw_sequencers(context)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC" and event.value == "PRESS":
            RUN.cancel()
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        outcome = self._worker.poll()
        RUN.progress = self._worker.progress or RUN.progress
        self.on_poll(context, self._request)
        redraw_sequencers(context)
        if outcome is None:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        self._timer = None
        try:
            return self.finish(context, self._request, *outcome)
        finally:
            if RUN.running:
                RUN.end(FAILED, "Failed: internal error (see the console)")

    def cancel(self, context):
        """Blender ends the modal run (file loaded, window closed): stop the worker too."""
        RUN.cancel()
        if self._timer is not None and context.window_manager is not None:
            context.window_manager.event_timer_remove(self._timer)
        self._timer = None
        RUN.end(CANCELLED, self.cancel_message)

    def execute(self, context):
        started = self._begin(context, background=bpy.app.background)
        if isinstance(started, set):
            return started
        request, worker = started
        try:
            worker.run()  # on this thread: scripts and background mode wait for the result
            outcome = None
            while outcome is None:
                outcome = worker.poll()
            RUN.progress = worker.progress or RUN.progress
            self.on_poll(context, request)
            return self.finish(context, request, *outcome)
        finally:
            if RUN.running:  # finish() failed: never leave the sidebar stuck on "running"
                RUN.end(FAILED, "Failed: internal error (see the console)")


def tool_summary(
    status: str, summary: str, folder: str = "", strip: str = "", task: str = ""
) -> None:
    """A tool that runs no job (Split at Cuts, Export Keyframes) says how it ended in the
    sidebar's summary, as a job does: the summary went on showing an older run's 'Failed:'.
    Never over a job that is running: its progress is what the sidebar shows then. The
    summary is about ``strip`` (else the active strip): the sidebar shows it with that one,
    in the sub-panel of ``task`` (``panels.sequencer.PANEL_TASKS``: the tool's button is
    there; '' the main panel's)."""
    if not RUN.running:
        RUN.strip = strip or active_strip_name(bpy.context)
        RUN.end(status, summary, folder)
        RUN.task = task


# The tools whose whole outcome is an edit of the .blend (strips split, moved or added,
# markers and keyframes added), which an undo takes back; a job's frames stay on disk.
UNDONE_WITH_THEIR_EDIT = ("cuts", "background", "shots")


@bpy.app.handlers.persistent
def forget_undone_edit(*_args) -> None:
    """After an undo (undo_post), a tool's summary told of an edit no longer there: Split at
    Cuts' 'split ... into 4 strips' beside the one strip the undo left. It goes. Apply's,
    Matte's and Stabilize's go with their strip (``panels.sequencer.summary_about``)."""
    if not RUN.running and RUN.status == FINISHED and RUN.task in UNDONE_WITH_THEIR_EDIT:
        RUN.end(IDLE, "")


def active_strip_name(context) -> str:
    """The name of the active strip of the sequencer scene (a tool's strip when not named)."""
    scene = compat.sequencer_scene(context)
    editor = scene.sequence_editor if scene is not None else None
    strip = editor.active_strip if editor is not None else None
    return strip.name if strip is not None else ""


def blender_path(path) -> str:
    """``path`` as Blender says a path: ``//...`` from a saved .blend's folder when it lies
    in that folder or below (as its strips store ``//restyle/``), else absolute. A summary
    said '/tmp/.../moved/restyle/...' for a project that moves."""
    text = os.path.abspath(bpy.path.abspath(os.fspath(path)))
    if not bpy.data.filepath:
        return text
    project = os.path.dirname(os.path.abspath(bpy.data.filepath))
    try:
        if os.path.commonpath([text, project]) != project:
            return text
    except ValueError:  # Windows: another drive
        return text
    return "//" if text == project else bpy.path.relpath(text)


def find_scene(name: str, uid: int):
    """A job's scene when it ends, by its ``session_uid`` (editing goes on while the job
    runs: it may have been renamed), else by name."""
    for scene in bpy.data.scenes:
        if scene.session_uid == uid:
            return scene
    return bpy.data.scenes.get(name)


def redraw_sequencers(context) -> None:
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "SEQUENCE_EDITOR":
                area.tag_redraw()
