"""A run starting while another process holds its output's lock for an instant waits for it.

``--plan`` looks whether a run would be refused by trying the output's lock for an instant
(``lock_refusal``); a run starting in that instant was refused, naming the run that held the
lock before (its record is still in the file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from restyle.core.errors import RestyleError
from restyle.core.writers import LOCK_PATIENCE_S, OutputLock, lock_path

HOLD = (
    "import os, sys, time\n"
    "from pathlib import Path\n"
    "from restyle.core.writers import _try_lock, lock_path\n"
    "handle = os.open(lock_path(Path(sys.argv[1])), os.O_RDWR)\n"
    "assert _try_lock(handle)\n"
    "print('locked', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
    "os.close(handle)\n"
    "print('released', flush=True)\n"
)


def hold_lock(out, seconds: float) -> subprocess.Popen:
    """Another process holding ``out``'s lock for ``seconds``, as --plan's look does; the
    lock file keeps a finished run's record."""
    lock_path(out).write_text(json.dumps({"pid": 1, "host": "before", "started": "earlier"}))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_run_starting_while_the_lock_is_held_for_an_instant_takes_it(tmp_path):
    out = tmp_path / "styled"
    holder = hold_lock(out, LOCK_PATIENCE_S / 2)
    try:
        with OutputLock(out):
            record = json.loads(lock_path(out).read_text())
            assert record["pid"] == os.getpid()
    finally:
        holder.wait(timeout=30)
    assert holder.stdout.read().strip() == "released"


def test_a_lock_held_longer_is_refused_after_a_moment(tmp_path):
    out = tmp_path / "styled"
    holder = hold_lock(out, 30)
    try:
        started = time.monotonic()
        with pytest.raises(RestyleError, match="another Restyle run"):
            OutputLock(out).acquire()
        assert LOCK_PATIENCE_S <= time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait(timeout=30)
