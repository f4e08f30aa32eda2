"""``restyle.matte_strip`` and ``restyle.replace_background``.

matte_strip runs a ``MatteJob`` on the shared ``StripJob`` machinery and lands an RGBA image
strip (alpha = the people) above the source with the apply contract: first free channel,
exactly the range, one undo step, alpha-over blending. replace_background then puts a
background under that strip with VSE strips only (a strip, a picture, a colour strip or a
Gaussian blur of the source), so no second copy of the frames is baked.
"""

from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import BoolProperty, FloatProperty, StringProperty
from bpy.types import Operator

from .. import compat
from ..core.errors import RestyleError
from ..core.strip_frames import frame_span
from ..core.words import frames_named
from ..props import as_given, background_text
from .modal_job import JobRequest, SequencerOperator, blender_path, tool_summary
from .output_strip import BLEND_GIVEN, closed_channels, free_channel
from .runner import FAILED, FINISHED, report_error
from .strip_job import Request, StripJob, source_strip
from .strip_source import container_strips, find_strip

MATTE_OF = "restyle_matte_of"  # custom property on a matte strip: the strip it was made from
BACKGROUND_OF = "restyle_background_of"  # on a background strip we made: its matte strip


class RESTYLE_OT_matte_strip(StripJob, Operator):
    """Matte the people in a movie or image strip into an RGBA strip above it"""

    bl_idname = "restyle.matte_strip"
    bl_label = "Matte"
    bl_options = {"UNDO"}
    output_takes_color = True  # its frames are the source's pixels

    strip: StringProperty(name="Strip", description="Strip to matte (empty: the active strip)")
    refine: BoolProperty(
        name="Refine Edges", default=True, description="Snap the matte's edges to the picture"
    )
    temporal: FloatProperty(
        name="Temporal Coherence",
        soft_min=0.0,  # soft: the job refuses a script's 1.5, which a hard max clamped unseen
        soft_max=1.0,
        default=0.6,
        subtype="FACTOR",
        description="Steady the matte along the motion (0: frame by frame)",
    )

    task = "matte"

    def prepare(self, context) -> JobRequest:
        from ..core.mappings.matte_job import MatteJob
        from ..core.styles import StyleLibrary
        from ..prefs import library_root

        scene, span = self.read_source(context)
        _refuse_a_matte(find_strip(scene, self.strip))
        job = MatteJob(
            source=span.source.source,
            upright=span.source.upright,  # as this Blender shows it
            hold_lead_in=span.source.hold_lead_in,
            output=None,  # named after the plan's settings key, below
            start=min(span.shown),
            end=max(span.shown),
            library=StyleLibrary(library_root(context)),
            format="png",
            refine=self.refine,
            temporal=as_given(self, "temporal"),
        )
        plan = job.validate()  # one probe, one settings key
        landing = self.place_output(job, plan, span, "matte", None)
        return self.strip_request(span, job, "Matte", **landing)

    def _make_strip(self, request: Request):
        strip = super()._make_strip(request)
        strip.blend_type = "ALPHA_OVER"
        # the record holds the blend it has (``_copy_blending`` recorded its source's)
        strip[BLEND_GIVEN] = {"type": strip.blend_type, "alpha": strip.blend_alpha}
        strip.alpha_mode = "STRAIGHT"
        strip[MATTE_OF] = source_strip(strip.id_data, request).name  # renamed: its name now
        return strip

    def _blender_warnings(self, request, result) -> list[str]:
        """``result.warnings``, the job's warning of a matte keeping almost nothing (it
        measured the frames: ``MatteJob.coverage``) naming the scene frames, as the summary
        does (the core names the source's, as the command line does)."""
        said = super()._blender_warnings(request, result)
        job = request.job
        core = job.nearly_empty_said() if getattr(job, "coverage", None) is not None else ""
        if core not in said:
            return said
        frames = frames_named(range(request.first, request.last + 1))
        return [job.nearly_empty_said(frames) if w == core else w for w in said]


def _refuse_a_matte(strip) -> None:
    """A matte strip (or a style of one) is already the people on clear: matted again it
    made '<name>.Matte.Matte', the same people over nothing. Its source is named instead."""
    of = strip.get(MATTE_OF)
    if of is not None:
        raise RestyleError(
            f"'{strip.name}' is already a matte of '{of}': to matte again (other settings), "
            f"select '{of}' and Matte; to put something behind it, Replace Background"
        )


