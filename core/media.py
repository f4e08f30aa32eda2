"""Frame-exact reading of movies and image sequences (probe and decode).

Frames are addressed by 0-based source index everywhere: index i of a movie is the frame
whose presentation time is i / fps after the first frame's, so a VSE frame range turns into
a source range by plain arithmetic. Read with `hold_lead_in` (Blender's jobs), a movie whose
stream starts before its first picture (mpeg4 with B-frames in AVI) keeps its lead-in, as
its strips show it (`MediaInfo.lead_in`).
Frames travel as HxWx3 RGB (HxWx4 RGBA when the source has alpha) numpy arrays, uint8 for
8-bit sources and uint16 for deeper ones. Movies stand as players show them: a display
matrix's rotation and mirror (phone footage, a mirrored selfie) are applied on reading, so
sizes are display sizes; `upright="rotation"` applies its rotation only, as Blender's movie
strips since 4.4 show them (they ignore the mirror), and `upright=False` nothing, as older
Blenders' do. Images are read as stored, as Blender's image strips show them: a JPEG's EXIF
orientation is not applied. HDR movies (PQ, HLG) are tone-mapped to SDR BT.709 on reading
(`tonemap.py`): frames are always SDR BT.709.

Movies go through PyAV; images through OpenCV (decoded from bytes, so non-ASCII paths work
on Windows too). Writing lives in `writers.py`.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import stat
import struct
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, NamedTuple

import av
import cv2
import numpy as np

from .errors import RestyleError, setting
from .fields import rate_refusal
from .formats import IMAGE_SUFFIXES, frame_stem
from .strip_frames import frame_span
from .tonemap import (
    DEFAULT_PEAK_NITS,
    LUMA_WEIGHTS,
    SDR_WHITE_NITS,
    ToneMap,
    upsampled_chroma,
    ycbcr_to_rgb,
)
from .words import count

DEFAULT_IMAGE_FPS = Fraction(24)
# The rates written N/1001 (24000/1001, as Blender, ffmpeg and cameras write them), the one
# table; a decimal spelling within NTSC_TOLERANCE (23.976, 29.97, 59.94: 0.999 of a whole
# rate, 1e-6 from N/1001) is taken for one, so fps=23.976 is 24000/1001, not 2997/125
NTSC_RATES = tuple(Fraction(whole * 1000, 1001) for whole in (24, 30, 48, 60, 120))
NTSC_TOLERANCE = Fraction(2, 10**6)  # relative; 23.98 (1.7e-4 off) stays 1199/50

SourceLike = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
# How a movie's display matrix is applied: True all of it (players), "rotation" its rotation
# only (Blender 4.4 and later), False none of it (as stored; Blender before 4.4).
Upright = bool | Literal["rotation"]
FpsLike = Fraction | int | float | str


@dataclass(frozen=True)
class MediaInfo:
    """What a source holds; pass it back to `decode_range` to skip probing again.

    `path` is the movie or image file, the image folder, or the sequence pattern; `files`
    lists the images in frame order (empty for movies). `bit_depth` is the source's bits
    per channel: 8 decodes to uint8, anything deeper to uint16.
    `start_pts` (movies) is the first frame's timestamp in the stream's `time_base`, the
    origin of the frame index; None when the timestamps are unusable and frames are counted
    in decode order instead. `quarter_turns` (movies) is the counter-clockwise rotation,
    in quarter turns, that reading applies to stand the stored pictures upright (their
    display matrix; `width` and `height` are after it; 0 when probed `upright=False`);
    `mirrored` (movies) says reading mirrors them left to right before turning them (a
    display matrix that flips, probed `upright=True`).
    `pixel_aspect` is the width of a pixel over its height as displayed (anamorphic or
    PAL/NTSC video: not 1). `timecode` (movies) is the first frame's SMPTE timecode as
    tagged (`01:00:00:00`, `;` before the frames when drop-frame), None when untagged.
    `transfer` (movies) names an HDR transfer the movie is tagged with (`HDR_TRANSFERS`),
    None for SDR or untagged; `tone_map` is how reading turns such a movie into SDR BT.709.
    `lead_in` (movies probed `hold_lead_in=True`, as Blender shows them) is how many indices
    come before the first picture, from the stream's start time: they show the first
    picture, and index i >= lead_in shows picture i - lead_in; 0 elsewhere.
    `first_picture_time` (movies) is when the first picture shows, in seconds on the
    source's clock (its sound's), as Blender times it (`_lead_in`: in AVI its decode
    timestamp, which PyAV's pts need not be); index 0 shows then, or `lead_in` / fps
    before. None when unknown.
    `timed_by_dts` (movies) says frames are timed by their decode timestamps, not their
    pts: H.264 in AVI, whose pts PyAV's FFmpeg makes up and Blender's does not (it times
    them by the decode timestamps, `_avi_first_picture`); `start_pts` is then the first
    picture's time on that clock, and the first picture's earlier decode time counts as it.
    `missing` (numbered image sequences) lists the frames whose file is absent: frames are
    identified by their number (frame i is the first number + i), so `files` spans the gap
    with the absent files' names, and a range over one is refused (`check_no_gap`).
    `first_number` (numbered image sequences: files whose frame i is numbered
    `first_number` + i, plate.1001.png ...) is frame 0's number, `number_digits` the digits
    it is written with (4 for 1001 and 0042); None and 0 for movies, stills and files not so
    numbered. Frames are still indexed from 0; output frames are named by these numbers.
    """

    path: Path
    kind: Literal["movie", "images", "image"]
    width: int
    height: int
    frame_count: int
    fps: Fraction
    has_alpha: bool
    bit_depth: int
    files: tuple[Path, ...] = ()
    start_pts: int | None = None
    time_base: Fraction | None = None
    declared_frames: int | None = None  # movies: what the container says it holds
    quarter_turns: int = 0
    pixel_aspect: Fraction = Fraction(1)
    timecode: str | None = None
    transfer: str | None = None
    mirrored: bool = False
    tone_map: ToneMap | None = None
    lead_in: int = 0
    missing: tuple[int, ...] = ()
    first_picture_time: Fraction | None = None
    timed_by_dts: bool = False
    first_number: int | None = None
    number_digits: int = 0

    def timecode_at(self, index: int) -> str | None:
        """The timecode of frame `index` (a movie written from it starts there)."""
        return None if self.timecode is None else shift_timecode(self.timecode, index, self.fps)

    @property
    def truncated(self) -> bool:
        """The container promises clearly more frames than decode (cut short or damaged)."""
        return self.declared_frames is not None and self.declared_frames - self.frame_count >= 2

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def channels(self) -> int:
        return 4 if self.has_alpha else 3

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint16 if self.bit_depth > 8 else np.uint8)


# ---------------------------------------------------------------------------------------
# Probing


def probe(
    source: SourceLike,
    *,
    fps: FpsLike | None = None,
    upright: Upright = True,
    hold_lead_in: bool = False,
) -> MediaInfo:
    """Describe a movie file, an image, an image folder, a sequence pattern or a file list.

    Patterns use printf style (`shot/frame_%04d.png`) or hashes (`frame_####.png`); a path
    that exists is never read as a pattern. `fps` sets the rate of images (default 24);
    movies always report their own rate. `upright` False keeps a movie's pictures as stored,
    its display matrix unapplied (`quarter_turns` 0), for a front end that shows them so;
    "rotation" applies the matrix's rotation but not its mirror, as Blender 4.4+ shows it.
    `hold_lead_in` True reads a movie whose stream starts before its first picture with its
    lead-in (`MediaInfo.lead_in`), as Blender's movie strips show it
    (compat.MOVIE_STRIPS_HOLD_LEAD_IN); False (players, the command line) starts at the
    first picture.
    """
    _check_upright(upright)
    rate = _parse_fps(fps) if fps is not None else None
    if isinstance(source, list | tuple):
        return _probe_file_list([Path(p) for p in source], rate)
    path = Path(os.fspath(source))
    if path.is_dir():
        return _probe_folder(path, rate)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return _probe_images(path, (path,), (), "image", rate)
        return _probe_movie(path, upright, hold_lead_in)
    if path.exists():  # /dev/null, a FIFO: there, but neither file nor folder
        raise RestyleError(f"{path} is {_special_kind(path)}, not a regular file: give {MEDIA}")
    if _sequence_pattern(path.name) is not None:
        return _probe_pattern(path, rate)
    raise RestyleError(f"{path} does not exist")


# What a source may be (probe), as the command line's INPUT is said
MEDIA = "a movie, a picture, a folder or a frame pattern"
# What a path that is neither a file nor a folder is, by its stat type
SPECIAL_KINDS = {
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISFIFO: "a named pipe (FIFO)",
    stat.S_ISSOCK: "a socket",
}


def _special_kind(path: Path) -> str:
    mode = path.stat().st_mode
    return next((kind for test, kind in SPECIAL_KINDS.items() if test(mode)), "a special file")


def _check_upright(upright: object) -> None:
    """Only `Upright`'s three values: any other text is truthy, and a typo such as
    "rotate" would read a mirrored movie mirrored without a word."""
    if not (isinstance(upright, bool) or upright == "rotation"):
        raise RestyleError(f"upright must be True, False or 'rotation', got {upright!r}")


def _parse_fps(fps: FpsLike, given: bool = True) -> Fraction:
    """A rate as a Fraction; one the user ``given`` outside fields.FPS_RANGE in the jobs' words
    (fields.rate_refusal: 'fps=0 is out of range 1..1000 frames/s'; inf was an OverflowError
    here). A movie's own rate (a writer's, not ``given``) is refused only at 0 or below."""
    if isinstance(fps, numbers.Real) and not isinstance(fps, numbers.Rational):
        fps = float(fps)  # numpy's float32 too (Fraction takes no float32)
    refusal = rate_refusal if given else _unwritable_rate
    if isinstance(fps, float) and (refused := refusal(fps)):  # before rounding: 1e-6 not 0
        raise RestyleError(refused)
    try:
        rate = (
            Fraction(fps) if not isinstance(fps, float) else Fraction(fps).limit_denominator(1001)
        )
    except (ValueError, ZeroDivisionError, TypeError):
        raise RestyleError(f"frame rate {fps!r} is not a number") from None
    if refused := refusal(rate):  # '0', -24, Fraction(0)
        raise RestyleError(refused)
    if isinstance(fps, float) or (isinstance(fps, str) and "/" not in fps):  # a decimal
        return next((n for n in NTSC_RATES if abs(rate / n - 1) <= NTSC_TOLERANCE), rate)
    return rate


def _unwritable_rate(rate: numbers.Real) -> str | None:
    """Why a movie cannot be written at ``rate``: 0, negative, nan and inf (a source movie's
    rate outside fields.FPS_RANGE is kept: its frames are what they are)."""
    return None if 0 < rate < math.inf else f"frame rate {rate} is not above 0"


def _natural_key(name: str) -> list[int | str]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _probe_folder(folder: Path, rate: Fraction | None) -> MediaInfo:
    try:
        names = [
            entry.name
            for entry in os.scandir(folder)
            if entry.is_file()
            and not entry.name.startswith(".")
            and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES
        ]
    except OSError as exc:
        raise RestyleError(f"cannot read folder {folder}: {exc.strerror}") from None
    if not names:
        raise RestyleError(f"folder {folder} holds no images")
    files = tuple(folder / name for name in sorted(names, key=_natural_key))
    _check_one_sequence(files)
    span, missing = _span_gaps(files)
    return _probe_images(folder, span, missing, "images", rate, _numbering(span))


_DIGITS = re.compile(r"\d+")


def _frame_field(names: Sequence[str]) -> tuple[str, str] | None:
    """(prefix, suffix) around the frame number in a numbered sequence's names: the one rule
    for which digits number the frames, read alike by the sequence check, a gap's span and
    the output's names (``_numbering``). The frame number is the run of digits whose rest of
    the name (its text and every other number) the most names share, the later run on a
    tie: plate.1001.png's 1001, shot_0001_v2.png's 0001 (v2 is in every name), a name's
    last number where only that varies. None when no name holds a digit."""
    counts: Counter[tuple[str, str]] = Counter()
    for name in names:
        for m in _DIGITS.finditer(name):
            counts[(name[: m.start()], name[m.end() :])] += 1
    if not counts:
        return None
    return max(counts, key=lambda field: (counts[field], -len(_DIGITS.findall(field[1]))))


def _field_digits(names: Sequence[str], field: tuple[str, str]) -> list[str | None]:
    """Each name's digits in ``field`` (``_frame_field``'s), None for a name without it."""
    number = re.compile(re.escape(field[0]) + r"(\d+)" + re.escape(field[1]) + r"\Z")
    return [m.group(1) if (m := number.match(name)) else None for name in names]


def _check_one_sequence(files: Sequence[Path]) -> None:
    """A folder holding a numbered sequence holds nothing else: an image beside it (a cover,
    a second sequence, another format) would be read as a frame and shift the frames after
    it, so it is refused, naming the pattern that reads the sequence alone."""
    names = [p.name for p in files]
    field = _frame_field(names)
    found = _field_digits(names, field) if field else []
    if sum(d is not None for d in found) < 2:
        return  # no sequence: stills in name order
    odd = [name for name, digits in zip(names, found, strict=True) if digits is None]
    if not odd:
        return
    prefix, suffix = field  # type: ignore[misc]
    digits = next(d for d in found if d is not None)
    width = f"%0{len(digits)}d" if digits.startswith("0") else "%d"
    more = f" and {len(odd) - 3} more" if len(odd) > 3 else ""
    raise RestyleError(
        f"{files[0].parent} holds {', '.join(odd[:3])}{more} beside the sequence: give the "
        f"sequence as a pattern ({files[0].parent / f'{prefix}{width}{suffix}'}) or move them out"
    )


# A gap wider than this many times the frames present (and than _GAP_FLOOR) is not
# spanned: its absent files' names would be made one by one (two files numbered by
# millisecond timestamps: millions of names), so it is refused as it always was.
_GAP_FACTOR = 10
_GAP_FLOOR = 1000


def _span_gaps(
    files: Sequence[Path], field: tuple[str, str] | None = None
) -> tuple[tuple[Path, ...], tuple[int, ...]]:
    """A numbered sequence's files from its first number to its last, the absent ones by
    the name they would have, and the frames (0-based) that are absent. Frames are
    identified by their number (in ``field``, default ``_frame_field``'s): a missing one
    must not shift every later frame, and two files with one number (frame_001.png beside
    frame_0001.png) are refused."""
    names = [p.name for p in files]
    field = field or _frame_field(names)
    if len(files) < 2 or field is None:
        return tuple(files), ()
    found = _field_digits(names, field)
    if any(d is None for d in found):
        return tuple(files), ()  # not one numbered sequence
    by_number: dict[int, Path] = {}
    for digits, p in zip(found, files, strict=True):
        n = int(digits)  # type: ignore[arg-type]
        if n in by_number:
            raise RestyleError(
                f"two files in {p.parent} claim frame {n}: {by_number[n].name} and {p.name}; "
                "frames are identified by their number, so remove or renumber one"
            )
        by_number[n] = p
    first, last = min(by_number), max(by_number)
    absent = last - first + 1 - len(files)
    if not absent:
        return tuple(files), ()
    prefix, suffix = field
    width = len(found[0]) if found[0].startswith("0") else 0  # type: ignore[union-attr]
    folder = files[0].parent
    if absent > max(_GAP_FACTOR * len(files), _GAP_FLOOR):
        numbers = sorted(by_number)
        names: list[str] = []
        for a, b in zip(numbers, numbers[1:], strict=False):  # the first five absent
            names += [f"{prefix}{n:0{width}d}{suffix}" for n in range(a + 1, min(b, a + 6))]
            if len(names) >= 5:
                break
        raise RestyleError(
            f"{count(absent, 'frame')} missing from the sequence in {folder}: "
            f"{', '.join(names[:5])} and {absent - 5} more; frames are identified by their "
            "number, so fill the gap or move the parts on either side into folders of their own"
        )
    span = tuple(
        by_number.get(n) or folder / f"{prefix}{n:0{width}d}{suffix}"
        for n in range(first, last + 1)
    )
    return span, tuple(n - first for n in range(first, last + 1) if n not in by_number)


def counted_from_0(info: MediaInfo) -> str | None:
    """The hint a refused frame number gets where a sequence's files are numbered otherwise
    than its frames ('frames count from 0: plate.1001.png is frame 0'), for a range
    (``StyleJob``) and a keyframe (training) alike; None for other sources."""
    if not getattr(info, "first_number", None) or not getattr(info, "files", None):
        return None
    return f"frames count from 0: {Path(info.files[0]).name} is frame 0"


def check_no_gap(info: MediaInfo, start: int, end: int) -> None:
    """Refuse frames ``start..end`` of a sequence if a file among them is missing, naming
    the missing files and the whole parts of the range that can be styled instead (frame
    indices: where the files are numbered otherwise, ``counted_from_0``'s hint says so)."""
    gap = [i for i in getattr(info, "missing", ()) if start <= i <= end]
    if not gap:
        return
    names = [info.files[i].name for i in gap[:5]]
    more = f" and {len(gap) - 5} more" if len(gap) > 5 else ""
    absent = set(gap)
    whole: list[tuple[int, int]] = []
    for i in range(start, end + 1):
        if i in absent:
            continue
        if whole and whole[-1][1] == i - 1:
            whole[-1] = (whole[-1][0], i)
        else:
            whole.append((i, i))
    parts = ", ".join(f"{a}..{b}" if a < b else f"{a}" for a, b in whole[:4])
    parts += ", ..." if len(whole) > 4 else ""
    one = whole == [(whole[0][0], whole[0][0])] if whole else False  # 'frame 3', not '3..3'
    are = f"frame {parts} is whole: style it" if one else f"frames {parts} are whole: style them"
    instead = f"; {are} with {setting('start')} and {setting('end')}" if whole else ""
    if whole and (hint := counted_from_0(info)):  # plate.1001..: frame 2 is plate.1003
        instead += f" ({hint})"
    raise RestyleError(
        f"{count(len(gap), 'frame')} missing from the sequence in {info.files[0].parent}: "
        f"{', '.join(names)}{more}; frames are identified by their number, so fill the gap"
        f"{instead}"
    )


_PRINTF_FIELD = re.compile(r"%(0?)(\d*)d")
_HASH_FIELD = re.compile(r"#+")


def _sequence_pattern(name: str) -> tuple[str, str, int, bool] | None:
    """(prefix, suffix, width, zero-padded) of the frame-number field in a file name."""
    match = _PRINTF_FIELD.search(name)
    if match:
        width = int(match.group(2) or 0)
        return name[: match.start()], name[match.end() :], width, bool(match.group(1))
    match = _HASH_FIELD.search(name)
    if match:
        return name[: match.start()], name[match.end() :], len(match.group(0)), True
    return None


def is_pattern(path: str | os.PathLike[str]) -> bool:
    """A source ``probe`` reads as a frame pattern: no such file, a frame field in its name."""
    return not Path(path).exists() and _sequence_pattern(Path(path).name) is not None


def _probe_pattern(path: Path, rate: Fraction | None) -> MediaInfo:
    prefix, suffix, width, zero_pad = _sequence_pattern(path.name)  # type: ignore[misc]
    folder = path.parent
    if not folder.is_dir():
        raise RestyleError(f"folder {folder} does not exist")
    number = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix) + r"\Z")
    numbered: list[tuple[int, Path]] = []
    for entry in os.scandir(folder):
        match = number.match(entry.name)
        if not match or not entry.is_file():
            continue
        digits = match.group(1)
        n = int(digits)
        expected = f"{n:0{width}d}" if zero_pad else f"{n:{width}d}".strip()
        if digits == expected:
            numbered.append((n, folder / entry.name))
    if not numbered:
        raise RestyleError(f"no files match {path}")
    files = tuple(p for _, p in sorted(numbered))
    span, missing = _span_gaps(files, (prefix, suffix))
    numbering = _numbering(span, (prefix, suffix))
    return _probe_images(path, span, missing, "images", rate, numbering)


