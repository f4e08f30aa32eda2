"""Inference lanes: an engine that serves several calls at once gets as many inference
threads, so a worker done with its frame starts the next one instead of waiting for the
other at the end of each batch (2-core AMD EPYC: the pipeline ran at 72 % of the bare
network's speed with that barrier; docs/performance/engines.md). Frames still reach the
finisher, the coherence and the writer in order."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from restyle.core.errors import Cancelled
from restyle.core.pipeline import inference_lanes, run_pipeline
from restyle.core.progress import CancelToken
from restyle.core.stylizer import StyleSettings, Stylizer, planar_float


class SlowFirstStylizer:
    """Styles a frame by inverting it. The first batch's call waits until the second batch's
    has begun: with one lane (or a barrier) that never happens and it gives up waiting."""

    def __init__(self, batch_size: int = 1) -> None:
        self.batch_size = batch_size
        self.second_started = threading.Event()
        self.waited_for_second: bool | None = None
        self.calls: list[int] = []

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        return frame.astype(np.float32)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        first = int(batch[0, 0, 0, 0])
        self.calls.append(first)
        if first == self.batch_size:
            self.second_started.set()
        if first == 0:
            self.waited_for_second = self.second_started.wait(timeout=5)
        else:
            time.sleep(0.01 * (first % 3))  # finishing out of order
        return 255 - batch

    def postprocess(self, out: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return out.astype(np.uint8)


def frames(count: int) -> list[tuple[int, np.ndarray]]:
    return [(i, np.full((4, 4, 3), i, np.uint8)) for i in range(count)]


@pytest.mark.parametrize("batch_size", [1, 2])
def test_a_free_lane_takes_the_next_frames_while_another_is_busy(batch_size):
    stylizer, written = SlowFirstStylizer(batch_size), []
    items = frames(12)
    run_pipeline(
        iter(items), stylizer, lambda i, f: written.append((i, f)), len(items),
        batch_size=batch_size, lanes=2,
    )  # fmt: skip
    assert stylizer.waited_for_second is True  # batch 2 began while batch 1 was under way
    assert [i for i, _ in written] == list(range(12))  # in order all the same
    assert all(np.array_equal(f, 255 - items[i][1]) for i, f in written)


def test_one_lane_styles_one_batch_at_a_time():
    """The check above can fail: one lane leaves frame 0 waiting alone."""
    stylizer, written = SlowFirstStylizer(), []
    items = frames(4)
    run_pipeline(iter(items), stylizer, lambda i, f: written.append(i), 4, lanes=1)
    assert stylizer.waited_for_second is False and written == [0, 1, 2, 3]


def test_a_cancel_stops_the_writes_with_lanes_in_flight():
    """Frames styled after the cancel are not written; those written are in order."""
    stylizer, written, token = SlowFirstStylizer(2), [], CancelToken()

    def write(index: int, frame: np.ndarray) -> None:
        written.append(index)
        if len(written) == 3:
            token.cancel()

    items = frames(40)
    with pytest.raises(Cancelled):
        run_pipeline(iter(items), stylizer, write, 40, batch_size=2, lanes=2, cancel=token)
    assert written == list(range(len(written))) and 3 <= len(written) < 40


def test_onnx_runtime_workers_give_the_pipeline_two_lanes(library, monkeypatch):
    from restyle.core.engines import onnx_engine

    monkeypatch.setattr(onnx_engine, "cpu_workers", lambda threads=None: 2)
    settings = StyleSettings(backend="onnx", device="cpu")
    with Stylizer(library.resolve("starry-swirls"), library, settings) as stylizer:
        assert inference_lanes(stylizer) == 2


@pytest.mark.parametrize("shape", [(720, 1280, 3), (37, 53, 3), (36, 52, 4)])
def test_planar_float_is_opencv_blob_from_image_bit_for_bit(shape):
    rgb = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)[..., :3]
    expected = cv2.dnn.blobFromImage(np.ascontiguousarray(rgb), 1 / 255.0)[0]
    assert np.array_equal(planar_float(rgb), expected)


class ReusingStylizer:
    """Writes each frame's number into the array the pipeline hands ``preprocess`` (as the
    real stylizer does) and styles it as ``2 x + 1``; or, ``identity``, returns the batch it
    was given (an output that is its input must not be reused). Slow finishing lets the
    reader and the lanes run ahead, so arrays given back too early would be overwritten."""

    def __init__(self, identity: bool = False) -> None:
        self.identity = identity
        self.arrays: list[np.ndarray] = []  # every array it was handed, kept alive

    def input_shape(self, frame: np.ndarray) -> tuple[int, int, int]:
        return 3, *frame.shape[:2]

    def preprocess(self, frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        assert out is not None and out.shape == self.input_shape(frame)
        self.arrays.append(out)
        out[...] = frame.transpose(2, 0, 1)
        return out

    def infer(self, batch: np.ndarray) -> np.ndarray:
        time.sleep(0.002 * (int(batch[0, 0, 0, 0]) % 3))  # lanes finish out of order
        return batch if self.identity else batch * 2 + 1

    def postprocess(self, out: np.ndarray, frame: np.ndarray) -> np.ndarray:
        time.sleep(0.004)
        return out.transpose(1, 2, 0).copy()


@pytest.mark.parametrize("batch_size", [1, 2, 3])
@pytest.mark.parametrize("identity", [False, True])
def test_reused_input_arrays_keep_every_frame_its_own(batch_size, identity):
    stylizer, written = ReusingStylizer(identity), []
    items = frames(40)
    run_pipeline(
        iter(items), stylizer, lambda i, f: written.append((i, f)), len(items),
        batch_size=batch_size, lanes=2,
    )  # fmt: skip
    assert [i for i, _ in written] == list(range(40))
    expected = [f if identity else f * 2.0 + 1 for _, f in items]
    assert all(np.array_equal(f, expected[i]) for i, f in written)
    if not identity:  # the arrays were reused
        assert len({id(array) for array in stylizer.arrays}) < 20


def test_preprocess_into_an_array_is_preprocess_bit_for_bit(library, monkeypatch):
    """8 and 16 bits, resized (scale) and padded to the network's multiple (odd sizes)."""
    rng = np.random.default_rng(3)
    for scale, shape, dtype in [(None, (37, 53, 3), np.uint8), (0.7, (61, 90, 4), np.uint16)]:
        settings = StyleSettings(backend="onnx", device="cpu", scale=scale)
        with Stylizer(library.resolve("starry-swirls"), library, settings) as stylizer:
            frame = rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
            fresh = stylizer.preprocess(frame)
            out = np.full(stylizer.input_shape(frame), np.nan, np.float32)
            assert fresh.shape == out.shape and fresh.shape[1] % 4 == 0
            assert stylizer.preprocess(frame, out) is out
            assert np.array_equal(out.view(np.uint32), fresh.view(np.uint32))


def test_the_pipeline_styles_as_frame_by_frame_byte_for_byte(library, monkeypatch):
    """The real network on two lanes of two-frame batches, reusing its input arrays: every
    frame written in order, each the same bytes as styling it alone."""
    from restyle.core.engines import onnx_engine

    monkeypatch.setattr(onnx_engine, "cpu_workers", lambda threads=None: 2)
    rng = np.random.default_rng(5)
    items = [(i, rng.integers(0, 256, (72, 128, 3), dtype=np.uint8)) for i in range(9)]
    settings = StyleSettings(backend="onnx", device="cpu")
    with Stylizer(library.resolve("starry-swirls"), library, settings) as stylizer:
        alone = [stylizer.stylize(frame) for _, frame in items]
        written = []
        run_pipeline(iter(items), stylizer, lambda i, f: written.append((i, f)), 9, batch_size=2)
    assert [i for i, _ in written] == list(range(9))
    assert all(f.tobytes() == alone[i].tobytes() for i, f in written)
