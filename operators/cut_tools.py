"""``restyle.split_at_cuts`` and ``restyle.snap_cuts``: edit actions from real shot boundaries.

Both read strip timing out of Blender, let ``core.cut_tools`` find the boundaries and make
a plan (plain data), show that plan before anything changes (a confirmation listing every
split or move; background runs and scripts apply it directly and report it), then apply it
on the main thread as one undo step. Splits use the VSE's own split.

    bpy.ops.restyle.split_at_cuts(strip="NAME", frame_start=0, frame_end=0)
    bpy.ops.restyle.snap_cuts(distance=4, selected_only=False)
"""

from __future__ import annotations

import textwrap
from dataclasses import replace

import bpy
from bpy.props import BoolProperty, IntProperty, StringProperty
from bpy.types import Operator

from .. import compat
from ..core.cut_tools import PAD, EditPoint, Snap, Split, describe, snap_plan, split_plan
from ..core.errors import RestyleError
from ..core.words import count, frames_named
from .keyframes import hand_keyframes, warn_paintings_not_copied
from .modal_job import SequencerOperator, tool_summary
from .runner import FAILED, FINISHED, RUN, blender_message, report_error
from .strip_source import (
    FRAME_END,
    FRAME_START,
    SUPPORTED,
    StripSource,
    file_frames,
    find_strip,
    operator_range,
    read_strip,
)

PREVIEW_LINES = 12  # the confirmation lists this many changes, then a count
SUMMARY_MOVES = 3  # Snap Cuts' summary names this many moves, then a count
DIALOG_CHARS = 64  # characters a label line holds in the 520 px dialog (UI scale 1)


class CutTool(SequencerOperator):
    """Plan in ``invoke``/``execute``, confirm with the plan listed, apply once."""

    bl_options = {"REGISTER", "UNDO"}
    task = "cuts"  # its outcome is said in the Stabilize and Cuts panel, by its buttons
    _plan: list = []
    _skipped: list = []  # "'NAME' (why)" for strips the plan had to leave alone

    def make_plan(self, scene) -> list:
        raise NotImplementedError

    def outcome(self, plan: list) -> str:
        """The report's words for the applied ``plan`` (the dialog listed each change)."""
        return count(len(plan), "change") if plan else "nothing to change"

    def about(self) -> str | None:
        """The strip a refusal is about (a name; '' the active strip), None for none: the
        sidebar shows a summary with its strip (``summary_about``)."""
        return None

    def apply_plan(self, scene, plan: list) -> None:
        raise NotImplementedError

    def invoke(self, context, _event):
        if bpy.app.background:
            return self.execute(context)
        if not self._planned(context):
            return {"CANCELLED"}
        if not self._plan:
            self.report(*self._said(self.outcome([])))
            return {"CANCELLED"}
        return context.window_manager.invoke_props_dialog(self, width=520)

    def _summary(self, text: str) -> tuple[set[str], str]:
        """The report: the changes, and in the same line the strips left alone and why."""
        if not self._skipped:
            return {"INFO"}, f"Restyle: {text}"
        return {"WARNING"}, f"Restyle: {text}; skipped {', '.join(self._skipped)}"

    def _said(self, text: str) -> tuple[set[str], str]:
        """``_summary``, which the sidebar's summary shows too (under this tool's name),
        whichever strip is active: the edit changed several strips (Split at Cuts' pieces,
        Snap Cuts' pairs), and the active one stays what it was, often none of them (keyed
        to it, the summary went as soon as a piece was selected). Its words name them."""
        level, report = self._summary(text)
        tool_summary(
            FINISHED, f"{self.bl_label}: {report.removeprefix('Restyle: ')}", task=self.task
        )
        if not RUN.running:  # a running job keeps its progress (tool_summary left it)
            RUN.strip = ""
        return level, report

    def _failed(self, exc: RestyleError) -> None:
        about = self.about()
        tool_summary(
            FAILED, f"Failed: {report_error(self, exc)}", strip=about or "", task=self.task
        )
        if about is None and not RUN.running:
            RUN.strip = ""

    def draw(self, _context):
        lines = describe(self._plan)
        self.layout.label(text=f"{count(len(lines), 'change')}:")
        col = self.layout.column(align=True)
        for text, icon in dialog_lines(lines, self._skipped):
            col.label(text=text, icon=icon)

    def execute(self, context):
        scene = compat.sequencer_scene(context)
        if not self._plan and not self._planned(context):
            return {"CANCELLED"}
        plan, self._plan = self._plan, []
        try:
            self.apply_plan(scene, plan)
        except RestyleError as exc:
            self._failed(exc)
            return {"CANCELLED"}
        for line in describe(plan):
            print(f"Restyle: {line}")
        self.report(*self._said(self.outcome(plan)))
        warn_paintings_not_copied(self)
        return {"FINISHED"}

    def _planned(self, context) -> bool:
        scene = compat.sequencer_scene(context)
        try:
            if scene is None or scene.sequence_editor is None:
                raise RestyleError("no sequencer scene")
            self._skipped = []
            self._plan = self.make_plan(scene)
        except RestyleError as exc:
            self._failed(exc)
            return False
        return True


