"""This machine's precision verdicts (core/engines/precision.py): kept whole by processes
writing at once, a corrupt entry never choosing the reduced precision, a key that changes
with every fact that changes the output, and torch's later overflow kept as a miss."""

from __future__ import annotations

import errno
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from restyle.core.engines import ModelFiles, create_engine, explain, onnx_engine
from restyle.core.engines import precision as precision_module
from restyle.core.engines.precision import MachineCheck, Verdicts, checked_batch, machine_facts
from restyle.models.registry import ARCHS

WRITER = """
import sys
from restyle.core.engines.precision import Verdicts
verdicts, who = Verdicts(sys.argv[1]), sys.argv[2]
for i in range(int(sys.argv[3])):
    verdicts.keep(f"{who}-{i}", {"db": 40.0 + i, "on": "probe"})
"""


def test_processes_keeping_verdicts_at_once_lose_none(tmp_path):
    """4 processes x 200 keeps left 311 of 800 entries before the lock file."""
    path = tmp_path / "cache" / "precision.json"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{n}", "200"])
        for n in range(4)
    ]
    assert [w.wait(timeout=300) for w in writers] == [0, 0, 0, 0]
    kept = json.loads(path.read_text(encoding="utf-8"))["verdicts"]
    assert len(kept) == 800
    assert kept["w3-199"]["db"] == 239.0


def test_a_held_lock_is_waited_for_a_bounded_time(tmp_path, monkeypatch):
    """Another process's hold delays a keep; one that outlasts the wait does not stop it."""
    verdicts = Verdicts(tmp_path / "precision.json")
    monkeypatch.setattr(precision_module, "LOCK_WAIT_S", 0.3)
    with precision_module._held(verdicts.path) as held:
        assert held
        started = time.monotonic()
        worker = threading.Thread(target=verdicts.keep, args=("k", {"db": 40.0}))
        worker.start()
        worker.join(timeout=5)
        assert not worker.is_alive()
        assert time.monotonic() - started >= 0.25  # it waited for the hold...
    assert verdicts.get("k")["db"] == 40.0  # ...then wrote, the file whole


def test_a_file_system_that_cannot_lock_costs_no_wait(tmp_path, monkeypatch):
    """flock's ENOLCK (an NFS home without lockd) was retried for the whole 10 s wait, on
    every read and keep: each engine start waited 10-30 s (late review)."""
    fcntl = pytest.importorskip("fcntl")

    def cannot_lock(fd, how):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", cannot_lock)
    verdicts = Verdicts(tmp_path / "precision.json")
    started = time.monotonic()
    verdicts.keep("k", {"db": 40.0})
    assert verdicts.get("k")["db"] == 40.0  # written unlocked, whole
    assert time.monotonic() - started < 1.0


def test_a_corrupt_entry_is_dropped_and_never_chooses_the_reduced_precision(tmp_path):
    verdicts = Verdicts(tmp_path / "precision.json")
    network = tmp_path / "net.onnx"
    network.write_bytes(b"a network")
    facts = machine_facts("openvino", "bf16", "CPU", network, "1.0")
    key = precision_module._key(facts, None)
    entries = {
        key: {"db": math.nan},
        "text": {"db": "40"},
        "none": {"db": None},
        "flag": {"db": True},
        "list": [40.0],
        "miss": {"db": -math.inf},
        "same": {"db": math.inf},
    }
    text = json.dumps({"version": precision_module.VERDICTS_VERSION, "verdicts": entries})
    verdicts.path.write_text(text, encoding="utf-8")
    for dropped in (key, "text", "none", "flag", "list"):
        assert verdicts.get(dropped) is None, dropped
    assert verdicts.get("miss")["db"] == -math.inf  # an overflow's miss stays a miss
    assert verdicts.get("same")["db"] == math.inf  # output equal to fp32's

    def fp32(images, _condition):
        return 1.0 - images

    def reduced(images, _condition):  # 14 dB off fp32: a miss on the probe
        return np.clip(1.2 - images, 0.0, 1.0)

    images = np.random.default_rng(0).random((1, 3, 16, 16)).astype(np.float32)
    checked = checked_batch(images, None, reduced, fp32, "bf16", MachineCheck(verdicts, facts))
    assert not checked.kept, checked.said  # measured again on the probe, not NaN's "pass"
    assert verdicts.get(key)["db"] < precision_module.PRECISION_BAR_DB


