"""Inside Blender, with no torch: the zip's bundled engine runs by default (ONNX Runtime: the
zip carries no OpenVINO, whose TBB clashes with Blender's) on the fast graph the zip carries,
the run summary says which engine ran and why, and its frames match the plain fp32 network."""

from __future__ import annotations

import math
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from vse import SIZE, add_movie, all_strips, ext

from clips import make_pan_clip

pytestmark = pytest.mark.blender

STYLE = "starry-swirls"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)) / 255.0**2
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def read_frames(folder: Path) -> dict[int, np.ndarray]:
    import cv2

    return {int(f.stem): cv2.imread(str(f)) for f in sorted(Path(folder).glob("*.png"))}


def test_bundled_engine_runs_by_default_within_the_bar(
    restyle, scene, sequencer_area, extension_zip, tmp_path, monkeypatch
):
    import bpy

    names = zipfile.ZipFile(extension_zip).namelist()
    python = f"cp{sys.version_info.major}{sys.version_info.minor}"
    assert any("/onnxruntime-" in n and python in n for n in names), names
    assert not any("/openvino" in n and n.endswith(".whl") for n in names), "OpenVINO bundled"

    # The test venv has OpenVINO and torch, a Blender with the zip alone has neither: on a CPU
    # with native bf16, auto would take OpenVINO (in a child process), or without it torch bf16
    # (it did, on an AVX512-BF16 EPYC, 2026-12-02), and this would not test the zip's engine.
    monkeypatch.setattr(ext("core.engines"), "openvino_available", lambda: False)
    monkeypatch.setattr(ext("core.engines"), "torch_available", lambda: False)
    clip = make_pan_clip(tmp_path / "pan.mp4", 6, SIZE, dx_per_frame=3.0)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    source = add_movie(scene, sequencer_area, clip, frame_start=1, channel=1)
    before = set(all_strips(scene).keys())
    assert bpy.ops.restyle.apply_style(strip=source.name, style=STYLE, temporal=0.0) == {"FINISHED"}
    summary = ext("operators.runner").RUN.summary
    assert "engine: onnx " in summary and " on cpu (" in summary, summary

    assert "fast graph" in summary, summary  # the zip carries the fast graph
    (styled,) = [s for s in all_strips(scene) if s.name not in before]
    ours = read_frames(bpy.path.abspath(styled.directory))
    assert len(ours) == 6

    # The reference: the plain network (the same job with no fast graph found).
    monkeypatch.setattr(ext("core.engines.onnx_engine"), "fast_graph", lambda _path: None)
    reference = (
        ext("core.job").StyleJob(clip, tmp_path / "fp32", STYLE, temporal=0.0, backend="onnx").run()
    )
    assert reference.backend == "onnx" and reference.written == 6
    assert "plain graph" in reference.engine, reference.engine
    fp32 = read_frames(tmp_path / "fp32")
    worst = min(psnr(a, b) for a, b in zip(ours.values(), fp32.values(), strict=True))
    assert worst >= 60.0, f"bundled fast path {worst:.1f} dB against the plain fp32 network"


def test_openvino_bf16_runs_in_a_child_on_a_bf16_cpu_within_the_bar(
    restyle, scene, sequencer_area, tmp_path
):
    """Where OpenVINO is importable by Blender's Python (the preferences' Install OpenVINO, or
    this venv's) on a CPU with native bf16, auto runs it in bf16 in a child process, says so in
    the run summary, and its frames keep the precision bar against the plain fp32 network."""
    import bpy

    engines = ext("core.engines")
    if not engines.openvino_available():
        pytest.skip("OpenVINO is not importable here")
    if not engines.native_bf16_cpu():
        pytest.skip("no native bf16 on this CPU: auto keeps the bundled engine")
    clip = make_pan_clip(tmp_path / "pan.mp4", 6, SIZE, dx_per_frame=3.0)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    source = add_movie(scene, sequencer_area, clip, frame_start=1, channel=1)
    before = set(all_strips(scene).keys())
    assert bpy.ops.restyle.apply_style(strip=source.name, style=STYLE, temporal=0.0) == {"FINISHED"}
    summary = ext("operators.runner").RUN.summary
    assert "engine: openvino bf16 on cpu, in a child process (" in summary, summary
    assert "the CPU has native bf16" in summary and "bf16 checked:" in summary, summary
    (styled,) = [s for s in all_strips(scene) if s.name not in before]
    ours = read_frames(bpy.path.abspath(styled.directory))
    assert len(ours) == 6

    reference = (
        ext("core.job").StyleJob(clip, tmp_path / "fp32", STYLE, temporal=0.0, backend="onnx").run()
    )
    assert reference.written == 6
    fp32 = read_frames(tmp_path / "fp32")
    worst = min(psnr(a, b) for a, b in zip(ours.values(), fp32.values(), strict=True))
    assert worst >= 35.0, f"OpenVINO bf16 in Blender {worst:.1f} dB against fp32"
