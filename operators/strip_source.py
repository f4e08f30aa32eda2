"""Read a VSE strip into plain data a worker thread can use: files, timing, frame range.

Runs on the main thread; nothing returned here refers to bpy, so the job that follows can
run in another thread while the user keeps editing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import bpy

from .. import compat
from ..core.errors import RestyleError
from ..core.strip_frames import (
    StripColor,
    StripTiming,
    frame_span,
    frames_showing,
    intersect,
    pictures_read,
    playback_factor,
    raw_cache_mixed,
    source_frames,
    whole_strip,
)
from ..core.words import count
from .modal_job import blender_path

SUPPORTED = {"MOVIE", "IMAGE"}
KIND_WORDS = {
    "SOUND": "a sound strip",
    "TEXT": "a text strip",
    "COLOR": "a color strip",
    "SCENE": "a scene strip",
    "META": "a meta strip (open it with Tab and pick a strip inside)",
    "MOVIECLIP": "a movie clip strip",
    "MASK": "a mask strip",
    "ADJUSTMENT": "an adjustment layer",
}


@dataclass(frozen=True)
class StripSource:
    """A movie or image strip, as a worker needs it."""

    name: str
    kind: str  # "movie" or "image"
    files: tuple[Path, ...]  # the movie file, or every image element in order
    visible: tuple[int, int]  # scene frames it shows, inclusive, clipped by its meta strips
    channel: int
    metas: tuple[str, ...]  # names of the meta strips holding it, outermost first
    timing: StripTiming
    frame_count: int  # source frames the files hold
    upright: bool = True  # a movie is read turned by its display rotation, as this Blender shows it
    hold_lead_in: bool = False  # a movie's first picture held over its lead-in, as strips show it
    color: StripColor = StripColor()  # its Saturation and Multiply, applied to its frames read
    modifiers: tuple[str, ...] = ()  # its modifiers that are on (never applied on reading)

    @property
    def source(self) -> Path | list[Path]:
        """What ``StyleJob`` reads: the movie path, or the list of image files."""
        return self.files[0] if self.kind == "movie" else list(self.files)

    def checked_range(self, first: int, last: int) -> tuple[int, int]:
        """The sidebar's Start and End (and a script's, both given) by one rule: an End of 0
        is not set, the strip's last frame, whatever Start is (Start 90: 90 to the end;
        Start -15: -15 to the end), and Start 0 with it the whole visible strip; then
        exactly those frames (``exact_range``)."""
        if whole_strip(first, last):
            return self.exact_range(*self.visible)
        if last == 0:
            last = max(first, self.visible[1])
        return self.exact_range(first, last)

    def exact_range(self, first: int, last: int) -> tuple[int, int]:
        """``first..last`` as asked, 0 being frame 0: any frame outside what the strip shows
        is an error (never silently clamped), so Apply, Suggest Keyframes and scripts all
        act on exactly the frames asked for."""
        if last < first:
            raise RestyleError(f"frame range {frame_span(first, last)} ends before it starts")
        if first < self.visible[0] or last > self.visible[1]:
            frames = "frame {} is" if first == last else "frames {} are"
            raise RestyleError(
                f"{frames.format(frame_span(first, last))} outside '{self.name}', "
                f"which shows frames {frame_span(*self.visible)}"
            )
        return first, last

    def frames(self, first: int, last: int) -> list[int]:
        """The source frame shown at each scene frame ``first..last``."""
        shown = source_frames(self.timing, first, last)
        return [min(max(i, 0), self.frame_count - 1) for i in shown]


# The operators' Start and End (Apply, Stabilize and Matte through StripJob; Split at Cuts),
# read by ``operator_range``: one definition. SKIP_SAVE: Blender restores an operator's
# last-used values when its UI runs it again; not 'set' (``is_property_set``), they were
# still read: ``frame_start=0`` alone after a run with End 10 asked for frames 0-12.
FRAME_START = {
    "name": "Start",
    "description": "First scene frame (0 and 0: the strip's whole range; End given alone: "
    "from the strip's first frame)",
    "options": {"SKIP_SAVE"},
}
FRAME_END = {
    "name": "End",
    "description": "Last scene frame, inclusive (Start given alone, or End 0 with Start: "
    "to the strip's last frame)",
    "options": {"SKIP_SAVE"},
}


def requested_range(operator, source: StripSource, settings) -> tuple[int, int]:
    """The operator's ``frame_start``/``frame_end`` when a script set either
    (``operator_range``), else the sidebar's (``StripSource.checked_range``)."""
    given = operator.properties
    if given.is_property_set("frame_start") or given.is_property_set("frame_end"):
        return operator_range(operator, source)
    return source.checked_range(settings.frame_start, settings.frame_end)


