"""The GPU installer's plan, pins, activation and one-frame check (no GPU here: the check
runs on the CPU provider, and the CUDA case must report that CUDA did not start)."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from restyle.core.errors import RestyleError
from restyle.core.gpu_install import (
    ONNXRUNTIME_CUDA,
    activate,
    plan_gpu_support,
    plan_openvino,
    verify,
)


def test_plan_pins_everything_into_the_user_folder(tmp_path):
    plan = plan_gpu_support(tmp_path, "Linux", "x86_64", nvidia=True)
    assert plan.device == "cuda" and plan.folder.parent == tmp_path
    assert all("==" in r for r in plan.requirements)
    assert plan.requirements[0].startswith("onnxruntime-gpu==")
    cmd = plan.pip_command("/blender/python")
    assert cmd[:3] == ["/blender/python", "-m", "pip"] and "--only-binary=:all:" in cmd
    assert cmd[cmd.index("--target") + 1] == str(plan.folder)
    assert cmd[-len(ONNXRUNTIME_CUDA) :] == list(ONNXRUNTIME_CUDA)
    assert plan_gpu_support(tmp_path, "Windows", "AMD64", nvidia=True).requirements == (
        plan.requirements
    )


@pytest.mark.parametrize(
    ("system", "machine", "nvidia", "why"),
    [
        ("Darwin", "arm64", True, "Core ML is bundled"),
        ("Linux", "aarch64", True, "no GPU build of ONNX Runtime for Linux aarch64"),
        ("Linux", "x86_64", False, "no NVIDIA driver found"),
    ],
)
def test_no_plan_says_why(tmp_path, system, machine, nvidia, why):
    with pytest.raises(RestyleError, match=why):
        plan_gpu_support(tmp_path, system, machine, nvidia=nvidia)


def test_activate_puts_the_folder_first(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert not activate(tmp_path / "missing")
    folder = tmp_path / "gpu-site-packages"
    folder.mkdir()
    activate(folder)
    assert sys.path[0] == str(folder)


def test_one_frame_check(library, tmp_path):
    plan = plan_gpu_support(tmp_path, "Linux", "x86_64", nvidia=True)
    model = library.builtin_file("multistyle26", ".onnx")
    ok, why = verify(dataclasses.replace(plan, device="cpu"), model)
    assert ok and why.endswith("dB against the CPU")
    ok, why = verify(plan, model)  # no GPU build installed in that folder
    assert not ok and why.startswith("CUDAExecutionProvider did not start")


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
