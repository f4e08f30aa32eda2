"""The keyframe list of a strip: add, remove, jump to, suggest per shot, export for painting.

Keyframes are scene frames in the UI (``scene.restyle.keyframes``, tagged with their strip's
key, which the strip carries as an ID property and so keeps through a rename). Each is a
frame of the strip's content: stored by the scene frame it had where the strip stood when
its keyframes were named (``FRAME_ORIGIN``, also on the strip), which names its painting,
so a strip moved or slipped takes its keyframes and paintings along. The source frame each
one shows comes from the strip's timing when core needs it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np
from bpy.props import BoolProperty, StringProperty
from bpy.types import Operator

from .. import compat
from ..core.errors import RestyleError
from ..core.formats import IMAGE_SUFFIXES
from ..core.strip_frames import frame_span, playback_factor
from ..core.words import count
from ..core.writers import scratch_path
from ..props import (
    FRAME_ORIGIN,
    FRAME_RATE,
    MOVIE_FRAMES,
    OWN_RATE,
    STRIP_KEY,
    content_origin,
    name_at,
    picture_named,
    plays_at_own_rate,
    scene_frame_of,
    sharing_key,
    skips_named_picture,
)
from .modal_job import (
    JobRequest,
    ModalJob,
    SequencerOperator,
    blender_path,
    find_scene,
    redraw_sequencers,
    tool_summary,
)
from .output_strip import KEYFRAME_FOLDER, keyframe_folder, numbered_frame
from .runner import CANCELLED, FAILED, FINISHED, RUN, report_error
from .strip_source import (
    SUPPORTED,
    StripSource,
    file_frames,
    find_strip,
    moved_showing,
    movie_file_frames,
    raw_cache_frames,
    read_strip,
    visible_frames,
)

CUT_MARKER = "cut"
NOT_COPIED: list[str] = []  # "'NAME' (0006.png)": paintings a parting strip could not take


# -- helpers -------------------------------------------------------------------------------
def refuse_skipped_pictures(settings, strip, frames: set[int]) -> None:
    """Export and Train: a scene rate below the one the keyframes were named at skips pictures: a keyframe
    named on one sits on a neighbour (two may share a frame, one then left out), and its
    painting would be paired with a picture it is not of."""
    sharing = sharing_key(strip)
    for item in settings.keyframes:
        if (
            item.belongs_to(strip, sharing)
            and scene_frame_of(strip, item.frame) in frames
            and skips_named_picture(strip, item.frame)
        ):
            raise RestyleError(
                f"keyframe {item.frame} of '{strip.name}' was named on source frame "
                f"{picture_named(strip, item.frame)}, which the scene's frame rate now skips "
                f"(its painting {item.frame:04d}.png would be paired with another picture): "
                "set Output > Frame Rate back to export or train it"
            )


def active_source(context, name: str = "") -> tuple[bpy.types.Scene, StripSource]:
    scene = compat.sequencer_scene(context)
    if scene is None or scene.sequence_editor is None:
        raise RestyleError("no sequencer scene")
    return scene, read_strip(scene, find_strip(scene, name))


def source_index(strip, source: StripSource, frame: int) -> int:
    """The source frame a strip shows at scene ``frame``; RestyleError outside the strip or
    past the end of a file re-rendered shorter (``file_frames``: the wrong picture)."""
    first, last = source.visible
    if not first <= frame <= last:
        raise RestyleError(
            f"keyframe {frame} is outside '{source.name}', which shows frames {frame_span(first, last)}"
        )
    return file_frames(strip, source, frame, frame)[0]


def ensure_strip_key(settings, strip) -> str:
    """The strip's own key, made on its first keyframe write. Keyframes kept by its name (a
    file from before keys) take it. Strips still sharing a key part ways first
    (``settle_shared_keys``). A strip without a frame origin (new, or from a file whose
    keyframes were scene frames) takes where it stands now: its keyframes are named from
    there."""
    key = strip.get(STRIP_KEY, "")
    strips = compat.all_strips(settings.id_data.sequence_editor)
    if key and any(s.get(STRIP_KEY) == key and s.name != strip.name for s in strips):
        settle_shared_keys(settings)
        key = strip[STRIP_KEY]
    if not key:
        strip[STRIP_KEY] = key = uuid.uuid4().hex
    if FRAME_ORIGIN not in strip:
        name_frames_here(strip)
    record_own_rate(strip)
    for item in settings.keyframes:
        if item.key == key or (not item.key and item.strip == strip.name):
            item.key, item.strip = key, strip.name
    return key


def _plays_at_own_rate(strip) -> bool | None:
    """``plays_at_own_rate``, asking the movie's file for its frame count where what the
    strip records cannot tell (an operator may read files, the sidebar should not)."""
    own = plays_at_own_rate(strip)
    if own is None and strip.type == "MOVIE" and strip.fps and not _at_movie_rate(strip):
        own = compat.movie_plays_at_own_rate(strip, movie_file_frames(strip))
    return own


def _at_movie_rate(strip) -> bool:
    """Whether the scene's rate is the movie's: both ways of playing show the same frames."""
    return abs(playback_factor(strip.fps, *compat.scene_fps(strip.id_data)) - 1.0) < 1e-7


def _own_rate(strip) -> float:
    """Scene frames per source frame of ``strip`` (a movie playing at its own rate)."""
    if _plays_at_own_rate(strip):
        return 1.0 / playback_factor(strip.fps, *compat.scene_fps(strip.id_data))
    return 1.0


def record_own_rate(strip) -> None:
    """Note on a named movie strip whether it plays at its own rate (``OWN_RATE``), which
    the scene's frame rate rescales, once its length tells; at the movie's rate it cannot,
    so note the movie's frame count as Blender counts it (``MOVIE_FRAMES``), by which its
    length tells at another rate. Only reads the strip: nothing else changes, not even for
    a moment. An offline movie (no rate) records nothing until it is back."""
    if OWN_RATE in strip or FRAME_ORIGIN not in strip or strip.type != "MOVIE" or not strip.fps:
        return
    if MOVIE_FRAMES not in strip and _at_movie_rate(strip):
        trimmed = compat.strip_get(strip, "content_trim_start") + compat.strip_get(
            strip, "content_trim_end"
        )
        strip[MOVIE_FRAMES] = compat.content_duration(strip) + trimmed
    own = _plays_at_own_rate(strip)
    if own is not None:
        strip[OWN_RATE] = own


def name_frames_here(strip) -> None:
    """Name ``strip``'s keyframes by the scene frames they have where it stands now: keep
    where its content lies (``FRAME_ORIGIN``; ``scene_frame_of`` measures moves from there)."""
    rate = _own_rate(strip)
    strip[FRAME_RATE] = rate
    strip[FRAME_ORIGIN] = content_origin(strip, rate)
    strip.pop(OWN_RATE, None)
    strip.pop(MOVIE_FRAMES, None)
    record_own_rate(strip)


def content_at(strip) -> float:
    """Where ``strip``'s content lies now (``content_origin``), at the rate its keyframes
    are or would be named with: two readings differ by how far the content moved."""
    return content_origin(strip, strip.get(FRAME_RATE, _own_rate(strip)))


def settle_shared_keys(settings) -> None:
    """Blender's split (K) and duplicate (Shift-D, paste) copy a strip's ID properties, key
    included, so strips come to share keyframes (each lists those it shows meanwhile:
    ``RESTYLE_PG_keyframe.belongs_to``). Before a keyframe write they part ways: the first
    strip keeps the key and each other one takes a fresh key with the keyframes it shows,
    so a split part gets the keyframes of its frames and a copy in place a copy of all
    (and of their paintings: ``take_paintings_along``)."""
    editor = settings.id_data.sequence_editor
    if editor is None:
        return
    by_key: dict[str, list] = {}
    for strip in compat.all_strips(editor):
        if key := strip.get(STRIP_KEY):
            by_key.setdefault(key, []).append(strip)
    for key, strips in by_key.items():
        if len(strips) > 1:
            _part_ways(settings, key, strips)


def _part_ways(settings, key: str, strips: list) -> None:
    """Each keyframe of ``key`` stays with the first strip where it shows or where no strip
    shows it; every other strip showing it gets one (the keyframe itself if the first
    strip does not show it, else a copy). A strip keeps the export folder only when it
    shows no frame of a strip keeping it (paintings are named by frame); else it takes its
    paintings along into a folder of its own. Frames here are names
    (``RESTYLE_PG_keyframe.frame``): what each strip shows, less how far it moved."""
    first = _first_strip(settings, key, strips)
    others = [s for s in strips if s.name != first.name]
    fresh = {s.name: uuid.uuid4().hex for s in others}
    shown = {s.name: _named_span(s) for s in strips}
    copies = []
    for item in settings.keyframes:
        if item.key != key:
            continue
        showing = [s.name for s in others if _within(shown[s.name], item.frame)]
        if showing and not _within(shown[first.name], item.frame):
            name, *showing = showing
            item.key, item.strip = fresh[name], name
        copies += [(fresh[name], name, item.frame) for name in showing]
    for copy in copies:  # added after the loop: adding may move the items in memory
        item = settings.keyframes.add()
        item.key, item.strip, item.frame = copy
    keeping = [shown[first.name]]
    for strip in others:
        strip[STRIP_KEY] = fresh[strip.name]
        if any(_overlap(shown[strip.name], kept) for kept in keeping):
            names = {k.frame for k in settings.keyframes if k.key == fresh[strip.name]}
            take_paintings_along(settings.id_data, strip, names)
        else:
            keeping.append(shown[strip.name])


def take_paintings_along(scene, strip, names: set[int]) -> None:
    """``strip`` stops sharing an export folder (its copy's or original's): it gets one of
    its own, holding a copy of the paintings named ``names`` that its keyframes used there
    (a file already there kept; paint not saved yet in Blender included), so Train on it
    still finds them. Named on the strip, so a rename keeps them."""
    if KEYFRAME_FOLDER not in strip:
        return  # never exported: it had a folder of its own already
    shared = keyframe_folder(strip.name, scene)[0]
    del strip[KEYFRAME_FOLDER]
    own = _own_folder(scene, strip, shared)
    unsaved = _unsaved_images()
    copied = {
        path.name: _copy_painting(path, own / path.name, unsaved.get(path.resolve()))
        for path in _paintings(shared, names)
    }
    if failed := [name for name, done in copied.items() if done is None]:
        NOT_COPIED.append(f"'{strip.name}' ({', '.join(failed)})")
    if any(copied.values()) or own.is_dir():
        strip[KEYFRAME_FOLDER] = own.name


def warn_paintings_not_copied(operator) -> None:
    """Report the paintings that strips parting ways (in ``operator`` or since the last
    report) could not take along: a console line alone left them silently missing."""
    if NOT_COPIED:
        operator.report(
            {"WARNING"},
            f"Restyle: paintings not copied into a parted strip's own folder: "
            f"{'; '.join(NOT_COPIED)} (the console says why)",
        )
        NOT_COPIED.clear()


def _own_folder(scene, strip, shared: Path) -> Path:
    """Where ``strip`` exports now: by its name, as Export names a folder, unless that is
    the folder it parts from, another strip's, or one already on disk (a deleted strip's:
    its paintings are not this strip's), 'Interview-2' then."""
    folder = keyframe_folder(strip.name, scene)[0]
    taken = {shared.name} | {
        s[KEYFRAME_FOLDER] for s in compat.all_strips(scene.sequence_editor) if KEYFRAME_FOLDER in s
    }
    base, number = folder.name, 1
    while folder.name in taken or folder.exists():
        number += 1
        folder = folder.with_name(f"{base}-{number}")
    return folder


