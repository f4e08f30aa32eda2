"""The Edit sub-panel: stabilize the strip, split it at its cuts, snap edit points to cuts."""

from __future__ import annotations

from bpy.types import Panel

from .. import compat
from ..operators.runner import RUN
from ..props import STABILIZE_DEFAULTS
from .sequencer import RestylePanel, draw_job, draw_own_outcome, usable_strip
from .strip_media import read_refusal
from .text import draw_wrapped, wrap_width

# The Stabilize button's settings from the scene's: every one its run depends on is set, so
# Blender's remembered values never change a run's settings key and pressed again it resumes.
STABILIZE_SETTINGS = {
    "mode": "stabilize_mode",
    "smoothness": "stabilize_smoothness",
    "crop": "stabilize_crop",
    "strength": "stabilize_strength",
    "tripod": "stabilize_tripod",
}

PANEL = "RESTYLE_PT_edit"


class RESTYLE_PT_edit(RestylePanel, Panel):
    bl_label = "Stabilize and Cuts"
    bl_parent_id = "RESTYLE_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        scene = compat.sequencer_scene(context)
        strip = usable_strip(scene)  # a movie or images, as Apply
        if strip is None:
            # the line first, then Snap Cuts (the column made before it put it under the button)
            layout.label(text="Select a movie or image strip to stabilize or split", icon="INFO")
            col = layout.column(align=True)
            col.enabled = not RUN.running
            col.operator("restyle.snap_cuts", icon="SNAP_ON")  # every strip's edit points
            draw_own_outcome(layout, context, scene, PANEL)
            return
        settings = scene.restyle
        refused = read_refusal(strip)  # Stabilize and Split refuse it in these words

        layout.use_property_split = True
        layout.use_property_decorate = False
        col = layout.column()
        col.prop(settings, "stabilize_mode")
        col.prop(settings, "stabilize_smoothness", slider=True)
        col.prop(settings, "stabilize_crop", slider=True)
        col.prop(settings, "stabilize_strength", slider=True)
        col.prop(settings, "stabilize_tripod")

        if refused:  # said here: the main panel says it of the strip Apply reads
            draw_wrapped(layout.column(align=True), refused, "ERROR", wrap_width(context))
        col = layout.column(align=True)
        col.enabled = not RUN.running
        sub = col.column(align=True)
        sub.enabled = not refused
        op = sub.operator("restyle.stabilize_strip", icon="CON_CAMERASOLVER")
        for name, setting in STABILIZE_SETTINGS.items():
            setattr(op, name, getattr(settings, setting))
        op.output_format = STABILIZE_DEFAULTS["output_format"]
        split = sub.operator("restyle.split_at_cuts", icon="SEQ_SPLITVIEW")
        split.strip = strip.name
        split.frame_start, split.frame_end = settings.frame_start, settings.frame_end
        col.operator("restyle.snap_cuts", icon="SNAP_ON")  # every strip's edit points
        # Split at Cuts split the whole strip whatever the range (the note named Stabilize)
        layout.label(text="Stabilize and Split at Cuts use the Frame Range above", icon="INFO")
        if not draw_job(layout, PANEL):  # Stabilize's bar and Cancel, here too
            draw_own_outcome(layout, context, scene, PANEL)


classes = (RESTYLE_PT_edit,)
