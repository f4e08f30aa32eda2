"""Parsing a command line is quick: `restyle --help`, a command's --help and a refused
option import neither numpy, PyAV nor torch (nor OpenCV, ONNX Runtime, Ray), which took
0.5 s or more before the first word was printed. Each runs as a user's does, in a fresh
Python (``python -m restyle``), which then lists the heavy modules it had loaded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numpy", "av", "torch", "cv2", "onnxruntime", "openvino", "ray")

WRAPPER = f"""
import json, runpy, sys
sys.argv = ["restyle", *sys.argv[1:]]
try:
    runpy.run_module("restyle", run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as stop:
    code = stop.code
loaded = sorted({{name.partition(".")[0] for name in sys.modules}} & set({HEAVY!r}))
print(json.dumps({{"code": code, "loaded": loaded}}), file=sys.stderr)
"""


def _parse(tmp_path, *args: str) -> tuple[int, str, str, list[str]]:
    run = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    *said, last = run.stderr.rstrip("\n").split("\n")
    record = json.loads(last)
    return record["code"], run.stdout, "\n".join(said), record["loaded"]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["stylize", "--help"],  # lists --format's choices and --device's words
        ["train", "--help"],
        ["matte", "--help"],
        ["stabilize", "--help"],
        ["styles", "install", "--help"],
    ],
)
def test_help_imports_no_heavy_module(tmp_path, args):
    code, out, err, loaded = _parse(tmp_path, *args)
    assert code == 0 and out.startswith("usage: restyle") and err == ""
    assert loaded == []


@pytest.mark.parametrize(
    "args, words",
    [
        (["--bogus"], "restyle: error: "),
        (["stylize", "in.mp4", "-o", "out", "-s", "x", "--format", "gif"], "--format: invalid"),
        (["stylize", "in.mp4", "-o", "out", "-s", "x", "--device", "cuda:x"], "not a device"),
        (["train", "in.mp4", "-k", "0=a.png", "-n", "n", "--device", "dml"], "PyTorch trains"),
    ],
)
def test_a_refused_option_imports_no_heavy_module(tmp_path, args, words):
    code, out, err, loaded = _parse(tmp_path, *args)
    assert code == 2 and out == "" and words in err
    assert loaded == []
