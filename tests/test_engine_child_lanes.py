"""OpenVINO's child process (core/engines/child.py) serves the pipeline's lanes as the
in-process engine does, and its settled precision reaches a frames folder's manifest.

Inside Blender the child answered one frame at a time on one stream of two threads (1.79-1.86x
the bundled engine) while the command line ran two streams of one thread, one pipeline lane
each (2.26x the peer at 720p, 2026-12-02). Now the child runs the engine's streams, one thread
per lane, and the parent keeps one request in flight per lane, each with its own shared block
and its reply routed back to it (tagged). And the child reported no ``checked``: a frames
folder made in Blender recorded no bf16 precision, so a resume checked its own first batch
and could decide otherwise (round 21's resume rule, in-process engines only).
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time

import numpy as np
import pytest
from test_engine_child import ARCH, STYLES, _record_children, gone, onnx
from test_engine_child_bpy import vtest_frames
from test_pipe10_round21 import _Net, frames

from restyle.core.engines.child import ChildEngine
from restyle.core.engines.cpu import cpu_threads
from restyle.core.engines.openvino_engine import OpenVinoEngine
from restyle.core.engines.precision import psnr
from restyle.core.errors import RestyleError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("openvino") is None, reason="openvino is not installed"
)

two_threads = pytest.mark.skipif(cpu_threads() < 2, reason="one thread: one stream, one lane")


def native_bf16() -> bool:
    from restyle.core.engines import native_bf16_cpu

    return native_bf16_cpu()


def at_once(calls) -> list:
    """Run each call in its own thread, all started together; their results or exceptions."""
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def one(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request to the child hung"
    return results


@two_threads
def test_the_child_runs_two_streams_one_lane_each(library):
    child = ChildEngine(onnx(library), ARCH, "cpu", "fp32")
    try:
        assert child.lanes == 2 and "2 streams x 1 thread" in child.note, child.note
    finally:
        child.close()
    one = ChildEngine(onnx(library), ARCH, "cpu", "fp32", streams=1)
    try:
        assert one.lanes == 1 and "1 stream x 2 threads" in one.note, one.note
    finally:
        one.close()


@two_threads
def test_two_requests_in_flight_each_get_their_own_frames(library):
    """A 720p frame and a small one sent at once: the small one's reply comes back first (two
    lanes: it did not wait behind the big one) and reaches its own caller; each equals the
    in-process engine's frame."""
    big = np.random.default_rng(1).random((1, 3, 720, 1280), dtype=np.float32)
    small = vtest_frames()[:1]
    child = ChildEngine(onnx(library), ARCH, "cpu", "fp32")
    done: dict[str, float] = {}

    def timed(name, x):
        def call():
            out = child.run(x, STYLES[:1])
            done[name] = time.perf_counter()
            return out

        return call

    try:
        child.run(big, STYLES[:1])  # compiled and each request's first call made
        child.run(small, STYLES[:1])
        at_once([timed("warm-big", big), timed("warm-small", small)])
        outs = at_once([timed("big", big), timed("small", small)])
    finally:
        child.close()
    assert not any(isinstance(o, BaseException) for o in outs), outs
    assert done["small"] < done["big"], "the small frame waited behind the big one"
    here = OpenVinoEngine(onnx(library), ARCH, "cpu", "fp32")
    assert psnr(outs[0], here.run(big, STYLES[:1])) >= 90.0
    assert psnr(outs[1], here.run(small, STYLES[:1])) >= 90.0


@two_threads
def test_the_pipeline_drives_the_childs_lanes_as_the_in_process_engines(library):
    from restyle.core.pipeline import inference_lanes, run_pipeline

    inputs = frames(6)
    child = ChildEngine(onnx(library), ARCH, "cpu", "fp32")
    out: dict[int, np.ndarray] = {}
    try:
        net = _Net(child)
        assert inference_lanes(net) == 2
        stats = run_pipeline(
            iter(enumerate(inputs)), net, lambda i, f: out.__setitem__(i, np.array(f)), 6
        )
    finally:
        child.close()
    assert stats.written == 6 and sorted(out) == list(range(6))
    here = _Net(OpenVinoEngine(onnx(library), ARCH, "cpu", "fp32"))
    for i, x in enumerate(inputs):
        assert psnr(out[i], here.infer(x)[0]) >= 90.0


