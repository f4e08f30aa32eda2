"""A movie whose video stream starts before its first picture lines up with its styled strip.

mpeg4 with B-frames in AVI (FFmpeg's muxer; OpenCV's Megamind.avi, whose timestamps are
also out of order: 1, 2, 3, 5, 4, ...) starts its stream at 0 and its first picture 1/fps
later. Blender's movie strip counts from the stream's start: it shows the first picture at
its frames 0 and 1 and picture i at frame i + 1. Restyle read picture i at frame i, so a
styled strip ran one frame ahead of its source (the walkthrough on bpy 5.0.1: Apply,
Export Keyframes, Split at Cuts and Snap Cuts all a frame off on Megamind.avi). Apply at
strength 0 returns the source picture: each frame of its strip must show what the source
strip shows there."""

from __future__ import annotations

import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from vse import SIZE, add_movie, all_strips, render

from clips import make_index_clip, make_late_index_clip, make_stamped_index_clip, read_index

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from real_footage import FootageUnavailable, real_clip  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]

STYLE = "starry-swirls"


def _apply_at_strength_0(scene, movie, first, last, **settings):
    import bpy

    before = set(all_strips(scene).keys())
    result = bpy.ops.restyle.apply_style(
        strip=movie.name,
        style=STYLE,
        strength=0.0,
        temporal=0.0,
        frame_start=first,
        frame_end=last,
        **settings,
    )
    assert result == {"FINISHED"}
    (made,) = [s for s in all_strips(scene) if s.name not in before]
    return made


@pytest.fixture(scope="module")
def bframes_avi(tmp_path_factory) -> Path:
    """FFmpeg's mpeg4 encoder with a B-frame, in AVI: picture i carries index i."""
    path = tmp_path_factory.mktemp("bframes") / "bframes.avi"
    make_index_clip(path, 24, SIZE, codec="mpeg4", gop=12, bframes=1)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.start_time, next(container.decode(stream)).pts) == (0, 1)
    return path


def test_a_late_first_picture_is_held_as_blender_holds_it(scene, sequencer_area, bframes_avi):
    movie = add_movie(scene, sequencer_area, bframes_avi, frame_start=1)
    frames = range(1, 11)  # its first picture (frames 1 and 2), then a GOP boundary (12)
    styled = _apply_at_strength_0(scene, movie, 1, 10)
    source = render(scene, frames, only=movie)
    assert [read_index(source[f]) for f in frames] == [0, *range(9)]  # Blender's own
    out = render(scene, frames, only=styled)
    assert [read_index(out[f]) for f in frames] == [read_index(source[f]) for f in frames]
    again = _apply_at_strength_0(scene, movie, 14, 17)  # begun mid-movie: a seek
    out = render(scene, range(14, 18), only=again)
    assert [read_index(out[f]) for f in range(14, 18)] == [12, 13, 14, 15]


@pytest.fixture(scope="module")
def x264_avi(tmp_path_factory) -> Path:
    """x264 with 2 B-frames (B-pyramid), in AVI: picture i carries index i. AVI stores no
    presentation times; the first decoded picture's decode timestamp is 2."""
    path = tmp_path_factory.mktemp("x264") / "x264.avi"
    make_index_clip(path, 24, SIZE, codec="h264", gop=12, bframes=2)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.start_time, next(container.decode(stream)).dts) == (0, 2)
    return path


def test_h264_in_avi_is_held_as_blender_times_it(scene, sequencer_area, x264_avi):
    """Blender times H.264's pictures in AVI by their decode timestamps: it shows the first
    picture at strip frames 0, 1 and 2. Restyle read a lead-in of 1 (the earliest pts PyAV
    made up), so the styled strip ran a frame ahead of its source."""
    movie = add_movie(scene, sequencer_area, x264_avi, frame_start=1)
    frames = range(1, 11)
    styled = _apply_at_strength_0(scene, movie, 1, 10)
    source = render(scene, frames, only=movie)
    assert [read_index(source[f]) for f in frames] == [0, 0, *range(8)]  # Blender's own
    out = render(scene, frames, only=styled)
    assert [read_index(out[f]) for f in frames] == [read_index(source[f]) for f in frames]
    again = _apply_at_strength_0(scene, movie, 14, 17)  # begun mid-movie: a seek
    out = render(scene, range(14, 18), only=again)
    assert [read_index(out[f]) for f in range(14, 18)] == [11, 12, 13, 14]


