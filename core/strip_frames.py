"""Which source frame a VSE strip shows at each scene frame; plain Python, no bpy.

This mirrors Blender's own timing (4.2 … 5.0): the strip's frame index is
``frame - frame_start`` (or counted back from the content end when reversed), held at the
first frame before the content, scaled by the playback-rate factor (movies added with
"adjust playback rate" play source frames at the movie's own rate), clamped to the content,
snapped down to the strobe step, then rounded half up, all in 32-bit floats as Blender does,
plus the source frames the strip trims off its start (``animation_offset_start``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

f32 = np.float32


def whole_strip(first: int, last: int) -> bool:
    """Start and End asking for the whole strip: 0 and 0 (the sidebar's, read by
    ``settings.whole_strip``; an operator's ``frame_start``/``frame_end``, both given)."""
    return first == 0 and last == 0


def frame_span(first: int, last: int) -> str:
    """A range of frames for messages: "3-9", or "-20 to -9" where a dash would read as a
    minus sign ("-20--9")."""
    if first == last:
        return str(first)
    return f"{first}-{last}" if first >= 0 and last >= 0 else f"{first} to {last}"


@dataclass(frozen=True)
class StripTiming:
    """The timing fields of one strip, copied out of Blender."""

    frame_start: float  # where the content starts, in the frames of the strip's container
    length: int  # source frames in the content (Blender's ``strip->len``)
    playback_factor: float = 1.0  # source frames per container frame
    reverse: bool = False
    strobe: float = 1.0
    source_offset: int = 0  # source frames trimmed before the content
    metas: tuple[StripTiming, ...] = ()  # the meta strips holding it, outermost first

    @property
    def content_duration(self) -> int:
        """Container frames the content spans (Blender's ``frame_duration``)."""
        return int(f32(self.length) / f32(self.playback_factor))

    def content_frame(self, frame: float) -> float | None:
        """The unrounded frame index Blender evaluates at ``frame``; None for empty content."""
        start = f32(self.frame_start)
        last = start + f32(self.content_duration) - f32(1)
        if last < start:
            return None
        index = (last - f32(frame)) if self.reverse else (f32(frame) - start)
        index = max(index, f32(0))
        index = f32(index * f32(self.playback_factor))
        index = min(max(index, f32(0)), f32(self.length - 1))
        if self.strobe > 1.0:
            index = f32(index - f32(math.fmod(float(index), float(f32(self.strobe)))))
        return float(index)

    def inner_frame(self, frame: float) -> float | None:
        """For a meta strip: the frame its children are drawn at when the scene shows
        ``frame`` (its start plus its frame index). A meta whose content is shorter than its
        handles holds its last frame, as Blender 4.2/4.5 leave one made by ``new_meta`` +
        ``move_to_meta`` (content 1 frame long: its first frame held throughout)."""
        index = self.content_frame(frame)
        return None if index is None else float(f32(self.frame_start) + f32(index))

    def frame_in_metas(self, frame: float) -> float | None:
        """The frame the strip is drawn at when the scene shows ``frame``: ``frame`` itself
        unless a meta strip holding it holds a frame there."""
        for meta in self.metas:
            frame = meta.inner_frame(frame)
            if frame is None:
                return None
        return frame

    def source_index(self, frame: float) -> int | None:
        """The 0-based source frame shown at ``frame`` (round half up, as Blender does),
        through the meta strips holding the strip.

        That is the frame Blender decodes (render.cc: ``round_fl_to_int`` of the frame
        index), measured on bpy 4.2.23 and 5.0.1 for AVI/MP4/MOV/MKV at 10-60 fps into 24-60
        fps scenes. Blender 5.0's source cache keys a movie frame by its index truncated, so
        with it on, a slowed movie's scene frame at index x.5 or more can show the neighbour
        decoded first under that key (0,0,0,1,1,2 forward for 10 fps into 25, 1,1,1,2,2,3
        backward): an order-dependent picture no rule of the frame can give."""
        frame = self.frame_in_metas(frame)
        index = None if frame is None else self.content_frame(frame)
        if index is None:
            return None
        return rounded(index) + self.source_offset


def rounded(index: float) -> int:
    """A frame index rounded half up in 32-bit floats, as Blender decodes it (render.cc
    ``round_fl_to_int``): the one rounding of ``source_index`` and ``raw_cache_mixed``."""
    return int(math.floor(f32(index) + f32(0.5)))


def raw_cache_mixed(timing: StripTiming, first: int, last: int, visible) -> list[int]:
    """The scene frames of ``first..last`` whose picture Blender 5's raw cache may swap: it
    files a frame under its index truncated, decoding it rounded (``rounded``), so frames
    whose index truncates alike but rounds apart share the picture decoded first. Frames
    sharing a key are adjacent: the range is widened while the key holds, within the frames
    the strip shows (``visible``)."""

    def index(frame: int) -> float | None:
        inner = timing.frame_in_metas(frame)
        return None if inner is None else timing.content_frame(inner)

    shown: dict[int, set[int]] = {}  # cache key -> source frames decoded under it
    keys: dict[int, int] = {}  # scene frame of the range -> its key
    for frame in range(first, last + 1):
        i = index(frame)
        if i is not None:
            keys[frame] = math.trunc(i)
            shown.setdefault(keys[frame], set()).add(rounded(i))
    for frame, step, stop in ((first - 1, -1, visible[0] - 1), (last + 1, 1, visible[1] + 1)):
        while frame != stop and (i := index(frame)) is not None and math.trunc(i) in shown:
            shown[math.trunc(i)].add(rounded(i))
            frame += step
    return [frame for frame, key in keys.items() if len(shown[key]) > 1]


def source_frames(timing: StripTiming, first: int, last: int) -> list[int]:
    """Source frame indices for the scene frames ``first..last`` (inclusive)."""
    out = []
    for frame in range(first, last + 1):
        index = timing.source_index(frame)
        if index is None:
            raise ValueError("the strip has no content")
        out.append(index)
    return out


def pictures_read(timing: StripTiming, first: int, last: int, count: int) -> range:
    """The pictures (0-based, of ``count``) a job styling scene frames ``first..last``
    reads: the span from the first picture the strip shows there to the last, as the core
    reads a sequence (``start..end``, ``media.check_no_gap``), so a strobed strip's pictures
    between those it shows must be there too. The one rule of which pictures must be there
    (Apply's ``read_strip``, the sidebar's 'File missing'); no content: every one."""
    try:
        shown = _shown_indices(timing, first, last)
    except ValueError:
        return range(count)
    low, high = (min(max(i, 0), count - 1) for i in (min(shown), max(shown)))
    return range(low, high + 1)


def _shown_indices(timing: StripTiming, first: int, last: int):
    """``source_frames`` as a set; a plain strip's (no meta strip, reversal or strobe, at
    its own rate, starting on a whole frame) as the range it is: 1,000 frames through
    ``source_frames`` took 50-90 ms (loaded CPU), on every redraw while a handle moves."""
    start = timing.frame_start
    plain = not (timing.metas or timing.reverse or timing.strobe > 1.0)
    if not (plain and timing.playback_factor == 1.0 and float(start).is_integer()):
        return set(source_frames(timing, first, last))
    top = timing.length - 1
    low, high = (min(max(f - int(start), 0), top) for f in (first, last))
    return range(low + timing.source_offset, high + timing.source_offset + 1)


def playback_factor(media_fps: float, scene_fps: float, fps_base: float = 1.0) -> float:
    """Blender's factor for a movie that plays at its own rate: media / scene rate (float32)."""
    scene_rate = f32(f32(scene_fps) / f32(fps_base))
    return float(f32(f32(media_fps) / scene_rate))


def frames_showing(meta: StripTiming, first: int, last: int) -> tuple[int, int] | None:
    """The frames at which ``meta`` (neither reversed, strobed nor retimed) draws its
    children at a frame in ``first..last``, inclusive and unbounded where it holds its first
    or last frame (clip with its handles); None when its content never reaches that range."""
    start = meta.frame_start
    end = start + meta.content_duration - 1
    if end < first or start > last:
        return None
    lo = -math.inf if start >= first else first
    hi = math.inf if end <= last else last
    return lo, hi


def intersect(*ranges: tuple[int, int]) -> tuple[int, int] | None:
    """The inclusive frame range every ``(first, last)`` covers, or None if they don't meet."""
    first = max(r[0] for r in ranges)
    last = min(r[1] for r in ranges)
    return (first, last) if first <= last else None


# The grade's formula, kept in a graded job's settings key so that a resumed run never mixes
# frames graded by another formula. 2: saturation in Blender's float32 HSV steps (6d576dd;
# up to 4 levels from 1's rounding of the exact value) and saturate_in_float.
GRADE_REVISION = 2


@dataclass(frozen=True)
class StripColor:
    """A strip's own Color settings (Saturation, Multiply), applied to its frames as
    Blender's sequencer does before the strip's modifiers: saturation scales HSV saturation
    (per pixel ``v + s * (c - v)``, ``v`` the largest channel), then multiply scales the
    colour channels; on 8-bit frames as Blender's byte images, rounded then truncated
    (``min((int(256 * m) * c) >> 8, 255)``), on deeper frames and with Convert to Float
    as floats. ``multiply`` holds the opacity of a strip blended by Replace, which Blender
    folds into it. Alpha is left as it is.

    ``saturate_in_float``: with Convert to Float, whether the 8-bit picture is made float
    before Saturation (Blender 5.2 and later, render.cc ``input_preprocess``:
    ``ensure_ibuf_is_sequencer_space(..., make_float)`` before ``IMB_saturation``) rather than
    saturated as a byte image first (4.2 to 5.1). It changes nothing without Convert to Float,
    without a Saturation or on deeper frames (``saturates_in_float`` says when it does)."""

    saturation: float = 1.0
    multiply: float = 1.0
    as_float: bool = False  # the strip's "Convert to Float": multiply without quantising
    saturate_in_float: bool = False  # Blender 5.2+: Convert to Float before Saturation

    @classmethod
    def blended(
        cls,
        saturation: float,
        multiply: float,
        opacity: float,
        as_float: bool = False,
        saturate_in_float: bool = False,
    ) -> StripColor:
        """The grade of a strip blended by Replace, whose ``opacity`` Blender folds into
        its multiply (render.cc ``input_preprocess``)."""
        return cls(saturation, multiply * opacity, as_float, saturate_in_float)

    @property
    def identity(self) -> bool:
        return self.saturation == 1.0 and self.multiply == 1.0

    @property
    def saturates_in_float(self) -> bool:
        """Whether an 8-bit picture is saturated as floats (Convert to Float made it float
        first): the one case ``saturate_in_float`` changes."""
        return self.as_float and self.saturate_in_float and self.saturation != 1.0

    def apply(self, frame: np.ndarray) -> np.ndarray:
        if self.identity:
            return frame
        top = 255.0 if frame.dtype == np.uint8 else 65535.0
        rgb = frame[..., :3].astype(np.float32)
        if self.saturation != 1.0 and frame.dtype == np.uint8 and self.saturates_in_float:
            # Blender 5.2+ with Convert to Float: made float, then saturated unrounded
            rgb = hsv_saturation(frame, self.saturation) * f32(255.0)
        elif self.saturation != 1.0 and frame.dtype == np.uint8:
            # a byte image (Blender 4.2-5.1: Convert to Float or not): saturated as bytes
            rgb = byte_saturation(frame, self.saturation)
        elif self.saturation != 1.0:
            value = rgb.max(axis=-1, keepdims=True)
            rgb = value + f32(self.saturation) * (rgb - value)
        if self.multiply != 1.0:
            if frame.dtype == np.uint8 and not self.as_float:
                rgb = np.floor(rgb * f32(int(256.0 * f32(self.multiply))) / f32(256.0))
            else:
                rgb = rgb * f32(self.multiply)
        rgb = np.floor(np.clip(rgb, 0.0, top) + f32(0.5))
        out = frame.copy()
        out[..., :3] = rgb.astype(frame.dtype)
        return out


def byte_saturation(frame: np.ndarray, saturation: float) -> np.ndarray:
    """Blender's ``IMB_saturation`` of an 8-bit frame's colour as float32 whole levels, to
    the bit: each pixel to HSV in float32 (``rgb_to_hsv``), its S scaled, back
    (``hsv_to_rgb``) and to a byte (``unit_float_to_uchar_clamp``: rounded half up). That is
    ``v + s * (c - v)`` but for float error, which decides a level at halves: rounding the
    exact value put 877 of 15,360 pixels 4 levels off at Saturation 0.5, Multiply 4."""
    rgb = hsv_saturation(frame, saturation)
    level = np.floor(f32(255.0) * rgb + f32(0.5))
    return np.where(rgb <= 0, f32(0.0), np.where(rgb > f32(1.0 - 0.5 / 255.0), f32(255.0), level))


def hsv_saturation(frame: np.ndarray, saturation: float) -> np.ndarray:
    """``IMB_saturation``'s float32 steps on an 8-bit frame's colour made float (0..1,
    unrounded): to HSV (``rgb_to_hsv``), S scaled, back (``hsv_to_rgb``)."""
    r, g, b = np.moveaxis(frame[..., :3].astype(np.float32) * f32(1.0 / 255.0), -1, 0)
    swap = g < b
    g, b = np.where(swap, b, g), np.where(swap, g, b)
    k = np.where(swap, f32(-1.0), f32(0.0))
    swap = r < g
    r, g = np.where(swap, g, r), np.where(swap, r, g)
    min_gb = np.where(swap, np.minimum(g, b), b)
    k = np.where(swap, f32(-2.0 / 6.0) - k, k)
    chroma = r - min_gb
    hue = np.abs(k + (g - b) / (f32(6.0) * chroma + f32(1e-20)))
    s = chroma / (r + f32(1e-20)) * f32(saturation)
    n = (
        np.clip(np.abs(hue * f32(6.0) - f32(3.0)) - f32(1.0), f32(0.0), f32(1.0)),
        np.clip(f32(2.0) - np.abs(hue * f32(6.0) - f32(2.0)), f32(0.0), f32(1.0)),
        np.clip(f32(2.0) - np.abs(hue * f32(6.0) - f32(4.0)), f32(0.0), f32(1.0)),
    )
    return np.stack([((c - f32(1.0)) * s + f32(1.0)) * r for c in n], axis=-1)
