"""Where styled frames go on disk, and the strip that shows them above the source."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import bpy

from .. import compat
from ..core.errors import RestyleError
from ..core.strip_frames import frame_span

MAX_CHANNEL = 128
# What the styled strip copies from its source so the two line up pixel for pixel.
TRANSFORM_FIELDS = ("offset_x", "offset_y", "scale_x", "scale_y", "rotation", "origin", "filter")
CROP_FIELDS = ("min_x", "max_x", "min_y", "max_y")


def slug(text: str) -> str:
    """``text`` as a file name: letters of any script kept (ASCII alone made '采访.mp4' and
    '街景.mp4' both 'mp4', one keyframe folder for two clips), the rest '_'."""
    return re.sub(r"[^\w.-]+", "_", text).strip("._")[:48] or "strip"


def ascii_slug(text: str) -> str:
    """``slug`` as it was before it kept other scripts ('Café' gave 'Caf'): the keyframe
    folder of a strip exported then, which has no KEYFRAME_FOLDER to say so."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:48] or "strip"


def numbered_frame(path: Path) -> int | None:
    """The frame a file named by its number holds ('0012.png', '-015.png'), else None."""
    return int(path.stem) if re.fullmatch(r"-?\d+", path.stem) else None


def output_folder(strip_name: str, style_slug: str, key: str) -> tuple[Path, str]:
    """(absolute folder, the path the new strip stores).

    Beside a saved .blend: ``//restyle/<strip>-<style>-<hash>/``, relative, so the project
    can move. An unsaved file has no place of its own, so the temp folder is used.
    """
    name = f"{slug(strip_name)}-{slug(style_slug)}-{key}"
    if bpy.data.filepath:
        relative = f"//restyle/{name}/"
        return Path(bpy.path.abspath(relative)), relative
    folder = Path(tempfile.gettempdir()) / "restyle" / name
    return folder, str(folder) + "/"


def closed_channels(strips) -> frozenset[int]:
    """The locked or muted channels (the channel header's padlock or eye) of the sequencer or
    meta strip that holds the strip collection ``strips``: Blender keeps its own edits out of
    a locked one, and a new strip went into one; a strip in a muted one shows nothing (a
    styled strip rendered black there, unsaid)."""
    channels = getattr(getattr(strips, "data", None), "channels", None)
    if not channels:
        return frozenset()
    return frozenset(i for i, c in enumerate(channels) if c.lock or c.mute)


def free_channel(strips, above: int, first: int, last: int, closed=frozenset()) -> int:
    """The first channel above ``above`` with nothing in it over ``first..last`` that is not
    ``closed`` (``closed_channels``: locked or muted)."""
    for channel in range(above + 1, MAX_CHANNEL + 1):
        if channel not in closed and not any(
            s.channel == channel and compat.handles(s)[0] <= last and compat.handles(s)[1] > first
            for s in strips
        ):
            return channel
    skipped = ", locked or muted channels skipped" if any(c > above for c in closed) else ""
    raise RestyleError(
        f"no free channel above channel {above} over frames {frame_span(first, last)}{skipped}"
    )


