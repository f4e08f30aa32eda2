"""``restyle.apply_style``: style a movie or image strip into a new strip above it.

Scripting contract (kept stable, documented in the README)::

    bpy.ops.restyle.apply_style(strip="NAME", style="ID or picture path",
                                frame_start=S, frame_end=E)

S..E are scene frames, inclusive; 0 and 0 mean the strip's whole visible range, S alone
S to the strip's last frame, E alone its first frame to E (neither: the sidebar's). The new
strip covers exactly S..E in the first channel above the source that is free there, is
selected and active, and its frame f is the styled version of what the source shows at f.
Settings not given come from the sidebar (``scene.restyle``).

In the UI the operator is modal: everything is copied out of bpy first, a worker thread
runs the job, a timer drains its progress, and the strip is made at the end, on the main
thread, as one undo step. Without a UI (``bpy.app.background``) or when called from a
script, ``execute`` runs the same job to the end before it returns.
"""

from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty
from bpy.types import Operator

from ..core.engines.choices import indexed_devices
from ..core.errors import RestyleError, setting
from ..core.words import count
from ..props import (
    BACKENDS,
    DEVICES,
    FORMAT_WORDS,
    FORMATS,
    PICTURE,
    RUN_ON,
    SIZE_MODES,
    as_given,
    single,
)
from .modal_job import JobRequest
from .output_strip import (
    STYLED_FROM,
    STYLED_MEDIA,
    keep_frames_on_save,
    keep_frames_with_blend,
    media_record,
    restore_after_copy,
)
from .runner import RUN
from .strip_job import StripJob, source_strip

# Operator properties that fall back to the sidebar's value of the same name when not given.
FROM_SIDEBAR = (
    "strength",
    "size_mode",
    "max_side",
    "scale",
    "preserve_colors",
    "temporal",
    "carry",
    "backend",
    "device",
    "output_format",
    "run_on",
    "ray_address",
)


# The size settings, and the Processing Size that reads each.
SIZE_MODE_OF = {"max_side": "MAX_SIDE", "scale": "SCALE"}


