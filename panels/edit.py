"""The Edit sub-panel: stabilize the strip, split it at its cuts, snap edit points to cuts."""

from __future__ import annotations

from bpy.types import Panel

from .. import compat
from ..operators.runner import RUN
from ..operators.stabilize import TRIPOD_BUTTON, TRIPOD_SETTINGS
from .sequencer import RestylePanel, usable_strip


class RESTYLE_PT_edit(RestylePanel, Panel):
    bl_label = "Stabilize and Cuts"
    bl_parent_id = "RESTYLE_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        scene = compat.sequencer_scene(context)
        strip = usable_strip(scene)  # a movie or images, as Apply
        col = layout.column(align=True)
        col.enabled = not RUN.running
        if strip is None:
            layout.label(text="Select a movie or image strip to stabilize or split", icon="INFO")
        else:
            sub = col.column(align=True)
            row = sub.row(align=True)
            row.operator_menu_enum(
                "restyle.stabilize_strip", "mode", text="Stabilize", icon="CON_CAMERASOLVER"
            )
            tripod = row.operator("restyle.stabilize_strip", text=TRIPOD_BUTTON, icon="PINNED")
            for name, value in TRIPOD_SETTINGS.items():  # all of them: pressed again, it resumes
                setattr(tripod, name, value)
            sub.operator("restyle.split_at_cuts", icon="SEQ_SPLITVIEW").strip = strip.name
        col.operator("restyle.snap_cuts", icon="SNAP_ON")  # every strip's edit points
        if strip is not None:
            layout.label(text="Stabilize uses the Frame Range above", icon="INFO")


classes = (RESTYLE_PT_edit,)
