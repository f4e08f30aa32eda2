"""Round 25's tidy-up (tidy25) of review25's findings.

1. ``cli.main`` put back the start-up SIGINT/SIGTERM handler when it returned, so a Ctrl-C
   during Python's shutdown after a finished run (atexit, Ray's shutdown, thread joins) said
   'restyle: cancelled before ...', wrote a second ``{"cancelled": true}`` line after the
   real --json record (Ray's driver reads the last one) and could exit 130.
2. One function for the record and words of a stop while starting; one reading of the
   command's word ('export-onnx', never 'export_onnx').
3. The two-pass jobs' steps: one table (core/progress.py), each front end formats it.
4. ``restyle stabilize`` on a still picture (or a one-frame range) made a 'Stabilized' copy
   of it: refused in core, for every front end.
5. matte_job read the one output check through an alias kept in core/job.py for it.
6. Only `stylize --help` showed examples; train, shots, matte and stabilize do too.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys

import pytest

from restyle.core import cli, interrupt
from restyle.core.errors import BLENDER, RestyleError
from restyle.core.mappings.stabilize_job import StabilizeJob

from clips import make_image_sequence, make_index_clip

pytestmark = pytest.mark.usefixtures("private_home")


# -- 1. a finished run leaves Python's handlers, never the start-up ones ----------------------
@pytest.fixture
def starting_handlers():
    """The handlers ``restyle`` starts with (core.interrupt at import), put back after."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for signum in before:
        signal.signal(signum, interrupt._cancelled_while_starting)
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


def test_main_returns_with_pythons_handlers(starting_handlers, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["restyle", "train", "c.mp4", "-k", "0=a.png", "-n", "x"])
    assert cli.main(["styles", "--json"]) == 0
    capsys.readouterr()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


SHUTDOWN = """
import atexit, os, runpy, signal, sys
sys.argv = ["restyle", "styles", "--json"]
atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))  # Ctrl-C while Python exits
runpy.run_module("restyle", run_name="__main__", alter_sys=True)
"""


def test_ctrl_c_at_shutdown_adds_no_cancel(tmp_path):
    """``python -m restyle styles --json``, Ctrl-C in an atexit hook: one record, the
    finished run's, and no 'cancelled' said."""
    run = subprocess.run(
        [sys.executable, "-c", SHUTDOWN], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1, run.stdout[-300:]
    assert isinstance(json.loads(lines[0]), list)  # the styles listed
    assert "restyle: cancelled" not in run.stderr
    assert run.returncode == 0


# -- 2. one record, one command word -------------------------------------------------------
def test_stop_while_starting_says_record_and_words_once(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["restyle", "export-onnx", "x", "-o", "x.onnx", "--json"])
    with pytest.raises(SystemExit):
        interrupt._cancelled_while_starting(signal.SIGINT, None)
    said = capsys.readouterr()
    assert said.out == interrupt.CANCELLED_RECORD + "\n"
    assert said.err == "restyle: cancelled before the export began: nothing written\n"


def test_the_command_is_read_as_typed():
    args = cli.build_parser().parse_args(["export-onnx", "starry-swirls", "-o", "x.onnx"])
    assert cli._command_of(args, None) == "export-onnx"
    assert cli._command_of(None, ["--json", "export-onnx", "x"]) == "export-onnx"
    assert set(interrupt.FRAME_JOBS) <= set(interrupt.NOT_STARTED)


# -- 3. a two-pass job's steps: one table (core/progress.py), each front end formats it ------
def test_the_bars_steps_come_from_progress():
    from restyle.core.progress import TWO_PASS_STEPS

    assert cli.STABILIZE_STEPS == {
        stage: f"step {s.number} of {s.count}, {s.doing}"
        for stage, s in TWO_PASS_STEPS["stabilize"].items()
    }
    assert cli.MATTE_KEYFRAME_STEPS["matte"] == "step 2 of 2, matting"
    assert [s.number for s in TWO_PASS_STEPS["keyframed matte"].values()] == [1, 2]


# -- 4. one frame has nothing to stabilize ---------------------------------------------------
def test_stabilize_refuses_a_still_picture(tmp_path, capsys):
    (still,) = make_image_sequence(tmp_path / "src", 1, name="still.png")
    out = tmp_path / "out"
    assert cli.main(["stabilize", str(still), "-o", f"{out}/"]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err == (
        "restyle: error: still.png is a single frame: nothing to stabilize "
        "(it needs at least 2 frames)\n"
    )
    assert not out.exists()


def test_stabilize_refuses_a_one_frame_range(tmp_path):
    clip = make_index_clip(tmp_path / "c.mp4", 6)
    job = StabilizeJob(clip, tmp_path / "o.mp4", start=2, end=2)  # as Blender's run makes it
    with pytest.raises(RestyleError, match="a single frame: nothing to stabilize") as refused:
        job.validate()
    assert refused.value.said(BLENDER) == (
        "first source frame 2 and last source frame 2 give a single frame: nothing to "
        "stabilize (it needs at least 2 frames)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4"]


# -- 5. matte_job reads the one output check from writers ------------------------------------
def test_a_background_that_is_the_output_is_refused_without_jobs_alias(tmp_path):
    from restyle.core import job
    from restyle.core.mappings.matte_job import MatteJob

    assert not hasattr(job, "_refuse_source_as_output")  # one name for the one check
    clip = make_index_clip(tmp_path / "c.mp4", 4)
    plate = make_index_clip(tmp_path / "plate.mp4", 4)
    matte = MatteJob(clip, plate, replace=str(plate), overwrite=True)
    with pytest.raises(RestyleError, match="output .*plate.mp4 is the background"):
        matte.validate()


# -- 6. each frame job's --help shows examples, and each parses ------------------------------
@pytest.mark.parametrize("command", ["train", "shots", "matte", "stabilize", "stylize"])
def test_help_shows_examples_that_parse(command, capsys):
    assert cli.main([command, "--help"]) == 0
    said = capsys.readouterr().out
    examples = said.partition("\nexamples:\n")[2].splitlines()
    lines = [line.strip() for line in examples if line.startswith("  restyle ")]
    assert len(lines) >= 2, said[-400:]
    for line in lines:
        words = shlex.split(line)[1:]
        args = cli.build_parser().parse_args(words)  # a typo in an example exits 2 here
        assert args.command == words[0]
    assert any(shlex.split(line)[1] == command for line in lines)