def _paintings(folder: Path, names: set[int]) -> list[Path]:
    """The images in ``folder`` named by ``names``, as Train reads them."""
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if numbered_frame(path) in names
        and path.suffix.lower() in IMAGE_SUFFIXES
        and path.is_file()
    )


def _unsaved_images() -> dict[Path, bpy.types.Image]:
    """Images painted in Blender and not saved yet, by the file they were loaded from."""
    return {
        Path(bpy.path.abspath(image.filepath, library=image.library)).resolve(): image
        for image in bpy.data.images
        if image.source == "FILE" and image.is_dirty and image.filepath
    }


def _copy_painting(path: Path, target: Path, unsaved=None) -> bool | None:
    """Copy ``path`` (or the paint ``unsaved`` holds of it) to ``target`` through a part
    file, so a failure leaves no half file; a file already at ``target`` is kept (False).
    None: it failed."""
    if target.exists():
        return False
    part = scratch_path(target)  # writers' one scratch name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if unsaved is None:
            shutil.copy2(path, part)
        else:
            _save_copy(unsaved, part)
        if target.exists():
            return False
        os.replace(part, target)
        return True
    except (OSError, RuntimeError) as exc:  # a read-only share, say: it paints apart
        print(f"Restyle: could not copy the painting {path} to {target}: {exc}")
        return None
    finally:
        with contextlib.suppress(OSError):  # no folder there to hold one (a file in the way)
            part.unlink(missing_ok=True)


