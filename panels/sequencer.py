"""The Restyle tab of the Sequencer sidebar: style, range, apply, progress; details folded."""

from __future__ import annotations

import re
from pathlib import Path

from bpy.types import Panel

from .. import compat, props
from ..core.errors import RestyleError
from ..core.progress import TRAINING, TWO_PASS_STEPS
from ..operators.matte import MATTE_OF
from ..operators.modal_job import NO_SEQUENCER_SCENE, blender_path
from ..operators.output_strip import STYLED_FROM, styled_from_now, styled_source
from ..operators.runner import CANCELLED, FAILED, FINISHED, FRAME_STAGES, RUN
from ..operators.strip_source import KIND_WORDS, SUPPORTED, visible_frames
from ..props import PICTURE
from .strip_media import FOUND, read_refusal
from .text import draw_wrapped, wrap_lines, wrap_width


def in_sequencer(context) -> bool:
    space = context.space_data
    return space is not None and space.view_type in {"SEQUENCER", "SEQUENCER_PREVIEW"}


class RestylePanel:
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Restyle"

    @classmethod
    def poll(cls, context):
        return in_sequencer(context) and compat.sequencer_scene(context) is not None


class RESTYLE_PT_main(RestylePanel, Panel):
    bl_label = "Restyle"

    @classmethod
    def poll(cls, context):  # without a scene too: it says where to pick one
        return in_sequencer(context)

    def draw(self, context):
        layout = self.layout
        scene = compat.sequencer_scene(context)
        if scene is None:
            layout.label(text=NO_SEQUENCER_SCENE, icon="INFO")
            return
        settings = scene.restyle
        FOUND.clear()  # a redraw starts here: its sub-panels reuse what this one looked up

        missing = draw_strip(layout, scene, wrap_width(context))

        col = layout.column()
        count = len(props.style_items(settings, context))
        popup = picker_popup_scale(context, count)
        # "Any Picture…" with a picture chosen: its own thumbnail, smaller, in the tile's
        # place (the tile's generic icon above it pushed Apply below a 1280x800 window's
        # fold); the menu under it still picks another style
        icon = picture_icon(settings.picture) if settings.style == PICTURE else None
        if icon is not None:
            col.template_icon(icon_value=icon, scale=PICTURE_SCALE)
        else:
            col.template_icon_view(
                settings, "style", show_labels=True, scale=6.0, scale_popup=popup
            )
        row = col.row(align=True)
        row.prop(settings, "style", text="")
        row.operator("restyle.reload_styles", text="", icon="FILE_REFRESH")
        if settings.style == PICTURE:
            row = col.row(align=True)
            row.prop(settings, "picture", text="")
            row.operator("restyle.pick_picture", text="", icon="FILEBROWSER")

        layout.use_property_split = True
        layout.use_property_decorate = False
        layout.prop(settings, "strength", slider=True)

        if RUN.running:
            draw_progress(layout)
        else:
            row = layout.row()
            row.scale_y = 1.5
            # the lines above say why not: no movie or image strip, its file is missing, or
            # it is retimed (``draw_strip``)
            row.enabled = usable_strip(scene) is not None and not missing
            row.operator("restyle.apply_style", icon="BRUSHES_ALL")
            if RUN.task not in PANEL_TASKS:  # Apply's, a tool's: a sub-panel's is there
                draw_outcome(layout, context, scene)


PICTURE_SCALE = 4.0  # the chosen picture's thumbnail, in place of the picker's 6-unit tile

# The jobs and tools a sub-panel starts (RUN.task -> its panel): it shows a job's progress
# and Cancel beside its button (a user scrolled down to it saw only greyed buttons, the bar
# being at the top) and how it ended, which the main panel drew under Apply Style (Export
# Keyframes' and Split at Cuts' outcomes too, round 24; and Train's and Suggest's refusals,
# whose operators said the ModalJob's "job").
PANEL_TASKS = {
    "matte": "RESTYLE_PT_background",
    "background": "RESTYLE_PT_background",  # Replace Background
    "stabilize": "RESTYLE_PT_edit",
    "cuts": "RESTYLE_PT_edit",  # Split at Cuts, Snap Cuts
    "train": "RESTYLE_PT_keyframes",
    "shots": "RESTYLE_PT_keyframes",  # Suggest Keyframes
    "export": "RESTYLE_PT_keyframes",
}