def unique_strip_name(editor, base: str, label: str) -> str:
    """``<base>.<label>``, else ``.001``, ``.002``...: Blender's own renaming of a taken name
    replaces what follows its last dot, so a second ``clip.Comic Ink`` became ``clip.001``.
    A strip name holds few bytes and Blender cuts what is longer at its end (a long clip's
    ``clip.Comic Ink`` came out ``clip.Comic``, the next ``clip.001``): ``base`` is
    shortened instead, so the label and the number stay."""
    taken = set(compat.all_strips(editor).keys())
    room = compat.strip_name_bytes()
    label = _cut(label, room // 2)
    number = 0
    while True:
        tail = f".{label}" + (f".{number:03d}" if number else "")
        candidate = _cut(base, room - len(tail.encode())) + tail
        if candidate not in taken:
            return candidate
        number += 1


def _cut(text: str, size: int) -> str:
    """``text`` cut to at most ``size`` bytes of UTF-8, never inside a character."""
    return text.encode()[: max(0, size)].decode(errors="ignore")


def add_styled_strip(
    scene: bpy.types.Scene,
    strips,
    source,
    base: str,
    label: str,
    folder: str,
    filenames: Sequence[str],
    first: int,
    count: int,
    above: int,
    movie: bool = False,
):
    """Add the styled strip over scene frames ``first..first+count-1``, selected and active.

    ``folder`` is the stored (possibly blend-relative) folder. ``filenames`` holds one image
    per scene frame (an image repeats where the source's rate is below the scene's), or
    the one movie file. ``source`` (the strip styled, if still there) lends its placement;
    the strip is named ``<base>.<label>`` (``unique_strip_name``).
    """
    channel = free_channel(strips, above, first, first + count - 1, closed_channels(strips))
    name = unique_strip_name(scene.sequence_editor, base, label)
    if movie:
        strip = strips.new_movie(
            name=name, filepath=folder + filenames[0], channel=channel, frame_start=first
        )
    else:
        strip = strips.new_image(
            name=name,
            filepath=folder + filenames[0],
            channel=channel,
            frame_start=first,
            fit_method="ORIGINAL",
        )
        for filename in filenames[1:]:
            strip.elements.append(filename)
    duration = compat.strip_get(strip, "duration")
    if duration != count:
        strips.remove(strip)
        raise RestyleError(f"the styled strip would span {duration} frames instead of {count}")
    if source is not None:
        _copy_placement(source, strip)
    editor = scene.sequence_editor
    for other in compat.all_strips(editor):
        other.select = False
    strip.select = True
    editor.active_strip = strip
    return strip


def _copy_placement(source, strip) -> None:
    for field in TRANSFORM_FIELDS:
        if hasattr(source.transform, field):
            setattr(strip.transform, field, getattr(source.transform, field))
    for field in CROP_FIELDS:
        setattr(strip.crop, field, getattr(source.crop, field))
    strip.use_flip_x = source.use_flip_x
    strip.use_flip_y = source.use_flip_y
    _copy_blending(source, strip)


# The blend modes whose result, at opacity 1, is the strip's own picture wherever it is opaque
# (where it is clear too, for Cross): the styled strip blended so above its source, which
# still shows under it, shows what the source alone showed. Replace at any opacity too: its
# opacity is folded into the strip's Multiply (``compat.strip_color``), which the output
# already holds, and it hides whatever is below. Any other (Add, Multiply..., or opacity
# below 1) would blend the styled strip with its source's own blend, not with what is below
# the source: at Alpha Over 0.5 a 25 % ghost of the unstyled source showed through, at Add
# the source was added twice (tests/blender/test_blend_round19.py).
COVERING_BLENDS = ("ALPHA_OVER", "CROSS")


def styled_blend(source) -> str | None:
    """The blend mode the strip made above ``source`` takes, at opacity 1, to show what
    ``source`` showed (``COVERING_BLENDS``); None where none does while ``source`` shows
    under it (``blend_note`` says what to do)."""
    if source.blend_type == "REPLACE":
        return "REPLACE"
    if source.blend_type in COVERING_BLENDS and source.blend_alpha >= 1.0:
        return source.blend_type
    return None


# On a styled strip: the blend Restyle gave it ({"type": blend_type, "alpha": blend_alpha},
# ``_copy_blending``), an ID property, so it is saved with the .blend. A rerun that finds the
# strip showing its output again brings its blend in line with its source's only while the
# strip still has exactly this (``restyle_blending``): a blend the user set on it by hand is
# kept, and so is that of a strip made before this record (there is no telling). Matte's
# strip sets its own blend after ``_copy_blending``: its record is not read (strip_job).
BLEND_GIVEN = "restyle_blend_given"


def _copy_blending(source, strip) -> None:
    """The styled strip composites as its source does where Blender can show that with the
    source still under it (``styled_blend``), else at Alpha Over 1.0, covering the source
    (``blend_note``); what it was given is recorded (``BLEND_GIVEN``). A matte sets its own
    blend mode after this."""
    strip.blend_type = styled_blend(source) or "ALPHA_OVER"
    strip.blend_alpha = 1.0
    strip[BLEND_GIVEN] = {"type": strip.blend_type, "alpha": strip.blend_alpha}


def blend_words(strip, blend_type: str = "", alpha: float | None = None) -> str:
    """'Add at 50%': ``strip``'s blend (or ``blend_type`` at ``alpha``) in Blender's words."""
    blend_type = blend_type or strip.blend_type
    alpha = strip.blend_alpha if alpha is None else alpha
    mode = strip.bl_rna.properties["blend_type"].enum_items[blend_type].name
    return f"{mode} at {alpha:.0%}"


def restyle_blending(source, strip) -> str:
    """Bring the blend of ``strip``, a styled strip found showing its output again, in line
    with ``source``'s now by the rule a new strip takes it by (``_copy_blending``), where
    ``strip`` still has exactly the blend Restyle gave it (``BLEND_GIVEN``). Returns 'set'
    (changed), 'hand' (set by hand since, kept, though the source's now gives another),
    'unknown' (no record: an earlier Restyle's strip, left as it is, and the source's now
    gives another), else '' (nothing to say: a blend set by hand, or kept from an earlier
    Restyle, that is already what the source's now gives, is not said)."""
    given = strip.get(BLEND_GIVEN)
    want = styled_blend(source) or "ALPHA_OVER"
    now = (strip.blend_type, strip.blend_alpha)
    if _same_blend(now, (want, 1.0)):
        return ""
    if given is None:
        return "unknown"
    given = (given.get("type", ""), float(given.get("alpha", -1.0)))
    if not _same_blend(now, given):
        return "hand" if given != (want, 1.0) else ""
    if given == (want, 1.0):
        return ""
    _copy_blending(source, strip)
    return "set"


def _same_blend(one: tuple[str, float], other: tuple[str, float]) -> bool:
    """(type, alpha) pairs alike, alpha to Blender's float precision."""
    return one[0] == other[0] and abs(one[1] - other[1]) <= 1e-6


def blend_note(source, strip, made: str = "styled") -> str:
    """What the summary says where ``strip`` (made above ``source``) could not take its
    source's blending (``styled_blend``): it covers the source; muted, the source leaves
    what is below it for the styled strip to blend with as the source did. ``made``: what
    its job did to the frames (``done_word``: 'stabilized')."""
    if styled_blend(source) is not None:
        return ""
    blend = blend_words(source)
    return (
        f"'{source.name}' is blended by {blend}, which '{strip.name}' cannot repeat with "
        f"'{source.name}' still under it: it covers it at Alpha Over 100%; for the {made} "
        f"frames blended as '{source.name}' is, mute '{source.name}' and set "
        f"'{strip.name}' to {blend}"
    )


# -- frames made while the .blend was unsaved ----------------------------------------------
def temp_root() -> Path:
    """Where frames go while the .blend has no folder of its own (see ``output_folder``)."""
    return Path(tempfile.gettempdir()) / "restyle"


def in_temp_folder(path: str) -> bool:
    try:
        return temp_root().resolve() in Path(bpy.path.abspath(path)).resolve().parents
    except (OSError, ValueError):
        return False


def keep_frames_with_blend(blend_path: str, record: list | None = None) -> int:
    """Copy every styled strip's frames that live in the temporary folder to
    ``//restyle/<folder>/`` beside ``blend_path`` and point the strips there (relative), so
    they survive the temp folder being cleaned. Returns how many strips now point there."""
    if not blend_path:
        return 0
    beside = Path(blend_path).parent / "restyle"
    kept = 0
    for scene in bpy.data.scenes:
        if scene.sequence_editor is None:
            continue
        for strip in compat.all_strips(scene.sequence_editor):
            kept += _keep_strip_frames(strip, beside, record)
    return kept


def _keep_strip_frames(strip, beside: Path, record: list | None = None) -> int:
    movie = strip.type == "MOVIE"
    if strip.type not in ("IMAGE", "MOVIE"):
        return 0
    stored = strip.filepath if movie else strip.directory
    if not in_temp_folder(stored):
        return 0
    folder = Path(bpy.path.abspath(stored))
    folder = folder.parent if movie else folder
    target = beside / folder.name
    try:
        shutil.copytree(folder, target, dirs_exist_ok=True)
    except OSError as exc:
        print(f"Restyle: could not copy {folder} beside the .blend: {exc}")
        return 0
    relative = f"//restyle/{folder.name}/"
    if bpy.data.filepath:  # Save As remaps relative paths from the folder the .blend was in
        relative = bpy.path.relpath(str(target)) + "/"
    if record is not None:
        record.append(("strip", strip.id_data.name, strip.name, stored))
    if movie:
        strip.filepath = relative + Path(stored).name
    else:
        strip.directory = relative
    return 1


KEYFRAME_FOLDER = "restyle_keyframe_folder"  # on a strip: the name of its export folder
# On a strip Apply Style made: the name of the strip it styled. Apply on such a strip styles
# that source instead (a second look tried stacked on the first, silently); Stabilize and
# Matte outputs have no mark: styling them is the documented chain.
STYLED_FROM = "restyle_styled_from"
# Beside it: what that source showed (``media_record``), so a strip that later took its name
# (the source deleted, or the styled strip pasted into another scene) is not taken for it.
STYLED_MEDIA = "restyle_styled_media"


def strip_media(strip) -> str | None:
    """The file a movie or image strip shows (an image strip's first image), as an absolute
    normalised path; None for other strips."""
    library = strip.id_data.library
    if strip.type == "MOVIE":
        path = bpy.path.abspath(strip.filepath, library=library)
    elif strip.type == "IMAGE" and len(strip.elements):
        folder = bpy.path.abspath(strip.directory, library=library)
        path = os.path.join(folder, strip.elements[0].filename)
    else:
        return None
    return os.path.normpath(path)


def _stored_media(strip) -> str:
    """``strip``'s file as the .blend stores it (maybe '//'-relative: it follows a project
    folder moved whole, where ``strip_media`` does not)."""
    if strip.type == "MOVIE":
        return strip.filepath
    if strip.type == "IMAGE" and len(strip.elements):
        return strip.directory + strip.elements[0].filename
    return ""


def shows_file(strip, path: str, stored: str = "") -> bool:
    """Whether ``strip`` shows the file ``path`` (absolute, as ``strip_media`` says it), or
    the file ``stored`` as the .blend stored it (``_stored_media``: it follows a project
    folder moved whole). The one rule of a strip matched to a file: the source during a run
    (``strip_job.source_strip``) and a styled strip's source (``_is_source``)."""
    media = strip_media(strip)
    if media is None:
        return False
    return media == os.path.normpath(path) or (bool(stored) and _stored_media(strip) == stored)


def media_record(source) -> dict:
    """What ``STYLED_MEDIA`` keeps of ``source``: its file, absolute (it survives Save As
    elsewhere) and as stored (it survives the project moving), and its keyframe key."""
    from ..props import STRIP_KEY

    return {
        "path": strip_media(source) or "",
        "stored": _stored_media(source),
        "key": source.get(STRIP_KEY, ""),
    }


def _is_source(candidate, record) -> bool:
    """Whether ``candidate`` shows what ``record`` (a ``STYLED_MEDIA``) kept: the same key,
    or else the same file (a copy of the source, Shift+D or another key, shows the same
    footage, so it is styled in the source's place). No record (a mark from before it):
    by name alone."""
    from ..props import STRIP_KEY

    if record is None:
        return True
    key = record.get("key", "")
    if key and candidate.get(STRIP_KEY, "") == key:
        return True
    return shows_file(candidate, record.get("path", ""), record.get("stored", ""))


def _source_of(strips, styled):
    """(the strip ``styled`` was styled from if it is still here, else None; the strips that
    could be it when no rule picks one). Of the strips showing what the mark kept
    (``_is_source``: its keyframe key, else its file), the one under most of ``styled``'s
    frames: a split source (Split at Cuts, Blender's own K) leaves its name on the left
    piece, while the piece under ``styled`` is what it styled. None under it (``styled``
    moved), or a tie: the one of the marked name, else the one keyed, the only one, the one
    in the nearest channel below ``styled`` (where Apply put it). A mark from before
    ``STYLED_MEDIA``: by name alone."""
    record = styled.get(STYLED_MEDIA)
    named = strips.get(styled[STYLED_FROM])
    if record is None:
        return (named if named is not None and named != styled else None), []
    from ..props import STRIP_KEY

    showing = [s for s in strips if s != styled and _is_source(s, record)]
    pool = _most_under(showing, styled) or showing
    key = record.get("key", "")
    keyed = [s for s in pool if key and s.get(STRIP_KEY, "") == key]
    below = [s.channel for s in pool if s.channel < styled.channel]
    nearest = [s for s in pool if below and s.channel == max(below)]
    for found in ([s for s in pool if s == named], keyed, pool, nearest):
        if len(found) == 1:
            return found[0], []
    return None, showing


def _most_under(strips, styled) -> list:
    """Those of ``strips`` that share the most frames with ``styled`` (none shared: [])."""
    start, end = compat.handles(styled)
    shared = [min(end, compat.handles(s)[1]) - max(start, compat.handles(s)[0]) for s in strips]
    most = max(shared, default=0)
    return [s for s, n in zip(strips, shared, strict=True) if most > 0 and n == most]


def _file_of(record) -> str:
    return os.path.basename(record.get("path") or record.get("stored", ""))


def _several(record, showing) -> str:
    """What to say when several strips show the source's file and no rule picks one."""
    file = _file_of(record)
    names = ", ".join(f"'{s.name}'" for s in sorted(showing, key=lambda s: s.name))
    return f"several strips show {file} ({names}): select the source and Apply"


def styled_from_now(editor, strip) -> str:
    """The sidebar's line for a style output: its source as it is called now (renamed since
    the run: found by its file, as Apply finds it), or that it is not found."""
    strips = compat.all_strips(editor)
    source, showing = _source_of(strips, strip)
    if source is not None:
        return f"Restyle output of '{source.name}'"
    name = strip[STYLED_FROM]
    if showing:
        file = _file_of(strip[STYLED_MEDIA])
        return f"Restyle output of '{name}' ({len(showing)} strips show {file})"
    return f"Restyle output of '{name}' (not found)"


def source_name_now(editor, strip) -> str:
    """The name of the strip the style output ``strip`` was styled from, as it is called
    now (``_source_of``); not found: the name it had."""
    source, _showing = _source_of(compat.all_strips(editor), strip)
    return source.name if source is not None else strip[STYLED_FROM]


def styled_source(editor, strip) -> tuple[object, str]:
    """(the strip to style, why it is not ``strip``): for a style output (``STYLED_FROM``),
    the strip its chain of style outputs started from, else ``strip`` itself. ``why`` is
    '' for ``strip`` itself; it names a source that is gone (then ``strip`` is styled).
    Several strips showing a source's file, none of them picked (``_source_of``): refused,
    as styling ``strip`` would stack a style on it."""
    strips = compat.all_strips(editor)
    found, seen = strip, {strip.name}
    while (name := found.get(STYLED_FROM)) is not None:
        source, showing = _source_of(strips, found)
        if showing:
            raise RestyleError(_several(found[STYLED_MEDIA], showing))
        if source is None:
            if found is strip:  # its source deleted, or another strip has its name
                other = strips.get(name)
                why = (
                    "is not in the sequencer"
                    if other is None or other == strip
                    else f"is not in the sequencer (the strip named '{name}' shows another file)"
                )
                return strip, (
                    f"'{name}', which '{strip.name}' was styled from, {why}: "
                    f"styled '{strip.name}' itself"
                )
            break  # the chain ends at the style output still there
        if source.name in seen:
            break
        found = source
        seen.add(found.name)
    if found is strip:
        return strip, ""
    return found, (
        f"styled the source '{found.name}' ('{strip.name}' is Restyle's styled output of it)"
    )


def keyframe_folder(strip_name: str, scene=None) -> tuple[Path, str]:
    """(absolute folder, as shown) where a strip's keyframes are exported for painting:
    ``//restyle/keyframes/<strip>/`` beside a saved .blend, else the temp folder; <strip> is
    the name it had when first exported (kept on the strip: a rename keeps its paintings).
    Unsaved, ``<temp>/restyle/keyframes/<source file>-<digest>/<strip>/``: every unsaved
    file shares the temp folder, and a strip of one name in another (camera files named
    C0001.MP4 repeat) showing another file found the first one's paintings, kept them
    as painted and Train paired them with its own frames. Saving copies the folder to
    ``//restyle/keyframes/<strip>/`` (``keep_keyframes_with_blend``). No ``scene``: the
    one the sequencer shows."""
    if scene is None:
        scene = compat.sequencer_scene(bpy.context)
    editor = scene.sequence_editor if scene is not None else None
    strip = compat.all_strips(editor).get(strip_name) if editor else None
    name = strip.get(KEYFRAME_FOLDER) if strip is not None else None
    if bpy.data.filepath:
        root = "//restyle/keyframes/"
        name = name or _folder_name(strip_name, Path(bpy.path.abspath(root)))
        return Path(bpy.path.abspath(root + name)), f"{root}{name}/"
    root = temp_root() / "keyframes"  # saving the .blend copies it beside it
    if (source := _source_file(strip)) is not None:
        root = root / source
    folder = root / (name or _folder_name(strip_name, root))
    return folder, str(folder) + os.sep


def _source_file(strip) -> str | None:
    """The temp keyframe folder's level for the file ``strip`` shows: its name and a short
    digest of its absolute path ('C0001.MP4-3f2a9c1e'); None for a strip showing no file."""
    if strip is None or strip.type not in ("MOVIE", "IMAGE"):
        return None
    if strip.type == "MOVIE":
        path = strip.filepath
    else:
        first = strip.elements[0].filename if len(strip.elements) else ""
        path = os.path.join(strip.directory, first)
    if not path:
        return None
    path = os.path.normcase(os.path.normpath(bpy.path.abspath(path)))
    digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug(Path(path).name)}-{digest}"


