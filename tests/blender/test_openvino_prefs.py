"""Preferences › OpenVINO in the installed extension: drawn (every call checked against
Blender's RNA) with the CPU probe patched to a CPU without and with native bf16, with online
access off (the bpy module's) and on; the operator refuses with the reason. Nothing is
downloaded."""

from __future__ import annotations

import types

import pytest
from test_panels import CheckedLayout, labels
from vse import ext

pytestmark = pytest.mark.blender

NO_BF16 = frozenset({"avx512f", "avx512_vnni"})
BF16 = frozenset({"avx512f", "amx_tile", "amx_bf16"})


def draw(restyle) -> list:
    import bpy

    prefs = bpy.context.preferences.addons[restyle.__name__].preferences
    calls: list = []
    ext("prefs").draw_preferences(prefs, CheckedLayout(calls), bpy.context)
    return calls


def installs(calls) -> list[str]:
    return [c[1].get("text", "") for c in calls if c[0] == "operator"]


def test_openvino_not_offered_without_native_bf16(restyle, monkeypatch):
    import bpy

    monkeypatch.setattr(ext("core.gpu_install"), "cpu_flags", lambda: NO_BF16)
    calls = draw(restyle)
    text = " ".join(labels(calls))  # wrapped to the preferences' width (round 18)
    assert "This CPU has no native bf16: the bundled engine is as fast" in text
    assert "Install OpenVINO" not in installs(calls)
    with pytest.raises(RuntimeError, match="no native bf16"):
        bpy.ops.restyle.install_gpu(pack="openvino")


def test_openvino_offered_on_a_bf16_cpu(restyle, monkeypatch):
    import bpy

    monkeypatch.setattr(ext("core.gpu_install"), "cpu_flags", lambda: BF16)
    calls = draw(restyle)  # online access is off in the bpy module: the command instead
    text = " ".join(labels(calls))
    assert "OpenVINO Experimental: measured inside Blender on a 2-core CPU with bf16" in text
    assert "--no-deps" in text and "openvino==2026.4.1" in text and "openvino-site-packages" in text
    assert "Install OpenVINO" not in installs(calls)
    with pytest.raises(RuntimeError, match="Online access is off.*openvino==2026.4.1"):
        bpy.ops.restyle.install_gpu(pack="openvino")
    assert not ext("gpu_support").STATES["openvino"].running

    online = types.SimpleNamespace(app=types.SimpleNamespace(online_access=True), utils=bpy.utils)
    monkeypatch.setattr(ext("gpu_support"), "bpy", online)
    calls = draw(restyle)
    assert "Install OpenVINO" in installs(calls)  # its pack= is checked against the operator
    assert any(t.startswith("OpenVINO bf16 on the CPU: openvino==2026.4.1") for t in labels(calls))