def test_an_error_in_one_lane_leaves_the_other_and_the_child_serving(library):
    child = ChildEngine(onnx(library), ARCH, "cpu", "fp32")
    x = vtest_frames()
    try:
        ok, refused = at_once([lambda: child.run(x, STYLES), lambda: child.run(x)])
        assert isinstance(refused, RestyleError) and "needs a style_weights input" in str(refused)
        assert isinstance(ok, np.ndarray) and ok.shape == x.shape
        assert child.run(x, STYLES).shape == x.shape
    finally:
        child.close()


def test_a_child_that_dies_with_two_requests_in_flight_fails_both(library):
    """Both callers hear that it stopped (neither waits for a reply that never comes), and its
    shared blocks are removed."""
    big = np.random.default_rng(2).random((1, 3, 720, 1280), dtype=np.float32)
    child = ChildEngine(onnx(library), ARCH, "cpu", "fp32")
    pid = child._child.proc.pid
    child.run(big, STYLES[:1])
    threading.Timer(0.3, child._child.proc.kill).start()
    outs = at_once([lambda: child.run(big, STYLES[:1]), lambda: child.run(big, STYLES[:1])] * 2)
    assert all(isinstance(o, RestyleError) for o in outs), outs
    assert all("child process stopped" in str(o) for o in outs), outs
    assert gone(pid) and child._child.held == []
    child.close()


# -- the precision it settled: recorded, and held on a resume --------------------------------
needs_bf16 = pytest.mark.skipif(not native_bf16(), reason="no native bf16 on this CPU")


@needs_bf16
def test_a_childs_checked_precision_is_decided(library):
    from restyle.core.stylizer import decided_precision

    child = ChildEngine(onnx(library), ARCH, "cpu", "bf16")
    try:
        assert not child.checked and decided_precision(child) is None
        child.run(vtest_frames(), STYLES)
        assert child.checked and "checked:" in child.note, child.note
        assert decided_precision(child) == child.precision == "bf16"
    finally:
        child.close()


@needs_bf16
def test_a_held_child_runs_its_precision_without_a_check(library):
    from restyle.core.stylizer import hold_precision

    child = ChildEngine(onnx(library), ARCH, "cpu", "bf16")
    made = dict(backend="openvino", device="cpu", precision="bf16", why="bf16, as made")
    try:
        assert hold_precision(child, made) and child.checked
        child.run(vtest_frames(), STYLES)
        assert child.precision == "bf16" and "checked" not in child.note, child.note
    finally:
        child.close()


@needs_bf16
def test_a_folder_made_in_blender_records_bf16_and_its_resume_holds_it(
    library, monkeypatch, index_clip_h264, tmp_path
):
    from restyle.core.job import MANIFEST, StyleJob

    monkeypatch.setenv("RESTYLE_HOME", str(tmp_path / "home"))
    started = _record_children(monkeypatch)  # inside a pretend Blender: the child runs

    def job() -> StyleJob:
        return StyleJob(
            index_clip_h264, tmp_path / "out", "starry-swirls", end=5, backend="openvino",
            temporal=0.0, library=library,
        )  # fmt: skip

    first = job().run()
    assert "in a child process" in first.engine and "bf16 checked:" in first.engine, first
    record = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert record["precision"] == "bf16", record
    made = sorted((tmp_path / "out").glob("*.png"))
    assert len(made) == 6
    for path in made[3:]:
        path.unlink()
    resumed = job().run()
    assert resumed.written == 3 and resumed.reused == 3, resumed
    assert "bf16, matching the frames already made" in resumed.engine, resumed.engine
    assert started[-1].state["checked"] and "checked:" not in started[-1].state["note"]
