"""The Background sub-panel: matte the strip, then put something else behind the people."""

from __future__ import annotations

from bpy.types import Panel

from .. import compat
from ..operators.runner import RUN
from ..props import background_text
from .sequencer import RestylePanel, draw_job, draw_own_outcome, usable_strip
from .strip_media import read_refusal
from .text import draw_wrapped, wrap_width

PANEL = "RESTYLE_PT_background"


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
            draw_own_outcome(layout, context, scene, PANEL)
            return
        from ..operators.matte import MATTE_OF

        matte = strip.get(MATTE_OF) is not None
        if not matte:
            refused = read_refusal(strip)  # Matte refuses it in these words
            if refused:
                draw_wrapped(layout.column(align=True), refused, "ERROR", wrap_width(context))
            row = layout.row()
            row.scale_y = 1.3
            row.enabled = not RUN.running and not refused
            row.operator("restyle.matte_strip", icon="MOD_MASK").strip = strip.name
            layout.label(text="Uses the Frame Range above", icon="INFO")
            if not draw_job(layout, PANEL):  # Matte's bar and Cancel, here too
                draw_own_outcome(layout, context, scene, PANEL)
            return
        layout.use_property_split = True
        layout.use_property_decorate = False
        settings = scene.restyle
        col = layout.column()
        col.prop(settings, "background_kind", text="Type")  # "Background" in its own panel
        kind = settings.background_kind
        if kind == "COLOR":
            col.prop(settings, "background_color")
        elif kind == "PICTURE":
            col.prop(settings, "background_picture")
        elif kind == "STRIP":
            editor = scene.sequence_editor
            strips = compat.all_strips_name(editor)
            col.prop_search(settings, "background_strip", editor, strips, icon="SEQUENCE")
        text = background_text(settings)
        row = layout.row()
        row.enabled = bool(text)  # a picture or strip to choose first: the field above
        op = row.operator("restyle.replace_background", icon="IMAGE_BACKGROUND")
        op.strip = strip.name
        op.background = text
        if not draw_job(layout, PANEL):  # the matte just made: its summary (a nearly empty one)
            draw_own_outcome(layout, context, scene, PANEL)


classes = (RESTYLE_PT_background,)
