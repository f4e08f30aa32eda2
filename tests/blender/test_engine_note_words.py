"""An engine note that names a fix (auto on the CPU beside an unused NVIDIA GPU) says it in
Blender's words in the Apply summary: the preferences' button, not the command line's pip
command, and never the raw mark (``errors.remedy``'s ``\\x02gpu_support\\x03``) it carried."""

from __future__ import annotations

import re

import pytest
from test_media_edge import encode
from vse import add_movie, ext

pytestmark = pytest.mark.blender


def test_the_summary_words_the_gpu_fix_as_blender_does(
    restyle, scene, sequencer_area, tmp_path, monkeypatch
):
    import bpy

    monkeypatch.setattr(ext("core.engines.onnx_engine"), "available_devices", lambda: ["cpu"])
    monkeypatch.setattr(ext("core.engines.gpu"), "nvidia_driver_present", lambda: True)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "notes.blend"))
    source = add_movie(scene, sequencer_area, encode(tmp_path / "clip.mp4"), frame_start=1)
    assert bpy.ops.restyle.apply_style(
        strip=source.name, style="comic-ink", backend="ONNX", device="AUTO", temporal=0.0
    ) == {"FINISHED"}
    summary = ext("operators.runner").RUN.summary
    assert not re.search(r"[\x00-\x1f\x7f]", summary), repr(summary)
    fix = "NVIDIA GPU found, but this onnxruntime has no CUDA: use Install GPU Support in the "
    assert f"{fix}add-on preferences" in summary, summary
    assert "pip install" not in summary