def _folder_name(strip_name: str, root: Path) -> str:
    """``slug(strip_name)``, or the ASCII-only name a strip exported before slug kept other
    scripts ('Café' → 'Caf') when only that folder exists: its paintings are there."""
    name, old = slug(strip_name), ascii_slug(strip_name)
    if name != old and not (root / name).is_dir() and (root / old).is_dir():
        return old
    return name


def keep_keyframes_with_blend(blend_path: str, record: list | None = None) -> int:
    """Keyframes exported (and perhaps painted) while the .blend was unsaved lie in
    ``<temp>/restyle/keyframes/<strip>/``; Train then looks beside the saved .blend and said
    the folder did not exist. Copy each strip's files named by its keyframes to
    ``//restyle/keyframes/<strip>/`` (a file already there is kept) and point images loaded
    from them at the copies (``filepath_raw``: paint not yet saved stays in Blender).
    Only for a first save: another unsaved file may have exported a strip of the same name.
    Returns how many files were copied."""
    if not blend_path or bpy.data.filepath:
        return 0
    moved: dict[Path, Path] = {}
    for scene in bpy.data.scenes:
        settings = getattr(scene, "restyle", None)
        editor = scene.sequence_editor
        named = {s.name for s in compat.all_strips(editor)} if editor else set()
        for strip in {k.strip for k in settings.keyframes} | named if settings else ():
            frames = {name for _, name in settings.named_keyframes(strip)}  # as Export named them
            folder = keyframe_folder(strip, scene)[0]  # unsaved: in the temp folder
            target = Path(blend_path).parent / "restyle" / "keyframes" / folder.name
            for path in folder.iterdir() if folder.is_dir() else ():
                if numbered_frame(path) in frames and path.is_file():
                    if not (target / path.name).exists():
                        moved[path.resolve()] = _copy_file(path, target)
    for image in bpy.data.images:
        if image.source == "FILE" and image.filepath_raw:
            copy = moved.get(Path(bpy.path.abspath(image.filepath_raw)).resolve())
            if copy is not None:
                if record is not None:
                    record.append(("image", "", image.name, image.filepath_raw))
                image.filepath_raw = str(copy)
    return sum(1 for copy in moved.values() if copy is not None)


