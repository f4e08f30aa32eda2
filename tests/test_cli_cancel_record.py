"""A --json run stopped (SIGTERM, Ctrl-C) before its frames start still ends with its closing
record, cancelled and nothing done: Ray's front end (``ray_submit._result``) calls a stop
"cancelled" only from that record. Stopped while its settings were checked, a run printed
only 'restyle: cancelled' and exit 143, which read as a failed Ray job.

Deterministic: the run is paused inside the command (where it checks its settings, or
probes the source) and signalled once it says so through a file, not after a sleep."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from restyle.core.ray_submit import final_record

# Runs the command with one step replaced by a pause that first touches $READY.
PAUSED = """
import os, sys, time
from pathlib import Path
from restyle.core import cli, media

def paused(*args, **kwargs):
    Path(os.environ["READY"]).touch()
    time.sleep(120)

if os.environ["PAUSE_IN"] == "job_fields":
    cli._job_fields = paused
else:
    media.probe = paused
sys.exit(cli.main(sys.argv[1:]))
"""


def stopped_run(tmp_path: Path, words: list[str], pause_in: str, signum: int):
    ready = tmp_path / "ready"
    env = {**os.environ, "READY": str(ready), "PAUSE_IN": pause_in}
    env["RESTYLE_HOME"] = str(tmp_path / "home")
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED, *words],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never reached its pause"
        time.sleep(0.02)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


@pytest.mark.parametrize(
    ("command", "more", "fields"),
    [
        ("stylize", ["-s", "comic-ink"], {"style": "comic-ink", "warping_error": None}),
        ("matte", [], {"replace": None}),
        ("stabilize", [], {"kept_area": [], "cuts": []}),
    ],
)
def test_a_frame_job_stopped_while_checking_its_settings_says_cancelled(
    tmp_path, command, more, fields
):
    words = [command, "clip.avi", "-o", "out.mp4", *more, "--json"]
    code, out, err = stopped_run(tmp_path, words, "job_fields", signal.SIGTERM)
    assert code == 143, err
    assert "restyle: cancelled" in err
    record = json.loads(out)  # one record, on stdout
    assert record["cancelled"] is True
    assert (record["frames"], record["written"], record["reused"]) == (0, 0, 0)
    assert record["output"] == str(tmp_path / "out.mp4") and record["format"] == "h264"
    assert {k: record[k] for k in fields} == fields
    assert final_record(out + err) == record  # what a Ray front end reads (stdout + stderr)


def test_ctrl_c_while_checking_its_settings_says_cancelled_too(tmp_path):
    words = ["stylize", "clip.avi", "-o", "frames", "-s", "comic-ink", "--json"]
    code, out, err = stopped_run(tmp_path, words, "job_fields", signal.SIGINT)
    assert code == 130, err
    record = json.loads(out)
    assert record["cancelled"] is True and record["written"] == 0 and record["format"] == "png"


def test_shots_stopped_while_reading_the_source_says_cancelled(tmp_path):
    code, out, err = stopped_run(tmp_path, ["shots", "clip.avi", "--json"], "probe", signal.SIGTERM)
    assert code == 143, err
    assert json.loads(out) == {"cuts": [], "shots": [], "cancelled": True}


def test_without_json_a_stop_prints_no_record(tmp_path):
    words = ["stylize", "clip.avi", "-o", "out.mp4", "-s", "comic-ink"]
    code, out, err = stopped_run(tmp_path, words, "job_fields", signal.SIGTERM)
    assert (code, out) == (143, "")
    assert err.strip() == "restyle: cancelled: no frame finished; nothing kept"
