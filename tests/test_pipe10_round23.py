"""H.264 movies encoded with x264's "ultrafast" preset (round 23, pipe10).

At crf 18 styled frames (all texture) spend x264's time in CABAC entropy coding: "veryfast"
took 42 ms of CPU a 720p frame on the cores the network needs, "ultrafast" (CAVLC) 10 ms, at
the same or better PSNR against the frames written. These tests read the settings x264
stamps in the movie (its options SEI) and check that the decoded frames are no further from
the frames written than "veryfast" left them.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core.metrics import psnr
from restyle.core.writers import MovieWriter

av = pytest.importorskip("av")


def textured(n: int, h: int = 144, w: int = 256) -> list[np.ndarray]:
    """Frames like a style's output: saturated texture at several scales, drifting."""
    rng = np.random.default_rng(23)
    coarse = rng.integers(0, 256, (h // 8 + 4, w // 8 + 4, 3), dtype=np.uint8)
    fine = rng.integers(0, 256, (h + 8, w + 8, 3), dtype=np.uint8)
    big = cv2.resize(coarse, None, fx=8, fy=8, interpolation=cv2.INTER_CUBIC)
    frames = []
    for i in range(n):
        mix = 0.7 * big[i : i + h, i : i + w] + 0.3 * fine[i : i + h, i : i + w]
        frames.append(np.ascontiguousarray(np.clip(mix, 0, 255).astype(np.uint8)))
    return frames


def x264_options(path: Path) -> str:
    """The settings line libx264 writes into the stream (its user-data SEI)."""
    found = re.search(rb"x264 - core .*? options: ([^\x00]*)", path.read_bytes())
    assert found, "no x264 settings in the movie"
    return found.group(1).decode("ascii", "replace")


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [
            f.reformat(format="rgb24", src_colorspace="ITU709", src_color_range="MPEG").to_ndarray()
            for f in container.decode(video=0)
        ]


def reference_veryfast(frames: list[np.ndarray], path: Path) -> None:
    """The movie the writer made before round 23: crf 18, "veryfast", one thread."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 24)
        stream.codec_context.options = {
            "crf": "18",
            "preset": "veryfast",
            "threads": "1",
            "x264-params": "cpu-independent=1",
        }
        for i, frame in enumerate(frames):
            video = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG"
            )
            video.pts = i
            for packet in stream.encode(video):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def write_movie(frames: list[np.ndarray], path: Path) -> None:
    h, w = frames[0].shape[:2]
    with MovieWriter(path, codec="h264", fps=24, width=w, height=h) as writer:
        for i, frame in enumerate(frames):
            writer.write(i, frame)


def test_h264_movies_use_x264s_cheap_entropy_coder(tmp_path):
    frames = textured(6)
    movie = tmp_path / "out.mp4"
    write_movie(frames, movie)
    options = x264_options(movie)
    # ultrafast: CAVLC, no B-frames, no deblocking, no macroblock tree; still crf 18, 1 thread
    assert "cabac=0" in options.split(), options
    assert "bframes=0" in options.split(), options
    assert "crf=18.0" in options.split(), options
    assert "threads=1" in options.split(), options
    assert len(decoded(movie)) == 6


def test_h264_movies_are_as_close_to_the_frames_as_before(tmp_path):
    frames = textured(6)
    movie, before = tmp_path / "out.mp4", tmp_path / "veryfast.mp4"
    write_movie(frames, movie)
    reference_veryfast(frames, before)
    now = [psnr(a, b) for a, b in zip(frames, decoded(movie), strict=True)]
    then = [psnr(a, b) for a, b in zip(frames, decoded(before), strict=True)]
    assert np.mean(now) >= np.mean(then) - 0.05, (now, then)
    assert min(now) >= min(then) - 0.25, (now, then)


class _Recording:
    """Preprocesses into the array the pipeline lends and records whether each batch the
    network gets is that array itself (no copy) or a copy of it."""

    def __init__(self) -> None:
        self.lent: list[np.ndarray] = []
        self.shared: list[bool] = []

    def input_shape(self, frame: np.ndarray) -> tuple[int, int, int]:
        return 3, *frame.shape[:2]

    def preprocess(self, frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out[...] = frame.transpose(2, 0, 1)
        self.lent.append(out)
        return out

    def infer(self, batch: np.ndarray) -> np.ndarray:
        self.shared.append(any(np.shares_memory(batch, a) for a in self.lent))
        return batch * 2 + 1

    def postprocess(self, out: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return out.transpose(1, 2, 0).copy()


def test_a_batch_of_one_reaches_the_network_without_a_copy():
    """OpenVINO's lanes (in-process and the child's) take one frame a call: the frame's
    array goes to the network as it is (np.stack copied 11 MB a 720p frame)."""
    from restyle.core.pipeline import run_pipeline

    rng = np.random.default_rng(5)
    items = [(i, rng.random((8, 12, 3), dtype=np.float32)) for i in range(12)]
    stylizer, written = _Recording(), {}
    run_pipeline(iter(items), stylizer, lambda i, f: written.__setitem__(i, f), len(items), lanes=2)
    assert stylizer.shared and all(stylizer.shared)
    assert sorted(written) == list(range(12))
    assert all(np.array_equal(written[i], f * 2 + 1) for i, f in items)
