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

DONE = {StyleJob: "styled", MatteJob: "matted", StabilizeJob: "stabilised"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("words")
    return encode_clip(folder / "pan.mkv", pan_frames(4, (96, 64)), codec="ffv1")


@pytest.mark.parametrize("kind", list(DONE))
def test_each_job_says_what_it_did_once_and_not_as_a_setting(kind):
    assert kind.done_word == DONE[kind]
    assert "done_word" not in {f.name for f in dataclasses.fields(kind)}  # not in the key
