"""The truly windowless path: ``blender -b --python script.py`` with a real Blender binary
(Debian's, in the trixie root that .ci/blender-gui enters), a TD's apply script as the README
shows; skipped where no ``blender`` is on PATH or RESTYLE_EXTENSION_ZIP is unset."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from clips import encode_clip

HERE = Path(__file__).resolve().parent


def test_a_windowless_blender_applies_a_style(tmp_path):
    archive = os.environ.get("RESTYLE_EXTENSION_ZIP")
    if shutil.which("blender") is None or not archive:
        pytest.skip("needs blender on PATH and RESTYLE_EXTENSION_ZIP (bash .ci/blender-gui)")
    rng = np.random.default_rng(0)
    frames = [cv2.resize(rng.integers(0, 255, (6, 10, 3), dtype=np.uint8), (160, 96))] * 12
    clip = encode_clip(tmp_path / "clip.mp4", frames)
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    env["RESTYLE_HOME"] = str(tmp_path / "library")
    proc = subprocess.run(
        ["blender", "-b", "--factory-startup", "--python", str(HERE / "headless_apply.py"),
         "--", archive, str(clip), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    log = (proc.stdout + proc.stderr)[-4000:]
    report_file = tmp_path / "report.json"
    assert report_file.is_file(), f"no report (exit {proc.returncode}):\n{log}"
    report = json.loads(report_file.read_text())
    assert "error" not in report, report["error"] + log
    assert report["background"] and report["install"] == ["FINISHED"]
    assert report["apply"] == ["FINISHED"]
    name, channel, kind, directory = report["styled"]
    assert channel == 2 and kind == "IMAGE" and directory.startswith("//restyle/")
    written = sorted((tmp_path / directory[2:]).glob("*.png"))
    assert len(written) == 8, (directory, log)
    assert proc.returncode == 0, log
