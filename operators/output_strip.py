"""Where styled frames go on disk, and the strip that shows them above the source."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import bpy

from .. import compat
from ..core.errors import RestyleError

MAX_CHANNEL = 128
MOVIE_SUFFIX = {"h264": "mp4", "prores": "mov", "ffv1": "mkv"}
# What the styled strip copies from its source so the two line up pixel for pixel.
TRANSFORM_FIELDS = ("offset_x", "offset_y", "scale_x", "scale_y", "rotation", "origin", "filter")
CROP_FIELDS = ("min_x", "max_x", "min_y", "max_y")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:48] or "strip"


def settings_hash(files: Sequence[Path], style: dict, settings: dict) -> str:
    """Same source, style and settings → same folder, so a rerun finds its finished frames."""

    def stamp(path: Path) -> list:
        stat = path.stat()
        return [str(path), stat.st_size, stat.st_mtime_ns]

    record = {
        "source": [stamp(files[0]), stamp(files[-1]), len(files)],
        "style": style,
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()[:10]


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


def free_channel(strips, above: int, first: int, last: int) -> int:
    """The first channel above ``above`` with nothing in it over ``first..last``."""
    for channel in range(above + 1, MAX_CHANNEL + 1):
        if not any(
            s.channel == channel
            and compat.handles(s)[0] <= last
            and compat.handles(s)[1] > first
            for s in strips
        ):
            return channel
    raise RestyleError(f"no free channel above channel {above} over frames {first}-{last}")


def add_styled_strip(
    scene: bpy.types.Scene,
    strips,
    source,
    name: str,
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
    the one movie file. ``source`` (the strip styled, if still there) lends its placement.
    """
    channel = free_channel(strips, above, first, first + count - 1)
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
        raise RestyleError(
            f"the styled strip would span {duration} frames instead of {count}"
        )
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