class RESTYLE_OT_apply_style(StripJob, Operator):
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
    # Ranges as soft limits (the sliders'): a hard limit clamped a script's strength=5.0 to
    # 1 unseen (bpy 5.0.1); the job refuses a value out of range (core/stylizer.py's rule)
    strength: FloatProperty(
        name="Strength", soft_min=0.0, soft_max=1.0, default=1.0, subtype="FACTOR"
    )
    size_mode: EnumProperty(
        name="Processing Size",
        items=SIZE_MODES,
        default="ORIGINAL",
        description="How large frames are styled. A script that gives Longest Side or Scale "
        "alone chooses its mode; either given with another mode, or both given, is refused",
    )
    max_side: IntProperty(
        name="Longest Side",
        soft_min=32,
        soft_max=16384,
        default=1024,
        description="Frames are styled at most this large (32..16384). Given alone, it "
        "chooses Processing Size 'Longest Side'",
    )
    scale: FloatProperty(
        name="Scale",
        soft_min=0.05,
        soft_max=4.0,
        default=1.0,
        description="Frames are styled at this scale (0.05..4). Given alone, it chooses "
        "Processing Size 'Scale'",
    )
    preserve_colors: BoolProperty(name="Preserve Colors")
    temporal: FloatProperty(
        name="Temporal Coherence", soft_min=0.0, soft_max=1.0, default=0.5, subtype="FACTOR"
    )
    carry: FloatProperty(
        name="Carry Keyframes", soft_min=0.0, soft_max=1.0, default=1.0, subtype="FACTOR"
    )
    backend: EnumProperty(name="Backend", items=BACKENDS, default="DEFAULT")
    device: EnumProperty(name="Device", items=DEVICES, default="DEFAULT")
    output_format: EnumProperty(
        name="Format", items=[(i, n, d) for i, n, d, _w in FORMATS], default="PNG"
    )
    run_on: EnumProperty(name="Run On", items=RUN_ON, default="LOCAL")
    ray_address: StringProperty(name="Ray Dashboard", default="127.0.0.1:8265")
    restyle_output_itself: BoolProperty(
        name="Style a Styled Strip",
        description="Given a strip Apply Style made, style that strip itself "
        "(off: style the strip it was made from)",
    )

    task = "apply"
    styles_sources = True  # a styled strip stands for its source (restyle_output_itself)

    # -- steps ---------------------------------------------------------------------------
    def prepare(self, context) -> JobRequest:
        """Everything copied out of bpy and checked; nothing is written yet."""
        from ..core.job import StyleJob
        from ..core.styles import StyleLibrary
        from ..core.writers import output_format
        from ..props import library_root

        scene, span = self.read_source(context)
        settings = scene.restyle
        values = {
            name: as_given(self, name)
            if self.properties.is_property_set(name)
            else getattr(settings, name)
            for name in FROM_SIDEBAR
        }
        values["size_mode"] = self._size_mode(values["size_mode"])
        shown = span.shown
        fmt = output_format(FORMAT_WORDS[values["output_format"]])
        movie_name = span.movie_name(fmt.suffix) if fmt.movie else None
        backend, device = self._engine(context, values)
        job = StyleJob(
            source=span.source.source,
            upright=span.source.upright,  # as this Blender shows it
            hold_lead_in=span.source.hold_lead_in,
            strip_color=span.source.color,  # styled as the strip shows it
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
            carry=values["carry"],
        )
        plan = job.validate()  # one probe, one style resolution, one settings key
        info = plan.style
        style_slug = Path(info.id).stem if info.kind == "picture" else info.id
        landing = self.place_output(job, plan, span, style_slug, movie_name)
        runner = job
        if values["run_on"] == "RAY":  # the strip's grade goes on the command line too
            from ..core.ray_submit import RaySubmission

            runner = RaySubmission(job, values["ray_address"])
        return self.strip_request(span, job, info.name, runner=runner, **landing)

    def _make_strip(self, request):
        """A styled matte is still its source's matte (the alpha is kept): it keeps the mark
        and alpha mode (its blending comes with the placement, as every styled strip's:
        ``output_strip._copy_blending``), so Replace Background (BLUR too) and its panel take
        it as one."""
        from .matte import MATTE_OF

        strip = super()._make_strip(request)
        source = source_strip(strip.id_data, request)  # by what it is: renamed, its name now
        strip[STYLED_FROM] = source.name
        strip[STYLED_MEDIA] = media_record(source)  # a later strip of that name is not it
        if source.get(MATTE_OF) is not None:
            strip[MATTE_OF] = source[MATTE_OF]
            strip.alpha_mode = source.alpha_mode
        return strip

    def _size_mode(self, mode: str) -> str:
        """The Processing Size a run uses (``mode``: given, else the sidebar's). A script's
        Longest Side or Scale given alone chooses its mode (max_side=64 alone ran at the
        original size); one given with another mode, or both (the command line takes one of
        --max-side and --scale), is refused. The sidebar's button gives neither."""
        given = [name for name in SIZE_MODE_OF if self.properties.is_property_set(name)]
        if len(given) > 1:
            words = " and ".join(setting(name, single(getattr(self, name))) for name in given)
            raise RestyleError(f"{words} both given: give one of them")
        if not given:
            return mode
        wanted = SIZE_MODE_OF[given[0]]
        if self.properties.is_property_set("size_mode") and mode != wanted:
            labels = {i: label for i, label, _text in SIZE_MODES}
            raise RestyleError(
                f"{setting(given[0], single(getattr(self, given[0])))} needs Processing Size "
                f"'{labels[wanted]}', not '{labels[mode]}'"
            )
        return wanted

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


@bpy.app.handlers.persistent
def cancel_on_load(*_args) -> None:
    """A file is being loaded (or Restyle disabled): stop a running job; its frames stay."""
    RUN.cancel()


@bpy.app.handlers.persistent
def forget_run_on_load(*_args) -> None:
    """A file was loaded (load_post, after Blender ended a running job's modal run, which
    says it was cancelled): the sidebar starts with no summary. The last run's, and its
    Last output, were the file before's: they showed beside this file's strip of the same
    name and pointed into the other project's folder."""
    RUN.reset()


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
        self.report(
            {"INFO"}, f"Restyle: {count(kept, 'strip')} now showing frames beside the .blend"
        )
        return {"FINISHED"}


classes = (RESTYLE_OT_apply_style, RESTYLE_OT_keep_frames)
__all__ = ["keep_frames_on_save", "restore_after_copy"]
