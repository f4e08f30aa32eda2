"""OpenVINO in a child process (core/engines/child.py): the same frames as in-process on real
footage, the child's errors as one RestyleError, no process left behind (closed, dropped,
interrupted, or its parent killed), and the point of it: it runs on OpenVINO's own libraries
in a process that loaded Blender. Small frames: each test takes seconds."""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_engine_child_bpy import vtest_frames

from restyle.core.engines.child import ChildEngine
from restyle.core.engines.openvino_engine import OpenVinoEngine
from restyle.core.engines.precision import psnr
from restyle.core.errors import RestyleError
from restyle.models.registry import ARCHS

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("openvino") is None, reason="openvino is not installed"
)
ARCH = ARCHS["multistyle26"]
STYLES = np.eye(26, dtype=np.float32)[[3, 17]]


def onnx(library) -> Path:
    return library.builtin_file("multistyle26", ".onnx")


def gone(pid: int, wait_s: float = 10.0) -> bool:
    """Whether the process ended (a zombie nobody reaped counts as ended)."""
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        status = Path(f"/proc/{pid}/status")
        try:
            if status.exists() and "\nState:\tZ" in status.read_text():
                return True
            os.kill(pid, 0)
        except (OSError, ProcessLookupError):
            return True
        time.sleep(0.1)
    return False


def test_child_gives_the_in_process_frames_on_real_footage(library):
    frames = vtest_frames()
    child = ChildEngine(onnx(library), ARCH, "cpu", "fp32")
    try:
        out = child.run(frames, STYLES)
        assert (child.backend, child.device, child.precision) == ("openvino", "cpu", "fp32")
        assert "fast graph" in child.note
        assert child.startup_s < 30.0  # started, not hung (its figure is in the benchmark)
    finally:
        child.close()
    here = OpenVinoEngine(onnx(library), ARCH, "cpu", "fp32").run(frames, STYLES)
    assert out.shape == here.shape == frames.shape
    assert psnr(out, here) >= 90.0


def test_a_childs_error_is_one_restyle_error_with_its_message(library, tmp_path):
    child = ChildEngine(onnx(library), ARCH, "cpu", "fp32")
    try:
        with pytest.raises(RestyleError, match="needs a style_weights input"):
            child.run(vtest_frames())  # no style: the engine in the child refuses
        assert child.run(vtest_frames(), STYLES).shape[0] == 2  # and it still serves
    finally:
        child.close()
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a network")
    with pytest.raises(RestyleError, match="could not load model broken.onnx"):
        ChildEngine(broken, ARCH, "cpu", "fp32")


def test_close_drop_and_interruption_leave_no_process(library, monkeypatch):
    child = ChildEngine(onnx(library), ARCH, "cpu", "fp32")
    pid = child._child.proc.pid
    child.close()
    assert gone(pid)
    child = ChildEngine(onnx(library), ARCH, "cpu", "fp32")
    pid = child._child.proc.pid
    del child
    gc.collect()
    assert gone(pid)

    child = ChildEngine(onnx(library), ARCH, "cpu", "fp32")
    pid = child._child.proc.pid
    from restyle.core.engines import child as module

    def interrupted(_stream):
        raise KeyboardInterrupt  # Ctrl+C while waiting for the child's answer

    monkeypatch.setattr(module.pickle, "load", interrupted)
    with pytest.raises(KeyboardInterrupt):
        child.run(vtest_frames(), STYLES)
    monkeypatch.undo()
    assert gone(pid)
    with pytest.raises(RestyleError, match="child process stopped"):
        child.run(vtest_frames(), STYLES)


