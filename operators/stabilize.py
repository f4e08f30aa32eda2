"""``restyle.stabilize_strip``: steady a movie or image strip into a new strip above it.

Runs a ``StabilizeJob`` on the shared ``StripJob`` machinery and lands the result with the
apply contract (first free channel above the source, exactly the range, selected and
active, one undo step): the strip-making half is ``StripJob``'s, as for Apply.

    bpy.ops.restyle.stabilize_strip(strip="NAME", frame_start=S, frame_end=E,
                                    mode="SIMILARITY", smoothness=0.7, crop=0.1)
"""

from __future__ import annotations

from bpy.props import BoolProperty, EnumProperty, FloatProperty, StringProperty
from bpy.types import Operator

from ..props import FORMATS as ALL_FORMATS
from ..props import STABILIZE_DEFAULTS as DEFAULTS
from ..props import STABILIZE_SPECS as SPECS
from .modal_job import JobRequest
from .strip_job import StripJob, source_strip

# The formats offered, as the one format table (core/writers.py) names them.
FORMATS = [(i, name, text) for i, name, text, _word in ALL_FORMATS if i in ("PNG", "H264")]


class RESTYLE_OT_stabilize_strip(StripJob, Operator):
    """Steady a shaky movie or image strip into a new strip above it (same frames, same size)"""

    bl_idname = "restyle.stabilize_strip"
    bl_label = "Stabilize"
    bl_options = {"UNDO"}
    output_takes_color = True  # its frames are the source's pixels

    strip: StringProperty(name="Strip", description="Strip to steady (empty: the active strip)")
    # Each setting as the sidebar's (props.STABILIZE_SPECS), not remembered between runs
    # (SKIP_SAVE): a crop tried in the redo panel once changed every later run's settings key
    # (no resume). The sidebar's Stabilize button sets every one from the scene's settings,
    # so pressed again it resumes.
    mode: EnumProperty(**SPECS["mode"], options={"SKIP_SAVE"})
    smoothness: FloatProperty(**SPECS["smoothness"], options={"SKIP_SAVE"})
    crop: FloatProperty(**SPECS["crop"], options={"SKIP_SAVE"})
    strength: FloatProperty(**SPECS["strength"], options={"SKIP_SAVE"})
    tripod: BoolProperty(**SPECS["tripod"], options={"SKIP_SAVE"})
    output_format: EnumProperty(
        name="Format", items=FORMATS, default=DEFAULTS["output_format"], options={"SKIP_SAVE"}
    )

    task = "stabilize"

    def prepare(self, context) -> JobRequest:
        from ..core.mappings.stabilize_job import StabilizeJob
        from ..core.writers import output_format

        _scene, span = self.read_source(context)
        fmt = output_format(self.output_format.lower())
        movie_name = span.movie_name(fmt.suffix) if fmt.movie else None
        job = StabilizeJob(
            source=span.source.source,
            upright=span.source.upright,  # as this Blender shows it
            hold_lead_in=span.source.hold_lead_in,
            output=None,  # named after the plan's settings key, below
            start=min(span.shown),
            end=max(span.shown),
            format=fmt.id,
            mode=self.mode.lower(),
            smoothness=self.smoothness,
            crop=self.crop,
            strength=self.strength,
            tripod=self.tripod,
        )
        plan = job.validate()  # one probe, one settings key
        landing = self.place_output(job, plan, span, "stabilized", movie_name)
        return self.strip_request(span, job, "Stabilized", label="Stabilize", **landing)

    def finish(self, context, job_request, kind, value):
        if kind == "done":
            _styled_output_said(job_request.data, value)
        return super().finish(context, job_request, kind, value)


def _styled_output_said(request, result) -> None:
    """A styled strip repeats its pictures where its source's rate is below the scene's
    (Restyle's own rate conversion): the reader's note on its list of images ("000013.png
    follows 000013.png in the list of images, so the frames are named from 0…") becomes
    what to do instead, in the user's terms."""
    from ..core.media import source_warnings
    from .modal_job import find_scene
    from .output_strip import STYLED_FROM, source_name_now

    scene = find_scene(request.scene, request.scene_uid)
    strip = source_strip(scene, request) if scene and scene.sequence_editor else None
    said = source_warnings(request.plan.info)  # a styled strip's: the numbering note alone
    if strip is None or strip.get(STYLED_FROM) is None or not said:
        return
    source = source_name_now(scene.sequence_editor, strip)
    note = (
        f"'{strip.name}' is a styled strip, whose pictures repeat where its source's frame "
        f"rate is below the scene's: to steady the footage itself, stabilize '{source}' "
        "and style the stabilized strip"
    )
    result.warnings = [note if w == said[0] else w for w in result.warnings]


classes = (RESTYLE_OT_stabilize_strip,)
