"""This machine's precision verdicts (core/engines/precision.py): kept whole by processes
writing at once, a corrupt entry never choosing the reduced precision, a key that changes
with every fact that changes the output, and torch's later overflow kept as a miss."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from restyle.core.engines import precision as precision_module
from restyle.core.engines.precision import Verdicts

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
