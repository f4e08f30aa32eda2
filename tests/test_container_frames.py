"""media.container_frames: the length Blender gives a movie's strip from its container (sound
included), only where Blender sizes the strip so. Blender (bpy 5.0.1) loads 10 pictures and
2 s of sound as 10 frames from MP4, MOV, AVI or MPEG-TS (its video stream declares its
length) and as 50 from Matroska, WebM or FLV (it declares none): only those hold their last
picture past the pictures. The container's length given for an MP4 let a file re-rendered
shorter under its strip pass as still spanning it (its sound did)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from restyle.core.media import container_frames


def movie(path: Path, pictures: int, sound_s: float, codec: str = "mpeg4") -> Path:
    """``pictures`` frames at 24 fps and ``sound_s`` seconds of silence."""
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = container.add_stream("libopus" if codec == "libvpx" else "aac", rate=48000)
        for i in range(pictures):
            picture = np.full((48, 64, 3), i * 20, np.uint8)
            container.mux(video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(video.encode(None))
        block = sound.frame_size or 1024
        for start in range(0, round(48000 * sound_s), block):
            samples = av.AudioFrame.from_ndarray(
                np.zeros((1, block), np.float32), format="fltp", layout="mono"
            )
            samples.sample_rate, samples.pts = 48000, start
            container.mux(sound.encode(samples))
        container.mux(sound.encode(None))
    return path


@pytest.mark.parametrize("suffix", ["mp4", "mov", "avi", "ts"])
def test_a_movie_whose_stream_declares_its_length_is_sized_by_its_pictures(tmp_path, suffix):
    assert container_frames(movie(tmp_path / f"clip.{suffix}", 10, 2.0)) is None


@pytest.mark.parametrize(("suffix", "codec"), [("mkv", "mpeg4"), ("webm", "libvpx")])
def test_a_matroska_movie_is_sized_by_its_container(tmp_path, suffix, codec):
    """About 2 s at 24 fps (the sound's encoder pads it by a block or two)."""
    spans = container_frames(movie(tmp_path / f"clip.{suffix}", 10, 2.0, codec))
    assert spans is not None and 48 <= spans <= 50
