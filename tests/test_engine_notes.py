"""An engine's note that names a fix (auto on the CPU beside an unused NVIDIA GPU) carries it
marked (``errors.remedy``); each front end that shows the note words it its own way: the
command line's --json ``engine`` says the pip command, Blender's run summary the preferences'
button (tests/blender/test_engine_note_words.py). The note reached --json as a raw
``\\x02gpu_support\\x03``, and the torch engine's note said both fixes in every front end."""

from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest

from restyle.core import cli
from restyle.core.engines import gpu, onnx_engine

PIP = "pip install onnxruntime-gpu (ONNX Runtime with CUDA)"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@pytest.fixture
def shot(tmp_path):
    folder = tmp_path / "shot"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i in range(2):
        cv2.imwrite(str(folder / f"f_{i:04d}.png"), rng.integers(0, 256, (48, 64, 3), np.uint8))
    return folder


@pytest.fixture
def unused_nvidia_gpu(monkeypatch):
    """An NVIDIA driver present, but neither this onnxruntime nor this torch has CUDA."""
    monkeypatch.setattr(onnx_engine, "available_devices", lambda: ["cpu"])
    monkeypatch.setattr(gpu, "nvidia_driver_present", lambda: True)


def json_engine(library, shot, tmp_path, capsys, backend: str) -> str:
    argv = ["stylize", str(shot), "-o", str(tmp_path / "out"), "-s", "comic-ink"]
    argv += ["--backend", backend, "--library", str(library.root), "--json"]
    code = cli.main(argv)
    said = capsys.readouterr()
    assert code == 0, said.err
    return json.loads(said.out)["engine"]


def test_the_onnx_note_in_json_says_the_pip_command(
    library, shot, tmp_path, capsys, unused_nvidia_gpu
):
    engine = json_engine(library, shot, tmp_path, capsys, "onnx")
    assert not CONTROL.search(engine), repr(engine)
    assert f"NVIDIA GPU found, but this onnxruntime has no CUDA: {PIP}" in engine


def test_the_torch_note_in_json_says_the_pip_command_only(
    library, shot, tmp_path, capsys, unused_nvidia_gpu, monkeypatch
):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.version, "cuda", None)  # a CPU-only build, as this venv's
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    engine = json_engine(library, shot, tmp_path, capsys, "torch")
    assert not CONTROL.search(engine), repr(engine)
    assert f"CPU-only build and this onnxruntime has no CUDA: {PIP}; running on CPU" in engine
    assert "preferences" not in engine  # Blender's button is Blender's to name


def test_the_engine_line_says_the_engine_once(library, shot, tmp_path, capsys, monkeypatch):
    """auto's last resort (ONNX Runtime, no fast graph, nothing faster installed) read
    'onnx fp32 on cpu (ONNX Runtime fp32 (no faster engine installed); ...)': the engine
    and precision twice, a bracket in a bracket. The line's head says them; the why only why."""
    from restyle.core import engines

    monkeypatch.setattr(onnx_engine, "available_devices", lambda: ["cpu"])
    monkeypatch.setattr(engines, "torch_cuda_usable", lambda: False)
    monkeypatch.setattr(engines, "native_bf16_cpu", lambda: False)
    monkeypatch.setattr(engines, "openvino_available", lambda: False)
    monkeypatch.setattr(engines, "fast_graph", lambda _onnx: None)
    engine = json_engine(library, shot, tmp_path, capsys, "auto")
    assert engine.startswith("onnx fp32 on cpu (no faster engine installed"), engine
    assert engine.count("fp32") == 1 and "ONNX Runtime" not in engine, engine
    assert engine.count("(") == engine.count(")") and not re.search(r"\([^)]*\(", engine), engine
