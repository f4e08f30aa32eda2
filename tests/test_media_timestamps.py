"""A movie whose video stream starts before its first picture (mpeg4 with B-frames in AVI,
as FFmpeg's muxer writes it and as OpenCV's Megamind.avi is: stream start 0, first picture
at 1/fps). Players and the command line start at the first picture; Blender's movie strips
count from the stream's start, so they show the first picture at frames 0 and 1 and picture
i at frame i + 1 (measured on bpy 5.0.1; compat.MOVIE_STRIPS_HOLD_LEAD_IN). Read as Blender
shows it, Restyle must give the same picture at every index, or a styled strip runs a frame
ahead of its source. Megamind's timestamps are also out of order (1, 2, 3, 5, 4, ...)."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from restyle.core.media import decode_range, probe

from clips import make_index_clip, make_late_index_clip, make_stamped_index_clip, read_index

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from real_footage import FootageUnavailable, real_clip  # noqa: E402

SIZE = (160, 96)
FRAMES = 30


def _bframes_avi(path: Path, n: int, bframes: int = 1) -> Path:
    """FFmpeg's mpeg4 encoder with B-frames, muxed in AVI: frame i shows index i."""
    return make_index_clip(path, n, SIZE, codec="mpeg4", gop=12, bframes=bframes)


@pytest.fixture(scope="module")
def late_start(tmp_path_factory) -> Path:
    path = _bframes_avi(tmp_path_factory.mktemp("late") / "bframes.avi", FRAMES)
    with av.open(str(path)) as container:  # what makes it: start 0, first picture 1 later
        stream = container.streams.video[0]
        first = next(container.decode(stream))
        assert (stream.start_time, first.pts) == (0, 1)
    return path


def _indices(path, start, end, **kwargs) -> list[int]:
    return [read_index(frame) for frame in decode_range(path, start, end, **kwargs)]


def test_players_and_the_command_line_start_at_the_first_picture(late_start):
    info = probe(late_start)
    assert (info.frame_count, info.lead_in) == (FRAMES, 0)
    assert _indices(late_start, 0, FRAMES - 1) == list(range(FRAMES))
    assert _indices(late_start, 13, 15) == [13, 14, 15]


def test_read_as_blender_shows_it_the_first_picture_is_held(late_start):
    """bpy 5.0.1 rendered this file (strip alone, every frame, in order and at random):
    pictures 0, 0, 1, 2, ..., 28 at frames 0..29."""
    info = probe(late_start, hold_lead_in=True)
    assert (info.frame_count, info.lead_in) == (FRAMES, 1)
    shown = [0, *range(FRAMES - 1)]
    assert _indices(late_start, 0, FRAMES - 1, info=info) == shown
    for start, end in (
        (0, 0),
        (1, 1),
        (0, 2),
        (1, 3),
        (13, 15),
        (12, 24),
        (FRAMES - 2, FRAMES - 1),
    ):
        assert _indices(late_start, start, end, info=info) == shown[start : end + 1], (start, end)


def test_two_bframes_lead_in_by_one_frame_too(tmp_path):
    path = _bframes_avi(tmp_path / "b2.avi", 20, bframes=2)
    assert probe(path, hold_lead_in=True).lead_in == 1
    assert _indices(path, 0, 19, hold_lead_in=True) == [0, *range(19)]


@pytest.mark.parametrize(("bframes", "lead"), [(0, 0), (1, 1), (2, 2), (3, 2)])
def test_h264_in_avi_leads_in_by_its_first_pictures_decode_timestamp(tmp_path, bframes, lead):
    """AVI stores no presentation times: Blender times H.264's pictures there by their
    frames' decode timestamps, the first one's being the decoder's reordering delay. bpy
    4.2.23, 5.0.1 and 5.3.0 rendered x264's AVIs (strip alone, every frame): with 2 or 3
    B-frames pictures 0, 0, 0, 1, 2, ...; with 1 0, 0, 1, ...; with none 0, 1, 2, ....
    Restyle took the earliest pts PyAV's FFmpeg made up (1 for all four), so Apply's strip
    ran a frame ahead (2 and 3 B-frames) or behind (none) of its source."""
    path = make_index_clip(tmp_path / "x264.avi", 20, SIZE, codec="h264", gop=12, bframes=bframes)
    info = probe(path, hold_lead_in=True)
    assert (info.frame_count, info.lead_in) == (20, lead)
    shown = [0] * lead + list(range(20 - lead))
    assert _indices(path, 0, 19, info=info) == shown
    for start, end in ((0, 2), (2, 4), (11, 14), (18, 19)):
        assert _indices(path, start, end, info=info) == shown[start : end + 1], (start, end)
    assert probe(path).lead_in == 0  # players and the command line: the first picture first
    assert _indices(path, 0, 19) == list(range(20))
    # when the first picture shows (the sound's clock), as Blender times it, read either way:
    # bpy 5.0.1 played a click at 1.0 s at strip frame 24, where it showed picture 24 - lead
    assert info.first_picture_time == probe(path).first_picture_time == Fraction(lead, 24)