def _copy_file(path: Path, folder: Path) -> Path | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(path, folder / path.name))
    except OSError as exc:
        print(f"Restyle: could not copy {path} beside the .blend: {exc}")
        return None


def _last_output_kept(blend_path: str) -> None:
    """The last run's output, made in the temporary folder, now kept beside the saved .blend:
    the sidebar's Last output points there and the note on the temporary folder goes."""
    from .runner import RUN

    if not blend_path or not RUN.folder or not in_temp_folder(RUN.folder):
        return
    target = Path(blend_path).parent / "restyle" / Path(RUN.folder).name
    if target.is_dir():
        RUN.moved(str(target))


# What the save in progress pointed at the saved file's folder: (kind, scene, name, old path).
REPOINTED: list[tuple[str, str, str, str]] = []


@bpy.app.handlers.persistent
def keep_frames_on_save(filepath="", *_args) -> None:
    """save_pre: a .blend saved for the first time takes its styled frames and exported
    keyframes with it."""
    path = filepath if isinstance(filepath, str) else bpy.data.filepath
    REPOINTED.clear()
    keep_frames_with_blend(path, REPOINTED)
    keep_keyframes_with_blend(path, REPOINTED)


@bpy.app.handlers.persistent
def restore_after_copy(filepath="", *_args) -> None:
    """save_post: File > Save Copy leaves the open .blend where it was, so what save_pre
    pointed at the copy's folder goes back to the temporary folder (the open file's strips
    pointed at a '//restyle/' it does not have, and its next save kept that)."""
    repointed, REPOINTED[:] = list(REPOINTED), []
    path = filepath if isinstance(filepath, str) else ""
    if not path or (
        bpy.data.filepath and Path(bpy.data.filepath).resolve() == Path(path).resolve()
    ):
        _last_output_kept(bpy.data.filepath)
        return
    for kind, scene, name, old in repointed:
        if kind == "image" and (image := bpy.data.images.get(name)) is not None:
            image.filepath_raw = old
        elif kind == "strip" and (owner := bpy.data.scenes.get(scene)) is not None:
            strip = compat.all_strips(owner.sequence_editor).get(name)
            if strip is not None:
                setattr(strip, "filepath" if strip.type == "MOVIE" else "directory", old)
