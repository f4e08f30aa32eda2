"""Letterbox edge cases (core/letterbox.py, core/job.py's cuts): a flat frame of any level
leaves the bars as they are, a cut resets them with coherence off too, and a transparent
background around a cut-out subject is not taken for bars."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_letterbox import bar_mask, boxed, footage, footage_range, scope_frame, wide, worst_level

from restyle.core.letterbox import NO_BARS, Bars, BarTracker, detect_bars
from restyle.core.styles import StyleLibrary

from clips import encode_clip  # tests/, on the path from conftest


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> StyleLibrary:
    return StyleLibrary(tmp_path_factory.mktemp("letterbox-edges-library"))


def flat(frame: np.ndarray, rgb: tuple[int, int, int], noise: float = 0.0) -> np.ndarray:
    """A frame of one colour (a white flash, a plain title card), with compression-like noise."""
    level = np.broadcast_to(np.float32(rgb), frame.shape)
    if noise:
        level = level + np.random.default_rng(7).normal(0.0, noise, frame.shape)
    return np.clip(level + 0.5, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "rgb,noise",
    [((255, 255, 255), 0.0), ((235, 235, 235), 2.0), ((128, 128, 128), 0.0), ((200, 30, 30), 1.0)],
)
def test_a_flat_frame_of_any_level_leaves_the_bars_as_they_are(rgb, noise):
    """vtest 300 in 2.39:1 bars (27 + 28 rows) with one flat frame at 3: every frame keeps
    the bars (the flat frame used to read as 'no bars': [27, 27, 27, 0 x 8, 27])."""
    frame, _, bars = scope_frame()
    tracker = BarTracker()
    stream = [frame.copy() for _ in range(12)]
    stream[3] = flat(frame, rgb, noise)
    assert [tracker.decide(f) for f in stream] == [bars] * 12


def test_a_shot_opening_on_a_flat_frame_takes_its_bars_from_its_first_picture():
    """A cut to a white flash, then a letterboxed shot: the flash does not set 'no bars'
    (which the letterbox would grow back into only after GROW_AFTER frames)."""
    frame, _, bars = scope_frame()
    full = cv2.resize(footage("vtest", 300), frame.shape[1::-1], interpolation=cv2.INTER_AREA)
    tracker = BarTracker()
    assert tracker.decide(full) == NO_BARS
    tracker.new_shot()
    assert tracker.decide(flat(frame, (255, 255, 255))) == NO_BARS
    assert [tracker.decide(frame.copy()) for _ in range(3)] == [bars] * 3


def test_a_faint_picture_still_shrinks_the_bars_at_once():
    """Picture is never cropped away: a full-frame picture at 10% of its contrast (~6 levels
    RMS, far from flat) shows picture in the bars and shrinks them at once."""
    frame, _, bars = scope_frame()
    full = cv2.resize(footage("vtest", 300), frame.shape[1::-1], interpolation=cv2.INTER_AREA)
    faint = np.clip(128 + (full.astype(np.float32) - full.mean()) * 0.1 + 0.5, 0, 255)
    tracker = BarTracker()
    assert tracker.decide(frame) == bars
    assert tracker.decide(faint.astype(np.uint8)) == NO_BARS


def cut_clip(tmp_path) -> tuple:
    """4 full frames of vtest, then 12 of Megamind letterboxed at 2.39:1 (a real cut)."""
    full = [
        cv2.resize(f, (384, 216), interpolation=cv2.INTER_AREA)
        for f in footage_range("vtest", 300, 303)
    ]
    boxes = [boxed(wide(p, 384, 2.39), (384, 216)) for p in footage_range("megamind", 240, 251)]
    frames = full + [frame for frame, _ in boxes]
    return encode_clip(tmp_path / "cut.mkv", frames, codec="ffv1"), frames, len(full), boxes[0][1]


def test_a_cut_resets_the_bars_with_coherence_off(library, tmp_path):
    """--temporal 0: the letterboxed frames after the cut keep their bars as the source's
    from the cut's first frame (without a cut the tracker kept the full shot's 'no bars' for
    7 frames and styled the bars), and the full frames are styled."""
    from restyle.core.job import StyleJob

    clip, frames, cut, bars = cut_clip(tmp_path)
    out = tmp_path / "out"
    result = StyleJob(clip, out, "comic-ink", temporal=0.0, library=library).run()
    assert result.written == len(frames)
    outs = [cv2.imread(str(p))[..., ::-1] for p in sorted(out.rglob("*.png"))]
    masks = bar_mask(frames[0].shape, bars)
    bad = [i for i in range(cut, len(frames)) if worst_level(outs[i][masks], frames[i][masks]) > 3]
    assert bad == []
    assert worst_level(outs[0][masks], frames[0][masks]) > 20  # the full frames: styled


def cutout(picture: np.ndarray, size: tuple[int, int], x: int, y: int) -> np.ndarray:
    """``picture`` as an opaque subject at (x, y) on a transparent black RGBA frame (w, h)."""
    w, h = size
    ph, pw = picture.shape[:2]
    frame = np.zeros((h, w, 4), np.uint8)
    frame[y : y + ph, x : x + pw, :3] = picture
    frame[y : y + ph, x : x + pw, 3] = 255
    return frame


def test_a_transparent_background_is_not_taken_for_bars():
    """A subject (vtest, 200x120) moving over a transparent black background: the black
    around it is transparency, not bars, so no frame is cropped (the tracker cropped to
    the subject's box, bars of 10-174 lines, shifting as it moved: frame 1's (10, 79, 10,
    160) and frame 11's (10, 65, 24, 20) top, bottom, left, right)."""
    subject = cv2.resize(footage("vtest", 300), (200, 120), interpolation=cv2.INTER_AREA)
    tracker = BarTracker()
    for i in range(12):
        frame = cutout(subject, (384, 216), 10 + 14 * i, 10 + 7 * (i % 4))
        assert detect_bars(frame) == NO_BARS, i
        assert tracker.decide(frame) == NO_BARS, i


@pytest.mark.parametrize("depth", [np.uint8, np.uint16])
def test_opaque_bars_with_alpha_are_still_found(depth):
    """Letterbox bars in an RGBA frame that is opaque (or uniformly over half opaque, as
    test_letterbox's 16-bit frame at 40000) are bars, as without alpha."""
    frame, _, bars = scope_frame()
    peak = np.iinfo(depth).max
    rgba = np.concatenate([frame, np.full_like(frame[..., :1], 255)], 2).astype(depth)
    rgba = rgba * (257 if depth == np.uint16 else 1)
    assert detect_bars(rgba) == bars
    rgba[..., 3] = int(peak * 0.61)
    assert detect_bars(rgba) == bars
    rgba[: bars.top, :, 3] = 0  # the top bar transparent: not a bar
    assert detect_bars(rgba) == Bars(0, bars.bottom, 0, 0)
