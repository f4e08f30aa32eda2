"""A stopped --ray run (Ctrl-C, SIGTERM) leaves no lock file: Ray kills the chunks' tasks
(``ray.cancel(force=True)``), which cannot remove the lock their job held on its staging
folder (``.restyle-chunks/.000070-000079.restyle-lock``), so the driver does once the system
has let it go; finished frames stay for a rerun. No cluster: a stand-in Ray whose tasks are
processes holding those locks, and whose cancel kills them, as Ray's does."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from restyle.core import ray_runner
from restyle.core.errors import Cancelled
from restyle.core.plan import Chunk, Plan
from restyle.core.progress import CancelToken
from restyle.core.writers import OutputLock, lock_path

# A task: lock the chunk's staging folder as its job does, leave a scratch frame, say so.
HOLD = """
import sys, time
from pathlib import Path
from restyle.core.writers import OutputLock
staging = Path(sys.argv[1])
staging.mkdir(parents=True, exist_ok=True)
lock = OutputLock(staging)
lock.acquire()
(staging / "000070.png").write_bytes(b"a finished frame")
(staging / ".000071.png.0123abcd.restyle-part").write_bytes(b"half")
(staging / "ready").touch()
time.sleep(600)
"""


class StandInRay:
    """What ``run_chunks`` asks of Ray: a task is a process, cancel kills it (SIGKILL)."""

    def __init__(self, cancel: CancelToken) -> None:
        self.tasks: list[subprocess.Popen] = []
        self.cancel_token = cancel

    def get_runtime_context(self):
        return SimpleNamespace(get_node_id=lambda: "ab" * 28)

    def remote(self, **_options):
        ray = self

        def wrap(target):
            if isinstance(target, type):  # the progress board
                board = SimpleNamespace(
                    report=SimpleNamespace(remote=lambda *a: None),
                    total=SimpleNamespace(remote=lambda: 0),
                )
                return SimpleNamespace(options=lambda **_: SimpleNamespace(remote=lambda: board))

            def start(job_type, fields, chunk, landing, *rest):
                staging = ray_runner.chunk_output_folder(landing.folder, chunk)
                task = subprocess.Popen([sys.executable, "-c", HOLD, str(staging)])
                ray.tasks.append(task)
                deadline = time.monotonic() + 60
                while not (staging / "ready").exists():
                    assert task.poll() is None and time.monotonic() < deadline
                    time.sleep(0.02)
                (staging / "ready").unlink()
                return task

            return SimpleNamespace(remote=start)

        return wrap

    def put(self, value):
        return value

    def get(self, value):
        return value if isinstance(value, list) else 0

    def wait(self, pending, num_returns, timeout):
        self.cancel_token.cancel()  # stopped while the tasks run (SIGTERM's cancel)
        return [], pending

    def cancel(self, task, force):
        assert force
        task.send_signal(signal.SIGKILL)  # as Ray's force: no clean-up in the task


@pytest.fixture
def stopped(tmp_path):
    """A run of two chunks into ``tmp_path / 'out'``, stopped while both tasks hold locks."""
    out = tmp_path / "out"
    out.mkdir()
    plan = Plan(60, 79, (), (Chunk(60, 69), Chunk(70, 79)))
    cancel = CancelToken()
    ray = StandInRay(cancel)
    landing = ray_runner.Landing(out, ".png")
    fields = {"job_type": SimpleNamespace(stage="stylize")}
    with pytest.raises(Cancelled):
        ray_runner.run_chunks(ray, fields, plan, landing, cancel=cancel)
    for task in ray.tasks:
        task.wait(timeout=30)
    return out


def test_a_stopped_run_leaves_no_lock_nor_scratch_file(stopped):
    left = sorted(str(p.relative_to(stopped)) for p in stopped.rglob("*"))
    assert not [name for name in left if "restyle-lock" in name or "restyle-part" in name], left
    chunk = stopped / ray_runner.STAGING / "000070-000079"
    assert (chunk / "000070.png").read_bytes() == b"a finished frame"  # kept for a rerun
    assert (stopped / "000070.png").is_file()  # and in the output
    # a rerun takes the staging folder's lock at once
    with OutputLock(chunk):
        pass


def test_a_lock_a_live_run_holds_is_kept(tmp_path):
    staging = tmp_path / "out" / ray_runner.STAGING / "000000-000009"
    staging.mkdir(parents=True)
    plan = Plan(0, 9, (), (Chunk(0, 9),))
    with OutputLock(staging):
        ray_runner.clear_stopped_tasks(tmp_path / "out", plan, patience_s=0.1)
        assert lock_path(staging).is_file()
