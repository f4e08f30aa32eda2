"""``restyle.apply_style``: style a movie or image strip into a new strip above it.

Scripting contract (kept stable, documented in the README)::

    bpy.ops.restyle.apply_style(strip="NAME", style="ID or picture path",
                                frame_start=S, frame_end=E)

S..E are scene frames, inclusive; 0 and 0 mean the strip's whole visible range. The new
strip covers exactly S..E in the first channel above the source that is free there, is
selected and active, and its frame f is the styled version of what the source shows at f.
Settings not given come from the sidebar (``scene.restyle``).

In the UI the operator is modal: everything is copied out of bpy first, a worker thread
runs the job, a timer drains its progress, and the strip is made at the end, on the main
thread, as one undo step. Without a UI (``bpy.app.background``) or when called from a
script, ``execute`` runs the same job to the end before it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty
from bpy.types import Operator

from .. import compat
from ..core.engines.choices import indexed_devices
from ..core.errors import RestyleError
from ..props import BACKENDS, DEVICES, FORMAT_WORDS, FORMATS, PICTURE, RUN_ON, SIZE_MODES
from .modal_job import JobRequest, ModalJob, redraw_sequencers
from .output_strip import (
    add_styled_strip,
    keep_frames_on_save,
    keep_frames_with_blend,
    output_folder,
)
from .runner import CANCELLED, FAILED, FINISHED, RUN
from .strip_source import StripSource, container_strips, find_strip, read_strip, requested_range

# Operator properties that fall back to the sidebar's value of the same name when not given.
FROM_SIDEBAR = (
    "strength",
    "size_mode",
    "max_side",
    "scale",
    "preserve_colors",
    "temporal",
    "backend",
    "device",
    "output_format",
    "run_on",
    "ray_address",
)


@dataclass
class Request:
    """One apply, as plain data: the worker gets ``job``; the rest makes the strip after."""

    scene: str
    source: StripSource
    first: int
    last: int
    shown: list[int]  # the source frame at each scene frame first..last
    job: object  # core.job.StyleJob
    style_id: str
    style_name: str
    folder: Path
    stored_folder: str
    movie_name: str | None  # the output movie's file name, or None for an image sequence
    movie_done: bool = False  # that movie was made before with these settings: reuse it

    @property
    def strip_name(self) -> str:
        return f"{self.source.name}.{self.style_name}"

    def filenames(self, suffix: str) -> list[str]:
        if self.movie_name:
            return [self.movie_name]
        return [f"{index:06d}.{suffix}" for index in self.shown]


class RESTYLE_OT_apply_style(ModalJob, Operator):
    """Style a movie or image strip into a new strip above it"""

    bl_idname = "restyle.apply_style"
    bl_label = "Apply Style"
    # No REGISTER: a redo panel would rerun a long job synchronously on every tweak.
    bl_options = {"UNDO"}

    strip: StringProperty(name="Strip", description="Strip to style (empty: the active strip)")
    style: StringProperty(
        name="Style",
        description="Built-in style id, trained style name or path to a picture "
        "(empty: the sidebar's style)",
    )
    frame_start: IntProperty(
        name="Start", description="First scene frame (0 and 0: the strip's whole range)"
    )
    frame_end: IntProperty(name="End", description="Last scene frame, inclusive")
    strength: FloatProperty(name="Strength", min=0.0, max=1.0, default=1.0, subtype="FACTOR")
    size_mode: EnumProperty(name="Processing Size", items=SIZE_MODES, default="ORIGINAL")
    max_side: IntProperty(name="Longest Side", min=32, max=16384, default=1024)
    scale: FloatProperty(name="Scale", min=0.05, max=4.0, default=1.0)
    preserve_colors: BoolProperty(name="Preserve Colors")
    temporal: FloatProperty(
        name="Temporal Coherence", min=0.0, max=1.0, default=0.5, subtype="FACTOR"
    )
    backend: EnumProperty(name="Backend", items=BACKENDS, default="DEFAULT")
    device: EnumProperty(name="Device", items=DEVICES, default="DEFAULT")
    output_format: EnumProperty(
        name="Format", items=[(i, n, d) for i, n, d, _w in FORMATS], default="PNG"
    )
    run_on: EnumProperty(name="Run On", items=RUN_ON, default="LOCAL")
    ray_address: StringProperty(name="Ray Dashboard", default="127.0.0.1:8265")

    task = "apply"
    cancel_message = "Cancelled; finished frames stay on disk"

    def shortcut(self, context, request: JobRequest) -> set[str] | None:
        if request.data.movie_done:  # that movie was made before with these settings
            return self.finish(context, request, "done", _reused_movie(request.data))
        return None

    # -- steps ---------------------------------------------------------------------------
    def prepare(self, context) -> JobRequest:
        """Everything copied out of bpy and checked; nothing is written yet."""
        from ..core.job import StyleJob

        scene = compat.sequencer_scene(context)
        if scene is None or scene.sequence_editor is None:
            raise RestyleError("no sequencer scene")
        settings = scene.restyle
        values = {
            name: getattr(self if self.properties.is_property_set(name) else settings, name)
            for name in FROM_SIDEBAR
        }
        strip = find_strip(scene, self.strip)
        source = read_strip(scene, strip)
        first, last = requested_range(self, source, settings)
        try:
            shown = source.frames(first, last)
        except ValueError:
            raise RestyleError(f"'{source.name}' has no frames to show") from None

        from ..core.styles import StyleLibrary
        from ..core.writers import output_format
        from ..props import library_root

        fmt = output_format(FORMAT_WORDS[values["output_format"]])
        if fmt.movie and shown != list(range(shown[0], shown[0] + len(shown))):
            raise RestyleError(
                f"'{source.name}' does not show its frames one to one here (frame rate, "
                "reversed or strobe); use an image sequence format"
            )
        backend, device = self._engine(context, values)
        job = StyleJob(
            source=source.source,
            output=None,  # named after the plan's settings key, below
            style=self._style(settings),
            start=min(shown),
            end=max(shown),
            backend=backend,
            device=device,
            format=fmt.id,
            library=StyleLibrary(library_root(context)),
            measure=True,  # the summary shows the temporal warping error
            strength=values["strength"],
            scale=values["scale"] if values["size_mode"] == "SCALE" else None,
            max_side=values["max_side"] if values["size_mode"] == "MAX_SIDE" else None,
            preserve_colors=values["preserve_colors"],
            temporal=values["temporal"],
        )
        plan = job.validate()  # one probe, one style resolution, one settings key
        info = plan.style
        style_slug = Path(info.id).stem if info.kind == "picture" else info.id
        folder, stored = output_folder(source.name, style_slug, plan.key[:10])
        movie_name = f"{shown[0]:06d}-{shown[-1]:06d}{fmt.suffix}" if fmt.movie else None
        output = folder / movie_name if movie_name else folder
        movie_done = fmt.movie and output.is_file()  # written atomically: complete
        if movie_done:
            job.output = output
        else:
            job.place(plan, output)  # the output checked; run() starts from this plan
        request = Request(
            scene=scene.name,
            source=source,
            first=first,
            last=last,
            shown=shown,
            job=job,
            style_id=info.id,
            style_name=info.name,
            folder=folder,
            stored_folder=stored,
            movie_name=movie_name,
            movie_done=movie_done,
        )
        total = len(set(shown))
        runner = job
        if values["run_on"] == "RAY":
            from ..core.ray_submit import RaySubmission

            runner = RaySubmission(job, values["ray_address"])
        return JobRequest(runner, source.name, info.name, total, self.task, data=request)

    def finish(self, context, job_request: JobRequest, kind: str, value) -> set[str]:
        """On the main thread: make the strip (one undo step) or say why not."""
        request: Request = job_request.data
        if kind == "error":
            RUN.end(FAILED, f"Failed: {value}")
            self.report({"ERROR"}, str(value))
            return {"CANCELLED"}
        result = value
        if result.cancelled:
            kept = len(result.frame_files)
            total = len(set(request.shown))
            RUN.end(
                CANCELLED,
                f"Cancelled: {kept} of {total} frames kept in {request.folder}; "
                "Apply again to resume",
                str(request.folder),
            )
            self.report({"WARNING"}, RUN.summary)
            return {"CANCELLED"}
        try:
            strip = self._make_strip(request)
        except RestyleError as exc:
            RUN.end(FAILED, f"Failed: {exc}")
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        summary = (
            f"{strip.name}: frames {request.first}-{request.last}, "
            f"{result.written} styled, {result.reused} reused"
        )
        if result.written:
            summary += f", {result.fps:.1f} frames/s"
        if result.warping_error is not None:
            summary += f", warping error {result.warping_error:.4f}"
        if result.engine:
            summary += f"; engine: {result.engine}"
        warnings = list(result.warnings)
        if not bpy.data.filepath:
            warnings.append(
                f"this .blend is not saved, so the frames are in a temporary folder "
                f"({request.folder}); saving the .blend copies them beside it"
            )
        summary = "; ".join([summary, *warnings])
        RUN.end(FINISHED, summary, str(request.folder))
        self.report({"WARNING"} if warnings else {"INFO"}, f"Restyle: {summary}")
        redraw_sequencers(context)
        return {"FINISHED"}

    def _make_strip(self, request: Request):
        scene = bpy.data.scenes.get(request.scene)
        if scene is None or scene.sequence_editor is None:
            raise RestyleError(
                f"scene '{request.scene}' is gone; styled frames are in {request.folder}"
            )
        suffix = request.job.format
        filenames = request.filenames(suffix)
        missing = [f for f in dict.fromkeys(filenames) if not (request.folder / f).is_file()]
        if missing:
            raise RestyleError(f"{len(missing)} styled frame(s) missing in {request.folder}")
        try:
            strips = container_strips(scene, request.source.metas)
        except KeyError:
            raise RestyleError("the source's meta strip is gone") from None
        source = compat.all_strips(scene.sequence_editor).get(request.source.name)
        above = source.channel if source is not None else request.source.channel
        return add_styled_strip(
            scene,
            strips,
            source,
            request.strip_name,
            request.stored_folder,
            filenames,
            request.first,
            request.last - request.first + 1,
            above,
            movie=request.movie_name is not None,
        )

    def _style(self, settings) -> str:
        if self.style:
            return bpy.path.abspath(self.style) if self.style.startswith("//") else self.style
        if settings.style == PICTURE:
            if not settings.picture:
                raise RestyleError("choose a picture to take the style from")
            return bpy.path.abspath(settings.picture)
        return settings.style

    def _engine(self, context, values) -> tuple[str, str]:
        from ..prefs import preferences

        prefs = preferences(context)
        backend = prefs.backend if values["backend"] == "DEFAULT" else values["backend"]
        device = prefs.device if values["device"] == "DEFAULT" else values["device"]
        device = device.lower()
        if device in indexed_devices() and prefs.gpu_index:
            device = f"{device}:{prefs.gpu_index}"
        return backend.lower(), device


def _reused_movie(request: Request):
    from ..core.job import JobResult

    return JobResult(request.folder / request.movie_name, reused=len(set(request.shown)))


@bpy.app.handlers.persistent
def cancel_on_load(*_args) -> None:
    """A file is being loaded (or Restyle disabled): stop a running job; its frames stay."""
    RUN.cancel()


class RESTYLE_OT_keep_frames(Operator):
    """Copy styled frames that are in the temporary folder (made before the .blend was
    saved) beside the .blend, and point their strips there. Saving does this too"""

    bl_idname = "restyle.keep_frames"
    bl_label = "Keep Styled Frames With the .blend"
    bl_options = {"UNDO"}

    def execute(self, context):
        if not bpy.data.filepath:
            self.report({"ERROR"}, "Save the .blend first: the frames go beside it")
            return {"CANCELLED"}
        kept = keep_frames_with_blend(bpy.data.filepath)
        self.report({"INFO"}, f"Restyle: {kept} strip(s) now use frames beside the .blend")
        return {"FINISHED"}


classes = (RESTYLE_OT_apply_style, RESTYLE_OT_keep_frames)
__all__ = ["keep_frames_on_save"]