def _probe_file_list(paths: list[Path], rate: Fraction | None) -> MediaInfo:
    if not paths:
        raise RestyleError("the image list is empty")
    # A picture missing is a missing frame, as a sequence's gap (``check_no_gap``): Blender
    # strips give every picture, trimmed-away ones too, and read only those they show.
    missing = tuple(i for i, p in enumerate(paths) if not p.is_file())
    if len(missing) == len(paths):
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise RestyleError(f"image {paths[missing[0]]} does not exist{more}")
    kind: Literal["images", "image"] = "images" if len(paths) > 1 else "image"
    numbering = _numbering(paths) if kind == "images" else (None, 0)  # a still: from 0
    return _probe_images(paths[0].parent, tuple(paths), missing, kind, rate, numbering)


def _numbering(
    files: Sequence[Path], field: tuple[str, str] | None = None
) -> tuple[int | None, int]:
    """(first number, its digits) of files whose frame i is numbered first + i; (None, 0)
    for files not so numbered (their output is named from 0). Each name's number is read
    from ``field`` (a pattern's; default ``_frame_field``'s, the rule the sequence check
    uses). One rule for every source: frame i keeps its number when the file that is frame
    i is numbered first + i. A folder or pattern spans a gap (its absent files are missing
    frames, ``_span_gaps``), so its frames always keep their numbers; a file list's frame i
    is its i-th file, so a list that skips a number, or is out of order, is named from 0,
    said by ``source_warnings``."""
    names = [p.name for p in files]
    field = field or _frame_field(names)
    found = _field_digits(names, field) if field else []
    if not found or any(d is None for d in found):
        return None, 0
    first = int(found[0])  # type: ignore[arg-type]
    if any(int(d) != first + i for i, d in enumerate(found)):  # type: ignore[arg-type]
        return None, 0
    return first, len(found[0])  # type: ignore[arg-type]


