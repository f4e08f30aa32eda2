"""Round 23's command-line walkthrough (load ~19): the summary's time and the run's setup
said whole, an ETA from the first frame, train's setup and saving said, scripts/test.sh's
arguments and home, the output-is-the-input check first, fp16 on the CPU warned, and words
(an existing movie's refusal, a cancel while starting)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from helpers_cli import run

from restyle.core import cli
from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob
from restyle.core.pipeline import run_pipeline
from restyle.core.progress import Progress

pytestmark = pytest.mark.usefixtures("private_home")
REPO = Path(__file__).resolve().parents[1]


def events(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.startswith('{"event"')]


# -- 1. the summary tells the whole time, and what the setup went on -------------------------
@pytest.fixture
def slow_conversion(monkeypatch):
    """The built-in styles' conversion (41 s in a fresh home under load), as 1.5 s."""
    real = StyleJob._ensure_builtins

    def converting(self, plan, progress):
        if progress:
            progress(Progress(0, plan.total, stage="setup", message="converting styles"))
        time.sleep(1.5)
        real(self, plan, progress)

    monkeypatch.setattr(StyleJob, "_ensure_builtins", converting)


def test_the_record_gives_the_whole_time_and_the_setup(
    library, index_clip_h264, tmp_path, capsys, slow_conversion
):
    argv = ["stylize", str(index_clip_h264), "-o", str(tmp_path / "o"), "-s", "comic-ink"]
    code, record, err = run([*argv, "--end", "1", "--library", str(library.root)], capsys)
    assert code == 0, err
    assert record["setup_seconds"] >= 1.5, record  # 'seconds': 15.3 for a 48.9 s command
    assert record["total_seconds"] >= record["seconds"] + record["setup_seconds"] - 0.01
    assert record["setup"][:2] == ["converting the styles, once", "building the network"]


def test_the_summary_says_the_time_before_the_first_frame(
    library, index_clip_h264, tmp_path, capsys, slow_conversion
):
    out = tmp_path / "o"
    argv = ["stylize", str(index_clip_h264), "-o", str(out), "-s", "comic-ink", "--end", "1"]
    assert cli.main([*argv, "--library", str(library.root)]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"{out}: 2 frames styled in "), said
    assert " s in all, " in said, said  # '12 frames styled in 18.1 s' for a 66 s command
    assert (
        " of it before the first frame (converting the styles, once; building the network" in said
    )


def test_a_summary_made_by_hand_says_no_setup(capsys, tmp_path):
    from restyle.core.job import JobResult

    result = JobResult(
        tmp_path / "o", written=8, seconds=4.0, fps=2.0, backend="onnx", device="cpu"
    )
    args = argparse.Namespace(json=False, quiet=False, ray=None)
    assert cli._report_run(args, result, "png", "styled", {}) == 0
    assert "in all" not in capsys.readouterr().out


def test_the_precision_check_is_named_while_it_runs():
    """It was under 'building the network' (16 s), never named."""
    from restyle.core.job import _precision_checking

    unsettled = SimpleNamespace(decided=None, precision="bf16")
    said = _precision_checking(unsettled)
    assert said.startswith("checking bf16 against fp32"), said
    assert _precision_checking(SimpleNamespace(decided="bf16", precision="bf16")) == ""
    assert _precision_checking(SimpleNamespace(backend="none")) == ""  # no network