class RESTYLE_OT_replace_background(SequencerOperator, Operator):
    """Put a new background behind a matte strip, with VSE blending (nothing is baked)"""

    bl_idname = "restyle.replace_background"
    bl_label = "Replace Background"
    bl_options = {"REGISTER", "UNDO"}
    task = "background"  # its outcome is said in the Background panel, under its button

    strip: StringProperty(
        name="Matte Strip", description="The RGBA strip Matte made (empty: the active strip)"
    )
    background: StringProperty(
        name="Background",
        description="A strip name, a picture file, a color #RRGGBB, or BLUR (the source, "
        "blurred); empty: the sidebar's Background",
    )

    def execute(self, context):
        # The sidebar's summary says how it ended, as a tool's does (``tool_summary``): a
        # failure left the Matte run's summary showing. About the matte strip.
        try:
            strip = self._replace(compat.sequencer_scene(context))
        except RestyleError as exc:
            said = f"Failed: {report_error(self, exc)}"
            tool_summary(FAILED, said, strip=self.strip, task=self.task)
            return {"CANCELLED"}
        said = f"'{strip.name}' is the new background"
        matte = find_strip(compat.sequencer_scene(context), self.strip)
        if nearly := nearly_empty(matte):
            said += f"; {nearly}"
        tool_summary(FINISHED, f"{self.bl_label}: {said}", strip=self.strip, task=self.task)
        self.report({"WARNING"} if nearly else {"INFO"}, f"Restyle: {said}")
        return {"FINISHED"}

    def _replace(self, scene):
        from ..core.mappings.background import COLOUR

        if scene is None or scene.sequence_editor is None:
            raise RestyleError("no sequencer scene")
        matte = find_strip(scene, self.strip)
        if matte.type != "IMAGE":
            raise RestyleError(f"'{matte.name}' is not a matte strip (made by Matte)")
        # empty: the sidebar's choice, as Apply takes the sidebar's settings not given
        text = self.background.strip() or background_text(scene.restyle)
        if not text:
            raise RestyleError("choose a background: a strip, a picture, #RRGGBB or BLUR")
        editor = scene.sequence_editor
        strips = container_strips(scene, _metas(matte))
        first, last = compat.shown_frames(matte)
        named = compat.all_strips(editor).get(text)
        if named is not None:
            if named == matte:
                raise RestyleError("a strip cannot be its own background")
            if compat.strip_locked(matte) and matte.channel <= named.channel:
                raise RestyleError(
                    f"'{matte.name}' is locked (or its channel is) and would have to move "
                    f"above '{named.name}' to show it as its background: unlock it first"
                )
            _remove_backgrounds(strips, matte)
            _lift_above(strips, matte, named.channel, first, last)
            matte.blend_type = "ALPHA_OVER"
            return named
        if COLOUR.match(text):
            rgb = bytes.fromhex(text[1:])
            new = self._under(strips, matte, "COLOR", f"{matte.name}.Background", first, last)
            new.color = tuple(c / 255.0 for c in rgb)
        elif text.upper() == "BLUR":
            if matte.get(MATTE_OF) is None:
                raise RestyleError(
                    f"BLUR blurs what a matte was made from, and '{matte.name}' was not made "
                    "by Matte: use a strip, a picture or #RRGGBB"
                )
            source = compat.all_strips(editor).get(matte[MATTE_OF])
            if source is None:
                raise RestyleError(
                    f"BLUR needs the strip '{matte.name}' was matted from; it is gone"
                )
            new = self._blur_under(strips, matte, first, last)
            new.size_x = new.size_y = max(8.0, 0.02 * scene.render.resolution_x)
        else:
            new = self._picture(scene, strips, matte, text, first, last)
        new[BACKGROUND_OF] = matte.name
        return new

    def _under(self, strips, matte, kind, name, first, last, source=None):
        """A new effect strip where the previous background was, else in the matte's channel
        (the matte moves up a free channel; a locked one stays, the background goes just
        under it)."""
        _refuse_moving_locked(strips, matte, first, last, 1)
        channel = _background_channel(strips, matte, first, last)
        _lift_above(strips, matte, channel, first, last)
        inputs = compat.effect_inputs(source) if source is not None else {}
        return strips.new_effect(
            name=name, type=kind, channel=channel, **compat.effect_span(first, last), **inputs
        )

    def _blur_under(self, strips, matte, first, last):
        """A blur of what lies under the matte, over exactly its range. Blender ties an effect
        to its input's range, so a blur of the source itself covered the whole source: it
        blurs an adjustment layer (everything below it) over ``first..last`` instead."""
        _refuse_moving_locked(strips, matte, first, last, 2)
        channel = _background_channel(strips, matte, first, last, 2)
        others = [s for s in strips if s != matte]
        above = free_channel(others, channel, first, last, closed_channels(strips))
        _lift_above(strips, matte, above, first, last)
        span = compat.effect_span(first, last)
        layer = strips.new_effect(
            name=f"{matte.name}.Under", type="ADJUSTMENT", channel=channel, **span
        )
        layer[BACKGROUND_OF] = matte.name
        inputs = compat.effect_inputs(layer)
        return strips.new_effect(
            name=f"{matte.name}.Blur", type="GAUSSIAN_BLUR", channel=above, **span, **inputs
        )

    def _picture(self, scene, strips, matte, text, first, last):
        """An image strip of the picture file ``text``: the absolute path is only looked at;
        the strip stores ``//...`` in a saved project (``blender_path``), as Restyle's own
        do: it stored '/tmp/.../moved/', missing once the project folder moved."""
        path = Path(bpy.path.abspath(text))
        if not path.is_file():
            raise RestyleError(
                f"background '{text}' is not a strip, a picture file, #RRGGBB or BLUR"
            )
        # Any file became an image strip of it, which shows nothing (a movie, a text file).
        suffix = path.suffix.lower()
        if suffix in bpy.path.extensions_movie:
            raise RestyleError(
                f"background '{path.name}' is a movie: add it to the sequencer and give its "
                "strip's name"
            )
        if suffix not in bpy.path.extensions_image:
            raise RestyleError(f"background '{path.name}' is not a picture Blender can show")
        _refuse_moving_locked(strips, matte, first, last, 1)
        channel = _background_channel(strips, matte, first, last)
        _lift_above(strips, matte, channel, first, last)
        new = strips.new_image(
            name=f"{matte.name}.Background",
            filepath=blender_path(path),
            channel=channel,
            frame_start=first,
            fit_method="FILL",
        )
        compat.strip_set(new, "duration", last - first + 1)
        return new


