"""Each job says what it does in one place, its class: the command line's and Blender's
run summaries read the same word ('4 matted'), and its progress names its own frame stage
(a Matte run's frames were reported as 'stylize')."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from restyle.core.job import StyleJob
from restyle.core.mappings.matte_job import MatteJob
from restyle.core.mappings.stabilize_job import StabilizeJob

from clips import encode_clip, pan_frames

DONE = {StyleJob: "styled", MatteJob: "matted", StabilizeJob: "stabilized"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("words")
    return encode_clip(folder / "pan.mkv", pan_frames(4, (96, 64)), codec="ffv1")


@pytest.mark.parametrize("kind", list(DONE))
def test_each_job_says_what_it_did_once_and_not_as_a_setting(kind):
    assert kind.done_word == DONE[kind]
    names = {f.name for f in dataclasses.fields(kind)}
    assert not names & {"done_word", "stage"}  # not settings: not in the settings key


def stages(job) -> set[str]:
    seen: set[str] = set()
    result = job.run(progress=lambda p: seen.add(p.stage))
    assert result.written == 4
    return seen


def test_a_matte_run_reports_its_frames_as_matte(clip, tmp_path, matte_library):
    seen = stages(MatteJob(clip, tmp_path / "m", library=matte_library))
    assert "matte" in seen and "stylize" not in seen, seen


def test_a_stabilize_run_reports_its_frames_as_stabilize(clip, tmp_path):
    seen = stages(StabilizeJob(clip, tmp_path / "s"))
    assert "stabilize" in seen and "stylize" not in seen, seen


def test_a_style_run_reports_its_frames_as_stylize(clip, tmp_path, library):
    seen = stages(StyleJob(clip, tmp_path / "o", "comic-ink", library=library))
    assert "stylize" in seen, seen