def draw_job(layout, panel: str) -> bool:
    """In the sub-panel ``panel``: the running job's progress and Cancel where that
    panel's button started it; True then (its buttons are greyed: the bar says why)."""
    if RUN.running and PANEL_TASKS.get(RUN.task) == panel:
        draw_progress(layout)
        return True
    return False


def draw_own_outcome(layout, context, scene, panel: str, tasks=None) -> None:
    """In the sub-panel ``panel``: how the last job or tool its buttons started ended (only
    where it was one of ``tasks``, if given: drawn under its own button)."""
    if not RUN.running and PANEL_TASKS.get(RUN.task) == panel:
        if tasks is None or RUN.task in tasks:
            draw_outcome(layout, context, scene)


def draw_outcome(layout, context, scene) -> None:
    """The last run's summary, where it is about the active strip (``summary_about``)."""
    if RUN.status in SUMMARY_ICONS and summary_about(scene):
        draw_summary(layout, context)


def picture_icon(picture: str) -> int | None:
    """The chosen picture's preview for the sidebar, in place of "Any Picture…"'s tile (the
    enum's one icon is shared by every scene: a generic one); None where none is chosen or the file
    is not there. Loaded into the style picker's previews (as the styles' thumbnails are), once
    per file and again when it changes; drawn as Blender draws previews, filled in when ready."""
    import bpy

    path = bpy.path.abspath(picture.strip()) if picture.strip() else ""
    if not path or props.CATALOG.previews is None:
        return None
    try:
        icon = props.CATALOG._icon(f"picture:{path}", Path(path))
    except (OSError, KeyError):
        return None
    return icon if isinstance(icon, int) else None  # a missing file: the generic name


class RESTYLE_PT_range(RestylePanel, Panel):
    bl_label = "Frame Range"
    bl_parent_id = "RESTYLE_PT_main"

    @classmethod
    def poll(cls, context):  # a sound or text strip has no frames to style: no range shown
        scene = compat.sequencer_scene(context)
        return in_sequencer(context) and scene is not None and usable_strip(scene) is not None

    def draw(self, context):
        layout = self.layout
        scene = compat.sequencer_scene(context)
        settings = scene.restyle

        col = layout.column(align=True)
        if settings.whole_strip:
            strip = scene.sequence_editor.active_strip if scene.sequence_editor else None
            text = "Whole strip"
            shown = visible_frames(strip) if strip is not None else None
            if shown is not None:
                text += ": {} - {}".format(*shown)
            col.label(text=text, icon="SEQ_STRIP_DUPLICATE")
        else:
            row = col.row(align=True)
            row.prop(settings, "frame_start")
            row.prop(settings, "frame_end")

        row = col.row(align=True)
        row.operator(
            "restyle.set_frame_range", text="Set Start", icon="TRIA_LEFT_BAR"
        ).source = "START"
        row.operator(
            "restyle.set_frame_range", text="Set End", icon="TRIA_RIGHT_BAR"
        ).source = "END"

        row = layout.row(align=True)
        row.label(text="From")
        row.operator("restyle.set_frame_range", text="Strip").source = "STRIP"
        row.operator("restyle.set_frame_range", text="Preview").source = "PREVIEW"
        row.operator("restyle.set_frame_range", text="Markers").source = "MARKERS"
        if not settings.whole_strip:
            row.operator("restyle.set_frame_range", text="", icon="X").source = "WHOLE"


class RESTYLE_PT_processing(RestylePanel, Panel):
    bl_label = "Processing"
    bl_parent_id = "RESTYLE_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        settings = compat.sequencer_scene(context).restyle

        col = layout.column()
        col.prop(settings, "size_mode")
        if settings.size_mode == "MAX_SIDE":
            col.prop(settings, "max_side")
        elif settings.size_mode == "SCALE":
            col.prop(settings, "scale")
        col.prop(settings, "preserve_colors")
        col.prop(settings, "temporal", slider=True)
        col.prop(settings, "carry", slider=True)