def _save_copy(image, path: Path) -> None:
    """Write ``image`` as Blender holds it to ``path``, keeping its paint marked not saved
    (saving elsewhere marks it saved; its own file is not)."""
    pixels = np.empty(len(image.pixels), np.float32)
    image.pixels.foreach_get(pixels)
    try:
        image.save(filepath=str(path))
    finally:
        image.pixels.foreach_set(pixels)


def _named_span(strip) -> tuple[int, int]:
    """The keyframe names (``RESTYLE_PG_keyframe.frame``) of the frames ``strip`` shows."""
    first, last = compat.shown_frames(strip)
    return name_at(strip, first), name_at(strip, last)


def _within(span: tuple[int, int], frame: int) -> bool:
    return span[0] <= frame <= span[1]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _first_strip(settings, key: str, strips: list):
    """Of strips sharing ``key``: the one its keyframes were last written under; else (it
    was renamed since) the one whose name the others extend ('Interview' of
    'Interview.001': Blender names a split part or copy so)."""
    named = {k.strip for k in settings.keyframes if k.key == key}
    names = {s.name for s in strips}
    for strip in strips:
        if strip.name in named:
            return strip
    for strip in strips:
        if not any(strip.name.startswith(f"{n}.") for n in names - {strip.name}):
            return strip
    return strips[0]