class RESTYLE_OT_split_at_cuts(CutTool, Operator):
    """Split a movie or image strip at every shot boundary in its frame range"""

    bl_idname = "restyle.split_at_cuts"
    bl_label = "Split at Cuts"

    strip: StringProperty(name="Strip", description="Strip to split (empty: the active strip)")
    frame_start: IntProperty(**FRAME_START)
    frame_end: IntProperty(**FRAME_END)

    _split: str = ""  # the strip planned, and the frames looked at: the summary names them
    _span: tuple[int, int] = (0, 0)  # first, last + 1
    _pieces: list[str] = []  # the strips it is now, left to right

    def about(self) -> str:
        return self.strip

    def outcome(self, plan: list[Split]) -> str:
        """'clip' split at frames 13, 25 into 3 strips, 'clip' to 'clip.002' (the names Blender
        gave the pieces differ between versions), or that no cut was found where."""
        if not plan:
            return f"no cut found in '{self._split}' over {frames_named(range(*self._span))}"
        pieces = self._pieces
        if len(pieces) < 2:  # Blender split nothing (a cut on the strip's edge)
            return super().outcome(plan)
        names = f"'{pieces[0]}' {'and' if len(pieces) == 2 else 'to'} '{pieces[-1]}'"
        at = frames_named(sorted(s.frame for s in plan))
        return f"'{self._split}' split at {at} into {count(len(pieces), 'strip')}, {names}"

    def make_plan(self, scene) -> list[Split]:
        strip = find_strip(scene, self.strip)
        self._split = strip.name
        if compat.strip_locked(strip):  # Blender's split refused it after the plan was shown
            raise RestyleError(f"'{strip.name}' is locked (or its channel is); unlock it first")
        source = read_strip(scene, strip)
        first, last = operator_range(self, source)
        self._span = (first, last + 1)
        shown = file_frames(strip, source, first, last)  # refused past a shortened file
        plan = split_plan(
            source.name,
            source.source,
            first,
            shown,
            upright=source.upright,
            hold_lead_in=source.hold_lead_in,
        )
        # Source frames said as `restyle shots` numbers them (0-based from the first picture):
        # a movie strip's frames hold its first picture over a lead-in before it (Megamind.avi:
        # one frame), so the strip's source frame 2 is the command line's cut at 1.
        lead = _lead_in(source)
        return [replace(s, source_frame=max(0, s.source_frame - lead)) for s in plan]

    def apply_plan(self, scene, plan: list[Split]) -> None:
        """Split from the first cut on, each cut in the right part of the one before: the
        original keeps the first part and its name, and Blender names each new part after
        the one before (``clip.001``, ``.002``… from left to right; split from the last cut
        back, they read right to left and Export named the first cut's folder ``.004``)."""
        strips = compat.all_strips(scene.sequence_editor)
        last_part: dict[str, object] = {}  # a strip's name in the plan → its part split last
        self._pieces = [self._split]
        for step in sorted(plan, key=lambda s: s.frame):
            strip = last_part.get(step.strip) or strips.get(step.strip)
            if strip is None:
                raise RestyleError(f"strip '{step.strip}' is gone")
            right = strip.split(frame=step.frame, split_method="SOFT")
            if right is not None:  # keyframes from the cut on show the right part: with it
                hand_keyframes(scene.restyle, strip, right, range(step.frame, 2**31))
                last_part[step.strip] = right
                self._pieces.append(right.name)