def _numbers_not_kept(info: MediaInfo) -> str | None:
    """Why images whose names are all numbered alike are named from 0 (a file list that
    skips a number or is out of order: ``_numbering``), None where they are not."""
    if info.kind != "images" or info.first_number is not None or len(info.files) < 2:
        return None
    names = [p.name for p in info.files]
    field = _frame_field(names)
    found = _field_digits(names, field) if field else [None]
    if any(d is None for d in found):
        return None  # not numbered alike: stills in name order
    numbers = [int(d) for d in found]  # type: ignore[arg-type]
    i = next((i for i in range(1, len(numbers)) if numbers[i] != numbers[i - 1] + 1), 0)
    if not i:
        return None
    return (
        f"{names[i]} follows {names[i - 1]} in the list of images, so the frames are named "
        f"from 0 ({frame_stem(0)}), not by the source's numbers; a folder or pattern keeps "
        "them (a skipped number is then a missing frame)"
    )


def _probe_images(
    path: Path,
    files: tuple[Path, ...],
    missing: tuple[int, ...],
    kind: Literal["images", "image"],
    rate: Fraction | None,
    numbering: tuple[int | None, int] = (None, 0),
) -> MediaInfo:
    absent = set(missing)
    present = [f for i, f in enumerate(files) if i not in absent]
    first = _read_image(present[0])  # a list's first picture may be missing (its gap)
    height, width = first.shape[:2]
    channels = 1 if first.ndim == 2 else first.shape[2]
    present = present[1:]
    later = _image_headers(present, (width, height))
    return MediaInfo(
        path=path,
        kind=kind,
        width=width,
        height=height,
        frame_count=len(files),
        fps=rate or DEFAULT_IMAGE_FPS,
        has_alpha=channels in (2, 4) or any(h.alpha for h in later),
        bit_depth=16 if first.dtype == np.uint16 or any(h.deep for h in later) else 8,
        files=files,
        missing=missing,
        first_number=numbering[0],
        number_digits=numbering[1],
    )


_PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"  # signature, then the header chunk
_JPEG_START = b"\xff\xd8"
_JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF0..SOF15


class _Header(NamedTuple):
    size: tuple[int, int]
    alpha: bool  # PNG grey + alpha, RGBA, or RGB or palette with a tRNS chunk
    deep: bool  # PNG 16 bits a sample


def _image_header(path: Path) -> _Header | None:
    """A PNG's or JPEG's layout from its header, without decoding; None for other files."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(26)
            if head.startswith(_JPEG_START):
                stream.seek(2)
                return _jpeg_header(stream)
            if len(head) < 26 or not head.startswith(_PNG_HEAD):
                return None
            width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
            alpha = colour in (4, 6) or (colour in (2, 3) and _png_has_trns(stream))
    except (OSError, struct.error):
        return None  # said when the frame is read
    return _Header((width, height), alpha, depth == 16)


def _png_has_trns(stream) -> bool:
    """Whether a PNG's chunks before its pixels (IDAT) hold a transparency chunk (tRNS):
    OpenCV then reads an RGB or palette frame with alpha (a grey one without)."""
    stream.seek(33)  # signature, IHDR (length, type, 13 bytes, CRC)
    while len(header := stream.read(8)) == 8:
        length, kind = struct.unpack(">I4s", header)
        if kind in (b"tRNS", b"IDAT"):
            return kind == b"tRNS"
        stream.seek(length + 4, os.SEEK_CUR)  # its data and CRC
    return False


def _jpeg_header(stream) -> _Header | None:
    """Walk a JPEG's segments (EXIF, ICC...) up to its frame header, which holds the size."""
    while True:
        marker = stream.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        (length,) = struct.unpack(">H", stream.read(2))
        if marker[1] in _JPEG_FRAME_MARKERS:
            height, width = struct.unpack(">xHH", stream.read(5))
            return _Header((width, height), False, False)
        stream.seek(length - 2, os.SEEK_CUR)