class RESTYLE_PT_output(RestylePanel, Panel):
    bl_label = "Output"
    bl_parent_id = "RESTYLE_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        scene = compat.sequencer_scene(context)
        settings = scene.restyle

        col = layout.column()
        col.prop(settings, "output_format")
        col.prop(settings, "backend")
        col.prop(settings, "device")
        col.prop(settings, "run_on")
        if settings.run_on == "RAY":
            col.prop(settings, "ray_address")
        # The folder of the run the main panel's summary tells, shown with it (with its
        # strip, its output or no strip active): another strip showed it as if its own,
        # and a running job showed the run before's beside its own strip.
        if RUN.folder and not RUN.running and summary_about(scene):
            # the path is often cut short: a button opens the folder itself
            row = col.row(align=True)
            row.label(text=f"Last output: {blender_path(RUN.folder)}", icon="FILE_FOLDER")
            row.operator("wm.path_open", text="", icon="FILEBROWSER").filepath = RUN.folder


def usable_strip(scene):
    """The active strip when it is one Restyle can read (a movie or images), else None."""
    strip = scene.sequence_editor.active_strip if scene.sequence_editor else None
    return strip if strip is not None and strip.type in SUPPORTED else None


def applied_to(editor, strip):
    """The strip whose file Apply reads for ``strip``: a style output's source, or the output
    itself where its source is gone (``styled_source``, as Apply picks it); None where Apply
    refuses whatever the files (several strips could be the source: the line above says so)."""
    if STYLED_FROM not in strip:
        return strip
    try:
        return styled_source(editor, strip)[0]
    except RestyleError:
        return None


def draw_strip(layout, scene, width: int = 40) -> str:
    """The active strip's name, and why Apply cannot style it; what greys Apply, if
    anything (else ''): its retiming or what of its files is missing (``read_refusal``, the
    rule Apply refuses by, in lines of ``width`` characters)."""
    strip = scene.sequence_editor.active_strip if scene.sequence_editor else None
    if strip is None:
        layout.label(text="Select a movie or image strip", icon="INFO")
    elif strip.type not in SUPPORTED:
        what, _, how = KIND_WORDS.get(strip.type, "an effect strip").partition(" (")
        layout.label(text=f"'{strip.name}' is {what}", icon="ERROR")
        how = how.rstrip(")") or "select a movie or image strip to style"
        layout.label(text=how[:1].upper() + how[1:], icon="INFO")
    else:
        icon = "FILE_MOVIE" if strip.type == "MOVIE" else "FILE_IMAGE"
        layout.label(text=strip.name, icon=icon)
        editor = scene.sequence_editor
        if STYLED_FROM in strip:  # Apply styles that strip instead (apply_style)
            layout.label(text=styled_from_now(editor, strip), icon="INFO")
        elif MATTE_OF in strip:  # as a styled strip's line: what it was made from
            layout.label(text=matte_of_now(editor, strip), icon="INFO")
        read = applied_to(editor, strip)  # a styled strip's own frames may be cleaned away
        refused = read_refusal(read) if read is not None else ""
        if refused:  # Apply is greyed: it would only say so once pressed
            draw_wrapped(layout.column(align=True), refused, "ERROR", width)
            return refused
        if only_the_active(editor, strip, read):  # Apply styles one strip: say which
            layout.label(text="Only this, the active strip, is styled", icon="INFO")
    return ""


def only_the_active(editor, strip, read) -> bool:
    """Whether the sidebar says Apply styles only the active ``strip``: Apply is shown
    (no job runs: a Stabilize's bar is there instead), it reads ``strip`` itself (a styled
    output's line says which strip it styles instead), and another movie or image strip is
    selected that is not one of ``strip``'s outputs (Apply selects the one it made: the
    line read as if that one were left unstyled)."""
    if RUN.running or read is not strip:
        return False
    for other in compat.all_strips(editor):
        if other.select and other != strip and other.type in SUPPORTED:
            if applied_to(editor, other) != strip:
                return True
    return False


def matte_of_now(editor, strip) -> str:
    """The sidebar's line for a matte strip (``MATTE_OF``: its source's name when Matte
    made it), as a styled strip gets 'Restyle output of ...'."""
    name = strip[MATTE_OF]
    there = name in compat.all_strips(editor)
    return f"Made by Matte from '{name}'" + ("" if there else " (not found)")


