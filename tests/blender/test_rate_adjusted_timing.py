"""A movie added with Adjust Playback Rate: the source frame Restyle maps to each scene frame
is the one Blender renders there (Blender's decode rule: its frame index rounded half up),
for an AVI without B-frames (vtest.avi, 10 fps) and an MP4, into 24, 25 and 30 fps scenes,
with and without trims.

The scene fixture turns the sequencer caches off: Blender 5.0's source cache keys a movie
frame by its index truncated while it decodes the index rounded, so with it on, a scene frame
whose index is x.5 or more shows whichever neighbour was decoded first under that key (a
forward render showed 0,0,0,1,1,2,... for 10 fps into 25; a backward one 1,1,1,2,2,3,...).
That order-dependent picture is Blender's, not a rule; 4.2's cache (float keys) shows the
rounded frame either way (measured, bpy 4.2.23)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from vse import add_movie, ext, render, set_timing, shown_frames

from clips import make_index_clip, read_index

pytestmark = pytest.mark.blender

VTEST = Path.home() / ".cache" / "restyle" / "footage" / "vtest.avi"
SIZE = (128, 96)  # vtest.avi's 4:3, so the strip fills the frame


def _mapped(scene, strip, first, last):
    return ext("operators.strip_source").read_strip(scene, strip).frames(first, last)


def _floor_rule(strip, scene, frames):
    """What a floor of the frame index would give (the walkthrough's reading)."""
    factor = strip.fps / (scene.render.fps / scene.render.fps_base)
    return [int(math.floor((f - strip.frame_start) * factor)) for f in frames]


def _decoded(path, count):
    import av
    import cv2

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            picture = frame.to_ndarray(format="rgb24")
            frames.append(cv2.resize(picture, SIZE, interpolation=cv2.INTER_AREA))
            if len(frames) == count:
                break
    return np.stack(frames).astype(np.float32)


@pytest.mark.skipif(not VTEST.is_file(), reason="needs ~/.cache/restyle/footage/vtest.avi")
@pytest.mark.parametrize("scene_fps,trim", [(25, 0), (24, 2), (30, 0)])
def test_avi_at_its_own_rate_maps_what_blender_renders(scene, sequencer_area, scene_fps, trim):
    scene.render.resolution_x, scene.render.resolution_y = SIZE
    scene.render.fps = scene_fps
    strip = add_movie(scene, sequencer_area, VTEST, frame_start=1)
    assert strip.fps == 10.0
    if trim:
        set_timing(strip, content_trim_start=trim)
    first = shown_frames(strip)[0]
    frames = list(range(first, first + 10))
    source = _decoded(VTEST, 10 + trim)
    shown = []
    for frame, image in sorted(render(scene, frames, only=strip).items()):
        distance = ((source - image.astype(np.float32)) ** 2).mean(axis=(1, 2, 3))
        best, second = np.sort(distance)[:2]
        assert best < 10 < second, (frame, best, second)  # one decoded frame, unambiguous
        shown.append(int(distance.argmin()))

    assert _mapped(scene, strip, frames[0], frames[-1]) == shown
    assert shown != [trim + i for i in _floor_rule(strip, scene, frames)]


@pytest.mark.parametrize("clip_fps,scene_fps", [(10, 25), (24, 30)])
def test_mp4_at_its_own_rate_maps_what_blender_renders(
    scene, sequencer_area, tmp_path, clip_fps, scene_fps
):
    clip = make_index_clip(tmp_path / f"index{clip_fps}.mp4", 16, SIZE, fps=clip_fps, gop=4)
    scene.render.resolution_x, scene.render.resolution_y = SIZE
    scene.render.fps = scene_fps
    strip = add_movie(scene, sequencer_area, clip, frame_start=3)
    frames = list(range(3, 13))
    shown = [read_index(img) for _, img in sorted(render(scene, frames, only=strip).items())]

    assert _mapped(scene, strip, frames[0], frames[-1]) == shown
    assert shown != _floor_rule(strip, scene, frames)


def test_blender_5_source_cache_shows_the_first_frame_decoded_under_a_truncated_index(
    scene, sequencer_area, tmp_path
):
    """A tripwire, not Restyle's rule: with the raw/source cache on (Blender's default),
    5.0+ keys a movie frame by its index truncated (source_image_cache.cc) but decodes it
    rounded, so a forward render of 10 fps into 25 shows 0,0,0,1,1,2,2,2 where the decoder
    (and Restyle, and 4.2 with its float-keyed cache) gives 0,0,1,1,2,2,2,3. If this fails
    on a new Blender, its cache no longer changes frames: drop the caveat in
    ``StripTiming.source_index``."""
    import bpy

    clip = make_index_clip(tmp_path / "index10.mp4", 8, SIZE, fps=10, gop=4)
    scene.render.resolution_x, scene.render.resolution_y = SIZE
    scene.render.fps = 25
    scene.sequence_editor.use_cache_raw = True
    strip = add_movie(scene, sequencer_area, clip, frame_start=1)
    frames = list(range(1, 9))
    shown = [read_index(img) for _, img in sorted(render(scene, frames, only=strip).items())]

    mapped = _mapped(scene, strip, 1, 8)
    assert mapped == [0, 0, 1, 1, 2, 2, 2, 3]
    timing = ext("operators.strip_source").read_strip(scene, strip).timing
    first_decoded: dict[int, int] = {}
    for frame, index in zip(frames, mapped, strict=True):
        first_decoded.setdefault(math.trunc(timing.content_frame(frame)), index)
    cached = [first_decoded[math.trunc(timing.content_frame(f))] for f in frames]
    assert cached == [0, 0, 0, 1, 1, 2, 2, 2]
    assert shown == (cached if bpy.app.version >= (5, 0, 0) else mapped)