def operator_range(operator, source: StripSource) -> tuple[int, int]:
    """The operator's ``frame_start``/``frame_end``, checked. Both given: the sidebar's
    rule (0 and 0 the whole strip). One alone: that frame exactly (0 is frame 0), the other
    the strip's own end (``frame_start=90`` alone: 90 to the strip's end; ``frame_end=40``
    alone: its start to 40). Neither: the whole strip."""
    given = operator.properties
    start, end = given.is_property_set("frame_start"), given.is_property_set("frame_end")
    first, last = operator.frame_start, operator.frame_end
    if start and end:
        return source.checked_range(first, last)
    if start:
        return source.exact_range(first, max(first, source.visible[1]))
    if end:
        return source.exact_range(min(last, source.visible[0]), last)
    return source.visible


def find_strip(scene: bpy.types.Scene, name: str):
    editor = scene.sequence_editor
    if editor is None:
        raise RestyleError(f"scene '{scene.name}' has no sequencer strips")
    if not name:
        strip = editor.active_strip
        if strip is None:
            raise RestyleError("no strip given and no active strip: select a movie or image strip")
        return strip
    strip = compat.all_strips(editor).get(name)
    if strip is None:
        raise RestyleError(f"no strip named '{name}' in scene '{scene.name}'")
    return strip


def read_strip(scene: bpy.types.Scene, strip) -> StripSource:
    """Copy what a job needs out of ``strip``; raise RestyleError for strips we can't style."""
    if strip.type not in SUPPORTED:
        what = KIND_WORDS.get(strip.type, f"an effect strip ({strip.type.lower()})")
        raise RestyleError(f"'{strip.name}' is {what}; Restyle works on movie and image strips")
    refused = retimed(strip)
    if refused:
        raise RestyleError(refused)
    timing, visible = strip_timing(strip)
    if strip.type == "MOVIE":
        path = Path(bpy.path.abspath(strip.filepath, library=strip.id_data.library))
        if not path.is_file():
            raise RestyleError(f"the movie of '{strip.name}' is missing: {path}")
        files = (path,)
        frame_count = _movie_frame_count(path)
        if compat.movie_plays_at_own_rate(strip, frame_count):
            timing = _own_rate(scene, strip, timing, frame_count)
    else:
        folder = Path(bpy.path.abspath(strip.directory, library=strip.id_data.library))
        files = tuple(folder / element.filename for element in strip.elements)
        frame_count = len(files)
        _check_pictures(strip.name, files, timing, visible)
    return StripSource(
        name=strip.name,
        kind="movie" if strip.type == "MOVIE" else "image",
        files=files,
        visible=visible,
        channel=strip.channel,
        metas=tuple(meta.name for meta in reversed(_holders(strip))),
        timing=timing,
        frame_count=frame_count,
        upright=compat.MOVIE_STRIPS_UPRIGHT,
        hold_lead_in=compat.MOVIE_STRIPS_HOLD_LEAD_IN,
        color=compat.strip_color(strip),
        modifiers=tuple(compat.strip_modifiers(strip)),
    )


def retimed(strip) -> str:
    """Why ``strip``, a movie or image strip, cannot be read for its retiming ('' when it
    can): retiming keys, or a Speed Control effect on it or on a meta strip holding it. The
    one rule of Apply's refusal (``read_strip``) and the sidebar's greyed Apply, which says
    it before Apply is pressed."""
    if compat.retiming_active(strip):
        return f"'{strip.name}' has retiming keys; reset its retiming (Strip > Retiming) first"
    speed = compat.speed_effect_on(strip)
    if speed is not None:
        return (
            f"'{strip.name}' is retimed by the speed effect '{speed.name}'; style it first, "
            "then put the speed effect on the styled strip"
        )
    return ""


def strip_timing(strip) -> tuple[StripTiming, tuple[int, int]]:
    """How ``strip`` maps scene frames to its source frames, through the meta strips holding
    it, and the scene frames it shows: Apply's (``read_strip``, which sets a movie playing
    at its own rate's length and factor) and the sidebar's 'File missing' row. Raises
    RestyleError where Restyle can't read its meta strips."""
    meta_timings, visible = _meta_chain(strip)
    timing = StripTiming(
        frame_start=float(compat.strip_get(strip, "content_start")),
        length=max(1, compat.strip_get(strip, "content_duration")),
        reverse=strip.use_reverse_frames,
        strobe=strip.strobe,
        source_offset=compat.strip_get(strip, "content_trim_start"),
        metas=meta_timings,
    )
    return timing, visible


