"""OpenVINO in a child process that loaded Blender (``import bpy``) first.

Why: Blender and OpenVINO both ship libtbb.so.12 and a process keeps the first one loaded
(Blender's); OpenVINO once hung in a process that had loaded bpy. Restyle now runs OpenVINO in
a child process inside Blender (``core/engines/child.py``, mostly for Debian's Blender, which
aborts), but this keeps the TBB claim checked where it can fail: a fresh process imports bpy,
makes Blender's own TBB work (a subdivision modifier), then runs OpenVINO in-process on real
frames while Blender works on the main thread. Its output must equal a process without bpy,
and it must finish (a hang fails on the timeout). Each run is its own process, so this test
session never imports bpy itself.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core.engines.precision import psnr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from real_footage import FootageUnavailable, real_clip  # noqa: E402

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="no openvino"),
    pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="no bpy"),
]

SIZE = (192, 144)  # small: each process runs in seconds
LIMIT_S = 120  # a hang, not a slow CPU: each run takes a few seconds

CHILD = r"""
import json, os, re, sys, threading
from pathlib import Path
import numpy as np
onnx, frames, out, load_bpy = sys.argv[1:5]
if load_bpy == "1":
    import bpy
    bpy.ops.mesh.primitive_monkey_add()
    subsurf = bpy.context.active_object.modifiers.new("s", "SUBSURF")
from restyle.core.engines.openvino_engine import OpenVinoEngine
from restyle.models.registry import ARCHS
engine = OpenVinoEngine(Path(onnx), ARCHS["multistyle26"], "cpu", "fp32")
x = np.load(frames)
styles = np.eye(26, dtype=np.float32)[[3, 17]]
result = {}
worker = threading.Thread(target=lambda: result.update(y=engine.run(x, styles)))
worker.start()
for level in range(8 if load_bpy == "1" else 0):  # Blender's TBB busy meanwhile
    subsurf.levels = 1 + level % 3
    bpy.context.view_layer.update()
worker.join()
np.save(out, result["y"])
maps = Path(f"/proc/{os.getpid()}/maps")
libs = set(re.findall(r"\S*libtbb\S*", maps.read_text())) if maps.exists() else set()
print(json.dumps({"tbb": sorted(libs), "bpy": "bpy" in sys.modules}))
"""


def vtest_frames() -> np.ndarray:
    """Two real frames (people walking), NCHW float32 in [0,1]."""
    from restyle.core.media import decode_range

    try:
        clip = real_clip("vtest")
    except FootageUnavailable as exc:
        pytest.skip(str(exc))
    frames = [next(decode_range(clip, i, i))[..., :3] for i in (100, 300)]
    small = [cv2.resize(f, SIZE, interpolation=cv2.INTER_AREA) for f in frames]
    return np.stack(small).transpose(0, 3, 1, 2).astype(np.float32) / 255.0


def run_child(tmp_path: Path, onnx: Path, frames: Path, load_bpy: bool) -> tuple[np.ndarray, dict]:
    out = tmp_path / f"out-{int(load_bpy)}.npy"
    args = [str(onnx), str(frames), str(out), "1" if load_bpy else "0"]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=LIMIT_S
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return np.load(out), json.loads(done.stdout.strip().splitlines()[-1])


def blender_tbb(report: dict) -> str | None:
    """The libtbb.so.12 Blender's package shipped, when that is the one the process used."""
    return next((p for p in report["tbb"] if "/bpy/" in p and "libtbb.so.12" in p), None)


def test_openvino_after_import_bpy_matches_a_process_without_blender(library, tmp_path):
    frames = tmp_path / "frames.npy"
    np.save(frames, vtest_frames())
    onnx = library.builtin_file("multistyle26", ".onnx")
    alone, _ = run_child(tmp_path, onnx, frames, load_bpy=False)
    beside, report = run_child(tmp_path, onnx, frames, load_bpy=True)
    assert report["bpy"]
    assert beside.shape == alone.shape == (2, 3, SIZE[1], SIZE[0])
    assert psnr(beside, alone) >= 90.0
    if sys.platform.startswith("linux") and blender_tbb(report):
        # The clash is real here: OpenVINO ran on Blender's TBB, not on its own copy.
        assert not any("/openvino/" in p and "libtbb.so" in p for p in report["tbb"]), report
