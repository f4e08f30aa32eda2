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