def picker_popup_scale(context, count: int) -> float:
    """The size of the style picker's popup thumbnails (in widget units) at which its rows of
    8 fit on the side of the picker with more room, whatever the picker's place in the window
    (half the window less the picker's 6 units): Blender clips a popup taller than that room
    and opens it showing the end nearest the picker, so the first row, the selected style's
    if it is there, was hidden (Debian's 4.3 at 1280x800: 27 styles at 5.0). Between 3, the
    size of Blender's own studio-light picker, and 5 (27 styles: a window 1160 pixels tall
    at scale 1)."""
    window = getattr(context, "window", None)
    if window is None or window.height <= 1:  # background mode: no popup
        return 5.0
    preferences = context.preferences
    unit = 20 * ((preferences.system.ui_scale if preferences else 0.0) or 1.0)
    rows = -(-count // 8)  # template_icon_view's popup: 8 a row in every Blender
    room = (window.height / unit - 6) / 2 - 2  # less the popup's margins
    return max(3.0, min(5.0, room / max(rows, 1) - 1))  # each row: thumbnail and label


def _step_said(task: str, stage: str) -> str:
    """'Step 1 of 2: ' where a two-pass job's bar restarts (``progress.TWO_PASS_STEPS``,
    the command line's words too), else nothing."""
    step = TWO_PASS_STEPS.get(task, {}).get(stage)
    return f"Step {step.number} of {step.count}: " if step else ""


def draw_progress(layout) -> None:
    """The running job's bar and Cancel (the main panel's, and its own sub-panel's)."""
    p = RUN.progress
    col = layout.column(align=True)
    col.label(text=f"{RUN.strip}: {RUN.style}", icon="SORTTIME")
    step = _step_said(RUN.task, p.stage) if p is not None else ""
    if p is not None and p.stage in (TRAINING, "shots", "track"):
        eta = f", {_duration(p.eta_s)} left" if p.eta_s else ""
        text = p.message or p.stage.capitalize()
        if step:  # 'Step 1 of 2: tracking the camera'
            text = text[:1].lower() + text[1:]
        col.progress(factor=p.fraction, type="BAR", text=f"{step}{text}{eta}")
    elif p is None or p.stage not in FRAME_STAGES:
        text = (p.message or p.stage.capitalize()) if p else "Starting"
        col.progress(factor=0.0, type="BAR", text=f"{text}…")
    else:
        eta = f", {_duration(p.eta_s)} left" if p.eta_s is not None else ""
        # what the run does ('N frames kept from before') where no rate is known yet, as
        # the command line's bar says it; once it is, on a line of its own (the worker
        # keeps it on the stage's later events: a resume's bar jumped to '7 / 12' unsaid)
        fps = f", {p.fps:.1f} frames/s" if p.fps else (f", {p.message}" if p.message else "")
        unit = " pictures" if RUN.unit == "pictures" else ""  # not one a frame: say so
        text = f"{step}{p.done} / {p.total}{unit}{fps}{eta}"
        col.progress(factor=p.fraction, type="BAR", text=text)
        if p.fps and p.message:
            col.label(text=p.message[:1].upper() + p.message[1:], icon="INFO")
    col.operator("restyle.cancel", icon="CANCEL")


SUMMARY_ICONS = {FINISHED: "CHECKMARK", FAILED: "ERROR", CANCELLED: "CANCEL"}

# The unsaved .blend's note, in short: what to do, and that the frames are at risk until
# then (the note names the temporary folder: the details' tooltip and the report say it).
UNSAVED_LINE = "Save the .blend to keep these frames"

# What the sidebar's first line leaves to the report and the details' tooltip: the run's
# measurements ('2.2 frames/s', a still's '0.4 s', the warping error) and '0 reused'.
MEASURED = re.compile(r", (?:[\d.]+ frames/s|[\d.]+ s|warping error [\d.]+|0 reused)(?=[,;)]|$)")


def draw_summary(layout, context) -> None:
    """The last run's outcome in a few short lines, as Blender's panels say things: what
    was made, its warnings in full (each is something to act on), the unsaved .blend's
    risk and the engine in a line each. The whole of it is the tooltip of the details
    button beside the first line (a click copies it), and Blender's report (Info editor)."""
    if RUN.status not in SUMMARY_ICONS:
        return
    text = RUN.summary
    note = RUN.note if RUN.note and text.endswith(f"; {RUN.note}") else ""
    text = text.removesuffix(f"; {note}") if note else text
    summary, _, tail = text.partition("; engine: ")
    engine, *warnings = split_clauses(tail) if tail else [""]
    if not tail and warns_after_first(RUN.status, RUN.task):
        summary, *warnings = split_clauses(summary)
    col = layout.column(align=True)
    width = wrap_width(context)
    brief = MEASURED.sub("", summary)
    lines = wrap_lines(brief, width - DETAILS_CHARS)
    row = col.row(align=True)
    row.label(text=lines[0], icon=SUMMARY_ICONS[RUN.status])
    details = row.operator("restyle.details", text="", icon="TEXT", emboss=False)
    # as the report says it: what was made, warnings, the note, the engine (one a line)
    whole = [*split_clauses(summary), *warnings, note, f"engine: {engine}" if engine else ""]
    details.text = "\n".join(filter(None, whole))
    for line in lines[1:]:
        col.label(text=line, icon="BLANK1")
    warning = "; ".join(warnings)  # their own "; " cannot be told from theirs: one block
    if warning:
        draw_wrapped(col, warning[:1].upper() + warning[1:], "ERROR", width)
    if note:
        draw_wrapped(col, UNSAVED_LINE, "INFO", width)
    if engine:  # 'onnx fp32 on cpu': why, and how it runs, in the details
        head, _, why = engine.partition(" (")
        draw_wrapped(col, f"Engine: {head}", "INFO", width)
        for fallback in unusable_devices(why.removesuffix(")")):  # a GPU it could not use
            draw_wrapped(col, fallback[:1].upper() + fallback[1:], "ERROR", width)


def unusable_devices(why: str) -> list[str]:
    """The clauses of the engine's why that say a device asked for could not be used
    ('CUDA not usable: missing cuDNN 9 (libcudnn.so.9)', ``engines.explain``'s note): the
    sidebar says them, as warnings; the rest of the why is in the details."""
    return [clause for clause in split_clauses(why) if " not usable: " in clause]


DETAILS_CHARS = 3  # the details button's room on the first line, in characters


MADE_STRIP = ("apply", "matte", "stabilize")  # RUN.task of the jobs that add a strip


def summary_about(scene) -> bool:
    """Whether the last run's summary is about the active strip: the strip it ran on
    (``RUN.strip``) or its output (a strip showing files in ``RUN.folder``). The sidebar
    shows the active strip, as Blender's do: another strip's summary read as this one's
    (under a missing file, too). Selected again, its strip shows it again; a summary whose
    strip is gone (or renamed), or with no strip active, is shown. A job's that made a strip
    (Apply, Matte, Stabilize) is not, with its strip here but none showing its output: the
    strip it made was undone or deleted, and the summary told of it."""
    import os

    from ..operators.output_strip import strip_media

    editor = scene.sequence_editor
    strips = compat.all_strips(editor) if editor else {}
    about = strips.get(RUN.strip) if RUN.strip else None
    folder = os.path.normpath(os.path.abspath(RUN.folder)) if RUN.folder else ""

    def output(strip) -> bool:
        media = strip_media(strip)
        return bool(media and folder) and os.path.dirname(media) == folder

    if about is not None and RUN.status == FINISHED and RUN.task in MADE_STRIP and folder:
        if not any(output(s) for s in strips):
            return False
    active = editor.active_strip if editor else None
    if about is None or active is None or active == about:
        return True
    return output(active)


def warns_after_first(status: str, task: str) -> bool:
    """Whether a summary with no engine in it (a tool's, Train's) says its warnings after
    its first clause, as a job's do after the engine: Replace Background's nearly empty
    matte and Export's kept paintings sat under the check mark. A cancelled job's second
    clause is a hint ('Apply Style again to resume'), but for Train's."""
    return status == FINISHED or (status == CANCELLED and task == "train")


def split_clauses(text: str) -> list[str]:
    """``text`` split at each "; " outside parentheses (the engine's own has one inside)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and text.startswith("; ", i):
            parts.append(text[start:i])
            start = i + 2
    return [*parts, text[start:]]


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


classes = (RESTYLE_PT_main, RESTYLE_PT_range, RESTYLE_PT_processing, RESTYLE_PT_output)
