"""OpenVINO and ONNX Runtime as Restyle loads them send no usage telemetry (child processes).

A plain ``import openvino`` starts a thread that sends an event to Intel (forking the process
on Linux) and writes a client id and a counter under ``~/intel`` unless the user opted out.
Restyle's engine imports it with that hidden, so nothing is written, no thread is started,
and OpenVINO still runs. The child gets a fresh home folder and none of the CI variables
with which the telemetry declines by itself, so a regression shows here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

needs_openvino = pytest.mark.skipif(
    importlib.util.find_spec("openvino") is None, reason="openvino is not installed"
)

CHILD = r"""
import json, sys, threading, time
from restyle.core.engines.openvino_engine import import_openvino
ov = import_openvino()
devices = ov.Core().available_devices
time.sleep(0.5)  # a telemetry thread would have started by now
import openvino_telemetry  # still importable by other code
print(json.dumps({
    "devices": devices,
    "threads": [t.name for t in threading.enumerate()],
    "telemetry": sys.modules["openvino.tools.ovc.telemetry_utils"].tm.__name__,
}))
"""


@needs_openvino
def test_openvino_is_imported_without_telemetry(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")}
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "CPU" in report["devices"]
    assert report["telemetry"] != "openvino_telemetry", report
    assert report["threads"] == ["MainThread"], report
    assert not (tmp_path / "intel").exists(), sorted(p.name for p in tmp_path.rglob("*"))


ORT_CHILD = r"""
import sys
from pathlib import Path
import numpy as np
from restyle.core.engines import ModelFiles, create_engine
from restyle.models.registry import ARCHS
engine = create_engine(ModelFiles(ARCHS["multistyle26"], Path(sys.argv[1])), "onnx", "cpu")
engine.run(np.zeros((1, 3, 64, 64), np.float32), np.eye(26, dtype=np.float32)[:1])
"""


def test_onnx_runtime_keeps_no_device_id_and_reports_nothing(library, tmp_path):
    """ONNX Runtime 1.29+ would write a device id and a queue of usage events under the
    cache folder (to send to Microsoft) unless told not to before it loads."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "ORT_DISABLE_TELEMETRY")}
    env |= {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    model = library.builtin_file("multistyle26", ".onnx")
    done = subprocess.run(
        [sys.executable, "-c", ORT_CHILD, str(model)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not list(tmp_path.rglob("*onnxruntime*")), sorted(map(str, tmp_path.rglob("*")))