PARENT = r"""
import sys, time
from pathlib import Path
from restyle.core.engines.child import ChildEngine
from restyle.models.registry import ARCHS
engine = ChildEngine(Path(sys.argv[1]), ARCHS["multistyle26"], "cpu", "fp32")
print(engine._child.proc.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_the_child_dies_with_a_killed_parent(library):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(onnx(library))], stdout=subprocess.PIPE, text=True
    )
    try:
        pid = int(parent.stdout.readline())
        assert not gone(pid, wait_s=0.5)
    finally:
        parent.kill()
        parent.wait()
    assert gone(pid)


BESIDE_BLENDER = r"""
import json, re, sys
from pathlib import Path
import bpy
import numpy as np
from restyle.core.engines.child import ChildEngine
from restyle.models.registry import ARCHS
model, frames, out = sys.argv[1:4]
engine = ChildEngine(Path(model), ARCHS["multistyle26"], "cpu", "fp32")
np.save(out, engine.run(np.load(frames), np.eye(26, dtype=np.float32)[[3, 17]]))
maps = Path(f"/proc/{engine._child.proc.pid}/maps")
libs = sorted(set(re.findall(r"\S*libtbb\.so\S*", maps.read_text()))) if maps.exists() else []
engine.close()
print(json.dumps({"tbb": libs, "bpy": "bpy" in sys.modules}))
"""


@pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="bpy is not installed")
def test_the_child_runs_openvinos_own_libraries_beside_blender(library, tmp_path):
    frames = vtest_frames()
    np.save(tmp_path / "frames.npy", frames)
    args = [str(onnx(library)), str(tmp_path / "frames.npy"), str(tmp_path / "out.npy")]
    done = subprocess.run(
        [sys.executable, "-c", BESIDE_BLENDER, *args], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["bpy"]
    here = OpenVinoEngine(onnx(library), ARCH, "cpu", "fp32").run(frames, STYLES)
    assert psnr(np.load(tmp_path / "out.npy"), here) >= 90.0
    if report["tbb"]:  # Linux: the child loaded OpenVINO's TBB, never Blender's
        assert all("/bpy/" not in p for p in report["tbb"]), report
        assert any("/openvino/" in p for p in report["tbb"]), report


# -- where it is used ----------------------------------------------------------------------
def multistyle(library):
    from restyle.core.engines import ModelFiles

    return ModelFiles(ARCH, onnx(library), library.builtin_file("multistyle26", ".safetensors"))


@pytest.mark.parametrize(("bf16", "expected"), [(True, "openvino"), (False, "onnx")])
def test_inside_blender_auto_takes_openvino_only_with_native_bf16(
    library, monkeypatch, bf16, expected
):
    """The CPU-feature probe patched (never the vendor): without bf16, ONNX Runtime as before."""
    from restyle.core import engines
    from restyle.core.engines import cpu

    monkeypatch.setattr(engines, "openvino_available", lambda: True)
    monkeypatch.setattr(
        cpu, "cpu_flags", lambda: frozenset({"avx512f", "amx_bf16"} if bf16 else {"avx512f"})
    )
    monkeypatch.setitem(sys.modules, "bpy", object())
    choice = engines.choose_backend(multistyle(library))
    assert choice.backend == expected, choice
    assert ("bf16" in choice.reason) if bf16 else ("no native bf16" in choice.reason)


def test_inside_blender_openvino_runs_in_a_child_and_says_so(library, monkeypatch):
    from restyle.core.engines import create_engine, explain
    from restyle.core.errors import PYTHON, say

    monkeypatch.setitem(sys.modules, "bpy", object())
    engine = create_engine(multistyle(library), "openvino", "cpu", "fp32")
    try:
        assert isinstance(engine, ChildEngine)
        assert engine.run(vtest_frames(), STYLES).shape == (2, 3, 144, 192)
        text = say(explain(engine), PYTHON)  # the backend setting in Python's words
        assert text.startswith(
            "openvino fp32 on cpu, in a child process (set by backend='openvino'; "
        ), text
    finally:
        engine.close()
    monkeypatch.delitem(sys.modules, "bpy")
    assert not isinstance(
        create_engine(multistyle(library), "openvino", "cpu", "fp32"), ChildEngine
    )


def _record_children(monkeypatch) -> list:
    """The children started from here on, inside a pretend Blender (so a job takes one)."""
    from restyle.core.engines import child as module

    started: list = []
    start = module._Child.start.__func__
    monkeypatch.setattr(
        module._Child,
        "start",
        classmethod(lambda c, *a: started.append(start(c, *a)) or started[-1]),
    )
    monkeypatch.setitem(sys.modules, "bpy", object())
    return started


def test_a_job_ends_its_child_when_it_ends(library, monkeypatch, index_clip_h264, tmp_path):
    """Not whenever the garbage collector reaches the engine: at the end of the job."""
    from restyle.core.job import StyleJob

    started = _record_children(monkeypatch)
    gc.disable()  # the child must end without the collector's help
    try:
        result = StyleJob(
            index_clip_h264,
            tmp_path / "out",
            "starry-swirls",
            end=1,
            backend="openvino",
            temporal=0.0,
            library=library,
        ).run()
        assert "in a child process" in result.engine and result.written == 2
        assert len(started) == 1 and started[0].proc.poll() is not None
    finally:
        gc.enable()


def test_cancelling_a_job_on_the_child_does_not_hang(
    library, monkeypatch, index_clip_h264, tmp_path
):
    import threading

    from restyle.core.job import StyleJob
    from restyle.core.progress import CancelToken

    started = _record_children(monkeypatch)
    token, results = CancelToken(), []

    def progress(p):
        if p.done >= 2:
            token.cancel()

    job = StyleJob(
        index_clip_h264,
        tmp_path / "out",
        "starry-swirls",
        end=29,
        backend="openvino",
        library=library,
    )
    worker = threading.Thread(
        target=lambda: results.append(job.run(progress=progress, cancel=token))
    )
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the cancelled job hung"
    assert results[0].cancelled and 2 <= results[0].written < 30
    assert started[0].proc.poll() is not None