@pytest.mark.parametrize(
    ("bframes", "decoded", "length"), [(0, [0, 6, 7, 8], 25), (2, [5, 6, 7, 8], 23)]
)
def test_a_late_h264_start_in_avi_leads_in_as_blender_shows_it(tmp_path, bframes, decoded, length):
    """x264 pictures whose timestamps start at 5 (a cut out of a longer movie), in AVI: the
    muxer starts the stream at 0 and leaves empty chunks for the gap, so the decode
    timestamps run 0, 6, 7, ... without B-frames (5, 6, 7, ... with 2). bpy 5.0.1 rendered
    both strips (every frame, strip alone): picture 0 at frames 0-5, then 1, 2, 3, 4: lead
    5. Restyle read lead 0 from the first decoded picture's dts without B-frames (six frames
    ahead; 6 before f2af230, one behind). The strips are 25 and 23 frames long (the AVI's
    chunks), showing pictures 15-19 and 13-17 at their last five: Restyle counted 20."""
    path = make_late_index_clip(tmp_path / "late.avi", 20, 5, SIZE, bframes=bframes)
    with av.open(str(path)) as container:  # what makes it
        stream = container.streams.video[0]
        got = [frame.dts for _, frame in zip(range(4), container.decode(stream), strict=False)]
        assert (stream.start_time, got) == (0, decoded)
    info = probe(path, hold_lead_in=True)
    assert (info.lead_in, info.frame_count, info.truncated) == (5, length, False)
    shown = [0] * 5 + list(range(length - 5))
    assert _indices(path, 0, length - 1, info=info) == shown
    for start, end in ((0, 2), (4, 7), (11, 14), (17, length - 1), (length - 1, length - 1)):
        assert _indices(path, start, end, info=info) == shown[start : end + 1], (start, end)
    assert probe(path).frame_count == 20  # the command line: every picture once
    assert _indices(path, 0, 19) == list(range(20))
    # picture i >= 1 shows at (i + 5) / fps, so the first one, on the pictures' clock, at 5/fps
    assert info.first_picture_time == probe(path).first_picture_time == Fraction(5, 24)


# x264 stamps with a dropped frame (an empty chunk in AVI), B-frames, its lead-in, and the
# picture bpy 5.0.1 rendered at each frame of its strip (strip alone, every frame)
DROPPED = {
    "gap in the head": ([*range(5), *range(6, 21)], 0, 0, [*range(5), 4, *range(5, 20)]),
    "gap in the head, 2 B-frames": (
        [*range(5), *range(6, 21)],
        2,
        2,
        [0, 0, *range(5), 4, *range(5, 18)],
    ),
    "gap past the head, 2 B-frames": (
        [*range(12), *range(13, 21)],
        2,
        2,
        [0, 0, *range(12), 11, *range(12, 18)],
    ),
    "late start, then a gap": (
        [*range(5, 10), *range(11, 26)],
        0,
        5,
        [0] * 6 + [1, 2, 3, 4, 4, *range(5, 20)],
    ),
}


@pytest.mark.parametrize(("stamps", "bframes", "lead", "shown"), DROPPED.values(), ids=DROPPED)
def test_a_dropped_h264_frame_in_avi_is_a_variable_rate_not_a_lead_in(
    tmp_path, stamps, bframes, lead, shown
):
    """Blender times H.264's pictures in AVI by their decode timestamps, so a dropped frame
    (an empty chunk) holds the picture before it there, and only the first picture's time
    leads in. 4640375 read the latest dts_i - i over the first 8 frames as the first
    picture's time: a gap among them made a lead-in a frame too long (1 and 3 for the first
    two, 6 for the last), the whole strip a frame late; and it read x264 with B-frames in
    decode order (its pts PyAV makes up are out of order), a gap past the head ignored and
    every later frame a frame early. The command line starts at the first picture and holds
    it once, then as Blender, and on to the pictures Blender never shows."""
    path = make_stamped_index_clip(tmp_path / "dropped.avi", stamps, SIZE, bframes)
    info = probe(path, hold_lead_in=True)
    assert (info.lead_in, info.frame_count, info.truncated) == (lead, len(shown), False)
    assert _indices(path, 0, len(shown) - 1, info=info) == shown
    for start, end in ((0, 3), (4, 8), (9, 13), (11, 15), (17, len(shown) - 1)):
        assert _indices(path, start, end, info=info) == shown[start : end + 1], (start, end)
    alone = shown[lead:] + list(range(shown[-1] + 1, 20))
    cli = probe(path)
    assert (cli.lead_in, cli.frame_count, cli.truncated) == (0, len(alone), False)
    assert _indices(path, 0, len(alone) - 1, info=cli) == alone
    assert _indices(path, 4, 9, info=cli) == alone[4:10]
    assert info.first_picture_time == cli.first_picture_time == Fraction(lead, 24)


