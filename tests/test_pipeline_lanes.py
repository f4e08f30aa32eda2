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