def add_keyframes(settings, strip: str, frames) -> int:
    """Add scene frames to ``strip``'s keyframes (no duplicates); returns how many were new."""
    found = compat.all_strips(settings.id_data.sequence_editor).get(strip)
    key = ensure_strip_key(settings, found) if found is not None else ""
    # By name: a higher scene rate shows some pictures on two frames, one keyframe for both.
    have = {name for _frame, name in settings.named_keyframes(strip)}
    added = 0
    for frame in sorted(set(frames)):
        name = name_at(found, frame) if found is not None else frame
        if name in have:
            continue
        item = settings.keyframes.add()
        item.strip, item.key, item.frame = strip, key, name
        have.add(name)
        added += 1
    return added


def hand_keyframes(settings, giver, taker, frames) -> None:
    """Keyframes of ``giver`` at scene ``frames`` go to ``taker``, which shows them now (a
    split's right part, or the other side of a snapped cut), named from where it stands."""
    taken = ensure_strip_key(settings, taker)  # first: a split part shares giver's
    key = ensure_strip_key(settings, giver)
    for item in settings.keyframes:
        frame = item.scene_frame(giver)
        if item.key == key and frame in frames:  # the same name for a split part
            item.key, item.strip, item.frame = taken, taker.name, name_at(taker, frame)