@pytest.mark.parametrize("bframes", [0, 2])
def test_an_h264_avi_cut_short_is_called_cut_short(tmp_path, bframes):
    """Read from its first picture (the command line's default), an x264 AVI that lost its
    last two chunks (and its index) decodes 28 of the 30 pictures its header declares. With
    2 B-frames 4640375 took the first picture's decode timestamp (2: the decoder's
    reordering delay, not empty chunks) off the 30, so it called the movie whole (28 = 28):
    a loss of up to 3 pictures went unreported."""
    path = make_stamped_index_clip(tmp_path / "whole.avi", range(30), SIZE, bframes)
    whole = probe(path)
    assert (whole.frame_count, whole.declared_frames, whole.truncated) == (30, 30, False)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        starts = [packet.pos for packet in container.demux(stream) if packet.size]
    cut = tmp_path / "cut.avi"
    cut.write_bytes(path.read_bytes()[: starts[28]])
    info = probe(cut)
    assert (info.frame_count, info.declared_frames, info.truncated) == (28, 30, True)
    assert probe(cut, hold_lead_in=True).truncated


def test_the_lead_in_is_reported_by_index(late_start):
    """A picture's damage or retiming is reported at the index it shows at."""
    info = probe(late_start, hold_lead_in=True)
    held: list[int] = []
    retimed: list[tuple[int, bool]] = []
    frames = list(
        decode_range(
            late_start,
            0,
            5,
            info=info,
            on_held=held.append,
            on_retimed=lambda *a: retimed.append(a),
        )
    )
    assert len(frames) == 6 and not held and not retimed
    assert frames[0] is not frames[1]  # a held picture is a copy: the caller may write to it


def test_only_the_caller_says_how_to_read_it(late_start, monkeypatch):
    """Reading with the lead-in is the caller's word (Blender's operators pass
    compat.MOVIE_STRIPS_HOLD_LEAD_IN, the command line --hold-lead-in), never whatever
    modules happen to be loaded: core read the extension's compat module from sys.modules,
    so a Python script in Blender and a Ray node's command line read the same file apart."""
    import types

    package = probe.__module__.rsplit(".", 2)[0]
    compat = types.ModuleType(f"{package}.compat")
    compat.MOVIE_STRIPS_HOLD_LEAD_IN = True
    monkeypatch.setitem(sys.modules, f"{package}.compat", compat)
    assert probe(late_start).lead_in == 0
    assert _indices(late_start, 0, 2) == [0, 1, 2]
    assert probe(late_start, hold_lead_in=True).lead_in == 1
    assert _indices(late_start, 0, 2, hold_lead_in=True) == [0, 0, 1]


def test_an_in_order_movie_has_no_lead_in(index_clip_h264):
    info = probe(index_clip_h264, hold_lead_in=True)
    assert info.lead_in == 0
    assert info.first_picture_time == info.start_pts * info.time_base
    assert _indices(index_clip_h264, 0, 3, info=info) == [0, 1, 2, 3]


def _megamind() -> Path:
    try:
        return real_clip("megamind")
    except FootageUnavailable as exc:
        pytest.skip(str(exc))


def _decode_order(path: Path, count: int) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        out = []
        for frame in container.decode(stream):
            out.append(frame.to_ndarray(format="rgb24"))
            if len(out) == count:
                return out
    raise AssertionError("short movie")


def test_megamind_timestamps_are_out_of_order_and_read_in_decode_order():
    """The pictures come out of FFmpeg's decoder in order with some timestamps swapped;
    decode order is the pictures' order (the command line's)."""
    path = _megamind()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.start_time == 0
        pts = [f.pts for _, f in zip(range(6), container.decode(stream), strict=False)]
    assert pts == [1, 2, 3, 5, 4, 6]
    pictures = _decode_order(path, 103)
    info = probe(path)
    assert (info.frame_count, info.lead_in, info.fps) == (270, 0, Fraction(2997, 125))
    for start, end in ((0, 5), (96, 101)):
        got = list(decode_range(path, start, end, info=info))
        assert all(
            np.array_equal(a, pictures[i]) for i, a in zip(range(start, end + 1), got, strict=True)
        )