def test_every_fact_that_changes_the_output_changes_the_key(tmp_path, monkeypatch):
    from restyle.core.engines import cpu

    network = tmp_path / "model.onnx"
    network.write_bytes(b"network one")
    one, two = np.eye(2, dtype=np.float32)[:1], np.eye(2, dtype=np.float32)[1:]
    base = {"backend": "openvino", "precision": "bf16", "device": "CPU", "runtime": "2026.4.1"}

    def key(condition=one, **changed):
        return precision_module._key(
            machine_facts(**{**base, "network": network, **changed}), condition
        )

    first = key()
    assert key() == first  # the same facts: the same verdict
    changed = {
        "runtime": key(runtime="2026.5.0"),
        "device": key(device="GPU Intel(R) Arc(TM) A770"),
        "style": key(two),
    }
    monkeypatch.setattr(cpu, "feature_summary", lambda: "AVX2 only")
    changed["cpu"] = key()
    monkeypatch.undo()
    monkeypatch.setattr(precision_module, "GRAPH_REWRITES", precision_module.GRAPH_REWRITES + 1)
    changed["rewrites"] = key()
    monkeypatch.undo()
    assert key() == first
    network.write_bytes(b"network two, retrained")  # same name, other content
    changed["network"] = key()
    assert first not in changed.values(), changed
    assert len(set(changed.values())) == len(changed)


class CudaSession:
    def __init__(self, provider: str, device_id: str) -> None:
        self.provider, self.device_id = provider, device_id

    def get_providers(self):
        return [self.provider, "CPUExecutionProvider"]

    def get_provider_options(self):
        return {self.provider: {"device_id": self.device_id}, "CPUExecutionProvider": {}}


def test_onnx_runtime_verdicts_name_the_gpu_and_tensorrt(tmp_path, monkeypatch):
    """'cuda CUDAExecutionProvider' was one verdict for every GPU model and TensorRT version."""
    network = tmp_path / "model.onnx"
    network.write_bytes(b"network")
    gpus = {0: "NVIDIA GeForce RTX 3060", 1: "NVIDIA H200"}
    monkeypatch.setattr(onnx_engine, "cuda_device_name", lambda index: gpus[int(index)])
    trt = {"version": "100300"}
    monkeypatch.setattr(onnx_engine, "tensorrt_version", lambda: trt["version"])

    def facts(device: str, provider: str, device_id: str) -> dict:
        engine = SimpleNamespace(
            verdicts=Verdicts(tmp_path / "v.json"),
            session=CudaSession(provider, device_id),
            device=device,
            precision="fp16",
            path=network,
            arch=SimpleNamespace(size_multiple=4),
        )
        return onnx_engine.OnnxEngine._machine(engine).facts

    cuda0 = facts("cuda", "CUDAExecutionProvider", "0")
    assert cuda0["device"] == "cuda CUDAExecutionProvider NVIDIA GeForce RTX 3060"
    assert facts("cuda", "CUDAExecutionProvider", "1")["device"].endswith("NVIDIA H200")
    trt10 = facts("tensorrt", "TensorrtExecutionProvider", "1")
    assert trt10["device"].endswith("NVIDIA H200") and trt10["runtime"].endswith("tensorrt 100300")
    trt["version"] = "8601"
    assert facts("tensorrt", "TensorrtExecutionProvider", "1")["runtime"] != trt10["runtime"]


def test_the_gpu_name_and_tensorrt_version_are_empty_where_nothing_says(monkeypatch):
    monkeypatch.setattr(onnx_engine, "TENSORRT_LIBRARIES", {sys.platform: ("libnone.so.0",)})
    assert onnx_engine.tensorrt_version() == ""
    name = onnx_engine.cuda_device_name(99)  # no such device, or no driver at all
    assert name == ""


def test_torch_overflow_on_a_later_batch_is_kept_as_a_miss(library):
    """A later batch's inf/NaN ran fp32 for that run only: every later run overflowed again."""
    torch = pytest.importorskip("torch")
    from restyle.core.engines.cpu import native_bf16

    if not native_bf16():
        pytest.skip("no native bf16 on this CPU")
    files = (library.builtin_file("multistyle26", s) for s in (".onnx", ".safetensors"))
    model = ModelFiles(ARCHS["multistyle26"], *files)
    style = np.zeros((1, 26), np.float32)
    style[0, 0] = 1.0
    frame = np.random.default_rng(1).random((1, 3, 64, 64)).astype(np.float32)
    engine = create_engine(model, "torch", "cpu", "bf16")
    engine.run(frame, style)
    if engine.decided != "bf16":
        pytest.skip(f"bf16 missed on the probe here: {explain(engine)}")
    module = engine.module
    engine.module = lambda *args: module(*args) * torch.tensor(math.inf)  # a bright frame
    out = engine.run(frame, style)
    assert np.isfinite(out).all() and engine.decided == "fp32"
    kept = json.loads(Path(engine.verdicts.path).read_text(encoding="utf-8"))["verdicts"]
    assert [v["on"] for v in kept.values() if v["db"] == -math.inf] == ["frames"]
    engine.close()
    later = create_engine(model, "torch", "cpu", "bf16")
    later.run(frame, style)
    assert later.decided == "fp32", explain(later)  # fp32 from its first batch
    assert "running fp32" in explain(later)
    later.close()
