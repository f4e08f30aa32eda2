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
from .modal_job import JobRequest
from .strip_job import StripJob

MODES = [
    ("TRANSLATION", "Translation", "Shifts only"),
    ("SIMILARITY", "Similarity", "Shifts, rotation and zoom"),
    ("PERSPECTIVE", "Perspective", "Full perspective (a homography per frame)"),
]
TRIPOD_BUTTON = "Tripod"  # the sidebar's button that runs this operator with tripod=True
DEFAULTS = {
    "mode": "SIMILARITY",
    "smoothness": 0.7,
    "crop": 0.1,
    "strength": 1.0,
    "output_format": "PNG",
}
# Everything a Tripod run depends on, set by its button: a setting a button leaves unset
# takes Blender's remembered value, so a mode picked from the Stabilize menu between a
# cancel and Tripod changed the settings key and Tripod started over instead of resuming.
TRIPOD_SETTINGS = {**DEFAULTS, "tripod": True}
# The formats offered, as the one format table (core/writers.py) names them.
FORMATS = [(i, name, text) for i, name, text, _word in ALL_FORMATS if i in ("PNG", "H264")]


class RESTYLE_OT_stabilize_strip(StripJob, Operator):
    """Steady a shaky movie or image strip into a new strip above it (same frames, same size)"""

    bl_idname = "restyle.stabilize_strip"
    bl_label = "Stabilize"
    bl_options = {"UNDO"}
    output_takes_color = True  # its frames are the source's pixels

    strip: StringProperty(name="Strip", description="Strip to steady (empty: the active strip)")
    mode: EnumProperty(name="Mode", items=MODES, default=DEFAULTS["mode"])
    smoothness: FloatProperty(
        name="Smoothness",
        min=0.0,
        max=1.0,
        default=DEFAULTS["smoothness"],
        subtype="FACTOR",
        options={"SKIP_SAVE"},
        description="How far the steadied camera may drift from the real one",
    )
    crop: FloatProperty(
        name="Crop",
        min=0.0,
        max=0.5,
        default=DEFAULTS["crop"],
        subtype="FACTOR",
        options={"SKIP_SAVE"},
        description="The most of the width and height cropped away (no empty border shows)",
    )
    strength: FloatProperty(
        name="Strength", min=0.0, max=1.0, default=DEFAULTS["strength"], subtype="FACTOR",
        description="How much of the shake to remove", options={"SKIP_SAVE"},
    )  # fmt: skip
    # Settings are not remembered between runs from the sidebar (SKIP_SAVE): after a finished
    # Tripod run the Stabilize menu, which sets only the mode, ran as Tripod again; a crop
    # tried in the redo panel once changed every later run's settings key (no resume).
    tripod: BoolProperty(
        name="Tripod",
        description="Keep the camera still wherever the crop allows",
        options={"SKIP_SAVE"},
    )
    output_format: EnumProperty(
        name="Format", items=FORMATS, default=DEFAULTS["output_format"], options={"SKIP_SAVE"}
    )

    task = "stabilize"

    def resume_button(self) -> str:
        """A Tripod run resumes from the Tripod button (it sets every setting: the Stabilize
        menu runs without Tripod, another settings key, and would start over); a menu run from
        the mode it was run with (another mode is another settings key)."""
        if self.tripod:
            return TRIPOD_BUTTON
        mode = next(label for word, label, _text in MODES if word == self.mode)
        return f"{self.bl_label} > {mode}"

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


classes = (RESTYLE_OT_stabilize_strip,)
