"""The demo's generated footage: its cuts are where shot detection finds them (the Blender
demo splits its clip there), and the handheld take shakes without drifting away."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from restyle.core.media import decode_range, probe  # noqa: E402
from restyle.core.shots import analyze_shots  # noqa: E402

from sample_footage import make_sample_clip, shake_path  # noqa: E402


def test_shot_detection_finds_the_sample_cuts(tmp_path):
    clip = tmp_path / "sample.mp4"
    cuts = make_sample_clip(clip, (192, 108), frames_per_shot=10, shots=3)
    count = probe(clip).frame_count
    shots = analyze_shots(decode_range(clip, 0, count - 1))
    assert cuts == [10, 20] and [s.start for s in shots[1:]] == cuts


def test_shake_wanders_but_does_not_drift():
    path = shake_path(48, amount=6.0)
    steps = np.abs(np.diff(path[:, :2], axis=0))
    assert steps.mean() > 2.0  # visible jitter from frame to frame
    assert np.abs(path[-1, :2] - path[0, :2]).max() < 3 * 6.0  # ends near where it began
