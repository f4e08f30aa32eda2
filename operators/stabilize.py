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
from ..props import as_given, soft_range
from .modal_job import JobRequest
from .strip_job import StripJob

# The formats offered, as the one format table (core/writers.py) names them.
FORMATS = [(i, name, text) for i, name, text, _word in ALL_FORMATS if i in ("PNG", "H264")]


class RESTYLE_OT_stabilize_strip(StripJob, Operator):
    """Steady a shaky movie or image strip into a new strip above it (same frames, same size)"""

    bl_idname = "restyle.stabilize_strip"
    bl_label = "Stabilize"
    bl_options = {"UNDO"}
    output_takes_color = True  # its frames are the source's pixels
    styled_advice = (
        "to steady the footage itself, stabilize '{source}' and style the stabilized strip"
    )

    strip: StringProperty(name="Strip", description="Strip to steady (empty: the active strip)")
    # Each setting as the sidebar's (props.STABILIZE_SPECS), not remembered between runs
    # (SKIP_SAVE): a crop tried in the redo panel once changed every later run's settings key
    # (no resume). The sidebar's Stabilize button sets every one from the scene's settings,
    # so pressed again it resumes. Ranges as soft limits (soft_range): the job refuses a
    # script's value out of range, which a hard limit clamped unseen.
    mode: EnumProperty(**SPECS["mode"], options={"SKIP_SAVE"})
    smoothness: FloatProperty(**soft_range(SPECS["smoothness"]), options={"SKIP_SAVE"})
    crop: FloatProperty(**soft_range(SPECS["crop"]), options={"SKIP_SAVE"})
    strength: FloatProperty(**soft_range(SPECS["strength"]), options={"SKIP_SAVE"})
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
            smoothness=as_given(self, "smoothness"),
            crop=as_given(self, "crop"),
            strength=as_given(self, "strength"),
            tripod=self.tripod,
        )
        plan = job.validate()  # one probe, one settings key
        landing = self.place_output(job, plan, span, "stabilized", movie_name)
        return self.strip_request(span, job, "Stabilized", label="Stabilize", **landing)


classes = (RESTYLE_OT_stabilize_strip,)
