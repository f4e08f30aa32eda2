"""Strip timing without Blender: the numbers Blender 4.2/5.0 were measured to show."""

import math

import pytest

strip_frames = pytest.importorskip("restyle.core.strip_frames")
StripTiming = strip_frames.StripTiming


def shown(timing, frames):
    return [timing.source_index(f) for f in frames]


def test_plain_strip_holds_its_ends():
    timing = StripTiming(frame_start=10, length=20)
    assert shown(timing, [10, 11, 29]) == [0, 1, 19]
    assert shown(timing, [3, 9, 30, 40]) == [0, 0, 19, 19]  # still frames outside the content


def test_movie_at_its_own_rate_rounds_half_up():
    # A 24 fps movie in a 30 fps scene, measured in Blender 4.2 and 5.0 (caches off).
    timing = StripTiming(
        frame_start=1, length=48, playback_factor=strip_frames.playback_factor(24, 30)
    )
    assert timing.content_duration == 60
    assert shown(timing, range(1, 13)) == [0, 1, 2, 2, 3, 4, 5, 6, 6, 7, 8, 9]
    assert shown(timing, [60, 61]) == [47, 47]


@pytest.mark.parametrize(
    "media,scene,rendered",
    [
        # bpy 5.0.1 renders (caches off) of vtest.avi and MP4/MOV/MKV made from it
        (10, 25, [0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 5, 5]),
        (10, 24, [0, 0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5]),
        (10, 30, [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]),
        (10, 60, [0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]),  # 3/6 -> 1, 9/6 -> 2
        (30, 60, [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6]),  # every x.5 up
        (30000 / 1001, 24, [0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 14]),
    ],
)
def test_slowed_movie_rounds_its_index_half_up_not_down(media, scene, rendered):
    """A movie slower than its scene (10 fps into 25): each scene frame shows its frame
    index rounded half up, as Blender decodes it (render.cc ``round_fl_to_int``), not
    floored: a render read 0,0,0,1,1,2 only through 5.0's source cache, keyed by the
    truncated index (order-dependent; see tests/blender/test_rate_adjusted_timing.py)."""
    timing = StripTiming(
        frame_start=1, length=200, playback_factor=strip_frames.playback_factor(media, scene)
    )
    frames = range(1, len(rendered) + 1)
    assert shown(timing, frames) == rendered
    floored = [math.floor((f - 1) * media / scene) for f in frames]
    assert rendered != floored


@pytest.mark.parametrize(
    "media,scene,length,duration",
    [(24, 25, 48, 50), (30, 24, 48, 38), (12, 25, 24, 50), (24, 12, 48, 24)],
)
def test_content_duration_matches_blender(media, scene, length, duration):
    factor = strip_frames.playback_factor(media, scene)
    assert (
        StripTiming(frame_start=1, length=length, playback_factor=factor).content_duration
        == duration
    )


def test_ntsc_rate_uses_fps_base():
    factor = strip_frames.playback_factor(30000 / 1001, 30, 1.001)
    assert factor == pytest.approx(1.0, abs=1e-6)


def test_reverse_counts_back_from_the_content_end():
    timing = StripTiming(frame_start=0, length=10, reverse=True)
    assert shown(timing, [0, 1, 9]) == [9, 8, 0]


def test_strobe_repeats_every_nth_frame():
    timing = StripTiming(frame_start=0, length=10, strobe=3.0)
    assert shown(timing, range(7)) == [0, 0, 0, 3, 3, 3, 6]


def test_source_offset_shifts_into_the_file():
    timing = StripTiming(frame_start=5, length=10, source_offset=4)
    assert shown(timing, [5, 14]) == [4, 13]


def test_source_frames_and_intersect():
    timing = StripTiming(frame_start=0, length=4)
    assert strip_frames.source_frames(timing, 2, 5) == [2, 3, 3, 3]
    assert strip_frames.intersect((1, 10), (5, 20)) == (5, 10)
    assert strip_frames.intersect((1, 4), (5, 20)) is None