def _own_rate(scene, strip, timing: StripTiming, frame_count: int) -> StripTiming:
    """``timing`` of a movie playing at its own rate: its file's frames, less those trimmed,
    at the movie's rate over the scene's (Blender's own count is at the scene's)."""
    factor = playback_factor(strip.fps, scene.render.fps, scene.render.fps_base)
    if factor == 1.0:  # Blender's own count decides what it shows
        return timing
    trimmed = compat.strip_get(strip, "content_trim_start") + compat.strip_get(
        strip, "content_trim_end"
    )
    return replace(timing, length=max(1, frame_count - trimmed), playback_factor=factor)


def missing_said(names: list[str], where: str = "") -> str:
    """The one wording of missing files (the sidebar's row, Apply's refusal): 'File
    missing: 0003.png', '3 pictures missing, first 0003.png', with ``where`` after
    'missing' (" in 'shot'"); '' when none is."""
    if not names:
        return ""
    if len(names) == 1:
        return f"File missing{where}: {names[0]}"
    return f"{count(len(names), 'picture')} missing{where}, first {names[0]}"


def _check_pictures(name: str, files: tuple[Path, ...], timing, visible) -> None:
    """Refuse an image strip missing a picture a job reads (``pictures_read``, the sidebar's
    'File missing' rule): one outside them (trimmed away) is never read."""
    read = pictures_read(timing, *visible, len(files))
    missing = [blender_path(files[i]) for i in read if not files[i].is_file()]
    if missing:
        raise RestyleError(missing_said(missing, f" in '{name}'"))


def file_frames(strip, source: StripSource, first: int, last: int) -> list[int]:
    """The source frame shown at each scene frame ``first..last``, as every strip reader
    takes them (Apply, Matte, Stabilize, Suggest, Export and Train Keyframes, Split at
    Cuts); past the file's last picture, held or refused (``past_file_end``)."""
    try:
        wanted = source_frames(source.timing, first, last)
    except ValueError:
        raise RestyleError(f"'{source.name}' has no frames to show") from None
    return past_file_end(strip, source, wanted)


def past_file_end(strip, source: StripSource, wanted: list[int]) -> list[int]:
    """Frames past the pictures the file decodes: held at its last picture, as Blender shows
    them, while the file still spans the strip (a Matroska file's sound outlasting its
    pictures: Blender sizes it by its container, ``container_frames``; an MP4 by its
    pictures, whatever its sound). A movie re-rendered shorter under its strip gave its
    last frame too: styled over and over, exported as the wrong picture, paired with the
    wrong painting in training; refused in the strip's terms: the frames Blender loaded it
    with, not the job's source indices (its sidebar never held them)."""
    last = source.frame_count - 1
    if max(wanted) <= last:
        return wanted
    loaded = (
        compat.strip_get(strip, "content_trim_start")
        + source.timing.length
        + compat.strip_get(strip, "content_trim_end")
    )
    from ..core.media import container_frames

    spans = container_frames(source.files[0]) if source.kind == "movie" else None
    if spans is not None and spans >= loaded:
        return [min(i, last) for i in wanted]
    raise RestyleError(
        f"'{source.name}' shows {loaded} frames but its file now has {source.frame_count}: "
        "reload it (Strip > Inputs > Reload Strips and Adjust Length) or trim it"
    )


def raw_cache_frames(scene, source: StripSource, first: int, last: int) -> list[int]:
    """The scene frames of ``first..last`` this Blender's raw cache may show other than as
    read (``core.strip_frames.raw_cache_mixed``): none in another Blender, with the cache off
    or for an image strip."""
    editor = scene.sequence_editor
    if not compat.RAW_CACHE_TRUNCATES or source.kind != "movie" or editor is None:
        return []
    if not editor.use_cache_raw:
        return []
    return raw_cache_mixed(source.timing, first, last, source.visible)


def raw_cache_warning(scene, source: StripSource, first: int, last: int) -> str | None:
    """A movie strip Blender 5's raw cache (on) may show other than as styled at some frames
    of ``first..last`` (``core.strip_frames.raw_cache_mixed``); None where it can't: another
    Blender, the cache off, an image strip, or a strip whose frames each have a cache key of
    their own."""
    mixed = raw_cache_frames(scene, source, first, last)
    if not mixed:
        return None
    return (
        f"'{source.name}' plays slower than the scene, and Blender's raw cache may show it "
        f"a source frame off the styled strip at {count(len(mixed), 'frame')} "
        f"({frame_span(min(mixed), max(mixed))}), depending on the order frames are viewed "
        "or rendered: turn off Raw (Sequencer sidebar > Cache > Cache Settings) to see "
        "exactly the frames styled"
    )