def _image_headers(files: Sequence[Path], size: tuple[int, int]) -> list[_Header]:
    """The headers of a sequence's PNGs and JPEGs after its first image, read before any
    work: one of another size is refused here (it would stop the run part-way, its frames
    half made), and alpha or 16 bits in any PNG frame is the sequence's (an optimiser drops
    the alpha of an opaque frame, the first one's would have decided). Other formats are
    checked, and converted to the first image's layout, as each frame is read."""
    headers = []
    for path in files:
        header = _image_header(path)
        if header is not None and header.size != size:
            raise RestyleError(_other_size(path, header.size, size))
        headers += [header] if header is not None else []
    return headers


def _other_size(path: Path, found: tuple[int, int], size: tuple[int, int]) -> str:
    return (
        f"image {path} is {found[0]}x{found[1]}, but the sequence is {size[0]}x{size[1]}: "
        "give every frame one size"
    )


_PNG_END = b"IEND"
_PNG_END_SEARCH = 4096  # bytes from the end: a few writers append a little after IEND


def _png_cut_short(data: np.ndarray) -> bool:
    """A PNG with no IEND chunk at its end (a copy cut off in transfer): OpenCV's libpng
    printed 'libpng error: PNG input buffer is incomplete' to stderr, then read nothing."""
    head = _PNG_HEAD[:8]
    if data.size < len(head) or data[: len(head)].tobytes() != head:
        return False
    return _PNG_END not in data[-_PNG_END_SEARCH:].tobytes()


def _read_image(path: Path) -> np.ndarray:
    """The image as OpenCV stores it (BGR/BGRA/gray), uint8 or uint16."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise RestyleError(f"cannot read image {path}: {exc.strerror}") from None
    if _png_cut_short(data):  # said before libpng prints its own line on stderr
        raise RestyleError(
            f"image {path} is cut short (its PNG data ends before the image's end): copy or "
            "render it again"
        )
    try:
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    except cv2.error:  # a codec left out of OpenCV's wheels (OpenEXR) raises, with a traceback
        raise RestyleError(
            f"image {path} is in a format this OpenCV cannot read; convert it to 16-bit PNG or TIFF"
        ) from None
    if image is None:
        raise RestyleError(f"image {path} is corrupt or in a format OpenCV cannot read")
    if image.dtype not in (np.uint8, np.uint16):
        raise RestyleError(
            f"image {path} holds {image.dtype} samples; only 8- and 16-bit images are "
            "supported (convert float EXR/HDR to 16-bit PNG or TIFF)"
        )
    return image


def _open_movie(path: Path) -> tuple[av.container.InputContainer, av.VideoStream]:
    try:
        container = av.open(str(path), "r")
    except FileNotFoundError:
        raise RestyleError(f"{path} does not exist") from None
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise RestyleError(f"{path} is not a readable movie ({_reason(exc)})") from None
    streams = [
        s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic
    ]
    if not streams or streams[0].codec_context is None:
        container.close()
        raise RestyleError(f"{path} has no video stream")
    stream = streams[0]
    # Slice threads only: with frame threads a damaged movie decoded differently from run to
    # run (which frames were concealed, their pixels, and the frame an error was reported
    # with), so reruns and resumes could differ. Clean movies decode the same either way.
    stream.codec_context.thread_type = "SLICE"
    return container, stream


def _reason(exc: BaseException) -> str:
    """FFmpeg's words for an error, without PyAV's call details."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _probe_movie(path: Path, upright: Upright = True, hold_lead_in: bool = False) -> MediaInfo:
    container, stream = _open_movie(path)
    try:
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not fps or fps <= 0:
            raise RestyleError(f"{path} has no frame rate")
        fps = Fraction(fps)
        codec = stream.codec_context
        fmt = codec.format
        if fmt is None or not codec.width or not codec.height:
            raise RestyleError(f"{path} has a video stream PyAV cannot decode")
        timeline = _movie_timeline(path, container, stream, fps)
        start_pts, frame_count, first, first_pts = timeline[:4]
        turns, mirrored = _orientation(_display_matrix(first), upright)
        width, height = codec.width, codec.height
        aspect = Fraction(stream.sample_aspect_ratio or 1)
        if turns % 2:  # standing upright swaps the sides, and a pixel's
            width, height, aspect = height, width, 1 / aspect
        lead_in = _lead_in(stream, first_pts, fps) if hold_lead_in else 0
        if lead_in and container.format.name == "avi" and stream.duration:
            frame_count = _avi_strip_frames(frame_count, lead_in, stream, fps)
        declared = _declared_frames(container, stream, fps)
        if declared and not hold_lead_in and container.format.name == "avi":
            # read from the first picture's time, and the last `delay` pictures, which
            # carry no decode timestamp, counted on after the last chunk's
            declared += timeline.delay - _lead_in(stream, first_pts, fps)
        return MediaInfo(
            path=path,
            kind="movie",
            width=width,
            height=height,
            frame_count=frame_count,
            fps=fps,
            has_alpha=any(c.is_alpha for c in fmt.components),
            bit_depth=max(c.bits for c in fmt.components),
            start_pts=start_pts,
            time_base=Fraction(stream.time_base),
            declared_frames=declared,
            quarter_turns=turns,
            pixel_aspect=aspect,
            timecode=_tagged_timecode(container, stream),
            transfer=HDR_TRANSFERS.get(codec.color_trc),
            mirrored=mirrored,
            tone_map=_tone_map(codec, first),
            lead_in=lead_in,
            first_picture_time=(
                None if first_pts is None else first_pts * Fraction(stream.time_base)
            ),
            timed_by_dts=timeline.timed_by_dts,
        )
    finally:
        container.close()


# FFmpeg's AVColorTransferCharacteristic values of HDR video, in words a user recognises.
HDR_TRANSFERS = {16: "PQ (SMPTE ST 2084)", 18: "HLG (ARIB STD-B67)"}


def _tone_map(codec: av.VideoCodecContext, first: av.VideoFrame | None) -> ToneMap | None:
    """How reading turns an HDR movie into SDR BT.709; None for SDR. A PQ master's peak is
    its tagged MaxCLL, else its mastering display's peak, else 1000 nits."""
    if codec.color_trc not in HDR_TRANSFERS:
        return None
    peak = _tagged_peak_nits(first) or DEFAULT_PEAK_NITS
    return ToneMap(
        codec.color_trc,
        wide_gamut=codec.color_primaries != _AVCOL_PRI_BT709,
        peak_nits=min(max(peak, SDR_WHITE_NITS), 10000.0),
    )


_AVCOL_PRI_BT709 = 1  # HDR in BT.709 primaries (rare) skips the gamut conversion


def _tagged_peak_nits(frame: av.VideoFrame | None) -> float | None:
    """MaxCLL (content light level), else the mastering display's peak luminance."""
    from av.sidedata.sidedata import Type

    found: dict = {} if frame is None else {d.type: bytes(d) for d in frame.side_data}
    light = found.get(Type.CONTENT_LIGHT_LEVEL)
    if light is not None and len(light) >= 4 and struct.unpack_from("<I", light)[0] > 0:
        return float(struct.unpack_from("<I", light)[0])
    mastering = found.get(Type.MASTERING_DISPLAY_METADATA)
    if mastering is not None and len(mastering) >= 88:  # AVMasteringDisplayMetadata
        number, denominator, _, has_luminance = struct.unpack_from("<2i2i", mastering, 72)
        if has_luminance and denominator > 0 and number > 0:
            return number / denominator
    return None


def source_warnings(info: MediaInfo) -> list[str]:
    """What a run should say before its first frame: an HDR source is tone-mapped to SDR
    (Restyle styles and writes SDR BT.709), which changes its look on an HDR display; a list
    of numbered images is named from 0, not by its numbers (``_numbers_not_kept``)."""
    unkept = _numbers_not_kept(info)
    if unkept:
        return [unkept]
    if info.transfer is None or info.tone_map is None:
        return []
    peak = info.tone_map.peak_nits if info.transfer.startswith("PQ") else DEFAULT_PEAK_NITS
    return [
        f"{info.path.name} is HDR, {info.transfer}: tone-mapped to SDR BT.709 on reading "
        f"(ITU-R BT.2390 curve, {peak:.0f}-nit peak to {SDR_WHITE_NITS:.0f}-nit SDR white); "
        "the output is SDR"
    ]


_TIMECODE = re.compile(r"\A(\d{2}):(\d{2}):(\d{2})([:;])(\d{2})\Z")


def _tagged_timecode(container: av.container.InputContainer, stream: av.VideoStream) -> str | None:
    """The video's start timecode: a QuickTime/MP4 timecode track's (on the video stream),
    Matroska's TIMECODE tag, or the container's (MXF)."""
    for tags in (stream.metadata, container.metadata):
        for key, value in tags.items():
            if key.lower() == "timecode" and _TIMECODE.match(value.strip()):
                return value.strip()
    return None


