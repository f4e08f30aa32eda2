"""The sound of ``restyle stylize``'s movie of an AVI whose stream starts before its first
picture (B-frames) is in sync with its pictures, read with or without ``--hold-lead-in``.

Its first picture shows where a player and Blender show it: its decode timestamp
(``MediaInfo.first_picture_time``). The sound was taken from its first frame's pts
instead, or from 0 where those come out of order. FFmpeg's mpeg4
(``clips.make_index_clip(codec="mpeg4", bframes=N)``) was in sync either way; x264 in AVI
and packed B-frames (DivX's, OpenCV's Megamind.avi: pts 1, 2, 3, 5, 4, ...) were a frame
or two off (figures in each test, samples at 48 kHz). A click is put under chosen
pictures, where a player shows them (each decoded picture's decode timestamp); the output
is the source's own pictures (--strength 0, lossless FFV1 and FLAC), so each picture is
found in it, and its click must start where that picture first shows.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from restyle.core.cli import main

from clips import make_index_clip, read_index

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from real_footage import FootageUnavailable, real_clip  # noqa: E402

RATE = 48000
STYLIZE = ["-s", "comic-ink", "--strength", "0", "--temporal", "0", "--format", "ffv1", "-q"]


def pictures(path: Path, every: int = 1) -> tuple[list[np.ndarray], list[Fraction]]:
    """The movie's pictures in the order they show (every ``every``-th pixel), and when
    each shows on its clock: its decode timestamp, as players fall back on when the
    presentation timestamps come out of order (Megamind.avi's)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = Fraction(stream.time_base)
        frames = list(container.decode(stream))
    shown = [f.to_ndarray(format="rgb24")[::every, ::every] for f in frames]
    return shown, [None if f.dts is None else f.dts * time_base for f in frames]


def with_clicks(video: Path, out: Path, times: list[Fraction]) -> Path:
    """``video``'s packets as they are (timestamps, packing) in an AVI with 16-bit PCM
    stereo from time 0: a quiet tone, a click at each of ``times``."""
    with av.open(str(video)) as source, av.open(str(out), "w") as target:
        vin = source.streams.video[0]
        vout = target.add_stream_from_template(vin)
        sound = target.add_stream("pcm_s16le", rate=RATE)
        sound.layout = "stereo"
        packets = [p for p in source.demux(vin) if p.dts is not None]
        n = round(((packets[-1].dts + 1) * vin.time_base + 1) * RATE)
        tone = 0.05 * np.sin(2 * np.pi * 440 * np.arange(n) / RATE)
        for t in times:
            tone[round(t * RATE) : round(t * RATE) + 32] = 0.9
        samples = (np.repeat(tone, 2)[None, :] * 32767).astype(np.int16)  # interleaved
        placed = 0
        for packet in packets:
            until = (packet.dts + 1) * vin.time_base * RATE
            while placed < n and placed <= until:
                count = min(1024, n - placed)
                chunk = np.ascontiguousarray(samples[:, 2 * placed : 2 * (placed + count)])
                frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
                frame.sample_rate, frame.time_base, frame.pts = RATE, Fraction(1, RATE), placed
                target.mux(sound.encode(frame))
                placed += count
            packet.stream = vout
            target.mux(packet)
        target.mux(sound.encode(None))
    return out


def click_samples(path: Path) -> list[int]:
    """Where the clicks start in the movie's sound, in samples from its time 0."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.sample_rate == RATE
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        first, parts = None, []
        for frame in container.decode(stream):
            first = frame.pts * frame.time_base if first is None else first
            parts += [f.to_ndarray() for f in resampler.resample(frame)]
    assert first == 0
    loud = np.abs(np.concatenate(parts, axis=1)[0]) > 0.5
    return [int(i) + 1 for i in np.flatnonzero(loud[1:] & ~loud[:-1])]


def offsets(source: Path, out: Path, clicked: list[int], identify, *options: str) -> list[float]:
    """Stylize ``source`` into ``out``; for each picture of ``clicked``, samples from where
    it first shows in the output to where its click starts (+: the sound is late)."""
    assert main(["stylize", str(source), "-o", str(out), *STYLIZE, *options]) == 0
    with av.open(str(out)) as container:
        fps = Fraction(container.streams.video[0].average_rate)
        shown = [identify(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    clicks = click_samples(out)
    assert len(clicks) == len(clicked), (clicks, clicked)
    return [float(c - shown.index(p) * RATE / fps) for p, c in zip(clicked, clicks, strict=True)]


@pytest.mark.parametrize("hold", [False, True], ids=["as-read", "hold-lead-in"])
@pytest.mark.parametrize(
    "codec,bframes,delay",
    [("mpeg4", 1, 1), ("mpeg4", 2, 1), ("h264", 0, 0), ("h264", 1, 1), ("h264", 2, 2)],
)
def test_an_avi_with_b_frames_keeps_its_sound_on_its_pictures(
    library, tmp_path, hold, codec, bframes, delay
):
    """FFmpeg's mpeg4: 0 samples off either way (in sync already). x264 in AVI (its first
    picture ``delay`` frames into the stream, its pts PyAV's own) was off: without
    B-frames the sound was 2000 samples (a frame) early either way; with 1 and 2, read
    without --hold-lead-in, 2000 and 4000 late."""
    video = make_index_clip(tmp_path / "v.avi", 40, codec=codec, gop=12, bframes=bframes)
    _, times = pictures(video)
    assert times[0] == Fraction(delay, 24)  # where the first picture shows: the case at hand
    clicked = [12, 30]
    source = with_clicks(video, tmp_path / "clicks.avi", [times[p] for p in clicked])
    options = ["--start", "5", "--end", "35", *(["--hold-lead-in"] if hold else [])]
    off = offsets(source, tmp_path / "out.mkv", clicked, read_index, *options)
    assert np.allclose(off, 0, atol=1), f"{off} samples off"


@pytest.mark.slow
@pytest.mark.parametrize("hold", [False, True], ids=["as-read", "hold-lead-in"])
def test_packed_b_frames_keep_their_sound_on_their_pictures(library, tmp_path, hold):
    """Megamind.avi's own video packets (packed B-frames, timestamps out of order), clicks
    under pictures 110 and 140: read without --hold-lead-in the sound was 2002 samples (one
    frame) late; with it, in sync."""
    try:
        megamind = real_clip("megamind")
    except FootageUnavailable as exc:
        pytest.skip(str(exc))
    _, times = pictures(megamind)
    clicked = [110, 140]
    source = with_clicks(megamind, tmp_path / "clicks.avi", [times[p] for p in clicked])
    reference, again = pictures(source, every=4)
    assert again == times
    reference = [np.ascontiguousarray(p) for p in reference]

    def identify(frame: np.ndarray) -> int:  # the source picture the output shows
        # The least mean absolute difference: cv2.norm's L1 is the exact integer sum of
        # absolute differences (same count of values for every picture), ~2.3x less CPU than
        # numpy's int16 difference and mean of each (10.5 against 4.5 CPU-s per run here).
        small = np.ascontiguousarray(frame[::4, ::4])
        return int(np.argmin([cv2.norm(small, p, cv2.NORM_L1) for p in reference]))

    options = ["--start", "100", "--end", "150", "--max-side", "200"]
    options += ["--hold-lead-in"] if hold else []
    off = offsets(source, tmp_path / "out.mkv", clicked, identify, *options)
    assert np.allclose(off, 0, atol=1), f"{off} samples off"
