"""OpenVINO as Restyle imports it sends no usage telemetry, checked in a child process.

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

pytestmark = pytest.mark.skipif(
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