def moved_since(strip, start: float) -> int:
    """Scene frames ``strip`` was moved by since its content started at ``start`` (editing
    goes on while a job runs); 0 when it was not moved by whole frames."""
    shift = compat.strip_get(strip, "content_start") - start
    return round(shift) if shift == round(shift) else 0


def moved_showing(scene, strip, start: float, first: int, shown: list[int]) -> int:
    """The one rule for landing a job's result on a strip edited while it ran (Apply's
    strip, Suggest's cuts and keyframes): how far ``strip`` moved since its content started
    at ``start``, when it shows the frames ``shown`` (from scene frame ``first``) there now;
    0 when it did not move, is gone, or was also trimmed, retimed or reversed (its result
    then lands where it was asked)."""
    shift = moved_since(strip, start) if strip is not None else 0
    if shift == 0:
        return 0
    last = first + len(shown) - 1
    try:
        now = read_strip(scene, strip).frames(first + shift, last + shift)
    except (RestyleError, ValueError):
        return 0
    return shift if now == shown else 0


def visible_frames(strip) -> tuple[int, int] | None:
    """The scene frames ``strip`` shows, inclusive, through the meta strips holding it
    (None: they hide it). Its own handles alone overstate a strip in a trimmed meta, or
    in one that holds a frame (``frames_showing``)."""
    return _shown_through(strip, _holders(strip))


def _holders(strip) -> list:
    """The meta strips holding ``strip``, innermost first."""
    metas = []
    meta = compat.parent_meta(strip)
    while meta is not None:
        metas.append(meta)
        meta = compat.parent_meta(meta)
    return metas


def meta_timing(meta) -> StripTiming:
    """How a meta strip maps scene frames to the frames its children are drawn at: its own
    content length, which Blender 4.2/4.5 leave at 1 frame for a meta built by ``new_meta`` +
    ``move_to_meta`` (its first frame is then held throughout)."""
    return StripTiming(
        frame_start=float(compat.strip_get(meta, "content_start")),
        length=max(1, compat.strip_get(meta, "content_duration")),
    )


def _shown_through(strip, metas: list) -> tuple[int, int] | None:
    """What of ``strip`` shows in the scene through ``metas`` (innermost first)."""
    shown = compat.shown_frames(strip)
    for meta in metas:
        reached = frames_showing(meta_timing(meta), *shown)
        if reached is None:
            return None
        shown = intersect(reached, compat.shown_frames(meta))
        if shown is None:
            return None
    return shown


def _meta_chain(strip) -> tuple[tuple[StripTiming, ...], tuple[int, int]]:
    """Timings of the metas holding ``strip`` (outermost first) and what of it is visible."""
    metas = _holders(strip)
    for meta in metas:
        if meta.use_reverse_frames or meta.strobe > 1.0 or compat.retiming_active(meta):
            raise RestyleError(
                f"meta strip '{meta.name}' is reversed, strobed or retimed; "
                "Restyle needs its frames to match the scene's"
            )
    visible = _shown_through(strip, metas)
    if visible is None:
        raise RestyleError(
            f"'{strip.name}' is hidden by its meta strip: its trimmed ends, or a held frame "
            "without it (Blender before 5.0 leaves a meta made by new_meta + move_to_meta "
            "1 frame long; make it with Make Meta)"
        )
    return tuple(meta_timing(meta) for meta in metas[::-1]), visible


def _movie_frame_count(path: Path) -> int:
    """As Blender's strips count it: a late-starting AVI's lead-in frames included."""
    from ..core.media import probe

    return probe(path, hold_lead_in=compat.MOVIE_STRIPS_HOLD_LEAD_IN).frame_count


def movie_file_frames(strip) -> int | None:
    """The frame count of a movie strip's file (None when it is missing or unreadable)."""
    path = Path(bpy.path.abspath(strip.filepath, library=strip.id_data.library))
    if not path.is_file():
        return None
    try:
        return _movie_frame_count(path)
    except RestyleError:
        return None


def container_strips(scene: bpy.types.Scene, metas: tuple[str, ...]):
    """The strip collection a strip inside ``metas`` lives in (the editor's top level if none)."""
    editor = scene.sequence_editor
    owner = editor
    for name in metas:
        owner = compat.all_strips(editor)[name]
    return compat.strips(owner)
