"""A movie output's sound keeps its timing whatever the source's channel layout, sample format
and container: mono PCM in AVI/Matroska (which PyAV reports as "1 channels", packed s16),
mono in MOV, mono AAC/AC-3/FLAC, stereo, 5.1 and an odd rate.

Each source is 48 black frames at 24 fps over 2 s of silence with one 48-sample click at
1.0 s; the output (StyleJob at strength 0) must hold that click at 1.0 s on its own clock
(less the first picture's time), 48 samples long, and the whole 2 s of sound: sound read at
the wrong speed (mono taken for stereo, packed for planar, the wrong rate) moves the click,
changes its length and the track's duration.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from restyle.core.media import probe

FPS = 24
FRAMES = 48
CLICK_S = 1
CLICK_SAMPLES = 48


def _click_movie(path: Path, codec: str, layout: str, rate: int) -> Path:
    """FRAMES black mpeg4 pictures and FRAMES / FPS s of ``codec`` sound in ``layout``:
    silence but a click in every channel at CLICK_S."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=FPS)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream(codec, rate=rate, layout=layout)
        fmt = audio.codec_context.format
        channels = av.AudioLayout(layout).nb_channels
        sound = np.zeros(FRAMES * rate // FPS, np.float32)
        sound[CLICK_S * rate : CLICK_S * rate + CLICK_SAMPLES] = 0.6
        packets = []
        for i in range(FRAMES):
            picture = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            picture.pts = i
            packets += video.encode(picture)
        packets += video.encode(None)
        size = audio.codec_context.frame_size or 1024
        for at in range(0, sound.size, size):
            chunk = sound[at : at + size]
            if audio.codec_context.frame_size:
                chunk = np.pad(chunk, (0, size - chunk.size))
            if fmt.name.startswith("s16"):
                chunk = (chunk * 32767).astype(np.int16)
            elif fmt.name.startswith("s32"):
                chunk = (chunk * 2**31).astype(np.int32)
            samples = np.stack([chunk] * channels) if fmt.is_planar else np.repeat(chunk, channels)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples.reshape(channels if fmt.is_planar else 1, -1)),
                format=fmt.name,
                layout=layout,
            )
            frame.sample_rate, frame.pts, frame.time_base = rate, at, Fraction(1, rate)
            packets += audio.encode(frame)
        packets += audio.encode(None)
        for packet in sorted(packets, key=lambda p: float(p.dts * p.time_base)):
            container.mux(packet)
    return path


def _sound(path: Path) -> tuple[str, int, int, float, np.ndarray]:
    """(layout name, channels, rate, first sample's time, first channel's samples)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        context = stream.codec_context
        first, parts = None, []
        for frame in container.decode(stream):
            first = float(frame.pts * frame.time_base) if first is None else first
            data = frame.to_ndarray()
            if not frame.format.is_planar:  # packed: one row of interleaved channels
                data = data.reshape(-1, frame.layout.nb_channels).T
            parts.append(data[0].astype(np.float64))
    samples = np.concatenate(parts)
    return context.layout.name, context.channels, context.sample_rate, first, samples


def _click(samples: np.ndarray) -> tuple[int, int]:
    """(first sample, length) of the click: the samples over half the loudest."""
    loud = np.flatnonzero(np.abs(samples) > 0.5 * np.abs(samples).max())
    return int(loud[0]), int(loud[-1] - loud[0] + 1)


@pytest.mark.parametrize(
    "suffix,codec,layout,rate,output",
    [
        (".avi", "pcm_s16le", "mono", 48000, ".mp4"),  # "1 channels", packed s16
        (".avi", "pcm_s16le", "mono", 48000, ".mov"),
        (".avi", "pcm_s16le", "mono", 48000, ".mkv"),
        (".mkv", "pcm_s16le", "mono", 48000, ".mp4"),  # "1 channels" too
        (".mov", "pcm_s16le", "mono", 48000, ".mp4"),
        (".mkv", "aac", "mono", 48000, ".mp4"),
        (".mkv", "ac3", "mono", 48000, ".mp4"),
        (".mkv", "flac", "mono", 48000, ".mp4"),
        (".avi", "pcm_s16le", "mono", 22050, ".mp4"),
        (".avi", "pcm_s16le", "stereo", 48000, ".mp4"),
        (".mkv", "ac3", "5.1", 48000, ".mp4"),
        (".mkv", "flac", "5.1", 48000, ".mkv"),
    ],
    ids=lambda v: str(v).lstrip("."),
)
def test_the_click_keeps_its_time_and_length(
    tmp_path, library, suffix, codec, layout, rate, output
):
    from restyle.core.job import StyleJob

    source = _click_movie(tmp_path / f"source{suffix}", codec, layout, rate)
    src_layout, src_channels, src_rate, src_first, src_samples = _sound(source)
    assert src_channels == av.AudioLayout(layout).nb_channels and src_rate == rate
    if suffix in (".avi", ".mkv") and codec == "pcm_s16le" and layout == "mono":
        assert src_layout.startswith("1 channels")  # the case reported
    at, length = _click(src_samples)
    assert (src_first + at / rate, length) == (CLICK_S, CLICK_SAMPLES)  # the source is right

    out = tmp_path / f"out{output}"
    StyleJob(source, out, "comic-ink", library=library, strength=0.0, max_side=64).run()
    _, channels, out_rate, first, samples = _sound(out)
    assert channels == min(av.AudioLayout(layout).nb_channels, 2)
    info = probe(source)
    want = CLICK_S - float(info.start_pts * info.time_base)  # output 0: the first picture
    at, length = _click(samples)
    assert abs(first + at / out_rate - want) < 0.5e-3, (first + at / out_rate, want)
    assert abs(length - CLICK_SAMPLES * out_rate / rate) <= 2, length
    # the whole range's sound, at its own speed (a frame of AAC's padding at most)
    assert 0 <= samples.size / out_rate - FRAMES / FPS < 1024 / out_rate