@bpy.app.handlers.persistent
def key_named_keyframes(*_args) -> None:
    """load_post: keyframes of a file from before keys are matched to their strips by name;
    give those strips keys now, so that a rename keeps them. Strips of a file from before
    frame origins (its keyframes were scene frames) take where they stand as their origin,
    so that a move takes their keyframes along."""
    for scene in bpy.data.scenes:
        settings = getattr(scene, "restyle", None)
        if settings is None or scene.sequence_editor is None:
            continue
        strips = compat.all_strips(scene.sequence_editor)
        for name in {k.strip for k in settings.keyframes if not k.key}:
            if (strip := strips.get(name)) is not None:
                ensure_strip_key(settings, strip)
        keys = {k.key for k in settings.keyframes if k.key}
        for strip in strips:
            if strip.get(STRIP_KEY) in keys and FRAME_ORIGIN not in strip:
                name_frames_here(strip)
            record_own_rate(strip)  # a file from before it was recorded


def selected_range(source: StripSource, settings) -> tuple[int, int]:
    """The sidebar's frame range, by the same rule as Apply (``StripSource.checked_range``)."""
    return source.checked_range(settings.frame_start, settings.frame_end)


# -- the list ------------------------------------------------------------------------------
class KeyframeOperator(SequencerOperator):
    @classmethod
    def poll(cls, context):
        """A sequencer with an active strip: the keyframes are that strip's."""
        if not super().poll(context):
            return False
        if compat.sequencer_scene(context).sequence_editor.active_strip is None:
            cls.poll_message_set("No active strip: click the movie or image strip to keyframe")
            return False
        return True

    @staticmethod
    def selected(scene) -> int:
        """Index of the selected keyframe; RestyleError unless it is the active strip's."""
        settings = scene.restyle
        index = settings.keyframe_index
        strip = scene.sequence_editor.active_strip
        if not 0 <= index < len(settings.keyframes) or not settings.keyframes[index].belongs_to(
            strip
        ):
            raise RestyleError(f"no keyframe of '{strip.name}' is selected")
        return index


class RESTYLE_OT_keyframe_add(KeyframeOperator, Operator):
    """Add the current frame to the active strip's keyframes"""

    bl_idname = "restyle.keyframe_add"
    bl_label = "Add Keyframe"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        scene = compat.sequencer_scene(context)
        strip = scene.sequence_editor.active_strip
        frame = scene.frame_current
        if strip.type not in SUPPORTED:
            self.report({"ERROR"}, f"'{strip.name}' is not a movie or image strip")
            return {"CANCELLED"}
        shown = visible_frames(strip)  # a trimmed meta strip hides some of it
        if shown is None or not shown[0] <= frame <= shown[1]:
            self.report({"ERROR"}, f"frame {frame} is outside '{strip.name}'")
            return {"CANCELLED"}
        settings = scene.restyle
        add_keyframes(settings, strip.name, [frame])
        warn_paintings_not_copied(self)
        name = name_at(strip, frame)  # the keyframe showing this picture, added or not
        settings.keyframe_index = next(
            i for i, k in enumerate(settings.keyframes) if k.belongs_to(strip) and k.frame == name
        )
        return {"FINISHED"}


class RESTYLE_OT_keyframe_remove(KeyframeOperator, Operator):
    """Remove the selected keyframe"""

    bl_idname = "restyle.keyframe_remove"
    bl_label = "Remove Keyframe"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        scene = compat.sequencer_scene(context)
        settings = scene.restyle
        try:
            index = self.selected(scene)
        except RestyleError as exc:
            report_error(self, exc)
            return {"CANCELLED"}
        strip = scene.sequence_editor.active_strip
        frame = settings.keyframes[index].frame
        ensure_strip_key(settings, strip)  # its own list, not a duplicate's too
        warn_paintings_not_copied(self)
        index = next(
            i for i, k in enumerate(settings.keyframes) if k.belongs_to(strip) and k.frame == frame
        )
        settings.keyframes.remove(index)
        same = [i for i, k in enumerate(settings.keyframes) if k.belongs_to(strip)]
        settings.keyframe_index = max(
            (i for i in same if i < index), default=same[0] if same else -1
        )
        return {"FINISHED"}