def test_megamind_read_as_blender_shows_it():
    """bpy 5.0.1 rendered Megamind.avi's strip alone at every frame, in order and at random,
    and matched each render to the decoded pictures: picture 0 at frames 0 and 1, picture
    f - 1 at frame f (its cut, pictures 97 | 98, between frames 98 and 99)."""
    path = _megamind()
    pictures = _decode_order(path, 103)
    info = probe(path, hold_lead_in=True)
    assert (info.frame_count, info.lead_in) == (270, 1)
    assert info.first_picture_time == 1 / info.fps  # its first frame's dts (and pts): 1
    for start, end in ((0, 4), (96, 101), (98, 99)):
        got = list(decode_range(path, start, end, info=info))
        wanted = [max(index - 1, 0) for index in range(start, end + 1)]
        assert len(got) == len(wanted)
        for index, array, picture in zip(range(start, end + 1), got, wanted, strict=True):
            assert np.array_equal(array, pictures[picture]), (index, picture)


def test_a_lead_in_read_keys_its_frames_apart(late_start, index_clip_h264, tmp_path, library):
    """Frames styled from the first picture (the command line, or Restyle before it read as
    Blender shows it) are a frame off the strip: Apply must not reuse them ('0 styled, 7
    reused' brought the misaligned frames back). A movie with no lead-in keeps its key, so
    older runs of it still resume."""
    from restyle.core.job import StyleJob

    def key(source, hold):
        job = StyleJob(source, tmp_path / "out", "comic-ink", library=library, temporal=0)
        job.hold_lead_in = hold
        return job.validate().key

    assert key(late_start, True) != key(late_start, False)
    assert key(index_clip_h264, True) == key(index_clip_h264, False)


def _click_avi(path: Path) -> Path:
    """A B-frame AVI whose picture 23 (at 1.0 s: the first picture is at 1/24) is white and
    whose sound clicks at 1.0 s; every other picture black, the rest silence."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.codec_context.max_b_frames = 1
        video.codec_context.gop_size = 12
        audio = container.add_stream("ac3", rate=48000, layout="stereo")
        pcm = np.zeros((2, 96000), np.float32)
        pcm[:, 48000:48048] = 0.8
        packets = []
        for i in range(48):
            picture = np.full((48, 64, 3), 255 if i == 23 else 0, np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            packets += video.encode(frame)
        packets += video.encode(None)
        for at in range(0, pcm.shape[1], 1536):
            frame = av.AudioFrame.from_ndarray(
                pcm[:, at : at + 1536], format="fltp", layout="stereo"
            )
            frame.sample_rate, frame.pts, frame.time_base = 48000, at, Fraction(1, 48000)
            packets += audio.encode(frame)
        packets += audio.encode(None)
        for packet in sorted(packets, key=lambda p: float(p.dts * p.time_base)):
            container.mux(packet)
    return path


@pytest.mark.parametrize("hold", [False, True])
def test_the_sound_stays_with_its_picture(tmp_path, library, hold):
    """Blender (bpy 5.0.1, the movie added with its sound as the UI adds it, mixed down and
    rendered) plays this file's click and shows its white picture both at strip frame 24:
    it plays the sound from the stream's start, as it counts the frames. Read with the
    lead-in, the output's sound started at the first picture, a frame after that: the
    click came at output frame 23, the white picture at 24."""
    from restyle.core.job import StyleJob

    source = _click_avi(tmp_path / "click.avi")
    out = tmp_path / "out.mp4"
    job = StyleJob(
        source, out, "comic-ink", library=library, strength=0.0, temporal=0, hold_lead_in=hold
    )
    job.run()
    with av.open(str(out)) as container:
        means = [f.to_ndarray(format="gray").mean() for f in container.decode(video=0)]
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            assert frame.format.is_planar, frame.format.name  # row 0 is then channel 0
            loud = np.flatnonzero(np.abs(frame.to_ndarray()[0]) > 0.3)
            if loud.size:
                click = (frame.time + loud[0] / frame.sample_rate) * 24
                break
    white = int(np.argmax(means))
    assert white == (24 if hold else 23)
    assert abs(click - white) < 0.25, (click, white)


@pytest.mark.parametrize("bframes", [0, 2])
def test_a_late_h264_start_in_avi_is_not_called_cut_short(tmp_path, bframes):
    """Read from its first picture (the command line's default), a late AVI's 20 pictures
    are all there: the 25 (or 23) chunks it declares include the empty ones before the
    first, which the job's warning read as 'cut short or damaged'."""
    path = make_late_index_clip(tmp_path / "late.avi", 20, 5, SIZE, bframes=bframes)
    info = probe(path)
    assert info.frame_count == 20 and not info.truncated, info.declared_frames
    held = probe(path, hold_lead_in=True)
    assert not held.truncated and held.frame_count == held.declared_frames
