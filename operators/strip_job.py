"""The half every strip-making job operator shares (Apply Style, Matte, Stabilize).

``StripJob`` is a ``ModalJob`` that reads the source strip and its frames before the job
(``read_source``) and, after it, lands the result with the apply contract: the first free
channel above the source, exactly the range, selected and active, one undo step. An
operator gives ``prepare`` (``read_source``, its own job, then ``strip_request``) and may
extend ``_make_strip``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import bpy
from bpy.props import IntProperty

from .. import compat
from ..core.errors import BLENDER, RestyleError
from ..core.strip_frames import frame_span, pictures_read, source_frames, whole_strip
from ..core.words import count, frames_named
from .modal_job import JobRequest, ModalJob, blender_path, find_scene, redraw_sequencers
from .output_strip import (
    STYLED_FROM,
    add_styled_strip,
    blend_note,
    blend_words,
    output_folder,
    restyle_blending,
    shows_file,
    slug,
    source_name_now,
    styled_blend,
    styled_source,
)
from .runner import CANCELLED, FAILED, FINISHED, RUN, report_error
from .strip_source import (
    FRAME_END,
    FRAME_START,
    StripSource,
    file_frames,
    find_strip,
    moved_showing,
    raw_cache_warning,
    read_strip,
    requested_range,
    visible_frames,
)


@dataclass
class Span:
    """The source strip and the scene frames ``first..last`` asked of it."""

    scene: str
    source: StripSource
    first: int
    last: int
    shown: list[int]  # the source frame at each scene frame first..last
    scene_uid: int = 0  # the scene's session_uid: it stays when the scene is renamed
    # Why the strip styled is not the one asked for (``styled_source``): the summary says it.
    # ``picked_warns``: that one's source is gone, so it was styled itself after all.
    picked: str = ""
    picked_warns: bool = False
    # The source strip's address when the run started (``as_pointer``): a rename keeps it,
    # so ``source_strip`` finds the strip at the end by what it is, not by its name.
    source_pointer: int = 0
    # Where ``picked`` is the source styled in the styled strip's place: its frames and
    # where that range came from (``_source_range``), for a summary that styles nothing.
    picked_range: str = ""

    def pictures_read(self) -> int:
        """How many pictures a job reads: from the first the strip shows here to the last
        (``core.strip_frames.pictures_read``), those between too (a strobed strip's, which
        the temporal coherence follows): the count the job's own progress and tally give.
        Clamped to the pictures there are: a movie cut short holds its last picture."""
        source = self.source
        return len(pictures_read(source.timing, self.first, self.last, source.frame_count))

    def movie_name(self, suffix: str) -> str:
        """A movie output's file name; refused where the strip does not play its frames
        one to one (a movie holds consecutive frames only)."""
        shown = self.shown
        if shown != list(range(shown[0], shown[0] + len(shown))):
            raise RestyleError(
                f"'{self.source.name}' does not show its frames one to one here "
                f"({self._not_one_to_one()}); use an image sequence format"
            )
        return f"{shown[0]:06d}-{shown[-1]:06d}{suffix}"

    def scene_frames_named(self, indices: list[int]) -> str:
        """Source frames named by the scene frames showing them ("frames 101-102"), as the
        summary numbers frames; frames past the file's last picture by the scene frames that
        hold it there (a cut-short movie's). None of them shown (a fast strip skips them):
        the source's, said so ("source frames 20-29, not shown in frames 101-103")."""
        wanted = set(indices)
        asked = source_frames(self.source.timing, self.first, self.last)  # before the hold
        frames = [self.first + k for k, index in enumerate(asked) if index in wanted]
        if frames:
            return frames_named(frames)
        every = frames_named(range(self.first, self.last + 1))
        return f"source {frames_named(sorted(wanted))}, not shown in {every}"

    def _not_one_to_one(self) -> str:
        """Why frames repeat or skip, in the words of what the user set."""
        timing = self.source.timing
        start = math.ceil(timing.frame_start)
        end = start + timing.content_duration - 1
        held = [f for f in range(self.first, self.last + 1) if not start <= f <= end]
        reasons = [f"it holds a frame over frames {frame_span(held[0], held[-1])}"] if held else []
        frames = range(self.first, self.last + 1)
        if any(timing.frame_in_metas(f) != f for f in frames):
            reasons.append("its meta strip holds a frame")
        if timing.playback_factor != 1.0:
            reasons.append("its frame rate is not the scene's")
        if timing.reverse:
            reasons.append("it plays reversed")
        if timing.strobe > 1.0:
            reasons.append("strobe")
        return ", ".join(reasons) or "frame rate, reversed or strobe"


@dataclass
class Request(Span):
    """One job's strip, as plain data: the worker gets ``job``; the rest makes the strip."""

    job: object = None  # a core.job.StyleJob (or a mapping job built on it)
    style_name: str = ""
    folder: Path | None = None
    stored_folder: str = ""
    movie_name: str | None = None  # the output movie's file name, or None for images
    movie_done: bool = False  # that movie was made before with these settings: reuse it
    plan: object = None  # the core.job.JobPlan ``place_output`` placed the job's output by
    # the folder named after the source's name now, where ``folder`` is one made while it
    # had another (``_named_otherwise``); None where they are one
    named_folder: Path | None = None

    def filenames(self) -> list[str]:
        """The output's file for each scene frame: the movie, or the run's own frame names
        (plate.1001's frame 0 is 001001.png) in the plan's format."""
        if self.movie_name:
            return [self.movie_name]
        from ..core.job import frame_name

        return [frame_name(self.plan, index) for index in self.shown]


class StripJob(ModalJob):
    # Scene frames, inclusive; not given: the sidebar's range (as bpy_extras' ImportHelper,
    # a mixin's properties are registered with each operator class).
    frame_start: IntProperty(**FRAME_START)
    frame_end: IntProperty(**FRAME_END)

    cancel_message = "Cancelled; finished frames stay on disk"
    # The output holds the source's own pixels, moved or matted (Stabilize, Matte): the
    # source's Saturation and Multiply go onto the output strip, as its placement does.
    # Apply Style applies them to the frames it reads instead (StyleJob.strip_color).
    output_takes_color = False
    # Apply Style: a style output asked for stands for the strip it was styled from
    # (``output_strip.STYLED_FROM``), unless the operator's ``restyle_output_itself`` is set.
    styles_sources = False
    # A styled strip repeats its pictures where its source's rate is below the scene's: on
    # one, the reader's note on its list of images ('000013.png follows 000013.png in the
    # list of images, so the frames are named from 0 ...') becomes what to do instead.
    styled_advice = "for the footage itself, select '{source}' and {button}"

    def read_source(self, context):
        """The sequencer scene and the ``Span`` this operator's strip and range ask for."""
        scene = compat.sequencer_scene(context)
        if scene is None or scene.sequence_editor is None:
            raise RestyleError("no sequencer scene")
        strip = find_strip(scene, self.strip)
        asked, picked = strip, ""
        if self.styles_sources and not getattr(self, "restyle_output_itself", False):
            strip, picked = styled_source(scene.sequence_editor, strip)
        source = read_strip(scene, strip)
        first, last = requested_range(self, source, scene.restyle)
        wanted = file_frames(strip, source, first, last)
        warns = bool(picked) and strip == asked
        said = ""
        if picked and not warns:  # the source's range, not the styled strip's: say which
            said = self._source_range(asked, first, last, scene.restyle)
            picked = f"{picked}: {said}"
        span = Span(scene.name, source, first, last, wanted, scene.session_uid, picked)
        span.picked_warns, span.picked_range = warns, said
        span.source_pointer = strip.as_pointer()
        return scene, span

    def _source_range(self, asked, first: int, last: int, settings) -> str:
        """The frames styled of the source and where that range came from, beside the
        frames the styled strip asked for shows (a short look at frames 1-4 of a 48-frame
        clip styles all 48 where the sidebar's range is the whole strip)."""
        given = self.properties
        start, end = given.is_property_set("frame_start"), given.is_property_set("frame_end")
        if start or end:  # 0 alone is frame 0 (``operator_range``)
            whole = start and end and whole_strip(self.frame_start, self.frame_end)
            which = "the whole strip" if whole else "the range given"
        elif settings.whole_strip:
            which = "the sidebar's range: the whole strip"
        else:
            which = "the sidebar's range"
        said = f"{frames_named(range(first, last + 1))}, {which}"
        shown = visible_frames(asked)
        if shown is not None and shown != (first, last):
            said += f" ('{asked.name}' shows {frames_named(range(shown[0], shown[1] + 1))})"
        return said

    def place_output(self, job, plan, span: Span, slug: str, movie_name: str | None) -> dict:
        """Give ``job`` (validated into ``plan``) its output: a folder named after the plan's
        settings key, or ``movie_name`` in it. Returns the ``Request`` fields for it."""
        job.audio = False  # the source's sound strip stays in the timeline, in sync already
        folder, stored = output_folder(span.source.name, slug, plan.key[:10])
        if not folder.exists():  # an earlier Restyle's, named by the source's path: reused
            older = output_folder(span.source.name, slug, job.path_stamped(plan).key[:10])
            folder, stored = older if older[0].exists() else (folder, stored)
        named = folder
        if not folder.exists():  # made while the source had another name: its frames reused
            folder, stored = _named_otherwise(folder, stored, span.source.name)
        output = folder / movie_name if movie_name else folder
        movie_done = movie_name is not None and output.is_file()  # written atomically
        if movie_done:
            job.output = output
        else:
            job.place(plan, output)  # the output checked; run() starts from this plan
        return {
            "folder": folder,
            "stored_folder": stored,
            "movie_name": movie_name,
            "movie_done": movie_done,
            "plan": plan,
            "named_folder": named if named != folder else None,
        }

    def strip_request(
        self, span: Span, job, style_name: str, label: str = "", runner=None, **landing
    ) -> JobRequest:
        """What ``ModalJob`` runs (``runner``, default ``job``; the sidebar shows ``label``)
        and what ``finish`` lands (``landing``: the ``Request`` fields after ``style_name``)."""
        request = Request(**vars(span), job=job, style_name=style_name, **landing)
        total = span.pictures_read()
        label = label or style_name
        unit = "frames" if total == span.last - span.first + 1 else "pictures"
        return JobRequest(
            runner or job, span.source.name, label, total, self.task, data=request, unit=unit
        )

    def shortcut(self, context, request: JobRequest) -> set[str] | None:
        shown = _showing_already(request.data)
        if shown is not None:  # applied before with these settings: no duplicate on top
            editor = shown.id_data.sequence_editor
            for other in compat.all_strips(editor):
                other.select = False
            shown.select = True
            editor.active_strip = shown
            data = request.data
            frames = frames_named(range(data.first, data.last + 1))
            if data.picked_range:  # said once: the source's output, nothing styled
                what = f"this output of the source '{data.source.name}' ({data.picked_range})"
            elif data.picked_warns:  # its source gone: its own output, nothing styled
                what = f"this output of '{data.source.name}' itself ({frames})"
            else:
                what = f"this output ({frames})"
            summary = f"{shown.name} already shows {what}: selected it, no new strip"
            changed, notes = _reblended(shown.id_data, data, shown)
            summary += changed
            if data.picked_warns:  # why: its source is gone ('styled it itself' is not so)
                summary += "; " + data.picked.removesuffix(f": styled '{data.source.name}' itself")
            summary = "; ".join(filter(None, [summary, _made_otherwise(data, shown), *notes]))
            # the folder the strip shows (renamed since, another's): the sidebar shows its summary
            RUN.end(FINISHED, summary, str(_shown_folder(shown)))
            RUN.task = self.task  # undone past its strip, the summary goes (summary_about)
            self.report({"WARNING"} if notes else {"INFO"}, f"Restyle: {summary}")
            redraw_sequencers(context)
            return {"FINISHED"}
        if request.data.movie_done:  # that movie was made before with these settings
            done = self.finish(context, request, "done", _reused_movie(request.data))
            if RUN.status == FINISHED:  # its strip undone, the summary goes (summary_about)
                RUN.task = self.task
            return done
        return None

    def finish(self, context, job_request: JobRequest, kind: str, value) -> set[str]:
        """On the main thread: make the strip (one undo step) or say why not."""
        request: Request = job_request.data
        if kind == "error":
            RUN.end(FAILED, f"Failed: {value}")
            self.report({"ERROR"}, str(value))
            return {"CANCELLED"}
        result = value
        if result.cancelled:
            summary = self._cancelled_summary(request, result, job_request.job)
            kept = _has_files(request.folder)  # nothing written: no folder to point at
            RUN.end(CANCELLED, summary, str(request.folder) if kept else "")
            self.report({"WARNING"}, RUN.summary)
            return {"CANCELLED"}
        if self._source_gone(request):  # a strip over nothing: the frames wait for it
            RUN.end(CANCELLED, self._gone_summary(request, result), str(request.folder))
            self.report({"WARNING"}, f"Restyle: {RUN.summary}")
            redraw_sequencers(context)
            return {"CANCELLED"}
        try:
            strip = self._make_strip(request)
        except RestyleError as exc:
            RUN.end(FAILED, f"Failed: {report_error(self, exc)}")
            return {"CANCELLED"}
        counts = _counts(request.job.done_word, result)
        frames = frames_named(range(request.first, request.last + 1))
        pictures, shown = request.pictures_read(), len(set(request.shown))
        if shown != pictures:  # a strobed or fast strip skips some of the pictures read
            verb = "shows" if request.first == request.last else "show"
            summary = f"{strip.name}: {frames} {verb} {shown} of the {pictures} pictures read"
            summary += f" ({counts})"
        elif pictures != request.last - request.first + 1:
            summary = f"{strip.name}: {frames} ({count(pictures, 'picture')}: {counts})"
        else:
            summary = f"{strip.name}: {frames}, {counts}"
        if result.written:
            # one frame (a still): its time, not '0.4 frames/s'
            summary += (
                f", {result.seconds:.1f} s"
                if result.written == 1
                else f", {result.fps:.1f} frames/s"
            )
        if result.warping_error is not None:
            summary += f", warping error {result.warping_error:.4f}"
        if request.picked and not request.picked_warns:
            summary += f"; {request.picked}"
        engine = result.engine_said(BLENDER) if result.engine else ""
        if engine:  # a fix it names in Blender's words (the preferences' button)
            summary += f"; engine: {engine}"
        warnings = [*self._blender_warnings(request, result), *self._not_applied(request)]
        warnings += self._made_warnings(strip)
        scene = find_scene(request.scene, request.scene_uid)  # ``_make_strip`` found it
        warnings += _not_blended(scene, request, strip)
        cached = raw_cache_warning(scene, request.source, request.first, request.last)
        if cached:  # a slowed movie Blender may show otherwise than as read
            warnings.append(cached)
        if request.picked_warns:
            warnings.insert(0, request.picked)
        note = ""  # not a warning: saving the .blend keeps them (and drops the note)
        if not bpy.data.filepath:
            note = (
                f"this .blend is not saved, so the frames are in a temporary folder "
                f"({request.folder}); saving the .blend copies them beside it"
            )
        where = "" if note else f"in {blender_path(request.folder)}"  # the note says it
        said = report_words(summary, engine, warnings, note or where)
        summary = "; ".join([summary, *warnings])
        RUN.end(FINISHED, summary, str(request.folder), note=note)
        self.report({"WARNING"} if warnings else {"INFO"}, said)
        redraw_sequencers(context)
        return {"FINISHED"}

    def _made_warnings(self, strip) -> list[str]:
        """What to say of the strip made, read from its files (Matte: a nearly empty matte)."""
        return []

    @staticmethod
    def _source_gone(request: Request) -> bool:
        """Whether the source strip left the scene during the run (deleted, or undone away
        with Ctrl-Z); renamed, it is still there (``source_strip``). A scene that is gone is
        ``_make_strip``'s to say."""
        scene = find_scene(request.scene, request.scene_uid)
        if scene is None or scene.sequence_editor is None:
            return False
        return source_strip(scene, request) is None

    def _gone_summary(self, request: Request, result) -> str:
        n = request.pictures_read()
        what = "movie stays" if request.movie_name else f"{count(n, 'frame')} {_stay(n)}"
        return (
            f"No strip added: '{request.source.name}' left the sequencer during the run "
            f"(deleted or undone); the finished {what} in {blender_path(request.folder)} "
            f"({_counts(request.job.done_word, result)}), and "
            f"{self.resume_button()} with these settings on a strip named "
            f"'{request.source.name}' showing the same file uses them"
        )

    def _cancelled_summary(self, request: Request, result, runner=None) -> str:
        """What was kept and the button that resumes (a Matte run said 'Apply again'). A
        movie is written whole or not at all; nothing kept resumes nothing. On Ray
        (``runner`` a ``RaySubmission``) a movie's finished frames wait in its hidden
        frames folder, where a rerun resumes from them (the command line's --ray words)."""
        from ..core.ray_submit import RaySubmission

        if request.movie_name and isinstance(runner, RaySubmission):
            from ..core.job import movie_frames_folder

            folder = movie_frames_folder(request.folder / request.movie_name)
            kept = result.written + result.reused  # the frames folder's, of the range
            if not kept:
                return "Cancelled: no frame finished; nothing kept"
            return (
                f"Cancelled: {count(kept, 'finished frame')} kept in {blender_path(folder)} "
                f"(no movie yet); {self.resume_button()} again to resume and make the movie"
            )
        if request.movie_name:
            return "Cancelled: nothing kept (a movie cannot be resumed)"
        kept, total = len(result.frame_files), request.pictures_read()
        if kept == 0:
            return "Cancelled: nothing was written"
        what = "frames" if total == request.last - request.first + 1 else "pictures"
        return (
            f"Cancelled: {kept} of {total} {what} kept in {blender_path(request.folder)}; "
            f"{self.resume_button()} again to resume"
        )

    def _blender_warnings(self, request: Request, result) -> list[str]:
        """``result.warnings`` as Blender says them: the variable-rate, damaged-frames and
        cut-short warnings (``result.frame_warned``, whatever their words: a Ray node's
        may be another version's) made again from their frames (``held``, ``retimed``, the
        plan) in scene frames, where the first of them stood, as everything in Blender
        numbers them (the core names the source's, as the CLI does), and a styled strip's
        repeating pictures as what to do (``styled_advice``)."""
        from ..core.job import frame_warnings

        plan = request.plan
        if plan is None:
            return list(result.warnings)
        swaps = self._styled_note(request)
        warned = set(getattr(result, "frame_warned", None) or ())
        named = request.scene_frames_named
        ours = warned and frame_warnings(plan, result.held, result.retimed, result.written, named)
        if not ours:  # no frames to word them from (a record's unread): as they were said
            warned = set()
        said, placed = [], False
        for warning in result.warnings:
            if warning not in warned:
                said.append(swaps.get(warning, warning))
            elif not placed:  # where the first of them stood: all of them, in scene frames
                said, placed = [*said, *ours], True
        return said

    def _styled_note(self, request: Request) -> dict[str, str]:
        """The reader's numbering note -> ``styled_advice``, where the strip read is styled."""
        from ..core.media import source_warnings

        scene = find_scene(request.scene, request.scene_uid)
        strip = source_strip(scene, request) if scene and scene.sequence_editor else None
        said = source_warnings(request.plan.info)  # a styled strip's: the numbering note alone
        if strip is None or strip.get(STYLED_FROM) is None or not said:
            return {}
        source = source_name_now(scene.sequence_editor, strip)
        advice = self.styled_advice.format(source=source, button=self.bl_label)
        return {
            said[0]: f"'{strip.name}' is a styled strip, whose pictures repeat where its "
            f"source's frame rate is below the scene's: {advice}"
        }

    def _not_applied(self, request: Request) -> list[str]:
        """What the source strip shows that its frames were read without: its modifiers
        (never), and its Saturation and Multiply where the job does not take them."""
        source = request.source
        said = []
        applied = self.output_takes_color or getattr(request.job, "strip_color", None) is not None
        if not source.color.identity and not applied:
            said.append(
                f"its Saturation and Multiply ({source.color.saturation:g}, "
                f"{source.color.multiply:g})"
            )
        if source.modifiers:
            names = ", ".join(f"'{name}'" for name in source.modifiers)
            said.append(f"its {'modifier' if len(source.modifiers) == 1 else 'modifiers'} {names}")
        if not said:
            return []
        return [
            f"'{source.name}' is shown with {' and '.join(said)}, which Restyle does not "
            f"apply: the frames were {request.job.done_word} without them"
        ]

    def resume_button(self) -> str:
        """The button that runs this operator again with the cancelled run's settings (the
        same output, so it resumes): as a rule, its own."""
        return self.bl_label

    def _make_strip(self, request: Request):
        scene = find_scene(request.scene, request.scene_uid)
        if scene is None or scene.sequence_editor is None:
            raise RestyleError(
                f"scene '{request.scene}' is gone; styled frames are in {request.folder}"
            )
        filenames = request.filenames()
        missing = [f for f in dict.fromkeys(filenames) if not (request.folder / f).is_file()]
        if missing:
            raise RestyleError(f"{count(len(missing), 'styled frame')} missing in {request.folder}")
        source = source_strip(scene, request)  # where it is now: editing went on during the run
        if source is None:  # ``finish`` adds no strip then (``_source_gone``)
            raise RestyleError(f"'{request.source.name}' is no longer in the sequencer")
        meta = compat.parent_meta(source)
        strips = compat.strips(meta if meta is not None else scene.sequence_editor)
        start = request.source.timing.frame_start  # moved meanwhile: it lands on the source
        strip = add_styled_strip(
            scene,
            strips,
            source,
            source.name,  # renamed during the run: its name now
            request.style_name,
            request.stored_folder,
            filenames,
            request.first + moved_showing(scene, source, start, request.first, request.shown),
            request.last - request.first + 1,
            source.channel,
            movie=request.movie_name is not None,
        )
        if self.output_takes_color:  # as the source was when the run started
            color = request.source.color
            strip.color_saturation, strip.color_multiply = color.saturation, color.multiply
            strip.use_float = color.as_float
        return strip


def source_strip(scene, request: Span):
    """The request's source strip in ``scene`` now, found by what it is rather than its
    name: a strip showing the same file (``output_strip.shows_file``) that is the strip the
    run started from (its address), else one of the source's name, else the only one in the
    source's channel. None: deleted, undone away, or its file changed."""
    media = str(request.source.files[0])
    same = [s for s in compat.all_strips(scene.sequence_editor) if shows_file(s, media)]
    for found in (
        [s for s in same if request.source_pointer and s.as_pointer() == request.source_pointer],
        [s for s in same if s.name == request.source.name],
        [s for s in same if s.channel == request.source.channel],
    ):
        if len(found) == 1:
            return found[0]
    return None


def _not_blended(scene, request: Request, strip) -> list[str]:
    """The source's blending its styled strip could not take (``output_strip.blend_note``);
    Matte's strip is clear around its people, so it covers nothing: it keeps its own
    blending (Alpha Over), unsaid."""
    source = source_strip(scene, request)
    if source is None or getattr(request.job, "stage", "") == "matte":
        return []
    note = blend_note(source, strip, request.job.done_word)  # 'for the stabilized frames'
    return [note] if note else []


def _reblended(scene, request: Request, strip) -> tuple[str, list[str]]:
    """A styled strip found showing this output again (``_showing_already``) takes its
    source's blend as it is now where it still has the blend Restyle gave it
    (``output_strip.restyle_blending``): (what the summary adds where it changed, or ''; the
    notes: the source's blend it cannot repeat, ``_not_blended``, or a blend kept though the
    source's now gives another). Matte's keeps its own, unsaid."""
    source = source_strip(scene, request)
    if source is None or getattr(request.job, "stage", "") == "matte":
        return "", []
    done = restyle_blending(source, strip)
    if done in ("hand", "unknown"):
        why = (
            "set by hand"
            if done == "hand"
            else "unchanged: an earlier Restyle made it and kept no record of the blend it gave"
        )
        wants = blend_words(strip, styled_blend(source) or "ALPHA_OVER", 1.0)
        return "", [
            f"'{strip.name}' keeps its blend, {blend_words(strip)} ({why}); for "
            f"'{source.name}' blended by {blend_words(source)} Restyle now gives {wants}"
        ]
    changed = f", its blend set to {blend_words(strip)}" if done == "set" else ""
    covers = (strip.blend_type, strip.blend_alpha) == ("ALPHA_OVER", 1.0)
    return changed, _not_blended(scene, request, strip) if covers else []


def _stay(n: int) -> str:
    return "stays" if n == 1 else "stay"


def _showing_already(request: Request):
    """The strip in the request's scene that shows exactly this output, if one does: its
    frames from a folder of this output (``_same_output``: the settings key names it), the
    same files over the same scene frames, every file there; not muted, nor in a muted
    channel or meta strip (one that shows nothing is not showing it: Apply makes a strip
    that does, in an unmuted channel)."""
    scene = find_scene(request.scene, request.scene_uid)
    if scene is None or scene.sequence_editor is None or request.folder is None:
        return None
    filenames = request.filenames()
    span = (request.first, request.last + 1)
    for strip in compat.all_strips(scene.sequence_editor):
        if compat.handles(strip) != span or _muted(strip):
            continue
        if strip.type == "IMAGE" and not request.movie_name:
            where = Path(bpy.path.abspath(strip.directory, library=strip.id_data.library))
            names = [element.filename for element in strip.elements]
            if names == filenames and _same_output(where, request):
                if all((where / name).is_file() for name in set(filenames)):
                    return strip
        elif strip.type == "MOVIE" and request.movie_name:
            where = Path(bpy.path.abspath(strip.filepath, library=strip.id_data.library))
            if where.name == request.movie_name and _same_output(where.parent, request):
                if where.is_file():
                    return strip
    return None


def _same_output(where: Path, request: Request) -> bool:
    """Whether the folder ``where`` holds this request's output: its own folder, or one
    beside it named as it is but for the strip name in front (``output_folder``:
    '<strip>-<style>-<key>'): the source renamed since (or another strip showing the
    same file), the same style, and the settings key, which stamps the source's file by
    what it holds and every setting, the same: the same frames."""
    folder = request.folder
    if _same(where, folder):
        return True
    front = slug(request.source.name)
    if not folder.name.startswith(f"{front}-"):
        return False
    tail = folder.name[len(front) :]  # '-<style>-<key>'
    return where.name.endswith(tail) and where.name != tail and _same(where.parent, folder.parent)


def _named_otherwise(folder: Path, stored: str, name: str) -> tuple[Path, str]:
    """(folder, as stored) of this output where ``folder``, named after the source strip's
    ``name``, is not there: the folder beside it named as it is but for the strip name in
    front (``_same_output``'s rule: the same style and settings key, which stamps the
    source's file by what it holds, so the same frames), made while the source had another
    name (or for another strip showing the same file); the fullest if several. A renamed
    source's Apply over another range restyled every frame. Else ``folder`` unchanged."""
    front = slug(name)
    tail = folder.name[len(front) :]  # '-<style>-<key>'
    try:
        found = [
            p
            for p in folder.parent.iterdir()
            if p.name.endswith(tail) and p.name != tail and p.is_dir()
        ]
    except OSError:  # no frames folder yet
        return folder, stored
    if not found or not folder.name.startswith(f"{front}-"):
        return folder, stored
    fullest = max(sorted(found), key=_files_in)
    return fullest, stored[: len(stored) - len(folder.name) - 1] + fullest.name + "/"


def _files_in(folder: Path) -> int:
    try:
        return sum(1 for _ in folder.iterdir())
    except OSError:
        return 0


def _shown_folder(shown) -> Path:
    """The folder of the files a styled strip ``shown`` shows (a movie's, its folder)."""
    stored = shown.filepath if shown.type == "MOVIE" else shown.directory
    where = Path(bpy.path.abspath(stored, library=shown.id_data.library))
    return where.parent if shown.type == "MOVIE" else where


def _made_otherwise(request: Request, shown) -> str:
    """What the summary adds where ``shown`` shows this output from another folder
    (``_same_output``): made while the source had another name, or for another strip
    showing the same file."""
    where = _shown_folder(shown)
    if _same(where, request.named_folder or request.folder):
        return ""
    name, made_from = request.source.name, shown.get(STYLED_FROM)
    editor = shown.id_data.sequence_editor
    if made_from and made_from != name and source_name_now(editor, shown) == name:
        how = f"made while '{name}' was named '{made_from}'"
    else:
        how = "made from the same file with the same settings for another strip name"
    return f"its frames, in {blender_path(where)}, were {how}"


def _muted(strip) -> bool:
    """Whether ``strip`` shows nothing for a mute: its own, its channel's (the header's eye,
    ``output_strip.closed_channels``' muted half) or a meta strip's holding it."""
    while strip is not None:
        meta = compat.parent_meta(strip)
        owner = meta if meta is not None else strip.id_data.sequence_editor
        channels = getattr(owner, "channels", None)
        if strip.mute or (channels and channels[strip.channel].mute):
            return True
        strip = meta
    return False


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _counts(done_word: str, result) -> str:
    """What became of the run's pictures: "3 styled, 1 repeated, 2 reused"; of one picture,
    the word alone ("styled", "reused"): "1 styled, 0 reused" read as a tally of one."""
    styled, repeated = result.written - result.repeated, result.repeated
    if styled + repeated + result.reused == 1:
        return done_word if styled else "repeated" if repeated else "reused"
    if repeated:  # frames that show an earlier frame's picture: its result, not styled
        return f"{styled} {done_word}, {repeated} repeated, {result.reused} reused"
    return f"{styled} {done_word}, {result.reused} reused"


def _has_files(folder: Path | None) -> bool:
    """Whether ``folder`` exists and holds anything (a cancelled run's frames)."""
    try:
        return folder is not None and any(folder.iterdir())
    except OSError:
        return False


def _reused_movie(request: Request):
    from ..core.job import JobResult

    return JobResult(request.folder / request.movie_name, reused=len(set(request.shown)))


def report_words(summary: str, engine: str, warnings: list[str], note: str) -> str:
    """A finished run's report (the status bar, which cuts it at the window's width): what
    was made first, then its warnings (the report is a warning then: at 1280 pixels the
    unsaved .blend's note before them left only the warning icon in view, round 24), then
    where (``note``: the folder, or the unsaved .blend's note naming its temporary one), and
    the engine's line last (the least needed); the sidebar's summary says each on lines of
    its own, in this order (``panels.sequencer.draw_summary``)."""
    head = summary.removesuffix(f"; engine: {engine}") if engine else summary
    tail = [f"engine: {engine}"] if engine else []
    return "Restyle: " + "; ".join(filter(None, [head, *warnings, note, *tail]))
