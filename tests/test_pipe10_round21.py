"""OpenVINO on the CPU as streams of one thread, one pipeline lane each (round 21, pipe10).

One stream of two threads waited at its barrier for a thread slowed by the decoder or the
encoder; two streams of one thread, each fed by its own lane, do not. These tests check that
the engine serves two lanes, that two lanes give the frames one lane gives, that the first
batch's precision check still runs once, and that the child process runs the same streams
(round 22: one lane each, tests/test_engine_child_lanes.py).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from test_engines import multistyle

from restyle.core.engines import preferred_batch
from restyle.core.pipeline import inference_lanes, run_pipeline

openvino = pytest.importorskip("openvino")


def frames(n: int, h: int = 48, w: int = 64) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.random((1, 3, h, w), dtype=np.float32) for _ in range(n)]


class _Net:
    """The smallest stylizer the pipeline drives: the engine's network on NCHW frames."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.cond = np.zeros((1, 26), np.float32)
        self.cond[0, 4] = 1.0

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        return frame[0]

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return self.engine.run(batch, np.repeat(self.cond, len(batch), 0))

    def postprocess(self, out: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return out

    def finish(self, frame: np.ndarray, styled: np.ndarray) -> np.ndarray:
        return styled


def test_openvino_on_two_threads_runs_two_streams_of_one_thread(library):
    from restyle.core.engines.openvino_engine import OpenVinoEngine, cpu_streams

    model = multistyle(library)
    engine = OpenVinoEngine(model.onnx, model.arch, "cpu", "fp32", threads=2)
    assert (engine.workers, engine.lanes) == (2, 2)
    assert engine.config("fp32")["NUM_STREAMS"] == "2"
    assert engine.config("fp32")["INFERENCE_NUM_THREADS"] == "2"  # shared: 1 each
    assert "2 streams x 1 thread" in engine.note
    assert preferred_batch(engine) == 1  # one frame per lane: no barrier at a batch's end
    assert inference_lanes(type("S", (), {"engine": engine})()) == 2
    one = OpenVinoEngine(model.onnx, model.arch, "cpu", "fp32", threads=2, streams=1)
    assert (one.workers, one.lanes) == (1, 1) and "1 stream x 2 threads" in one.note
    assert cpu_streams(1) == 1 and cpu_streams(8) == 2 and cpu_streams(8, 4) == 4


def test_the_child_process_runs_the_engines_streams(library, monkeypatch):
    """The child serves one request per lane (round 22): two streams of one thread, as
    in-process; one where the parent asks for one."""
    import dataclasses

    from restyle.core.engines import child

    model = multistyle(library)
    config = {
        "model": str(model.onnx),
        "arch": dataclasses.asdict(model.arch),
        "device": "cpu",
        "precision": "fp32",
    }
    from restyle.core.engines.cpu import cpu_threads
    from restyle.core.engines.openvino_engine import cpu_streams

    engine = child._build_here(config)
    assert engine.workers == engine.lanes == cpu_streams(cpu_threads())  # 2 on 2+ threads
    one = child._build_here(config | {"streams": 1})
    assert one.workers == 1 and one.lanes == 1


def test_two_lanes_give_the_frames_one_lane_gives(library):
    """Each lane's frames through its own stream's request: in order, each the frame that
    stream gives it alone; and within rounding of one stream of two threads (oneDNN's
    kernels for one and two threads round differently: not bit-identical, fp32 or bf16)."""
    from restyle.core.engines.openvino_engine import OpenVinoEngine
    from restyle.core.engines.precision import psnr

    model = multistyle(library)
    inputs = frames(6)
    engine = OpenVinoEngine(model.onnx, model.arch, "cpu", "fp32", threads=2, streams=2)
    net = _Net(engine)
    out: dict[int, np.ndarray] = {}
    written: list[int] = []

    def styled() -> None:  # the two requests' first calls at once hung every time (5 of 5)
        stats = run_pipeline(
            iter(enumerate(inputs)), net, lambda i, f: out.__setitem__(i, np.array(f)), 6
        )
        written.append(stats.written)

    lanes = threading.Thread(target=styled, daemon=True)
    lanes.start()
    lanes.join(timeout=120)
    assert not lanes.is_alive(), "two streams' first calls hung"
    assert written == [len(inputs)] and sorted(out) == list(range(6))
    one = OpenVinoEngine(model.onnx, model.arch, "cpu", "fp32", threads=2, streams=1)
    for i, x in enumerate(inputs):
        assert np.array_equal(out[i], net.infer(x)[0])  # lane by lane = frame by frame
        assert psnr(out[i], _Net(one).infer(x)[0]) > 90.0


def test_the_first_batch_is_checked_once_with_two_lanes(library, monkeypatch):
    """Two lanes' first frames at once: one lane checks against fp32, the other waits for its
    verdict (and then runs in the precision it gave), so the check runs once."""
    from restyle.core.engines import openvino_engine

    monkeypatch.setattr(openvino_engine, "runnable_precision", lambda p, caps: (p, ""))
    model = multistyle(library)
    engine = openvino_engine.OpenVinoEngine(model.onnx, model.arch, "cpu", "bf16", threads=2)
    assert engine.lanes == 2 and not engine.checked
    calls: list[str] = []
    infer = engine._infer

    def slow_infer(images, condition, precision):
        calls.append(precision)
        time.sleep(0.2)  # both lanes are inside run() before the first check ends
        return infer(images, condition, precision)

    monkeypatch.setattr(engine, "_infer", slow_infer)
    cond = np.zeros((1, 26), np.float32)
    cond[0, 2] = 1.0
    start = threading.Barrier(2)

    def lane(x):
        start.wait()
        engine.run(x, cond)

    threads = [threading.Thread(target=lane, args=(x,)) for x in frames(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert engine.checked
    assert calls.count("fp32") == 1, calls  # one reference run: the check ran once
    assert len(calls) == 3
