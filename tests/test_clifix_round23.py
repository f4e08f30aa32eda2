"""Round 23's command-line walkthrough (load ~19): the summary's time and the run's setup
said whole, an ETA from the first frame, train's setup and saving said, scripts/test.sh's
arguments and home, the output-is-the-input check first, fp16 on the CPU warned, and words
(an existing movie's refusal, a cancel while starting)."""

from __future__ import annotations

import argparse
import json
import shutil
import threading
import time
from pathlib import Path

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
