"""The Keyframes sub-panel: the active strip's keyframes, painting round trip, training."""

from __future__ import annotations

import bpy
from bpy.types import Panel, UIList

from .. import compat
from ..operators.modal_job import blender_path
from ..operators.output_strip import keyframe_folder
from ..operators.runner import CANCELLED, FINISHED, RUN
from ..operators.strip_source import visible_frames
from ..operators.train_style import NO_TORCH, PREVIEW_IMAGE
from ..prefs import torch_found
from ..props import sharing_key, trained_label
from .sequencer import (
    RestylePanel,
    draw_job,
    draw_own_outcome,
    draw_summary,
    summary_about,
    usable_strip,
)
from .strip_media import read_refusal
from .text import draw_wrapped, wrap_width

PANEL = "RESTYLE_PT_keyframes"
NO_KEYFRAMES = "No keyframes to export or train from: add one at the playhead (+), or Suggest"


class RESTYLE_UL_keyframes(UIList):
    """Keyframes of the active strip only; the collection holds every strip's."""

    def draw_item(self, context, layout, _data, item, _icon, _active_data, _active_prop, _index=0):
        scene = compat.sequencer_scene(context)
        strip = scene.sequence_editor.active_strip if scene and scene.sequence_editor else None
        layout.label(text=keyframe_label(item, strip), icon="KEYFRAME")

    def filter_items(self, context, data, propname):
        scene = compat.sequencer_scene(context)
        editor = scene.sequence_editor if scene else None
        strip = editor.active_strip if editor else None
        items = getattr(data, propname)
        sharing = sharing_key(strip) if strip is not None else []
        flags = [
            self.bitflag_filter_item if strip is not None and k.belongs_to(strip, sharing) else 0
            for k in items
        ]
        order = sorted(range(len(items)), key=lambda i: items[i].frame)  # a strip's moved alike
        new_order = [0] * len(items)
        for position, index in enumerate(order):
            new_order[index] = position
        return flags, new_order


class RESTYLE_PT_keyframes(RestylePanel, Panel):
    bl_label = "Keyframes"
    bl_parent_id = "RESTYLE_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        scene = compat.sequencer_scene(context)
        settings = scene.restyle
        strip = usable_strip(scene)  # a movie or images, as Apply: a sound strip has no pictures
        if strip is None:
            layout.label(text="Select the movie or image strip to paint keyframes of", icon="INFO")
            return

        row = layout.row()
        row.template_list(
            "RESTYLE_UL_keyframes", "", settings, "keyframes", settings, "keyframe_index", rows=3
        )
        marked = bool(settings.strip_keyframes(strip.name))
        refused = read_refusal(strip)  # Suggest, Export and Train refuse it in these words
        col = row.column(align=True)
        col.operator("restyle.keyframe_add", text="", icon="ADD")
        sub = col.column(align=True)
        sub.enabled = selected_keyframe(settings, strip)
        sub.operator("restyle.keyframe_remove", text="", icon="REMOVE")
        jump = layout.row()  # an icon beside Add and Remove, it said nothing of what it does
        jump.enabled = sub.enabled
        jump.operator("restyle.keyframe_jump", text="Jump to Selected Keyframe", icon="TIME")

        if not marked:  # why Export and Train are greyed, and what to do
            draw_wrapped(layout.column(align=True), NO_KEYFRAMES, "INFO", wrap_width(context))
        if refused:
            draw_wrapped(layout.column(align=True), refused, "ERROR", wrap_width(context))
        col = layout.column(align=True)
        col.enabled = not refused  # both read the strip's frames
        col.operator("restyle.suggest_keyframes", icon="SEQ_STRIP_META").strip = strip.name
        row = col.row(align=True)
        row.enabled = marked  # nothing to export before a keyframe is added
        row.operator("restyle.export_keyframes", icon="EXPORT").strip = strip.name
        row.prop(settings, "open_exported", text="", icon="IMAGE_DATA")
        # Export's and Suggest's outcome under their buttons (Export's was drawn under
        # Apply Style, at the top of the sidebar)
        draw_own_outcome(layout, context, scene, PANEL, tasks=("export", "shots"))

        layout.use_property_split = True
        layout.use_property_decorate = False
        col = layout.column()
        col.prop(settings, "styled_from", expand=True)
        if settings.styled_from == "FOLDER":
            draw_painted_folder(col, scene, strip, wrap_width(context))
        col.prop(settings, "train_name")
        col.prop(settings, "time_budget")
        col.prop(settings, "overwrite_style")

        if draw_job(layout, PANEL):  # Train's and Suggest's bar and Cancel, here too
            if RUN.task == "train" and bpy.data.images.get(PREVIEW_IMAGE) is not None:
                col = layout.column(align=True)
                col.label(text=f"Preview: image '{PREVIEW_IMAGE}' in an Image Editor", icon="IMAGE")
            return
        torch = torch_found()
        if not torch:  # Train's own refusal, said before it is pressed
            hint = NO_TORCH[:1].upper() + NO_TORCH[1:]
            draw_wrapped(layout.column(align=True), hint, "ERROR", wrap_width(context))
        row = layout.row()
        row.scale_y = 1.3
        row.enabled = marked and not refused and torch  # training learns from the keyframes
        row.operator("restyle.train_style", icon="BRUSH_DATA").strip = strip.name
        if RUN.task == "train" and RUN.status in (FINISHED, CANCELLED) and RUN.folder:
            if summary_about(scene):
                draw_trained(layout, context, settings)
        else:
            draw_own_outcome(layout, context, scene, PANEL, tasks=("train",))  # 'Failed:'


