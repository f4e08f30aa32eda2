"""The small operators behind the sidebar's buttons: frame range, cancel, styles, picture."""

from __future__ import annotations

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy.types import Operator

from .. import compat
from .modal_job import NO_SEQUENCER_SCENE
from .runner import RUN
from .strip_source import visible_frames


class RESTYLE_OT_set_frame_range(Operator):
    """Set the frames to style, in scene frames"""

    bl_idname = "restyle.set_frame_range"
    bl_label = "Set Frame Range"
    bl_options = {"REGISTER", "UNDO"}

    source: EnumProperty(
        name="From",
        items=(
            ("WHOLE", "Whole Strip", "Style everything the strip shows"),
            ("STRIP", "Active Strip", "The active strip's visible frames"),
            ("PREVIEW", "Preview Range", "The scene's preview range (or its frame range)"),
            ("MARKERS", "Selected Markers", "From the first to the last selected marker"),
            ("START", "Start at Current Frame", "Start at the current frame"),
            ("END", "End at Current Frame", "End at the current frame"),
        ),
    )

    @classmethod
    def poll(cls, context):
        if compat.sequencer_scene(context) is None:
            cls.poll_message_set(NO_SEQUENCER_SCENE)
            return False
        return True

    def execute(self, context):
        scene = compat.sequencer_scene(context)
        settings = scene.restyle
        if self.source == "WHOLE":
            settings.frame_start, settings.frame_end = 0, 0
            return {"FINISHED"}
        if self.source in {"START", "END"}:
            first, last = self._current_range(scene)
            if self.source == "START":
                first = scene.frame_current
                last = max(last, first)
            else:
                last = scene.frame_current
                first = min(first, last)
        elif self.source == "STRIP":
            strip = scene.sequence_editor.active_strip if scene.sequence_editor else None
            if strip is None:
                self.report({"ERROR"}, "No active strip")
                return {"CANCELLED"}
            if visible_frames(strip) is None:
                self.report({"ERROR"}, f"'{strip.name}' is hidden by its meta strip's ends")
                return {"CANCELLED"}
            first, last = visible_frames(strip)
        elif self.source == "PREVIEW":
            if scene.use_preview_range:
                first, last = scene.frame_preview_start, scene.frame_preview_end
            else:
                first, last = scene.frame_start, scene.frame_end
        else:
            frames = sorted(m.frame for m in scene.timeline_markers if m.select)
            if not frames:
                self.report({"ERROR"}, "No selected markers")
                return {"CANCELLED"}
            first, last = frames[0], frames[-1]
        if last == 0 and self._shown_end(scene) != 0:
            last = 1  # End 0 reads as "the strip's end" (0..0: the whole strip)
            self.report({"INFO"}, "End 0 means the strip's end: the range ends at frame 1")
        settings.frame_start, settings.frame_end = first, last
        return {"FINISHED"}

    @staticmethod
    def _shown_end(scene) -> int | None:
        """The active strip's last shown frame: where it is 0, End 0 says exactly that."""
        strip = scene.sequence_editor.active_strip if scene.sequence_editor else None
        shown = visible_frames(strip) if strip is not None else None
        return shown[1] if shown else None

    @staticmethod
    def _current_range(scene) -> tuple[int, int]:
        settings = scene.restyle
        if not settings.whole_strip:
            return settings.frame_start, settings.frame_end
        strip = scene.sequence_editor.active_strip if scene.sequence_editor else None
        shown = visible_frames(strip) if strip is not None else None
        return shown or (scene.frame_start, scene.frame_end)


class RESTYLE_OT_cancel(Operator):
    """Stop the running job; finished frames stay on disk and a rerun resumes"""

    bl_idname = "restyle.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, _context):
        return RUN.running

    def execute(self, _context):
        RUN.cancel()
        return {"FINISHED"}


class RESTYLE_OT_reload_styles(Operator):
    """Read the style library again (after training or copying styles into it)"""

    bl_idname = "restyle.reload_styles"
    bl_label = "Reload Styles"

    def execute(self, context):
        from ..props import CATALOG, library_root

        CATALOG.reload(library_root(context))
        return {"FINISHED"}


class RESTYLE_OT_pick_picture(Operator):
    """Choose any picture to take the style from"""

    bl_idname = "restyle.pick_picture"
    bl_label = "Choose Style Picture"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(subtype="FILE_PATH")
    relative_path: bpy.props.BoolProperty(
        name="Relative Path",
        description="Select the file relative to the blend file "
        "(not given: the preference Default Relative Paths)",
    )
    filter_image: bpy.props.BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})
    filter_folder: bpy.props.BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})

    def invoke(self, context, _event):
        self.relative_path = self._relative(context)  # the browser shows it, as Blender's do
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from ..props import PICTURE

        settings = compat.sequencer_scene(context).restyle
        path = self.filepath
        if self._relative(context) and bpy.data.filepath and not path.startswith("//"):
            try:
                path = bpy.path.relpath(path)
            except ValueError:  # another drive (Windows): keep it absolute
                pass
        settings.picture = path
        settings.style = PICTURE
        return {"FINISHED"}

    def _relative(self, context) -> bool:
        if self.properties.is_property_set("relative_path"):
            return self.relative_path
        return context.preferences.filepaths.use_relative_paths


class RESTYLE_OT_details(Operator):
    """The whole of a sidebar line the panel says in short"""

    bl_idname = "restyle.details"
    bl_label = "Details"

    text: StringProperty(options={"HIDDEN", "SKIP_SAVE"})

    @classmethod
    def description(cls, _context, properties):  # the tooltip: the line in full
        return properties.text or cls.__doc__

    def execute(self, context):  # a click puts it in the Info editor and the clipboard
        context.window_manager.clipboard = self.text
        self.report({"INFO"}, self.text)
        return {"FINISHED"}


classes = (
    RESTYLE_OT_details,
    RESTYLE_OT_set_frame_range,
    RESTYLE_OT_cancel,
    RESTYLE_OT_reload_styles,
    RESTYLE_OT_pick_picture,
)