def nearly_empty(matte) -> str:
    """Words for Replace Background's summary when ``matte``'s frames keep almost nothing
    (core's one rule and words: ``nearly_empty_said``), else '': the background then wiped
    the frame, unsaid. Reads up to ``COVERAGE_SAMPLES`` of its files' alpha
    (``sampled_share``); a strip of pictures without alpha, ''. (Matte says the job's own
    measure: ``_blender_warnings``.)"""
    import cv2

    from ..core.mappings.matte import nearly_empty_said, sampled_share

    first, last = compat.shown_frames(matte)
    start = int(compat.strip_get(matte, "content_start"))
    shown = [i for i in range(first - start, last - start + 1) if 0 <= i < len(matte.elements)]
    folder = Path(bpy.path.abspath(matte.directory))

    def read(index: int):  # BGRA: alpha is last either way
        return cv2.imread(str(folder / matte.elements[index].filename), cv2.IMREAD_UNCHANGED)

    return nearly_empty_said(sampled_share(shown, read), frames_named(range(first, last + 1)))


def _metas(strip) -> tuple[str, ...]:
    names = []
    meta = compat.parent_meta(strip)
    while meta is not None:
        names.insert(0, meta.name)
        meta = compat.parent_meta(meta)
    return tuple(names)


def _background_channel(strips, matte, first: int, last: int, needed: int = 1) -> int:
    """Remove the background Restyle put under ``matte`` before; the new one goes where it
    was, when that is still free over ``first..last``, else in the matte's channel (the
    matte then moves up). Each replacement lifted the matte a channel or two higher.
    A locked matte never moves: the background takes the ``needed`` channels just under it
    (``_refuse_moving_locked`` checked them)."""
    freed = min((s.channel for s in strips if s.get(BACKGROUND_OF) == matte.name), default=None)
    _remove_backgrounds(strips, matte)
    if compat.strip_locked(matte):
        return matte.channel - needed
    if freed is None or freed >= matte.channel:
        return matte.channel
    others = [s for s in strips if s != matte]
    free = free_channel(others, freed - 1, first, last, closed_channels(strips))
    return freed if free == freed else matte.channel


def _refuse_moving_locked(strips, matte, first: int, last: int, needed: int) -> None:
    """A locked matte (or one in a locked channel) is not moved up to make room, as Blender
    moves no locked strip: its new background takes the ``needed`` channels just under it
    (a previous background's, as a rule), or nothing is done and the user is told."""
    if not compat.strip_locked(matte):
        return
    wanted = range(matte.channel - needed, matte.channel)
    closed = closed_channels(strips)
    taken = [
        c
        for c in wanted
        if c < 1
        or c in closed
        or any(
            s.channel == c
            and s.get(BACKGROUND_OF) != matte.name  # replaced: removed first
            and compat.handles(s)[0] <= last
            and compat.handles(s)[1] > first
            for s in strips
        )
    ]
    if taken:
        room = f"channel {wanted[0]}" if needed == 1 else f"channels {wanted[0]} and {wanted[-1]}"
        raise RestyleError(
            f"'{matte.name}' is locked (or its channel is), and its background needs {room} "
            f"under it free, unlocked and unmuted over frames {frame_span(first, last)}: "
            "unlock the matte strip first"
        )


def _remove_backgrounds(strips, matte) -> None:
    """A new background replaces the one Restyle put under this matte before (only ours)."""
    for name in [s.name for s in strips if s.get(BACKGROUND_OF) == matte.name]:
        strip = strips.get(name)  # removing a blur's layer has removed the blur with it
        if strip is not None:
            strips.remove(strip)


def _lift_above(strips, matte, channel: int, first: int, last: int) -> None:
    """Move the matte to the first free channel above ``channel`` if it is not above it."""
    if matte.channel > channel:
        return
    others = [s for s in strips if s != matte]
    matte.channel = free_channel(others, channel, first, last, closed_channels(strips))


classes = (RESTYLE_OT_matte_strip, RESTYLE_OT_replace_background)
