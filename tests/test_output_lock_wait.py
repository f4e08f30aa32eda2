"""A run starting while another process holds its output's lock for an instant waits for it.

``--plan`` looks whether a run would be refused by trying the output's lock for an instant
(``lock_refusal``); a run starting in that instant was refused, naming the run that held the
lock before (its record is still in the file).

The waiting is measured on a clock of the test's own (``VirtualClock``: time passes only
while the lock code sleeps) and the other process lets go when the test tells it to, right
after the run's first try failed: the outcome is the same on an idle or a loaded machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from restyle.core import writers
from restyle.core.errors import RestyleError
from restyle.core.writers import LOCK_PATIENCE_S, OutputLock, lock_path

HOLD = (
    "import os, sys\n"
    "from pathlib import Path\n"
    "from restyle.core.writers import _try_lock, lock_path\n"
    "handle = os.open(lock_path(Path(sys.argv[1])), os.O_RDWR)\n"
    "assert _try_lock(handle)\n"
    "print('locked', flush=True)\n"
    "sys.stdin.readline()\n"
    "os.close(handle)\n"
    "print('released', flush=True)\n"
)


class VirtualClock:
    """The lock code's ``time`` module, whose monotonic time moves only when it sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def __getattr__(self, name: str):
        return getattr(time, name)  # strftime and localtime for the lock's record


class Holder:
    """Another process holding ``out``'s lock until ``release``, as --plan's look does; the
    lock file keeps a finished run's record."""

    def __init__(self, out) -> None:
        lock_path(out).write_text(json.dumps({"pid": 1, "host": "before", "started": "earlier"}))
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(out)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "locked"
        self.released = False

    def release(self) -> None:
        """Returns once the lock is free (the process closed its handle)."""
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "released"
        self.released = True

    def end(self) -> None:
        if not self.released:
            self.process.kill()
        self.process.wait(timeout=30)


@pytest.fixture
def clock(monkeypatch) -> VirtualClock:
    clock = VirtualClock()
    monkeypatch.setattr(writers, "time", clock)
    return clock


def counted_tries(monkeypatch, after_a_refusal=None) -> list[bool]:
    """Every answer ``_try_lock`` gives; ``after_a_refusal()`` runs after the first no."""
    answers: list[bool] = []
    try_lock = writers._try_lock

    def counted(handle: int) -> bool:
        answers.append(try_lock(handle))
        if answers == [False] and after_a_refusal is not None:
            after_a_refusal()
        return answers[-1]

    monkeypatch.setattr(writers, "_try_lock", counted)
    return answers


def test_a_run_starting_while_the_lock_is_held_for_an_instant_takes_it(
    tmp_path, clock, monkeypatch
):
    """Refused at its first try, the run tries again and takes the lock the other process
    has let go of meanwhile (a run without the wait was refused, naming 'pid 1')."""
    out = tmp_path / "styled"
    holder = Holder(out)
    answers = counted_tries(monkeypatch, after_a_refusal=holder.release)
    try:
        with OutputLock(out):
            record = json.loads(lock_path(out).read_text())
            assert record["pid"] == os.getpid()
    finally:
        holder.end()
    assert answers == [False, True]
    assert clock.now < LOCK_PATIENCE_S


def test_a_lock_held_longer_is_refused_after_a_moment(tmp_path, clock, monkeypatch):
    out = tmp_path / "styled"
    holder = Holder(out)
    answers = counted_tries(monkeypatch)
    try:
        with pytest.raises(RestyleError, match=r"another Restyle run \(pid 1 on before"):
            OutputLock(out).acquire()
    finally:
        holder.end()
    assert len(answers) > 1 and not any(answers)  # tried again, for the whole moment
    assert LOCK_PATIENCE_S <= clock.now < LOCK_PATIENCE_S + 0.1
