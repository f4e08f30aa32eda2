"""Round 21's Blender walkthrough on a bf16 CPU (AMD EPYC, AVX512-BF16):

- Preferences › OpenVINO after an install said the check twice ('Installed for cpu: …42.8
  dB…' and 'ready (…42.8 dB…)'), kept Install OpenVINO beside Remove OpenVINO, and the GPU
  Support box said 'install openvino into Blender's Python' right above the Install OpenVINO
  button; the worker said 'downloading 1 pinned packages'.
- A script's ``replace_background`` with no ``background`` failed 'choose a background'
  while the sidebar's Background said Blur; Apply takes the sidebar's settings not given.
"""

from __future__ import annotations

import json
import types

import pytest
from test_matte_strip import _matte, pan_strip  # noqa: F401  (pan_strip: a fixture)
from test_openvino_prefs import BF16, draw, installs
from test_panels import labels
from vse import all_strips, ext

pytestmark = pytest.mark.blender

CHECK = "OpenVINO bf16 in a child process: 42.8 dB against ONNX Runtime fp32"


@pytest.fixture
def online(monkeypatch, tmp_path):
    """A bf16 CPU, online access on, no NVIDIA driver, and the extension's user folder in
    tmp_path (nothing installed yet)."""
    import bpy

    gpu_support = ext("gpu_support")
    monkeypatch.setattr(ext("core.gpu_install"), "cpu_flags", lambda: BF16)
    monkeypatch.setattr(ext("core.engines.gpu"), "nvidia_driver_present", lambda: False)
    monkeypatch.setattr(gpu_support, "user_folder", lambda create=False: tmp_path)
    app = types.SimpleNamespace(online_access=True)
    monkeypatch.setattr(gpu_support, "bpy", types.SimpleNamespace(app=app, utils=bpy.utils))
    for state in gpu_support.STATES.values():
        monkeypatch.setattr(state, "result", "")
        monkeypatch.setattr(state, "ok", False)
    return gpu_support


def installed(gpu_support, result: str) -> None:
    """As the worker leaves it after a passed check (``_install``, ``_drain``)."""
    folder = gpu_support.gpu_folder("openvino")
    folder.mkdir(parents=True)
    record = {"device": "cpu", "check": CHECK}
    (folder / gpu_support.READY_FILE).write_text(json.dumps(record), encoding="utf-8")
    state = gpu_support.STATES["openvino"]
    state.ok, state.result = True, result


@pytest.mark.parametrize("restart", [False, True])
def test_after_an_install_the_check_is_said_once_and_only_remove_is_offered(
    restyle, online, restart
):
    result = f"ready ({CHECK})" + ("; restart Blender to use it" if restart else "")
    installed(online, result)
    calls = draw(restyle)
    said = labels(calls)
    text = " ".join(said)
    assert text.count("42.8 dB") == 1, said
    assert f"Installed for cpu: {CHECK}" in said, said
    assert ("Restart Blender to use it" in text) == restart, said
    assert "Install OpenVINO" not in installs(calls), installs(calls)
    assert "Remove OpenVINO" in installs(calls), installs(calls)


def test_a_failed_install_still_says_why_and_offers_install_again(restyle, online):
    state = online.STATES["openvino"]
    state.ok, state.result = False, "check failed: 20.1 dB against ONNX Runtime fp32"
    calls = draw(restyle)
    assert "check failed: 20.1 dB against ONNX Runtime fp32" in " ".join(labels(calls))
    assert "Install OpenVINO" in installs(calls)


def test_the_gpu_box_points_to_the_install_openvino_button(restyle, online):
    text = " ".join(labels(draw(restyle)))
    assert "No NVIDIA driver found: install the driver first" in text, text
    assert "an Intel GPU needs OpenVINO: Install OpenVINO below, then Device 'Intel GPU'" in text
    assert "install openvino into Blender's Python" not in text, text

    installed(online, "")  # after the install: it is there, not to be installed
    text = " ".join(labels(draw(restyle)))
    assert "an Intel GPU runs through OpenVINO, installed below: Device 'Intel GPU'" in text
    assert "needs OpenVINO" not in text, text


def test_the_worker_counts_one_pinned_package(online, tmp_path, monkeypatch):
    gpu_support = online
    plan = ext("core.gpu_install").plan_openvino(tmp_path, BF16)
    assert len(plan.requirements) == 1

    def no_pip(*_args, **_kwargs):
        raise OSError("no pip here")

    monkeypatch.setattr(gpu_support.subprocess, "Popen", no_pip)
    state = gpu_support.GpuState()
    gpu_support._install(plan, None, state)
    said = []
    while not state.messages.empty():
        said.append(state.messages.get())
    assert said[0] == ("step", "downloading 1 pinned package from PyPI"), said
    assert said[-1] == ("done", (False, "install failed: no pip here")), said


# -- Replace Background from a script -------------------------------------------------------


def test_an_empty_background_takes_the_sidebars(scene, pan_strip):  # noqa: F811
    import bpy

    matte = _matte(scene, pan_strip, 10, 11)
    settings = scene.restyle
    settings.background_kind = "BLUR"
    assert bpy.ops.restyle.replace_background(strip=matte.name) == {"FINISHED"}
    assert [s for s in all_strips(scene) if s.type == "GAUSSIAN_BLUR"]

    settings.background_kind, settings.background_color = "COLOR", (0.0, 1.0, 0.0)
    assert bpy.ops.restyle.replace_background(strip=matte.name, background="") == {"FINISHED"}
    (colour,) = [s for s in all_strips(scene) if s.type == "COLOR"]
    assert tuple(round(c, 3) for c in colour.color) == (0.0, 1.0, 0.0)
    assert not [s for s in all_strips(scene) if s.type == "GAUSSIAN_BLUR"]  # replaced

    # the sidebar's Picture with no file chosen: nothing to take, nothing changed
    settings.background_kind, settings.background_picture = "PICTURE", ""
    before = {s.name: s.channel for s in all_strips(scene)}
    with pytest.raises(RuntimeError, match="choose a background"):
        bpy.ops.restyle.replace_background(strip=matte.name)
    assert {s.name: s.channel for s in all_strips(scene)} == before

    # an argument given wins over the sidebar
    settings.background_kind = "BLUR"
    assert bpy.ops.restyle.replace_background(strip=matte.name, background="#FF0000") == {
        "FINISHED"
    }
    (colour,) = [s for s in all_strips(scene) if s.type == "COLOR"]
    assert tuple(round(c, 3) for c in colour.color) == (1.0, 0.0, 0.0)