def test_frame_spans_read_well_below_zero():
    """A strip moved before frame 0 was described as 'frames -20--9'."""
    from restyle.core.strip_frames import frame_span

    assert frame_span(3, 9) == "3-9"
    assert frame_span(-20, -9) == "-20 to -9"
    assert frame_span(-3, 4) == "-3 to 4"
    assert frame_span(7, 7) == "7"


def test_a_meta_holding_its_first_frame_holds_the_strip_inside():
    """Blender 4.2/4.5 leave a meta from new_meta + move_to_meta 1 frame long: its children
    are drawn at its first frame throughout."""
    held = StripTiming(frame_start=12, length=1)
    timing = StripTiming(frame_start=12, length=24, metas=(held,))
    assert strip_frames.source_frames(timing, 12, 35) == [0] * 24
    whole = StripTiming(frame_start=12, length=24)
    assert strip_frames.source_frames(StripTiming(12, 24, metas=(whole,)), 12, 14) == [0, 1, 2]
    past_its_end = StripTiming(frame_start=10, length=5)  # holds frame 14 after its content
    inside = StripTiming(frame_start=12, length=24, metas=(past_its_end,))
    assert strip_frames.source_frames(inside, 13, 16) == [1, 2, 2, 2]


def test_frames_showing_through_a_meta():
    held = StripTiming(frame_start=12, length=1)
    assert strip_frames.frames_showing(held, 12, 35) == (-math.inf, math.inf)
    assert strip_frames.frames_showing(StripTiming(frame_start=2, length=1), 5, 16) is None
    whole = StripTiming(frame_start=10, length=20)  # content 10..29
    assert strip_frames.frames_showing(whole, 12, 35) == (12, math.inf)
    assert strip_frames.frames_showing(whole, 5, 20) == (-math.inf, 20)
    assert strip_frames.intersect((12, math.inf), (10, 29)) == (12, 29)


def test_one_rounding_half_up_in_float32():
    """``source_index`` and ``raw_cache_mixed`` round through the one ``rounded``: half up,
    in 32-bit floats as Blender adds 0.5 (just under 0.5 in float64 rounds up there)."""
    rounded = strip_frames.rounded
    assert [rounded(x) for x in (0.0, 0.4, 0.5, 1.49, 1.5, 2.5)] == [0, 0, 1, 1, 2, 3]
    assert rounded(0.4999999701976776) == 1  # float32(0.5 - 2**-25) + 0.5 ties to 1.0
    timing = StripTiming(frame_start=0, length=20, playback_factor=0.4999999701976776)
    assert timing.source_index(1) == rounded(timing.content_frame(1)) == 1


def test_frames_blenders_raw_cache_may_swap():
    """Blender 5's raw cache files a frame under its index truncated (decoding it rounded):
    only frames sharing a truncated index with a frame that rounds elsewhere, looked for
    beyond the range as far as the shared key goes, within what the strip shows."""
    mixed = strip_frames.raw_cache_mixed
    slowed = StripTiming(frame_start=1.0, length=20, playback_factor=0.4)
    assert mixed(slowed, 2, 4, (1, 50)) == [2, 3, 4]
    assert mixed(slowed, 2, 2, (1, 50)) == [2]  # key 0 is also frame 3's, shown as 1
    assert mixed(slowed, 2, 2, (1, 2)) == []  # ...unless the strip ends before it
    assert mixed(slowed, 1, 1, (1, 50)) == [1]
    assert mixed(slowed, 5, 5, (1, 50)) == [5]  # 1.6 (shown as 2) under key 1 with frame 4
    faster = StripTiming(frame_start=1.0, length=40, playback_factor=1.2)
    assert mixed(faster, 1, 20, (1, 30)) == []  # one scene frame per key
    half = StripTiming(frame_start=1.5, length=40)  # every index x.5: one frame a key
    assert mixed(half, 2, 20, (2, 40)) == []
    # through a meta strip: the strip's own index, at the frame the meta draws it
    held = StripTiming(frame_start=1.0, length=20, playback_factor=0.4, metas=(StripTiming(1, 50),))
    assert mixed(held, 2, 4, (1, 50)) == [2, 3, 4]