class RESTYLE_OT_keyframe_jump(KeyframeOperator, Operator):
    """Make the selected keyframe the current frame"""

    bl_idname = "restyle.keyframe_jump"
    bl_label = "Jump to Keyframe"

    def execute(self, context):
        scene = compat.sequencer_scene(context)
        try:
            index = self.selected(scene)
        except RestyleError as exc:
            report_error(self, exc)
            return {"CANCELLED"}
        strip = scene.sequence_editor.active_strip
        scene.frame_set(scene.restyle.keyframes[index].scene_frame(strip))
        return {"FINISHED"}


# -- suggest ---------------------------------------------------------------------------------
@dataclass
class ShotJob:
    """Find shots in what a strip shows over a range: one frame per scene frame."""

    source: StripSource
    shown: list[int]  # the source frame at each scene frame of the range

    def run(self, progress=None, cancel=None):
        from ..core.progress import Progress
        from ..core.shots import analyze_shots

        total = len(self.shown)

        def frames():
            for position, frame in enumerate(self._shown_frames()):
                if cancel is not None and cancel.cancelled:
                    return
                if progress is not None and (position % 8 == 0 or position == total - 1):
                    progress(
                        Progress(
                            position + 1,
                            total,
                            stage="shots",
                            message=f"Reading frame {position + 1} of {total}",
                        )
                    )
                if frame.dtype == np.uint16:
                    frame = (frame // 257).astype(np.uint8)
                yield np.ascontiguousarray(frame[..., :3])

        shots = analyze_shots(frames())
        return None if cancel is not None and cancel.cancelled else shots

    def _shown_frames(self):
        """Source frames in scene order: streamed when they only go forward, else held."""
        from ..core.media import decode_range

        source, shown = self.source.source, self.shown
        lo, hi = min(shown), max(shown)
        frames = decode_range(  # as Blender shows it
            source, lo, hi, upright=self.source.upright, hold_lead_in=self.source.hold_lead_in
        )
        if shown != sorted(shown):  # reversed: keep the frames shown, then play them back
            needed = set(shown)
            held = {i: f for i, f in enumerate(frames, lo) if i in needed}
            yield from (held[i] for i in shown)
            return
        wanted = iter(shown)
        index = next(wanted)
        for at, frame in enumerate(frames, lo):
            while index == at:
                yield frame
                index = next(wanted, None)
            if index is None:
                return


class RESTYLE_OT_suggest_keyframes(ModalJob, Operator):
    """Find the cuts in the strip's frame range, mark them, and suggest keyframes per shot"""

    bl_idname = "restyle.suggest_keyframes"
    bl_label = "Suggest Keyframes"
    bl_options = {"UNDO"}
    task = "shots"  # a refusal too is said in the Keyframes panel (ModalJob._begin)

    strip: StringProperty(name="Strip", description="Strip to analyse (empty: the active strip)")

    def prepare(self, context) -> JobRequest:
        scene, source = active_source(context, self.strip)
        first, last = selected_range(source, scene.restyle)
        strip = find_strip(scene, self.strip)
        shown = file_frames(strip, source, first, last)
        return JobRequest(
            ShotJob(source, shown),
            source.name,
            "finding shots",
            len(shown),
            self.task,
            data=(scene.name, scene.session_uid, first, content_at(strip)),
        )

    def finish(self, context, request: JobRequest, kind: str, value) -> set[str]:
        if kind == "error":
            RUN.end(FAILED, f"Failed: {value}")
            self.report({"ERROR"}, str(value))
            return {"CANCELLED"}
        if value is None:
            RUN.end(CANCELLED, "Suggest keyframes cancelled")
            return {"CANCELLED"}
        scene_name, uid, first, content = request.data
        scene = find_scene(scene_name, uid)
        if scene is None:
            RUN.end(FAILED, f"Failed: scene '{scene_name}' is gone")
            return {"CANCELLED"}
        strip = compat.all_strips(scene.sequence_editor).get(request.strip)
        job = request.job  # moved meanwhile: its cuts move as Apply's strip would
        moved = moved_showing(scene, strip, job.source.timing.frame_start, first, job.shown)
        cuts = [first + moved + shot.start for shot in value[1:]]
        marked = {m.frame for m in scene.timeline_markers if m.name == CUT_MARKER}
        for frame in cuts:
            if frame not in marked:
                scene.timeline_markers.new(CUT_MARKER, frame=frame)
        # Keyframes are frames of the content: they go where it went, trimmed or not.
        first += round(content_at(strip) - content) if strip is not None else 0
        suggested = [first + k for shot in value for k in shot.keyframes]
        added = add_keyframes(scene.restyle, request.strip, suggested)
        summary = (
            f"{request.strip}: {count(len(value), 'shot')}, {count(len(cuts), 'cut')} marked, "
            f"{count(added, 'keyframe')} added"
        )
        RUN.end(FINISHED, summary)
        self.report({"INFO"}, f"Restyle: {summary}")
        warn_paintings_not_copied(self)
        redraw_sequencers(context)
        return {"FINISHED"}


# -- export ----------------------------------------------------------------------------------
def raw_cache_said(scene, source, frames: list[int]) -> str:
    """The keyframes of ``frames`` whose exported picture (the frame Blender decodes) Blender
    5's raw cache may show as its neighbour (``strip_source.raw_cache_frames``), said once;
    empty where none."""
    mixed = [f for f in frames if raw_cache_frames(scene, source, f, f)]
    if not mixed:
        return ""
    return (
        f"'{source.name}' plays slower than the scene, and Blender's raw cache may show it a "
        f"source frame off the exported picture at {count(len(mixed), 'keyframe')} "
        f"({', '.join(map(str, mixed))}), depending on the order frames are viewed or "
        "rendered: turn off Raw (Sequencer sidebar > Cache > Cache Settings) to see exactly "
        "the frames exported"
    )


class RESTYLE_OT_export_keyframes(SequencerOperator, Operator):
    """Write the source frames at the keyframes at full quality, as the strip shows them, to paint over"""

    bl_idname = "restyle.export_keyframes"
    bl_label = "Export Keyframes"
    task = "export"  # its outcome is said in the Keyframes panel, under its button

    strip: StringProperty(
        name="Strip", description="Strip whose keyframes to export (empty: the active strip)"
    )
    overwrite: BoolProperty(
        name="Overwrite", description="Replace exported files even where they were painted over"
    )
    load: BoolProperty(
        name="Load into Blender",
        description="Load the files as images to paint them in the Image Editor "
        "(not given: the sidebar's setting)",
    )

    def execute(self, context):
        try:
            written, kept, folder, unsaved, cached = self.export(context)
        except RestyleError as exc:
            said = f"Failed: {report_error(self, exc)}"
            tool_summary(FAILED, said, strip=self.strip, task=self.task)
            return {"CANCELLED"}
        message = f"{count(len(written), 'keyframe')} exported to {blender_path(folder)}/"
        if kept:
            message += (
                f"; {count(len(kept), 'painted file')} kept: {', '.join(p.name for p in kept)}"
            )
        if unsaved:
            message += (
                f"; {count(len(unsaved), 'image')} with paint not saved yet left as painted: "
                f"{', '.join(unsaved)} (save them: Train reads the files)"
            )
        if cached:  # Blender 5's raw cache: a slowed movie may show a neighbour there
            message += f"; {cached}"
        if kept or unsaved or cached:
            self.report({"WARNING"}, message)
        else:
            self.report({"INFO"}, message)
        tool_summary(FINISHED, f"{self.bl_label}: {message}", str(folder), self.strip, self.task)
        warn_paintings_not_copied(self)
        return {"FINISHED"}

    def export(self, context) -> tuple[list[Path], list[Path], Path, list[str], str]:
        import cv2

        from ..core.media import decode_range, probe

        scene, source = active_source(context, self.strip)
        settings = scene.restyle
        names = settings.keyframe_names(source.name)  # a moved strip's paintings keep theirs
        if not names:
            raise RestyleError(f"'{source.name}' has no keyframes: add some first")
        if clash := settings.keyframe_clash(source.name):
            raise RestyleError(clash)
        strip = compat.all_strips(scene.sequence_editor)[source.name]
        refuse_skipped_pictures(settings, strip, set(names))
        indices = {frame: source_index(strip, source, frame) for frame in sorted(names)}
        cached = raw_cache_said(scene, source, list(indices))
        ensure_strip_key(settings, strip)  # a duplicate's own list and folder, not the original's
        folder, _shown = keyframe_folder(source.name, scene)
        info = probe(  # as this Blender shows it
            source.source, upright=source.upright, hold_lead_in=source.hold_lead_in
        )
        images = {}
        for frame, index in indices.items():
            image = next(iter(decode_range(source.source, index, index, info=info)))
            image = source.color.apply(image)  # as the strip shows it (Saturation, Multiply)
            code = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
            images[frame] = cv2.cvtColor(np.ascontiguousarray(image), code)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # beside a .blend on a read-only share, say
            raise RestyleError(f"cannot write to {folder}: {exc.strerror}") from None
        written, kept = [], []
        for frame, image in images.items():
            path = folder / f"{names[frame]:04d}.png"
            if path.exists():
                old = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
                if old is not None and old.shape == image.shape and np.array_equal(old, image):
                    written.append(path)  # already exported, untouched
                    continue
                if not self.overwrite:
                    kept.append(path)
                    continue
            _write_png(image, path)
            written.append(path)
        if KEYFRAME_FOLDER not in strip:  # renamed later, it still paints into this folder
            strip[KEYFRAME_FOLDER] = folder.name
        load = self.load if self.properties.is_property_set("load") else settings.open_exported
        unsaved = [_load_image(path) for path in written + kept] if load else []
        return written, kept, folder, [name for name in unsaved if name], cached


def _write_png(image: np.ndarray, path: Path) -> None:
    """Write ``image`` to ``path`` whole or not at all (``writers.write_atomic``: its
    scratch name is one the next export's sweep removes, where an export was killed)."""
    import cv2

    from ..core.writers import write_atomic

    try:
        ok, encoded = cv2.imencode(".png", image)
        if not ok:
            raise RestyleError(f"cannot write {path}: the image writer refused it")
        write_atomic(path, encoded.tobytes(), sweep=True)
    except (OSError, cv2.error) as exc:
        why = exc.strerror if isinstance(exc, OSError) else str(exc).strip().splitlines()[-1]
        raise RestyleError(f"cannot write {path}: {why}") from None


def _load_image(path: Path) -> str:
    """Load the file as an image, or show an image loaded before its new pixels; one with
    paint not saved yet is left as it is (reloading threw that paint away). Returns its name
    then, else ''. A saved project's image says ``//restyle/keyframes/...``, as its strips
    do: moved, the project still finds it."""
    image = bpy.data.images.load(blender_path(path), check_existing=True)
    if image.is_dirty:
        return image.name
    image.reload()  # a file exported again shows its new pixels
    return ""


classes = (
    RESTYLE_OT_keyframe_add,
    RESTYLE_OT_keyframe_remove,
    RESTYLE_OT_keyframe_jump,
    RESTYLE_OT_suggest_keyframes,
    RESTYLE_OT_export_keyframes,
)
