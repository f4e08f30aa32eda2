"""bench_temporal's linear bound (--bound): what any linear temporal filter of the frame-by-frame
frames can do on still pixels, checked against theory on synthetic per-frame texture."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_temporal.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_temporal_bound", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _iid_texture(frames=16, size=64, sigma=20.0, seed=0):
    """A still grey picture whose texture is redrawn independently every frame (what the
    network does on megamind's flat colours): per-frame variance sigma^2 levels^2."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(60, 190, (size, size, 3))
    noisy = base[None] + rng.normal(0.0, sigma, (frames, size, size, 3))
    return [np.clip(np.round(f), 0, 255).astype(np.uint8) for f in noisy]


def test_the_bound_on_independent_texture_is_the_ideal_filters(bench):
    """On independent per-frame texture of variance s^2 the best filter of ANY length,
    H(w) = 1 / (1 + 2 lam (1 - cos w)), costs 0.1266 s^2 of deviation to cut the flicker
    (2 s^2) by 3: 7 fitted taps cannot do better and should come close."""
    frames = _iid_texture()
    still = np.ones(frames[0].shape[:2], bool)
    report = bench.linear_bound(frames, still, targets=(3.0,))
    variance = report["flicker"] / 2.0  # frame-to-frame difference of independent draws
    least, _ = report["targets"][3.0]
    deviation, reduction, _ = least
    assert reduction >= 3.0
    assert 0.1266 * 0.9 <= deviation / variance <= 0.1266 * 1.25


def test_todays_weights_as_taps_match_their_impulse_response(bench):
    """The lookahead blend's own weights, read as taps: deviation (1 - h0)^2 + sum h_k^2 and
    flicker sum (h_k - h_k-1)^2 times the texture's variance (independent draws)."""
    from restyle.core.temporal import LOOKAHEAD_WEIGHTS

    frames = _iid_texture(frames=24, size=96, seed=1)
    still = np.ones(frames[0].shape[:2], bool)
    report = bench.linear_bound(frames, still, targets=(3.0,))
    s, b = LOOKAHEAD_WEIGHTS
    taps = np.zeros(7)
    for j in range(4):
        taps[3 - j] += (1 - s - b) * s**j
        taps[4 - j] += b * s**j
    unit = np.zeros(7)
    unit[3] = 1.0
    deviation = float(np.sum((taps - unit) ** 2))
    flicker = float(np.sum(np.diff(np.r_[0.0, taps, 0.0]) ** 2))
    variance = report["flicker"] / 2.0
    measured_deviation, reduction, _ = report["ours"]
    assert measured_deviation / variance == pytest.approx(deviation, rel=0.1)
    assert reduction == pytest.approx(2.0 / flicker, rel=0.1)
    # the oracle at that reduction is never worse than today's weights
    best = bench.linear_bound(frames, still, targets=(round(reduction, 2) - 0.01,))
    assert next(iter(best["targets"].values()))[0][0] <= measured_deviation * 1.001


def test_still_pixels_leave_out_what_moves(bench):
    """A square sliding over a still textured background: its path is not 'still in every
    frame', a far corner is; a cut leaves nothing still."""
    rng = np.random.default_rng(2)
    background = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    background = np.ascontiguousarray(
        np.repeat(np.repeat(background[::4, ::4], 4, axis=0), 4, axis=1)
    )
    frames = []
    for t in range(8):
        frame = background.copy()
        frame[40:70, 20 + 6 * t : 50 + 6 * t] = (250, 30, 30)
        frames.append(frame)
    still = bench.still_everywhere(frames)
    assert not still[50:60, 40:80].any()  # the square's path
    assert still[100:110, 120:150].all()  # far from it
    assert not still[:8].any() and not still[:, -8:].any()  # the border is left out
    cut = frames[:4] + [255 - f for f in frames[4:]]
    assert not bench.still_everywhere(cut).any()
