"""Whether the files a strip shows are there, for the sidebar's "File missing" row: a movie's
file, or each picture Apply reads of an image strip (from the first it shows to the last,
not only its first file), looked up at most once a redraw and never read."""

from __future__ import annotations

import os
import time

import bpy

from ..core.errors import RestyleError
from ..core.strip_frames import pictures_read
from ..operators.output_strip import strip_media
from ..operators.strip_source import missing_said, retimed, strip_timing

# key -> (when looked up, what was found): a movie's path -> whether it is a file, an image
# strip's address -> its row's words. The main panel and three sub-panels ask on every
# redraw; emptied as the main panel draws, and good for FOUND_FOR_S at most.
FOUND: dict[object, tuple[float, object]] = {}
FOUND_FOR_S = 1.0
# An image strip's timing -> the indices of the pictures Apply reads: computed once per
# timing (a strobed or meta 1,000-frame strip's took ms), not every redraw.
SHOWN: dict[tuple, range] = {}
SHOWN_KEPT = 64
# A strip reading more pictures than this has its folder listed once, not each one stat.
STAT_AT_MOST = 32


def missing_file(strip) -> str:
    """The sidebar row saying what of ``strip``'s files is missing (``missing_said``: 'File
    missing: x.png', '3 pictures missing, first 0005.png'), else '': looked up once a
    redraw (``FOUND``): a movie's or a few pictures' stat each, or a folder's listing."""
    if strip.type == "IMAGE":
        return _looked_up(("pictures", strip.as_pointer()), lambda _: _missing_pictures(strip))
    path = strip_media(strip)
    if path is None:
        return ""
    if _looked_up(path, os.path.isfile):
        return ""
    return missing_said([os.path.basename(path) or path])


def read_refusal(strip) -> str:
    """Why the operators reading ``strip``'s frames refuse it ('' when none does), in the
    order they check (``strip_source.read_strip``): its retiming (``retimed``), then its
    missing files (``missing_file``). What greys and names a panel's reading buttons."""
    return retimed(strip) or missing_file(strip)


def _looked_up(key, look):
    """``look(key)``, as found this redraw (``FOUND``)."""
    now = time.monotonic()
    seen = FOUND.get(key)
    if seen is None or now - seen[0] > FOUND_FOR_S:
        seen = FOUND[key] = (now, look(key))
    return seen[1]


def _missing_pictures(strip) -> str:
    """The row for the pictures Apply reads of ``strip`` that are not there ('' when all
    are)."""
    elements = strip.elements
    if not len(elements):  # an image strip without pictures: nothing to look for
        return ""
    folder = bpy.path.abspath(strip.directory, library=strip.id_data.library)
    names = [elements[i].filename for i in read_pictures(strip)]
    listed = _listed(folder) if len(names) > STAT_AT_MOST else frozenset()
    return missing_said([n for n in names if n not in listed and not _is_file(folder, n)])


def _listed(folder: str) -> frozenset[str]:
    """The names in ``folder``: one listing, not a stat per picture (1,000 stats took
    several times a listing's time); a name not listed is still looked for (``_is_file``),
    as a case-insensitive disk may list it otherwise."""
    try:
        return frozenset(os.listdir(folder))
    except OSError:
        return frozenset()


def _is_file(folder: str, name: str) -> bool:
    return os.path.isfile(os.path.normpath(os.path.join(folder, name)))


def read_pictures(strip) -> range:
    """The indices of the pictures (elements) Apply reads of ``strip`` (``pictures_read``
    of its ``strip_timing``); every picture where Apply refuses its meta strips (it says
    why when pressed). Cached by that timing (``SHOWN``)."""
    n = len(strip.elements)
    try:
        timing, visible = strip_timing(strip)
    except RestyleError:
        return range(n)
    key = (timing, visible, n)
    if key not in SHOWN:
        if len(SHOWN) >= SHOWN_KEPT:
            SHOWN.clear()
        SHOWN[key] = pictures_read(timing, *visible, n)
    return SHOWN[key]