@pytest.mark.parametrize(("bframes", "length"), [(0, 25), (2, 23)])
def test_a_late_h264_start_in_avi_is_held_as_blender_shows_it(
    scene, sequencer_area, tmp_path, bframes, length
):
    """x264 pictures timed from 5 (a cut out of a longer movie) in AVI: the stream starts at
    0 with empty chunks for the gap (decode timestamps 0, 6, 7, ... without B-frames), and
    Blender shows picture 0 at strip frames 0-5, then 1, 2, .... Restyle read lead 0 without
    B-frames (the first decoded picture's dts), so Apply's strip ran six frames ahead."""
    path = make_late_index_clip(tmp_path / "late.avi", 20, 5, SIZE, bframes=bframes)
    movie = add_movie(scene, sequencer_area, path, frame_start=1)
    assert movie.frame_final_duration == length  # Blender's own
    frames = range(1, 11)
    styled = _apply_at_strength_0(scene, movie, 1, 10)
    source = render(scene, frames, only=movie)
    assert [read_index(source[f]) for f in frames] == [0] * 6 + [1, 2, 3, 4]  # Blender's own
    out = render(scene, frames, only=styled)
    assert [read_index(out[f]) for f in frames] == [read_index(source[f]) for f in frames]
    again = _apply_at_strength_0(scene, movie, 14, 17)  # begun mid-movie: a seek
    out = render(scene, range(14, 18), only=again)
    assert [read_index(out[f]) for f in range(14, 18)] == [8, 9, 10, 11]
    # Its last frames too: the file's count is Blender's (the lead-in's frames included),
    # not refused as 'shows 25 frames but its file now has 20'.
    end = range(length - 4, length + 1)
    last = _apply_at_strength_0(scene, movie, end[0], end[-1])
    source, out = render(scene, end, only=movie), render(scene, end, only=last)
    assert [read_index(out[f]) for f in end] == [read_index(source[f]) for f in end]


@pytest.mark.parametrize(
    ("bframes", "shown"), [(0, [0, 1, 2, 3, 4, 4, 5, 6, 7, 8]), (2, [0, 0, 0, 1, 2, 3, 4, 4, 5, 6])]
)
def test_a_dropped_h264_frame_in_avi_is_styled_as_blender_shows_it(
    scene, sequencer_area, tmp_path, bframes, shown
):
    """x264 stamped 0-4, 6-20 (a dropped frame: an empty chunk in AVI). Blender holds
    picture 4 over the gap, and leads in only by the first picture's decode timestamp (0;
    2 with 2 B-frames). Restyle read a gap among the first 8 frames as a longer lead-in (1;
    3), so Apply's strip ran a frame late up to the gap (without B-frames: all of it)."""
    stamps = [*range(5), *range(6, 21)]
    path = make_stamped_index_clip(tmp_path / "dropped.avi", stamps, SIZE, bframes=bframes)
    movie = add_movie(scene, sequencer_area, path, frame_start=1)
    assert movie.frame_final_duration == 21  # Blender's own: the AVI's chunks
    frames = range(1, 11)
    styled = _apply_at_strength_0(scene, movie, 1, 10)
    source = render(scene, frames, only=movie)
    assert [read_index(source[f]) for f in frames] == shown  # Blender's own
    out = render(scene, frames, only=styled)
    assert [read_index(out[f]) for f in frames] == shown
    end = range(15, 22)  # begun past the gap: a seek, to the strip's end
    last = _apply_at_strength_0(scene, movie, end[0], end[-1])
    source, out = render(scene, end, only=movie), render(scene, end, only=last)
    assert [read_index(out[f]) for f in end] == [read_index(source[f]) for f in end]


def _edges(image: np.ndarray) -> np.ndarray:
    image = cv2.resize(image, (180, 132), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    edges = cv2.Laplacian(cv2.GaussianBlur(gray, (0, 0), 1.0), cv2.CV_64F)
    return (edges - edges.mean()) / (edges.std() + 1e-6)


def test_megamind_styled_at_strength_0_lies_over_its_source_across_its_cut(scene, sequencer_area):
    """Megamind's cut (pictures 97 | 98) is between scene frames 99 and 100 with the strip
    at frame 1: the styled strip must cut there too, not a frame early (a one-frame flash of
    the old shot over the new one), and show the source's picture at every frame."""
    try:
        path = real_clip("megamind")
    except FootageUnavailable as exc:
        pytest.skip(str(exc))
    scene.render.resolution_x, scene.render.resolution_y = 360, 264
    movie = add_movie(scene, sequencer_area, path, frame_start=1, own_rate=False)
    first, last = 96, 102
    styled = _apply_at_strength_0(scene, movie, first, last, size_mode="MAX_SIDE", max_side=360)
    source = {
        f: _edges(a) for f, a in render(scene, range(first - 2, last + 3), only=movie).items()
    }
    out = {f: _edges(a) for f, a in render(scene, range(first, last + 1), only=styled).items()}
    for frame in range(first, last + 1):
        match = {f: float((out[frame] * source[f]).mean()) for f in range(frame - 2, frame + 3)}
        best = max(match, key=match.get)
        assert best == frame, (frame, {f: round(v, 2) for f, v in match.items()})
        assert match[frame] > 0.85, (frame, match[frame])
    across = float((source[99] * source[100]).mean())
    assert across < 0.2  # the cut is where the source strip shows it
