"""``restyle.stabilize_strip``: steady a movie or image strip into a new strip above it.

Runs a ``StabilizeJob`` on the shared ``ModalJob`` machinery and lands the result with the
apply contract (first free channel above the source, exactly the range, selected and
active, one undo step): the strip-making half is apply_style's.

    bpy.ops.restyle.stabilize_strip(strip="NAME", frame_start=S, frame_end=E,
                                    mode="SIMILARITY", smoothness=0.7, crop=0.1)
"""

from __future__ import annotations

from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty
from bpy.types import Operator

from .. import compat
from ..core.errors import RestyleError
from .apply_style import Request, RESTYLE_OT_apply_style
from .modal_job import JobRequest, ModalJob
from .output_strip import MOVIE_SUFFIX, output_folder, settings_hash
from .strip_source import find_strip, read_strip, requested_range

MODES = [
    ("TRANSLATION", "Translation", "Shifts only"),
    ("SIMILARITY", "Similarity", "Shifts, rotation and zoom"),
    ("PERSPECTIVE", "Perspective", "Full perspective (a homography per frame)"),
]
FORMATS = [
    ("PNG", "PNG Sequence", "Lossless image sequence (resumable)"),
    ("H264", "H.264 Movie", "One movie file"),
]


class RESTYLE_OT_stabilize_strip(ModalJob, Operator):
    """Steady a shaky movie or image strip into a new strip above it (same frames, same size)"""

    bl_idname = "restyle.stabilize_strip"
    bl_label = "Stabilize"
    bl_options = {"UNDO"}

    strip: StringProperty(name="Strip", description="Strip to steady (empty: the active strip)")
    frame_start: IntProperty(
        name="Start", description="First scene frame (0 and 0: the strip's whole range)"
    )
    frame_end: IntProperty(name="End", description="Last scene frame, inclusive")
    mode: EnumProperty(name="Mode", items=MODES, default="SIMILARITY")
    smoothness: FloatProperty(
        name="Smoothness",
        min=0.0,
        max=1.0,
        default=0.7,
        subtype="FACTOR",
        description="How far the steadied camera may drift from the real one",
    )
    crop: FloatProperty(
        name="Crop",
        min=0.0,
        max=0.5,
        default=0.1,
        subtype="FACTOR",
        description="The most of the width and height cropped away (no empty border shows)",
    )
    strength: FloatProperty(
        name="Strength", min=0.0, max=1.0, default=1.0, subtype="FACTOR",
        description="How much of the shake to remove",
    )  # fmt: skip
    tripod: BoolProperty(
        name="Tripod", description="Keep the camera still wherever the crop allows"
    )
    output_format: EnumProperty(name="Format", items=FORMATS, default="PNG")

    task = "stabilize"
    cancel_message = "Cancelled; finished frames stay on disk"
    # The strip-making half is apply_style's: same contract, same checks.
    finish = RESTYLE_OT_apply_style.finish
    shortcut = RESTYLE_OT_apply_style.shortcut
    _make_strip = RESTYLE_OT_apply_style._make_strip

    def prepare(self, context) -> JobRequest:
        from ..core.mappings.stabilize_job import StabilizeJob

        scene = compat.sequencer_scene(context)
        if scene is None or scene.sequence_editor is None:
            raise RestyleError("no sequencer scene")
        source = read_strip(scene, find_strip(scene, self.strip))
        first, last = requested_range(self, source, scene.restyle)
        shown = source.frames(first, last)
        fmt = self.output_format.lower()
        movie = fmt in MOVIE_SUFFIX
        if movie and shown != list(range(shown[0], shown[0] + len(shown))):
            raise RestyleError(
                f"'{source.name}' does not show its frames one to one here (frame rate, "
                "reversed or strobe); use an image sequence format"
            )
        job_settings = {
            "mode": self.mode.lower(),
            "smoothness": self.smoothness,
            "crop": self.crop,
            "strength": self.strength,
            "tripod": self.tripod,
        }
        key = settings_hash(
            source.files,
            {"id": "stabilize"},
            {**job_settings, "format": fmt, "range": [min(shown), max(shown)]},
        )
        folder, stored = output_folder(source.name, "stabilized", key)
        movie_name = f"{shown[0]:06d}-{shown[-1]:06d}.{MOVIE_SUFFIX[fmt]}" if movie else None
        job = StabilizeJob(
            source=source.source,
            output=folder / movie_name if movie else folder,
            start=min(shown),
            end=max(shown),
            format=fmt,
            **job_settings,
        )
        movie_done = movie and (folder / movie_name).is_file()  # written atomically: complete
        if not movie_done:
            job.validate()
        request = Request(
            scene=scene.name,
            source=source,
            first=first,
            last=last,
            shown=shown,
            job=job,
            style_id="stabilize",
            style_name="Stabilized",
            folder=folder,
            stored_folder=stored,
            movie_name=movie_name,
            movie_done=movie_done,
        )
        return JobRequest(job, source.name, "Stabilize", len(set(shown)), self.task, data=request)


classes = (RESTYLE_OT_stabilize_strip,)
