"""Engines end with their job: worker threads, sessions and OpenVINO's child go when a run
finishes, is cancelled or fails, not whenever the garbage collector reaches the engine (in
Blender, a long-lived process, each Apply left two ONNX Runtime threads and their sessions:
+535 MiB a run at 720p until a collection, benchmarks/measure_engine_lifetime.py).

The collector is held off in these tests: the contract is "ends with the job"."""

from __future__ import annotations

import gc
import importlib.util
import threading

import numpy as np
import pytest

from restyle.core.engines import onnx_engine
from restyle.core.engines.onnx_engine import OnnxEngine
from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob
from restyle.core.progress import CancelToken
from restyle.models.registry import ARCHS

ARCH = ARCHS["multistyle26"]
STYLE = np.eye(1, 26, 3, dtype=np.float32)


def engine_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("restyle-onnx")]


@pytest.fixture
def no_gc():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


@pytest.fixture
def two_workers(monkeypatch):
    """Two worker sessions on any machine, so a batch of two starts the worker threads."""
    monkeypatch.setattr(onnx_engine, "cpu_workers", lambda threads=None: 2)


class Watch:
    """A progress callback that notes the engine threads seen mid-run, and then cancels the
    run or fails it after its first frame."""

    def __init__(self, then: str = "") -> None:
        self.then, self.token, self.seen = then, CancelToken(), 0

    def __call__(self, progress) -> None:
        self.seen = max(self.seen, len(engine_threads()))
        if progress.done >= 1 and self.then == "cancel":
            self.token.cancel()
        if progress.done >= 1 and self.then == "fail":
            raise RuntimeError("the disk went away")


def style_job(source, output, library, end: int = 5, **options) -> StyleJob:
    return StyleJob(source, output, "comic-ink", end=end, library=library, temporal=0.0, **options)


@pytest.mark.parametrize("then", ["finish", "cancel", "fail"])
def test_a_run_leaves_no_engine_thread_and_the_next_run_works(
    then, library, index_clip_h264, tmp_path, no_gc, two_workers
):
    watch = Watch(then)
    job = style_job(index_clip_h264, tmp_path / "a", library, backend="onnx", device="cpu")
    if then == "fail":
        with pytest.raises(RuntimeError, match="disk went away"):
            job.run(progress=watch, cancel=watch.token)
    else:
        result = job.run(progress=watch, cancel=watch.token)
        assert result.cancelled == (then == "cancel")
    assert watch.seen >= 1  # the run did start worker threads
    assert engine_threads() == []
    again = style_job(index_clip_h264, tmp_path / "b", library, backend="onnx", device="cpu")
    assert again.run().written == 6
    assert engine_threads() == []


def test_closing_an_engine_ends_its_threads_and_sessions_once(library, two_workers):
    with OnnxEngine(library.builtin_file("multistyle26", ".onnx"), ARCH, "cpu") as engine:
        frames = np.random.default_rng(0).random((2, 3, 64, 64), np.float32)
        assert engine.run(frames, np.repeat(STYLE, 2, 0)).shape == frames.shape
        # Up to two: the pool starts a second thread only if the first is still busy (CI
        # once saw one on a loaded 2-core machine).
        assert 1 <= len(engine_threads()) <= 2
    assert engine_threads() == [] and engine.session is None and engine._pool is None
    engine.close()  # twice is fine
    with pytest.raises(RestyleError, match="closed"):
        engine.run(frames, np.repeat(STYLE, 2, 0))


def test_a_stylizer_that_fails_to_start_closes_its_engines(library, tmp_path, monkeypatch):
    """A picture style whose picture cannot be read: both engines were made first."""
    from restyle.core import stylizer as module

    made = []
    create = module.create_engine
    monkeypatch.setattr(module, "create_engine", lambda *a: made.append(create(*a)) or made[-1])
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    settings = module.StyleSettings(backend="onnx", device="cpu")
    with pytest.raises(RestyleError, match="cannot read the style picture"):
        module.Stylizer(library.resolve(str(broken)), library, settings)
    assert len(made) == 2 and all(engine.closed for engine in made)


@pytest.mark.parametrize("backend", ["openvino", "torch"])
def test_other_engines_drop_what_they_hold_when_closed(backend, library):
    from restyle.core.engines import ModelFiles, create_engine

    if backend == "openvino" and importlib.util.find_spec("openvino") is None:
        pytest.skip("openvino is not installed")
    files = ModelFiles(
        ARCH,
        library.builtin_file("multistyle26", ".onnx"),
        library.builtin_file("multistyle26", ".safetensors"),
    )
    engine = create_engine(files, backend, "cpu", "fp32")
    frame = np.random.default_rng(0).random((1, 3, 64, 64), np.float32)
    assert engine.run(frame, STYLE).shape == frame.shape
    engine.close()
    engine.close()
    if backend == "torch":
        assert engine.module is None and engine._fp32 is None
    else:
        assert engine._compiled == {} and engine.core is None and engine.model is None
    with pytest.raises(RestyleError, match="closed"):
        engine.run(frame, STYLE)


@pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="no openvino")
def test_a_failing_job_ends_its_child_process(
    library, index_clip_h264, tmp_path, monkeypatch, no_gc
):
    """Inside Blender OpenVINO runs in a child process (child.py); finished and cancelled
    jobs are covered in test_engine_child.py."""
    from test_engine_child import _record_children

    started = _record_children(monkeypatch)
    watch = Watch("fail")
    job = style_job(index_clip_h264, tmp_path / "out", library, end=2, backend="openvino")
    with pytest.raises(RuntimeError, match="disk went away"):
        job.run(progress=watch)
    assert len(started) == 1 and started[0].proc.poll() is not None