def shift_timecode(timecode: str, frames: int, fps: Fraction) -> str:
    """SMPTE `timecode` moved on by `frames` at `fps`, wrapping at 24 hours. Drop-frame
    (`;`, 29.97 and 59.94 fps) skips the first 2 (4) frame numbers of every minute but
    each tenth, as cameras count."""
    hours, minutes, seconds, mark, number = _TIMECODE.match(timecode).groups()  # type: ignore[union-attr]
    nominal = max(1, round(fps))
    drop = nominal // 15 if mark == ";" and nominal % 30 == 0 else 0  # only 29.97, 59.94
    all_minutes = 60 * int(hours) + int(minutes)
    count = (60 * all_minutes + int(seconds)) * nominal + int(number)
    count -= drop * (all_minutes - all_minutes // 10)
    count = (count + frames) % (24 * 3600 * nominal - drop * 24 * 54)
    if drop:  # back to frame numbers: put the skipped ones in again
        tens, rest = divmod(count, 600 * nominal - 9 * drop)
        count += 9 * drop * tens + (
            drop * ((rest - drop) // (60 * nominal - drop)) if rest > drop else 0
        )
    seconds_total, number = divmod(count, nominal)
    minutes_total, seconds = divmod(seconds_total, 60)
    return f"{minutes_total // 60:02d}:{minutes_total % 60:02d}:{seconds:02d}{mark}{number:02d}"


def _declared_frames(
    container: av.container.InputContainer, stream: av.VideoStream, fps: Fraction
) -> int | None:
    """The frame count the container states (its index, else the video's duration)."""
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base:
        return round(stream.duration * Fraction(stream.time_base) * fps)
    if container.duration and len(container.streams) == 1:  # no audio to outlast the video
        return round(Fraction(container.duration, av.time_base) * fps)
    return None


def container_frames(path: str | Path) -> int | None:
    """Frames a movie's container spans at its video's rate, sound included, when Blender
    sizes the movie's strip by them (None: it sizes it by the video stream, or unknown).

    Blender takes a movie's length from its video stream when the stream declares one (a
    duration or a frame count: MP4, MOV, AVI, MPEG-TS), else from the container. Only the
    latter (Matroska, WebM, FLV) loads a file whose sound outlasts its pictures longer than
    the frames it decodes, and holds the last picture there; an MP4's strip ends with its
    pictures whatever its sound (measured on bpy 5.0.1: 10 pictures and 2 s of sound load
    as 10 frames from MP4, MOV, AVI, MPEG-TS, as 50 from Matroska, WebM, FLV)."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if stream.duration is not None or stream.frames:
                return None
            if not container.duration or not stream.average_rate:
                return None
            return round(Fraction(container.duration, av.time_base) * stream.average_rate)
    except (av.error.FFmpegError, IndexError, OSError):
        return None


_HEAD_FRAMES = 8  # enough to see B-frame reordering break timestamps (AVI, raw streams)


class _Timeline(NamedTuple):
    start_pts: int | None  # the origin of the frame index; None: count in decode order
    frame_count: int
    first: av.VideoFrame  # its side data tells how to show it
    first_pts: int | None  # the first picture's time as Blender reads it
    timed_by_dts: bool = False  # frames timed by their decode timestamps (MediaInfo's)
    delay: int = 0  # AVI: the decoder's reordering delay, in pictures


def _movie_timeline(
    path: Path, container: av.container.InputContainer, stream: av.VideoStream, fps: Fraction
) -> _Timeline:
    """(first frame's pts, exact frame count, first frame, the first picture's time as
    Blender reads it: the earliest pts of the first frames, in AVI by the decode timestamps
    (`_avi_first_picture`), ...), the first two in the terms `decode_range` uses.

    Container frame counts are missing (Matroska, MPEG-TS) or can disagree with what the
    decoder delivers, so the count comes from the last decodable frame: seek to the last
    keyframe and decode to the end, which costs one GOP whatever the movie's length.

    Timestamps out of order (mpeg4 with packed B-frames in AVI, OpenCV's Megamind.avi:
    1, 2, 3, 5, 4, 6, 8, 7, ...) count frames in decode order, which is the pictures'
    order: FFmpeg's decoder puts them in order and pairs some with the wrong timestamp
    (frame to frame change 2.9 in decode order, 3.8 in timestamp order), and players'
    best-effort timestamps fall back on the decode timestamps, in order, too.
    """
    head: list[int | None] = []
    decoded: list[int | None] = []  # the head frames' decode timestamps
    first = None
    try:
        for frame in container.decode(stream):
            first = first or frame
            head.append(frame.pts)
            decoded.append(frame.dts)
            if len(head) >= _HEAD_FRAMES:
                break
    except av.FFmpegError as exc:
        if not head:
            raise RestyleError(f"{path} is corrupt ({_reason(exc)})") from None
    if first is None:
        raise RestyleError(f"{path} holds no decodable video frames")
    stamped = [p for p in head if p is not None]
    earliest = min(stamped) if stamped else None
    time_base = Fraction(stream.time_base)
    delay, by_dts = 0, False
    if container.format.name == "avi" and first.dts is not None:
        chunks = _avi_first_chunks(path)
        earliest = decoded[0]
        delay = chunks.index(earliest) if earliest in chunks else 0
        by_dts = _times_by_dts(stream, decoded)
        if by_dts:  # its stamped head frames, the first at the first picture's time
            earliest = _avi_first_picture(decoded, chunks, time_base, fps)
            stamped = head = [earliest, *(d for d in decoded[1:] if d is not None)]
    if len(stamped) < len(head) or any(b <= a for a, b in zip(head, head[1:], strict=False)):
        return _Timeline(None, _count_packets(path), first, earliest, delay=delay)

    start_pts: int = head[0]  # type: ignore[assignment]
    last_pts, after = _last_pts(path, container, stream, start_pts, time_base, by_dts)
    if last_pts is None:
        raise RestyleError(f"{path}: cannot find its last frame (corrupt or truncated)")
    count = _pts_to_index(last_pts, start_pts, time_base, fps) + 1 + after
    return _Timeline(start_pts, count, first, earliest, by_dts, delay)


def _times_by_dts(stream: av.VideoStream, decoded: list[int | None]) -> bool:
    """Whether an AVI's frames are timed by their decode timestamps (`MediaInfo`): H.264,
    whose head frames carry increasing ones (the last pictures, flushed out of the decoder's
    reordering delay, carry none)."""
    if stream.codec_context.name != "h264":
        return False
    stamped = [d for d in decoded if d is not None]
    return (
        bool(stamped)
        and decoded[: len(stamped)] == stamped
        and all(b > a for a, b in zip(stamped, stamped[1:], strict=False))
    )


def _avi_first_chunks(path: Path, count: int = _HEAD_FRAMES) -> list[int | None]:
    """The decode timestamps of an AVI's first non-empty video chunks (its pictures')."""
    container, stream = _open_movie(path)
    try:
        found: list[int | None] = []
        for packet in container.demux(stream):
            if packet.size:
                found.append(packet.dts)
                if len(found) >= count:
                    break
        return found
    except av.FFmpegError:
        return found
    finally:
        container.close()


def _avi_first_picture(
    decoded: list[int | None], chunks: list[int | None], time_base: Fraction, fps: Fraction
) -> int:
    """The first picture's time in an AVI timed by its decode timestamps (H.264), as
    Blender's strips time it (`_lead_in`), each picture by its frame's decode timestamp
    (the dts of the packet the decoder took when it gave the picture out: its reordering
    delay later). That is the first picture's, except where the stream starts late: FFmpeg's
    muxer writes the first picture in chunk 0 whatever its time and leaves empty chunks
    between it and the second (x264 timed from 5 without B-frames: chunks 0, 6, 7, ...;
    Blender shows picture 0 at strip frames 0-5, then 1, 2, ...: lead 5; with 2 B-frames
    the pictures' dts 5, 6, 7, ...). So the first picture's time is the later of its dts
    and the frame before the second chunk. A gap anywhere after that is a variable rate,
    as Blender shows it (x264 stamped 0-4, 6-20: picture 4 at strip frames 4 and 5; with 2
    B-frames 0, 0, 0, 1, 2, 3, 4, 4, 5, ...; 4640375 read leads 1 and 3 from the first 8
    frames' latest dts_i - i, a frame late). A dropped frame right after the first picture reads
    as a late start (the file is the same); only the command line, which shows the first
    picture once, and the sound's offset tell them apart."""
    first = decoded[0]
    assert first is not None
    step = 1 / (time_base * fps)  # one frame, in the stream's time base
    if len(chunks) > 1 and chunks[1] is not None:
        return max(first, chunks[1] - round(step))
    return first


def _avi_strip_frames(pictures: int, lead_in: int, stream: av.VideoStream, fps: Fraction) -> int:
    """Frames of an AVI's strip read with its lead-in, as Blender sizes it: by the stream's
    duration, its chunks (empty ones included), up to its last picture's index (lead_in +
    pictures - 1). Where H.264 starts late the chunks outnumber the pictures (x264 timed
    from 5, 20 pictures: 25 chunks without B-frames, 23 with 2; bpy 5.0.1's strips are 25
    and 23 long, showing pictures 15-19 and 13-17 at their last five frames), so the
    pictures alone (20) refused Apply on a strip's last frames. Elsewhere the duration is
    the pictures' (x264 with B-frames from 0, Megamind.avi: the last `lead_in` pictures
    never show)."""
    chunks = round(stream.duration * Fraction(stream.time_base) * fps)
    return max(pictures, min(pictures + lead_in, chunks))


def _lead_in(stream: av.VideoStream, first_pts: int | None, fps: Fraction) -> int:
    """Frame slots from the stream's start time to its first picture, as Blender counts a
    movie strip's frames: from the stream's start time (``ffmpeg_get_pts_to_search``), each
    showing the picture whose time span holds the slot's time, the first picture before it.
    The command line keeps index 0 at the first picture: its output holds every picture
    once (Blender's way shows the first twice and never the last). mpeg4 with B-frames in
    AVI starts its stream at 0 and its first picture 1/fps later (FFmpeg's muxer,
    Megamind.avi): Blender shows it at frames 0 and 1, picture i at frame i + 1 (measured
    in playing order and at random on bpy 4.2.23, 4.5.15, 5.0.1, 5.2.3 and 5.3.0:
    compat.MOVIE_STRIPS_HOLD_LEAD_IN).

    AVI stores no presentation times, only the order of decoding. Blender times a picture
    by its frame's pts, else its packet's decode timestamp (``av_get_pts_from_frame``), and
    its strips show AVI's pictures as timed by the latter (FFmpeg interpolates no pts for
    H.264 in AVI, as its demuxer's source reads): the first picture's is the decoder's
    reordering delay, x264 without B-frames 0, with 1 B-frame 1, with 2 or 3 (B-pyramid) 2;
    mpeg4 and MPEG-2 (pts = dts) 1 with B-frames. PyAV's FFmpeg 8 makes up H.264's pts there
    (1, 2, 4, 5, 3, ... with 2 B-frames; 1, 2, 3, ... with none), so ``first_pts`` is read
    from the decode timestamps in AVI (`_avi_first_picture`). Measured by rendering the strips:
    x264 with 0-3 B-frames (and with sound), mpeg4 with 0 and 2, MPEG-2 with 2, MJPEG, in
    AVI, on bpy 4.2.23, 5.0.1 and 5.3.0."""
    if stream.start_time is None or first_pts is None:
        return 0
    slots = (first_pts - stream.start_time) * Fraction(stream.time_base) * fps
    return max(0, math.ceil(slots - Fraction(1, 1000)))


def _display_matrix(frame: av.VideoFrame) -> tuple[int, ...] | None:
    """The frame's display matrix (FFmpeg's 3x3, 16.16 fixed point, row by row), if any."""
    from av.sidedata.sidedata import Type

    for data in frame.side_data:
        if data.type == Type.DISPLAYMATRIX and len(bytes(data)) >= 36:
            return struct.unpack_from("<9i", bytes(data))
    return None


def _orientation(matrix: Sequence[int] | None, upright: Upright) -> tuple[int, bool]:
    """(counter-clockwise quarter turns 0-3, mirrored) that show the stored pictures as the
    display matrix says: mirror left to right first if mirrored, then turn. A phone held
    upright stores its pictures sideways and tags them -90 degrees. A matrix that flips
    (its determinant negative) is a mirror and a rotation; FFmpeg's players apply both.
    Its rotation alone, as av_display_rotation_get reads it (a plain left-right mirror reads
    as 180 degrees), is what Blender 4.4+ shows (`upright="rotation"`; measured: 4.5.15,
    5.0.1, 5.2.3, 5.3.0), to the nearest quarter turn."""
    if matrix is None or not upright:
        return 0, False
    a, b, _, c, d = matrix[:5]
    mirrored = upright != "rotation" and a * d - b * c < 0
    if mirrored:  # the matrix is mirror-then-rotation: take the mirror off its first row
        a, b = -a, -b
    column_a, column_b = math.hypot(a, c), math.hypot(b, d)
    if not column_a or not column_b:
        return 0, False
    degrees = -math.degrees(math.atan2(b / column_b, a / column_a))
    return round(degrees / 90) % 4, mirrored


def _last_pts(
    path: Path,
    container: av.container.InputContainer,
    stream: av.VideoStream,
    start_pts: int,
    time_base: Fraction,
    by_dts: bool = False,
) -> tuple[int | None, int]:
    """The last decodable frame's pts (its dts `by_dts`, and how many frames without one
    came after it: `_latest_pts`): seek near the end and decode on, a second earlier
    (doubling) after each miss. A seek back to the first frame can land past the only
    keyframe and decode nothing (a short H.264 MPEG-TS: 5 to 40 pictures in one GOP, with or
    without sound), so the last resort decodes the file from its head."""
    if stream.duration:
        end = (stream.start_time or 0) + stream.duration
    elif container.duration:
        end = start_pts + int(Fraction(container.duration, av.time_base) / time_base)
    else:
        end = start_pts + int(Fraction(24 * 3600) / time_base)
    step = max(1, int(1 / time_base))  # one second, doubled after each miss
    target = end
    while True:
        try:
            container.seek(max(target, start_pts), backward=True, stream=stream)
        except av.FFmpegError:
            target = start_pts  # not seekable: decode on from the head to the end
        last = _latest_pts(container, stream, by_dts)
        if last[0] is not None:
            return last
        if target <= start_pts:
            return _last_pts_from_head(path, by_dts)
        target -= step
        step *= 2


def _last_pts_from_head(path: Path, by_dts: bool = False) -> tuple[int | None, int]:
    """`_last_pts`, decoding the whole movie from its head."""
    container, stream = _open_movie(path)
    try:
        return _latest_pts(container, stream, by_dts)
    finally:
        container.close()


def _latest_pts(container, stream, by_dts: bool = False) -> tuple[int | None, int]:
    """The latest pts of the frames decoded from where ``container`` stands to its end,
    and 0; `by_dts`, the last dts and how many frames without one came after it (the
    pictures the decoder's reordering delay held back, counted on after it: H.264 in AVI
    with B-frames)."""
    last, after = None, 0
    try:
        for frame in container.decode(stream):
            stamp = frame.dts if by_dts else frame.pts
            if stamp is not None and (last is None or stamp > last):
                last, after = stamp, 0
            elif by_dts and stamp is None and last is not None:
                after += 1
    except av.FFmpegError:
        pass  # a damaged tail: keep the last frame that did decode
    return last, after


def _count_packets(path: Path) -> int:
    """Frame count when timestamps are unusable: one frame per video packet."""
    container, stream = _open_movie(path)
    try:
        return sum(1 for packet in container.demux(stream) if packet.size)
    except av.FFmpegError as exc:
        raise RestyleError(f"{path} is corrupt ({_reason(exc)})") from None
    finally:
        container.close()


def _pts_to_index(pts: int, start_pts: int, time_base: Fraction, fps: Fraction) -> int:
    return math.floor((pts - start_pts) * time_base * fps + Fraction(1, 2))


# ---------------------------------------------------------------------------------------
# Decoding


def decode_range(
    source: SourceLike,
    start: int,
    end: int,
    *,
    info: MediaInfo | None = None,
    on_held: Callable[[int], None] | None = None,
    on_retimed: Callable[[int, bool], None] | None = None,
    upright: Upright = True,
    hold_lead_in: bool = False,
) -> Iterator[np.ndarray]:
    """Yield source frames `start`..`end` (inclusive, 0-based), each exactly once, in order.

    Movies seek to the keyframe before `start` and decode forward; a frame missing from a
    variable-rate movie repeats the one before it, as a player shows it. Errors (missing or
    corrupt source, range outside 0..frame_count-1) raise RestyleError before the first
    frame is yielded. ``on_held(index)`` hears of every frame the decoder could not decode
    cleanly (a damaged movie). ``on_retimed(index, dropped)`` hears of a variable rate's
    retiming at the average rate: a slot with no frame of its own repeats the one before
    (dropped False), a second frame in one slot is dropped (dropped True). ``upright`` and
    ``hold_lead_in`` are `probe`'s, when ``info`` is not given (``info`` holds how it was
    probed).
    """
    _check_upright(upright)
    info = info or probe(source, upright=upright, hold_lead_in=hold_lead_in)
    if not (0 <= start <= end < info.frame_count):
        raise RestyleError(
            f"frames {frame_span(start, end)} are outside {info.path.name}: "
            f"valid frames are 0-{info.frame_count - 1}"
        )
    if info.kind == "movie":
        return _decode_movie(info, start, end, on_held, on_retimed)
    return _decode_images(info, start, end)


class _SeekedPastStart(Exception):
    """The seek landed after the first wanted frame; seek further back."""


_SEEK_BACKOFF_S = (0, 1, 4, 16, 64)  # seconds before the wanted frame, tried in turn


def _decode_movie(
    info: MediaInfo,
    start: int,
    end: int,
    on_held: Callable[[int], None] | None = None,
    on_retimed: Callable[[int, bool], None] | None = None,
) -> Iterator[np.ndarray]:
    lead = info.lead_in
    if not lead:
        yield from _decode_pictures(info, start, end, on_held, on_retimed)
        return

    def shifted(report):  # picture i is index i + lead
        return None if report is None else lambda index, *rest: report(index + lead, *rest)

    pictures = _decode_pictures(
        info, max(start - lead, 0), max(end - lead, 0), shifted(on_held), shifted(on_retimed)
    )
    held = min(end, lead) - start + 1  # indices start..lead show the first picture
    if held > 0:
        first = next(pictures)
        for _ in range(held - 1):
            yield first.copy()
        yield first
    yield from pictures


def _decode_pictures(
    info: MediaInfo,
    start: int,
    end: int,
    on_held: Callable[[int], None] | None = None,
    on_retimed: Callable[[int, bool], None] | None = None,
) -> Iterator[np.ndarray]:
    if info.start_pts is None:
        yield from _decode_counting(info, start, end)
        return
    assert info.time_base is not None
    # Seek targets, earliest last; None decodes from the beginning without seeking, which
    # always works. Some demuxers (MPEG-TS) land after the target, hence the backoff.
    # The middle of frame `start`'s slot: every frame that maps to `start` is at or before
    # it, so a backward seek never lands past it for want of timestamp rounding.
    start_time = info.start_pts + math.floor((start + Fraction(1, 2)) / info.fps / info.time_base)
    targets: list[int | None] = []
    for backoff in _SEEK_BACKOFF_S if start > 0 else ():
        target = start_time - math.ceil(backoff / info.time_base)
        if target <= info.start_pts:
            break
        targets.append(target)
    targets.append(None)
    for target in targets:
        container, stream = _open_movie(info.path)
        try:
            if target is not None:
                try:
                    container.seek(target, backward=True, stream=stream)
                except av.FFmpegError:
                    continue
            try:
                frames = _frames_by_pts(info, container, stream, start, end, on_retimed, on_held)
                if on_held is not None:  # damaged packets decode as concealed copies
                    frames = _report_decode_errors(frames, stream, start, on_held)
                yield from frames
                return
            except _SeekedPastStart:
                continue
        finally:
            _close_movie(container, stream)
    raise RestyleError(f"{info.path.name}: frame {start} cannot be decoded")


def _frames_by_pts(
    info: MediaInfo,
    container: av.container.InputContainer,
    stream: av.VideoStream,
    start: int,
    end: int,
    on_retimed: Callable[[int, bool], None] | None = None,
    on_held: Callable[[int], None] | None = None,
) -> Iterator[np.ndarray]:
    assert info.start_pts is not None and info.time_base is not None
    out_format = _array_format(info)
    previous: av.VideoFrame | None = None  # last frame decoded, for VFR gaps
    previous_index = -1
    previous_pts: int | None = None
    wanted = start
    rejected: list[int] = []  # frames lost to damage since the last one decoded
    try:
        for frame in _decode_skipping_rejected(container, stream, rejected):
            stamp = frame.pts
            if info.timed_by_dts:  # the first picture's earlier dts counts as its time
                stamp = None if frame.dts is None else max(frame.dts, info.start_pts)
            if stamp is None or (previous_pts is not None and stamp <= previous_pts):
                index = previous_index + 1  # broken timestamps: count on from the last one
            else:
                index = _pts_to_index(stamp, info.start_pts, info.time_base, info.fps)
                previous_pts = stamp
            if index < wanted:  # before the range, or a second frame in one slot
                if start <= index and on_retimed is not None:
                    on_retimed(index, True)
                previous, previous_index = frame, max(index, previous_index)
                continue
            if index > wanted and previous is None:
                raise _SeekedPastStart
            if index > wanted:  # a gap in a variable-rate movie: hold the last frame
                held = _to_array(previous, out_format, info)
                while wanted < index and wanted <= end:
                    if rejected and on_held is not None:  # lost to damage, not a rate
                        on_held(wanted)
                    elif not rejected and on_retimed is not None:
                        on_retimed(wanted, False)
                    yield held.copy()
                    wanted += 1
            if wanted > end:
                return
            rejected.clear()
            yield _to_array(frame, out_format, info)
            wanted += 1
            previous, previous_index = frame, index
            if wanted > end:
                return
    except av.FFmpegError as exc:
        raise RestyleError(
            f"{info.path.name}: decoding failed near frame {wanted} ({_reason(exc)})"
        ) from None
    if previous is None:
        raise _SeekedPastStart
    if rejected:  # the damage reached the end: its frames hold the last one decoded
        held = _to_array(previous, out_format, info)
        for index in range(wanted, end + 1):
            if on_held is not None:
                on_held(index)
            yield held.copy()
        return
    raise RestyleError(f"{info.path.name}: frame {wanted} cannot be decoded (the stream ends)")


def _decode_skipping_rejected(
    container: av.container.InputContainer, stream: av.VideoStream, rejected: list[int]
) -> Iterator[av.VideoFrame]:
    """``container.decode(stream)``, except that a packet the decoder refuses outright (a
    damaged FFV1 slice) is skipped, not the end of the movie, and so is every frame decoded
    from its state up to the next keyframe (FFV1 carries its coder state over: they decode
    to garbage without an error). Their slots hold the frame before, reported damaged."""
    lost = False
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.InvalidDataError:
            rejected.append(packet.pts)
            lost = True
            continue
        for frame in frames:
            if lost and not frame.key_frame:
                rejected.append(frame.pts)
                continue
            lost = False
            yield frame


def _report_decode_errors(
    frames: Iterator[np.ndarray], stream: av.VideoStream, start: int, report: Callable[[int], None]
) -> Iterator[np.ndarray]:
    """Pass frames through; a frame decoded while the decoder logged an error (a damaged
    packet it concealed, often by repeating the previous picture) is reported. A decoder
    that reorders frames (B-frames) may report a frame or two early, the same ones each run."""
    import av.logging

    decoder = stream.codec_context.name
    with _ffmpeg_errors_logged() as logs:
        try:
            seen = len(logs)
            for index, frame in enumerate(frames, start):
                errors = [m for m in logs[seen:] if m[1] == decoder and m[0] <= av.logging.ERROR]
                seen = len(logs)
                if errors:
                    report(index)
                yield frame
        finally:
            _idle_decoder(stream)  # no decoder thread may be logging when the level drops


class _SharedLog:
    """FFmpeg's errors while any reader needs them, in one list for all readers (each reads
    on from where it started). One ``av.logging.Capture`` for all of them: PyAV keeps its
    captures on one stack across threads, and closing one out of order (another thread's
    reader, or an abandoned one collected later) popped the newest capture, so the reader
    that owned it lost its errors (CI: a damaged movie reported no frames). PyAV also drops a
    message equal to the last one it logged; repeats are kept while readers run. The logging
    settings before the first reader are restored after the last."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.readers = 0
        self.capture = None
        self.logs: list = []
        self.settings_before: tuple[int | None, bool] = (None, True)

    def enter(self) -> list:
        import av.logging

        with self.lock:
            if self.readers == 0:
                self.settings_before = (av.logging.get_level(), av.logging.get_skip_repeated())
                av.logging.set_level(av.logging.ERROR)
                av.logging.set_skip_repeated(False)
                self.capture = av.logging.Capture(local=False)
                self.logs = self.capture.__enter__()
            self.readers += 1
            return self.logs

    def leave(self) -> None:
        import av.logging

        with self.lock:
            self.readers -= 1
            if self.readers == 0:
                self.capture.__exit__(None, None, None)
                self.capture, self.logs = None, []
                level, skip_repeated = self.settings_before
                av.logging.set_level(level)
                av.logging.set_skip_repeated(skip_repeated)


_shared_log = _SharedLog()


@contextmanager
def _ffmpeg_errors_logged() -> Iterator[list]:
    """The shared list FFmpeg's errors go to while this reader runs (see ``_SharedLog``)."""
    logs = _shared_log.enter()
    try:
        yield logs
    finally:
        _shared_log.leave()


def _idle_decoder(stream: av.VideoStream) -> None:
    """Let the decoder's threads finish with Python's lock released. A frame thread that
    logs waits for that lock, and freeing the decoder (which joins those threads) holds it:
    without this, closing a movie whose decoder was logging an error hangs for good."""
    try:
        stream.codec_context.flush_buffers()
    except (av.FFmpegError, ValueError):
        pass


def _close_movie(container: av.container.InputContainer, stream: av.VideoStream) -> None:
    _idle_decoder(stream)
    container.close()


def _decode_counting(info: MediaInfo, start: int, end: int) -> Iterator[np.ndarray]:
    """For movies without usable timestamps: decode from the start and count frames."""
    out_format = _array_format(info)
    container, stream = _open_movie(info.path)
    index = 0
    try:
        for frame in container.decode(stream):
            if index >= start:
                yield _to_array(frame, out_format, info)
                if index == end:
                    return
            index += 1
    except av.FFmpegError as exc:
        raise RestyleError(
            f"{info.path.name}: decoding failed near frame {index} ({_reason(exc)})"
        ) from None
    finally:
        _close_movie(container, stream)
    raise RestyleError(f"{info.path.name}: frame {index} cannot be decoded (the stream ends)")


def _array_format(info: MediaInfo) -> str:
    """What PyAV converts frames to: 16 bits a sample for deep sources, and for HDR ones
    (tone-mapped at full depth)."""
    if info.bit_depth > 8 or info.tone_map is not None:
        return "rgba64le" if info.has_alpha else "rgb48le"
    return "rgba" if info.has_alpha else "rgb24"


_AVCOL_SPC_UNSPECIFIED = 2


def _to_array(frame: av.VideoFrame, out_format: str, info: MediaInfo) -> np.ndarray:
    """A decoded frame as `info` says frames are read: SDR (HDR tone-mapped), in its dtype,
    mirrored and turned as shown."""
    array = None if info.tone_map is None else _hdr_signal(frame, info.tone_map.wide_gamut)
    if array is None:
        array = _converted(frame, out_format)
    if info.tone_map is not None:
        array = info.tone_map(array, info.dtype)
    if info.mirrored:
        array = array[:, ::-1]
    return np.ascontiguousarray(np.rot90(array, info.quarter_turns))


def _converted(frame: av.VideoFrame, out_format: str) -> np.ndarray:
    """The frame in `out_format`, by FFmpeg's converter (swscale)."""
    # Untagged HD video is BT.709 by convention (players and encoders assume it); swscale
    # would otherwise use BT.601 and shift the colours.
    is_yuv = not frame.format.is_rgb and len(frame.format.components) >= 3
    if is_yuv and frame.colorspace == _AVCOL_SPC_UNSPECIFIED and frame.height >= 720:
        return frame.to_ndarray(format=out_format, src_colorspace="ITU709")
    return frame.to_ndarray(format=out_format)


_AVCOL_RANGE_JPEG = 2  # full range
_AVCOL_SPC_BT2020_NCL, _AVCOL_SPC_BT709 = 9, 1
_SEMI_PLANAR = frozenset({"nv12", "p010le", "p012le", "p016le"})  # Cb before Cr, high bits


def _hdr_signal(frame: av.VideoFrame, wide_gamut: bool) -> np.ndarray | None:
    """An HDR frame's R'G'B' (HxWx3, x4 with alpha; uint16 full range) from its Y'CbCr
    codes as ITU-R BT.2100 defines them; None for a layout or matrix left to swscale.
    swscale expands 10-bit limited range with a gain of 0.9962 (Y' 940 reads 0.9962), which
    darkens PQ's light by about 2 % (a 100-nit grey reads 98)."""
    colorspace = frame.colorspace
    if colorspace == _AVCOL_SPC_UNSPECIFIED:  # HDR's matrix is BT.2020's unless in BT.709
        colorspace = _AVCOL_SPC_BT2020_NCL if wide_gamut else _AVCOL_SPC_BT709
    planes = _ycbcr_planes(frame)
    if planes is None or colorspace not in LUMA_WEIGHTS:
        return None
    luma, cb, cr, alpha, bits = planes
    height, width = luma.shape
    chroma = [upsampled_chroma(plane, width, height) for plane in (cb, cr)]
    full_range = frame.color_range == _AVCOL_RANGE_JPEG or frame.format.name.startswith("yuvj")
    matrix = ycbcr_to_rgb(*LUMA_WEIGHTS[colorspace], bits, full_range)
    rgb = cv2.transform(cv2.merge([luma, *chroma]), matrix)
    return rgb if alpha is None else np.dstack([rgb, alpha])


class _YCbCrPlanes(NamedTuple):
    """A frame's planes as uint16 codes times 2^(16 - bits); alpha 0-65535 or None."""

    luma: np.ndarray
    cb: np.ndarray
    cr: np.ndarray
    alpha: np.ndarray | None
    bits: int


def _ycbcr_planes(frame: av.VideoFrame) -> _YCbCrPlanes | None:
    """The Y'CbCr planes of a planar (yuv420p10le...) or semi-planar (p010le) frame with
    one depth of 8-16 bits and chroma subsampled by at most 2; None for other layouts."""
    fmt = frame.format
    depths = {c.bits for c in fmt.components}
    if fmt.is_rgb or fmt.is_big_endian or fmt.is_bayer or fmt.has_palette or len(depths) != 1:
        return None
    (bits,) = depths
    if not 8 <= bits <= 16:
        return None
    sample = np.dtype(np.uint8 if bits == 8 else np.uint16)
    if fmt.name in _SEMI_PLANAR:
        luma = _plane_array(frame.planes[0], sample, 1)
        chroma = _plane_array(frame.planes[1], sample, 2)
        cb, cr, alpha = chroma[:, 0::2], chroma[:, 1::2], None
        shift = 16 - 8 * sample.itemsize  # codes stored in the high bits
    elif [c.plane for c in fmt.components] in ([0, 1, 2], [0, 1, 2, 3]):
        luma, cb, cr, *alpha = (_plane_array(p, sample, 1) for p in frame.planes)
        alpha = _alpha16(alpha[0], bits) if alpha else None
        shift = 16 - bits
    else:
        return None
    if not all(_halved_at_most(plane.shape, luma.shape) for plane in (cb, cr)):
        return None
    luma, cb, cr = (np.left_shift(plane, shift, dtype=np.uint16) for plane in (luma, cb, cr))
    return _YCbCrPlanes(luma, cb, cr, alpha, bits)


def _plane_array(plane: av.video.plane.VideoPlane, sample: np.dtype, per_pixel: int) -> np.ndarray:
    """A plane's samples (a view of the frame's buffer, rows without their padding)."""
    rows = np.frombuffer(plane, sample).reshape(plane.height, -1)
    return rows[:, : plane.width * per_pixel]


def _halved_at_most(shape: tuple[int, ...], full: tuple[int, ...]) -> bool:
    """Each side of `shape` is `full`'s or half of it (rounded up)."""
    return all(side in (whole, (whole + 1) // 2) for side, whole in zip(shape, full, strict=True))


def _alpha16(alpha: np.ndarray, bits: int) -> np.ndarray:
    """Alpha codes of `bits` (full range) as 0-65535."""
    scaled = alpha.astype(np.float32) * np.float32(65535 / (2**bits - 1))
    return np.rint(scaled).astype(np.uint16)


def _decode_images(info: MediaInfo, start: int, end: int) -> Iterator[np.ndarray]:
    check_no_gap(info, start, end)
    files = info.files[start : end + 1]
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="restyle-read")
    pending: deque[Future[np.ndarray]] = deque()
    try:
        ahead = iter(files)
        for path in ahead:
            pending.append(pool.submit(_read_frame, path, info))
            if len(pending) >= 4:
                break
        for path in ahead:
            yield pending.popleft().result()
            pending.append(pool.submit(_read_frame, path, info))
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read_frame(path: Path, info: MediaInfo) -> np.ndarray:
    """An image converted to the sequence's layout (RGB/RGBA, dtype of the first image)."""
    image = _read_image(path)
    if image.shape[:2] != (info.height, info.width):
        raise RestyleError(_other_size(path, image.shape[1::-1], info.size))
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    if channels == 1:
        code = cv2.COLOR_GRAY2RGBA if info.has_alpha else cv2.COLOR_GRAY2RGB
    elif channels == 2:  # gray + alpha
        gray, alpha = image[:, :, 0], image[:, :, 1:]
        image = np.concatenate([gray[:, :, None]] * 3 + ([alpha] if info.has_alpha else []), 2)
        code = None
    elif channels == 3:
        code = cv2.COLOR_BGR2RGBA if info.has_alpha else cv2.COLOR_BGR2RGB
    else:
        code = cv2.COLOR_BGRA2RGBA if info.has_alpha else cv2.COLOR_BGRA2RGB
    if code is not None:
        image = cv2.cvtColor(image, code)
    if image.dtype != info.dtype:  # a sequence mixing 8- and 16-bit files
        image = (
            image.astype(np.uint16) * 257
            if info.dtype == np.uint16
            else ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
        )
    return image
