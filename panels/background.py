"""The Background sub-panel: matte the strip, then put something else behind the people."""

from __future__ import annotations

from bpy.types import Panel

from .. import compat
from ..operators.runner import RUN
from .sequencer import RestylePanel, usable_strip


class RESTYLE_PT_background(RestylePanel, Panel):
    bl_label = "Background"
    bl_parent_id = "RESTYLE_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        scene = compat.sequencer_scene(context)
        strip = usable_strip(scene)  # a movie or images, as Apply (a matte is one)
        if strip is None:
            layout.label(text="Select the movie or image strip to matte", icon="INFO")
            return
        from ..operators.matte import MATTE_OF

        matte = strip.get(MATTE_OF) is not None
        if not matte:
            row = layout.row()
            row.scale_y = 1.3
            row.enabled = not RUN.running
            row.operator("restyle.matte_strip", icon="MOD_MASK").strip = strip.name
            layout.label(text="Uses the Frame Range above", icon="INFO")
            return
        layout.use_property_split = True
        layout.use_property_decorate = False
        settings = scene.restyle
        layout.prop(settings, "background")
        op = layout.operator("restyle.replace_background", icon="IMAGE_BACKGROUND")
        op.strip = strip.name
        op.background = settings.background


classes = (RESTYLE_PT_background,)
