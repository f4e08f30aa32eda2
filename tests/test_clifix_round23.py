"""Round 23's command-line walkthrough (load ~19): the summary's time and the run's setup
said whole, an ETA from the first frame, train's setup and saving said, scripts/test.sh's
arguments and home, the output-is-the-input check first, fp16 on the CPU warned, and words
(an existing movie's refusal, a cancel while starting)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers_cli import run

from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob

pytestmark = pytest.mark.usefixtures("private_home")
REPO = Path(__file__).resolve().parents[1]


def events(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.startswith('{"event"')]


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