# -- 2. the ETA is measured from the first frame, not from before the network is built --------
class BuildsOnFirstCall:
    """The first call takes 1.5 s (a network compiled, its precision checked), then 50 ms."""

    def __init__(self) -> None:
        self.calls = 0

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        return frame.astype(np.float32)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        time.sleep(1.5 if self.calls == 1 else 0.05)
        return batch

    def postprocess(self, out: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return out.astype(np.uint8)


def test_the_eta_does_not_count_the_first_frames_wait():
    seen: list[Progress] = []
    items = [(i, np.full((4, 4, 3), i, np.uint8)) for i in range(40)]
    run_pipeline(
        iter(items), BuildsOnFirstCall(), lambda i, f: None, 40, progress=seen.append, lanes=1
    )
    etas = [p.eta_s for p in seen if p.eta_s is not None]
    assert etas, seen  # an estimate came
    # 39 frames of 50 ms left at most: the old meter said ~58 s (39 x 1.5 s) after frame 1
    assert max(etas) < 10, etas


# -- 3. train says its setup, and its saving ---------------------------------------------------
def test_train_says_its_setup_before_pytorch_is_imported(monkeypatch, capsys, tmp_path):
    pytest.importorskip("torch")
    from restyle.core.train import keyframes

    def refused(*args, **kwargs):
        raise RestyleError("stopped here")

    monkeypatch.setattr(keyframes, "train_from_keyframes", refused)
    words = ["train", "clip.mp4", "-k", "2=p.png", "-n", "X", "--library", str(tmp_path)]
    code, _, err = run(words, capsys)
    assert code == 2
    first = events(err)[0]  # 27-47 s of nothing before the bar
    assert (first["stage"], first["message"]) == ("setup", cli.TRAIN_SETUP)


def test_training_says_it_saves_and_checks_the_style(pan_clip, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from test_train_cli import _paint_frame_2

    from restyle.core.styles import StyleLibrary
    from restyle.core.train import artifact, keyframes, trainer

    trained = SimpleNamespace(
        figures=SimpleNamespace(stopped_because="budget", iterations=200),
        checkpointed=True,
        config=SimpleNamespace(val_every=100),
    )
    monkeypatch.setattr(trainer, "train_style", lambda *a, **k: trained)
    seen: list[Progress] = []

    def saving(*args, **kwargs):
        raise RestyleError(f"saved after {[(p.stage, p.message) for p in seen]}")

    monkeypatch.setattr(artifact, "write_trained_style", saving)
    paint = _paint_frame_2(pan_clip, tmp_path)
    library = StyleLibrary(tmp_path / "lib", bundled=None)
    with pytest.raises(RestyleError) as caught:
        keyframes.train_from_keyframes(pan_clip, {2: paint}, "X", library, progress=seen.append)
    assert "('save', 'saving and checking the style')" in str(caught.value)  # 6-11 s at 100 %


# -- 4. scripts/test.sh ---------------------------------------------------------------------
FAKE_PYTHON = """#!/usr/bin/env bash
if [ "$1 $2" = "-m pip" ]; then echo "numpy==1.26.4"; exit 0; fi
if [ "$1 $2" = "-m pytest" ]; then
  shift 2
  echo "pytest $*" >>"$LOG"
  echo "home $RESTYLE_HOME" >>"$LOG"
  [ -d "$RESTYLE_HOME" ] && echo "home there" >>"$LOG"
  exit 0
fi
exit 1
"""


@pytest.fixture
def script_tree(tmp_path):
    """A copy of scripts/test.sh in a tree of fakes: setup.sh and .venv's python log calls."""
    tree = tmp_path / "tree"
    (tree / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "test.sh", tree / "scripts" / "test.sh")
    (tree / "scripts" / "setup.sh").write_text('echo setup >>"$LOG"\n')
    (tree / "requirements").mkdir()
    (tree / "requirements" / "dev.txt").write_text("numpy==1.26.4\n")
    (tree / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    python = tree / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return tree


def test_scripts_test_sh_runs_only_the_tests_named(script_tree, tmp_path):
    log = tmp_path / "log"
    env = {k: v for k, v in os.environ.items() if k != "RESTYLE_HOME"}
    env["LOG"] = str(log)
    for _ in range(2):
        done = subprocess.run(
            ["bash", str(script_tree / "scripts" / "test.sh"), "tests/test_x.py", "-k", "a b"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    lines = log.read_text().splitlines()
    assert lines.count("setup") == 1, lines  # the second run: nothing changed, skipped
    assert lines.count("pytest -q tests/test_x.py -k a b") == 2, lines  # nothing else ran
    homes = [line.removeprefix("home ") for line in lines if line.startswith("home /")]
    assert len(homes) == 2 and "home there" in lines
    assert not any(Path(home).exists() for home in homes)  # the homes it made: removed
    (script_tree / "requirements" / "dev.txt").write_text("numpy==2.0.0\n")  # changed
    (tmp_path / "mine").mkdir()  # a home given: used, and kept
    done = subprocess.run(
        ["bash", str(script_tree / "scripts" / "test.sh"), "tests/test_x.py"],
        env={**env, "RESTYLE_HOME": str(tmp_path / "mine")}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = log.read_text().splitlines()
    assert lines.count("setup") == 2 and lines[-2:] == [f"home {tmp_path / 'mine'}", "home there"]
    assert (tmp_path / "mine").is_dir()


# -- 5. the output is the input: said first ----------------------------------------------------
def test_an_output_that_is_the_input_is_said_before_its_suffix(index_clip_ffv1, tmp_path, capsys):
    clip = tmp_path / "vtest.avi"
    shutil.copy(index_clip_ffv1, clip)
    before = clip.read_bytes()
    code, _, err = run(["stylize", str(clip), "-o", str(clip), "-s", "comic-ink"], capsys)
    assert code == 2
    assert f"output {clip} is the input; choose another output" in err, err
    assert "cannot write '.avi'" not in err  # then, with --format ffv1: 'is the input'
    with pytest.raises(RestyleError, match="is the input"):
        StyleJob(clip, clip, "comic-ink").validate()
    assert clip.read_bytes() == before


# -- 6. fp16 on the CPU runs fp32: warned ------------------------------------------------------
def test_fp16_on_the_cpu_is_warned(library, index_clip_h264, tmp_path, capsys):
    argv = ["stylize", str(index_clip_h264), "-o", str(tmp_path / "o"), "-s", "comic-ink"]
    words = [*argv, "--end", "0", "--device", "cpu", "--precision", "fp16"]
    code, record, err = run([*words, "--library", str(library.root)], capsys)
    assert code == 0, err
    assert record["engine"].startswith(f"{record['backend']} fp32 on cpu"), record["engine"]
    assert "fp16 needs a GPU: ran fp32" in record["warnings"]  # warnings were []
    assert "restyle: warning: fp16 needs a GPU: ran fp32" in err
    assert "the CPU has native bf16" not in record["engine"]  # not what ran


# -- 8. words --------------------------------------------------------------------------------
def test_an_existing_movie_says_what_it_is_then_the_fix(library, index_clip_h264, tmp_path, capsys):
    out = tmp_path / "existing.mp4"
    out.write_bytes(b"not a movie")
    argv = ["stylize", str(index_clip_h264), "-o", str(out), "-s", "comic-ink", "--end", "1"]
    code, _, err = run([*argv, "--library", str(library.root)], capsys)
    assert code == 2
    assert f"output {out} exists but cannot be read as a movie (" in err, err
    assert "; use --overwrite to replace it\n" in err, err  # the fix last, not its reason


def test_a_frame_job_stopped_while_starting_says_no_frame_finished(capsys):
    args = argparse.Namespace(func=cli.cmd_stylize, json=False)
    assert cli._say_cancelled(args, None, 130) == 130
    assert capsys.readouterr().err == "restyle: cancelled: no frame finished; nothing kept\n"
    assert cli._say_cancelled(None, ["matte", "c.mp4", "-o", "o"], 130) == 130
    assert "no frame finished; nothing kept" in capsys.readouterr().err
    assert cli._say_cancelled(argparse.Namespace(func=cli.cmd_styles), None, 130) == 130
    assert capsys.readouterr().err == "restyle: cancelled\n"  # no frames to speak of
    ran = argparse.Namespace(func=cli.cmd_stylize, json=False, cancel_code=130)
    assert cli._say_cancelled(ran, None, 130) == 130  # a second stop after its run: frames
    assert capsys.readouterr().err == "restyle: cancelled\n"  # may be kept: not said


def test_setup_events_come_on_the_callers_thread_frames_on_the_finisher(
    library, index_clip_h264, tmp_path
):
    """docs/cli.md said every callback ran on restyle-finisher."""
    threads: dict[str, set[str]] = {}

    def progress(p: Progress) -> None:
        threads.setdefault(p.stage, set()).add(threading.current_thread().name)

    job = StyleJob(index_clip_h264, tmp_path / "o", "comic-ink", end=1, library=library)
    job.run(progress=progress)
    assert threads["setup"] == {threading.current_thread().name}
    assert threads["stylize"] == {"restyle-finisher"}