def draw_trained(layout, context, settings) -> None:
    """How Train ended, in a few lines (it took 8 at the sidebar's width, round 25): what
    was made and its warnings (``draw_summary``), the folder on one line with a button that
    opens it (the label is cut short) and what the style list calls the style, picked above
    while it still is. Blender's report (the Info editor) keeps the whole story."""
    width = wrap_width(context)
    draw_summary(layout, context)
    col = layout.column(align=True)
    row = col.row(align=True)
    row.label(text=f"Saved in {blender_path(RUN.folder)}", icon="FILE_FOLDER")
    row.operator("wm.path_open", text="", icon="FILEBROWSER").filepath = RUN.folder
    listed = trained_label(RUN.folder)  # as the style list names it, whatever it has read
    if settings.style == RUN.style:  # another picked since: the line would be untrue
        draw_wrapped(col, f"Picked above as '{listed}'", "CHECKMARK", width)
    else:
        draw_wrapped(col, f"In the style list as '{listed}'", "INFO", width)


EMPTY_FOLDER = "Empty: Export Keyframes' folder,"


def draw_painted_folder(layout, scene, strip, width: int) -> None:
    """Painted From's Folder: empty, Train reads the paintings from the folder Export
    Keyframes writes to (``train_style._styled``). The empty field said nothing of it: it
    shows that folder, greyed in the field (Blender's placeholder), and a line says so with
    the whole path (the field cuts an unsaved .blend's long temporary one)."""
    settings = scene.restyle
    shown = keyframe_folder(strip.name, scene)[1]
    layout.prop(settings, "styled_folder", placeholder=shown)
    if not settings.styled_folder.strip():
        draw_wrapped(layout.column(align=True), f"{EMPTY_FOLDER} {shown}", "INFO", width)


def keyframe_label(item, strip) -> str:
    """'Frame 22'; a keyframe the strip hides now (slipped or trimmed past) says so, and one
    moved since it was named says which file its painting is (Export named it then). Both
    at once say it shorter: the default sidebar cut 'painted as 0010.png' to 'painted as 001...'."""
    if strip is None:
        return f"Frame {item.frame}"
    frame = item.scene_frame(strip)
    text = f"Frame {frame}"
    shown = visible_frames(strip)  # as Export and Train read it: a trimmed meta hides some
    outside = shown is None or not shown[0] <= frame <= shown[1]
    if outside:
        text += " (outside the strip)"
    if frame != item.frame:
        text += f"{':' if outside else ', painted as'} {item.frame:04d}.png"
    return text


def selected_keyframe(settings, strip) -> bool:
    """Whether the list's selection is one of ``strip``'s keyframes (Remove and Jump need one)."""
    index = settings.keyframe_index
    return 0 <= index < len(settings.keyframes) and settings.keyframes[index].belongs_to(strip)


classes = (RESTYLE_UL_keyframes, RESTYLE_PT_keyframes)
