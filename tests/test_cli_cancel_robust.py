"""A --json run stopped before its closing record still prints one, whatever state the stop
left the process in: a stop inside an import (numpy's, while the words were parsed) left
modules half made, and the record's own ``from .job import JobResult`` raised
AttributeError (traceback, exit 1, no record); a second SIGTERM while the record was made
raised there too; an output the run refuses ('out.webm') raised "unknown output format
'None'". The record is made of plain data, with both signals ignored, and falls back to
{"cancelled": true}.

Also: 'renders.png/' (a trailing slash: a folder) is a folder of frames, and train's
--device takes only what PyTorch runs on."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from restyle.core import cli
from restyle.core.errors import RestyleError
from restyle.core.writers import format_for_output


class HalfImported(types.ModuleType):
    """What a stop inside a module's import leaves: a module whose names are not there."""

    def __getattr__(self, name: str):
        raise AttributeError(f"partially initialized module {self.__name__!r} has no {name!r}")


def stylize_args(output: str) -> argparse.Namespace:
    words = ["stylize", "clip.avi", "-o", output, "-s", "comic-ink", "--json"]
    return cli.build_parser().parse_args(words)


def test_the_record_is_made_while_job_is_half_imported(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "restyle.core.job", HalfImported("restyle.core.job"))
    cli._cancelled_record(stylize_args("out.mp4"), None)
    record = json.loads(capsys.readouterr().out)
    assert record["cancelled"] is True and record["written"] == 0
    said = (record["output"], record["format"], record["style"])
    assert said == (os.path.abspath("out.mp4"), "h264", "comic-ink")  # absolute: f154f56


def test_the_record_is_made_while_writers_is_half_imported(monkeypatch, capsys):
    args = stylize_args("out.mp4")
    for name in ("restyle.core.job", "restyle.core.writers"):
        monkeypatch.setitem(sys.modules, name, HalfImported(name))
    cli._cancelled_record(args, None)
    record = json.loads(capsys.readouterr().out)
    assert record["cancelled"] is True and record["format"] is None  # not known: not guessed


@pytest.mark.parametrize("output", ["out.webm", "out.mp4/"])
def test_an_output_the_run_refuses_gives_format_null(output, capsys):
    with pytest.raises(RestyleError):
        format_for_output(output)
    cli._cancelled_record(stylize_args(output), None)
    record = json.loads(capsys.readouterr().out)
    assert record["cancelled"] is True and record["format"] is None


def test_a_record_that_cannot_be_made_still_says_cancelled(monkeypatch, capsys):
    def stopped(_args):
        raise KeyboardInterrupt

    def broken(*_args):
        raise RuntimeError("the record could not be made")

    monkeypatch.setattr(cli, "_job_fields", stopped)
    monkeypatch.setattr(cli, "_cancelled_record", broken)
    words = ["stylize", "clip.avi", "-o", "out.mp4", "-s", "comic-ink", "--json"]
    assert cli.main(words) == 130
    out, err = capsys.readouterr()
    assert json.loads(out) == {"cancelled": True}
    assert "restyle: cancelled" in err and "Traceback" not in err


# The run paused in _job_fields (touching $READY); its record paused (touching $READY2) so a
# second SIGTERM comes while it is made.
PAUSED_TWICE = """
import os, sys, time
from pathlib import Path
from restyle.core import cli

def paused(*args, **kwargs):
    Path(os.environ["READY"]).touch()
    time.sleep(120)

made = cli._cancelled_record

def slow_record(*args):
    Path(os.environ["READY2"]).touch()
    time.sleep(1.5)
    made(*args)

cli._job_fields = paused
cli._cancelled_record = slow_record
sys.exit(cli.main(sys.argv[1:]))
"""


def wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"the run never made {path.name}"
        time.sleep(0.02)


def test_a_second_sigterm_while_the_record_is_made_is_ignored(tmp_path):
    ready, ready2 = tmp_path / "ready", tmp_path / "ready2"
    env = {**os.environ, "READY": str(ready), "READY2": str(ready2)}
    env["RESTYLE_HOME"] = str(tmp_path / "home")
    words = ["stylize", "clip.avi", "-o", "out.mp4", "-s", "comic-ink", "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED_TWICE, *words],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    wait_for(ready, proc)
    proc.send_signal(signal.SIGTERM)
    wait_for(ready2, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    record = json.loads(out)
    assert record["cancelled"] is True and record["format"] == "h264"


# -- a trailing slash names a folder -------------------------------------------------------
@pytest.mark.parametrize("output", ["renders.png/", "renders.jpg/", "shots.webp/"])
def test_a_picture_name_ending_with_a_slash_is_a_folder_of_frames(output):
    assert format_for_output(output) == "png"


def test_a_movie_name_ending_with_a_slash_is_still_refused_unless_it_is_a_folder(tmp_path):
    for output in ("outdir.mp4", "outdir.mov"):
        with pytest.raises(RestyleError, match="a folder, but is named like"):
            format_for_output(f"{tmp_path / output}/")
    with pytest.raises(RestyleError, match="cannot write '.png' files"):
        format_for_output(str(tmp_path / "renders.png"))  # no slash: a file's name
    (tmp_path / "out.mp4").mkdir()
    assert format_for_output(str(tmp_path / "out.mp4") + "/") == "png"  # written into


def test_a_stop_with_renders_png_slash_says_its_format(capsys):
    cli._cancelled_record(stylize_args("renders.png/"), None)
    record = json.loads(capsys.readouterr().out)
    assert (record["cancelled"], record["format"]) == (True, "png")


# -- train's --device ----------------------------------------------------------------------
@pytest.mark.parametrize("device", ["cuda:x", "cpu:1", "dml", "tensorrt:0", "npu"])
def test_train_refuses_a_device_pytorch_cannot_use(device, capsys):
    words = ["train", "clip.avi", "--keyframe", "0=a.png", "-n", "x", "--device", device]
    assert cli.main(words) == 2
    err = capsys.readouterr().err
    assert f"'{device}' is not a device PyTorch trains on: use auto, cpu, cuda[:N], mps" in err


@pytest.mark.parametrize("device", ["auto", "cpu", "CUDA:1", "mps"])
def test_train_takes_pytorchs_devices(device):
    words = ["train", "clip.avi", "--keyframe", "0=a.png", "-n", "x", "--device", device]
    assert cli.build_parser().parse_args(words).device == device.lower()