SNAP_DISTANCE = (1, 48)  # frames an edit point may move: its Adjust Last Operation slider


class RESTYLE_OT_snap_cuts(CutTool, Operator):
    """Move edit points between adjacent strips onto a real shot boundary nearby"""

    bl_idname = "restyle.snap_cuts"
    bl_label = "Snap Cuts"

    distance: IntProperty(  # soft: a script's value out of range is refused, not clamped
        name="Distance", soft_min=SNAP_DISTANCE[0], soft_max=SNAP_DISTANCE[1], default=4,
        description="Move an edit point only onto a shot boundary at most this many frames away",
    )  # fmt: skip
    selected_only: BoolProperty(
        name="Selected Only", description="Only edit points between two selected strips"
    )

    def outcome(self, plan: list[Snap]) -> str:
        """'the cut at frame 16 moved to 13 ('a' | 'b')', or the first few of several (the
        console lists each): the summary shows with any strip, so it names what moved."""
        if not plan:
            return super().outcome(plan)
        moves = [f"{s.old} to {s.new} ('{s.left}' | '{s.right}')" for s in plan]
        if len(plan) == 1:
            return f"the cut at frame {moves[0].replace(' to ', ' moved to ', 1)}"
        more = f", and {len(plan) - SUMMARY_MOVES} more" if len(plan) > SUMMARY_MOVES else ""
        return f"{count(len(plan), 'cut')} moved: {', '.join(moves[:SUMMARY_MOVES])}{more}"

    def make_plan(self, scene) -> list[Snap]:
        """A snap for each edit point it can read; a strip it cannot (its file missing or
        damaged) is skipped with its reason, and its edit points left where they are."""
        low, high = SNAP_DISTANCE
        if not low <= self.distance <= high:
            raise RestyleError(f"Distance {self.distance} is out of range {low}..{high}")
        plan, skipped = [], {}
        for edit, left, right in self._edit_points(scene, skipped):
            try:
                boundaries = _boundaries(left, edit, self.distance) + _boundaries(
                    right, edit, self.distance
                )
            except RestyleError as exc:
                skipped.setdefault(f"{edit.left}'/'{edit.right}", blender_message(exc))
                continue
            snap = snap_plan(edit, boundaries, self.distance)
            if snap is not None:
                plan.append(snap)
        self._skipped = [f"'{name}' ({why})" for name, why in skipped.items()]
        return plan

    def _edit_points(self, scene, skipped: dict[str, str]):
        """(EditPoint, left source, right source) for adjacent movie/image strips; a strip
        that cannot be read goes into ``skipped`` (name → why) instead."""
        by_channel: dict[tuple, list] = {}
        for strip in compat.all_strips(scene.sequence_editor):
            if strip.type not in SUPPORTED or compat.retiming_active(strip):
                continue
            if self.selected_only and not strip.select:
                continue
            if compat.strip_locked(strip):  # locked against edits: a roll edit moved it
                skipped.setdefault(strip.name, "locked")
                continue
            meta = compat.parent_meta(strip)
            key = (meta.name if meta is not None else "", strip.channel)
            by_channel.setdefault(key, []).append(strip)
        for strips in by_channel.values():
            strips.sort(key=lambda s: compat.handles(s)[0])
            for left, right in zip(strips, strips[1:], strict=False):
                frame = compat.handles(left)[1]
                if frame != compat.handles(right)[0]:
                    continue
                a, b = _readable(scene, left, skipped), _readable(scene, right, skipped)
                if a is None or b is None:
                    continue
                edit = EditPoint(a.name, b.name, frame, _reach(a), _reach(b))
                yield edit, a, b

    def apply_plan(self, scene, plan: list[Snap]) -> None:
        strips = compat.all_strips(scene.sequence_editor)
        for step in plan:
            left, right = strips.get(step.left), strips.get(step.right)
            if left is None or right is None:
                raise RestyleError(f"strip '{step.left}' or '{step.right}' is gone")
            # a roll edit, in the order that never overlaps the two strips
            if step.new > step.old:
                compat.strip_set(right, "left_handle", step.new)
                compat.strip_set(left, "right_handle", step.new)
                hand_keyframes(scene.restyle, right, left, range(step.old, step.new))
            else:
                compat.strip_set(left, "right_handle", step.new)
                compat.strip_set(right, "left_handle", step.new)
                hand_keyframes(scene.restyle, left, right, range(step.new, step.old))


