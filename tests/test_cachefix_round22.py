"""This machine's precision verdicts (core/engines/precision.py): kept whole by processes
writing at once, a corrupt entry never choosing the reduced precision, a key that changes
with every fact that changes the output, and torch's later overflow kept as a miss."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time

import numpy as np

from restyle.core.engines import precision as precision_module
from restyle.core.engines.precision import MachineCheck, Verdicts, checked_batch, machine_facts

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
