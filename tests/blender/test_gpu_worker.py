"""The preferences' install workers (restyle.gpu_support: pip replaced by a short script),
here in the Blender suite because gpu_support imports bpy: in the core suite's process bpy
would make every later test count as inside Blender (moved from tests/test_gpu_install.py)."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from restyle.core.gpu_install import plan_gpu_support, plan_openvino


def test_preferences_worker_reports_progress_verifies_and_cancels(tmp_path, monkeypatch):
    """The Blender side's worker and its state, with pip replaced by a short script."""
    pytest.importorskip("bpy")
    from restyle import gpu_support

    monkeypatch.setattr(gpu_support, "user_folder", lambda create=False: tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # a successful install activates it
    plan = plan_gpu_support(tmp_path, "Linux", "x86_64", nvidia=True)
    plan.folder.mkdir()
    script = "import time; print('Collecting onnxruntime-gpu'); time.sleep({}); print('ok')"
    monkeypatch.setattr(
        type(plan), "pip_command", lambda self, py: [py, "-c", script.format(self.device)]
    )
    monkeypatch.setattr(gpu_support, "verify", lambda plan, model: (True, "42.0 dB"))
    state = gpu_support.STATE
    state.running, state.ok = True, False
    gpu_support._install(dataclasses.replace(plan, device="0"), tmp_path / "m.onnx", state)
    gpu_support._drain(block=True)
    assert state.ok and not state.running and "42.0 dB" in state.result
    assert state.step == "running one frame on the GPU"
    if "onnxruntime" not in sys.modules:  # not loaded yet: the GPU build will be
        assert sys.path[0] == str(plan.folder) and "restart" not in state.result
    assert gpu_support.ready_record() == {"device": "0", "check": "42.0 dB"}

    # Esc: pip is terminated, nothing is kept.
    state.running, state.ok = True, False
    worker = gpu_support.threading.Thread(
        target=gpu_support._install,
        args=(dataclasses.replace(plan, device="30"), tmp_path / "m.onnx", state),
    )
    worker.start()
    while state.process is None:
        worker.join(0.05)
    state.cancelled.set()
    state.process.terminate()
    worker.join()
    gpu_support._drain(block=True)
    assert not state.ok and state.result == "cancelled; nothing kept"
    assert not plan.folder.exists()
    state.cancelled.clear()


def test_a_passed_check_activates_the_install_without_a_restart(tmp_path, monkeypatch):
    """The preferences' worker (pip replaced by a short script): OpenVINO never loads in
    Blender's own process, so its folder goes on sys.path at once and ``auto`` sees it
    (here, beside the GPU worker's test, as both import bpy into this process)."""
    pytest.importorskip("bpy")
    from restyle import gpu_support

    monkeypatch.setattr(gpu_support, "user_folder", lambda create=False: tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "openvino", raising=False)
    plan = plan_openvino(tmp_path, frozenset({"amx_bf16"}))
    plan.folder.mkdir()
    monkeypatch.setattr(type(plan), "pip_command", lambda self, py: [py, "-c", "print('ok')"])
    monkeypatch.setattr(gpu_support, "verify", lambda plan, model: (True, "OpenVINO bf16: 50 dB"))
    state = gpu_support.STATES["openvino"]
    state.running, state.ok = True, False
    gpu_support._install(plan, tmp_path / "m.onnx", state)
    gpu_support._drain(block=True, pack="openvino")
    assert state.ok and state.result == "ready (OpenVINO bf16: 50 dB)"
    assert state.step == "running one frame through OpenVINO's child process"
    assert sys.path[0] == str(plan.folder)
    assert gpu_support.ready_record("openvino") == {
        "device": "cpu",
        "check": "OpenVINO bf16: 50 dB",
    }
    assert gpu_support.ready_record("gpu") is None