def dialog_lines(changes: list[str], skipped: list[str]) -> list[tuple[str, str]]:
    """The dialog's (text, icon) label lines: the first changes, then each strip skipped,
    wrapped so that a long reason (a missing movie's full path) is not cut off."""
    shown = changes[:PREVIEW_LINES]
    if len(changes) > PREVIEW_LINES:
        shown.append(f"… and {len(changes) - PREVIEW_LINES} more")
    lines = [(part, "NONE") for line in shown for part in _wrapped(line)]
    for reason in skipped:
        first, *rest = _wrapped(f"Skipped {reason}")
        lines += [(first, "ERROR")] + [(part, "BLANK1") for part in rest]
    return lines


def _wrapped(text: str) -> list[str]:
    """``text`` in lines of at most DIALOG_CHARS, broken at spaces (a longer word, a path
    say, anywhere)."""
    return textwrap.wrap(text, DIALOG_CHARS, break_on_hyphens=False) or [""]


def _readable(scene, strip, skipped: dict[str, str]) -> StripSource | None:
    """The strip's source, or None (noted in ``skipped``) when it cannot be read."""
    if strip.name in skipped:
        return None
    try:
        return read_strip(scene, strip)
    except RestyleError as exc:
        skipped[strip.name] = blender_message(exc)
        return None


def _reach(source: StripSource) -> tuple[int, int]:
    """Scene frames the strip's content spans (where its handles may go)."""
    start = int(source.timing.frame_start)
    return start, start + source.timing.content_duration - 1


def _boundaries(source: StripSource, edit: EditPoint, distance: int) -> list[int]:
    """Scene frames near ``edit`` where this strip's source starts a new shot."""
    from ..core.cut_tools import boundaries_near

    reach = _reach(source)
    lo = max(reach[0], edit.frame - distance - PAD)
    hi = min(reach[1], edit.frame + distance + PAD)
    if hi <= lo:
        return []
    frame_at = {}
    for frame in range(lo, hi + 1):
        index = source.timing.source_index(frame)
        if index is not None:
            frame_at[frame] = min(max(index, 0), source.frame_count - 1)
    return boundaries_near(
        source.source, frame_at, upright=source.upright, hold_lead_in=source.hold_lead_in
    )


def _lead_in(source: StripSource) -> int:
    """Frames the strip shows its movie's first picture for before the picture's own frame."""
    if source.kind != "movie" or not source.hold_lead_in:
        return 0
    from ..core.media import probe

    return int(getattr(probe(source.source, hold_lead_in=True), "lead_in", 0) or 0)


classes = (RESTYLE_OT_split_at_cuts, RESTYLE_OT_snap_cuts)
