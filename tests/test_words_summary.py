"""Counts and rates in the words every front end shows: '1 change', '2 keyframes' (one
helper, ``core.words.count``), and a single frame's time, not '0.4 frames/s'."""

from __future__ import annotations

import argparse

from restyle.core import cli
from restyle.core.job import JobResult
from restyle.core.words import count


def summary(capsys, result) -> str:
    args = argparse.Namespace(json=False, quiet=False, ray=None)
    capsys.readouterr()
    assert cli._report_run(args, result, "png", "styled", {}) == 0
    return capsys.readouterr().out


def test_counts_are_worded():
    assert count(1, "change") == "1 change"
    assert [count(n, "keyframe") for n in (0, 2)] == ["0 keyframes", "2 keyframes"]
    assert count(3, "worker") == "3 workers" and count(2, "copy", "copies") == "2 copies"


def test_one_frame_says_its_time_not_a_rate(capsys, tmp_path):
    picture = tmp_path / "still.png"
    result = JobResult(picture, written=1, seconds=2.5, fps=0.4, backend="onnx", device="cpu")
    text = summary(capsys, result)
    assert text.startswith(f"{picture}: 1 frame styled in 2.5 s (onnx on cpu)"), text
    assert "frames/s" not in text


def test_frames_still_say_their_rate(capsys, tmp_path):
    result = JobResult(
        tmp_path / "o", written=8, seconds=4.0, fps=2.0, backend="onnx", device="cpu"
    )
    text = summary(capsys, result)
    assert f"{tmp_path / 'o'}: 8 frames styled in 4.0 s (2.00 frames/s, onnx on cpu)" in text, text
