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


SEVEN_TAPS_AT_3 = 0.12663  # least deviation / s^2 of 7 taps cutting independent flicker by 3


def _seven_taps_at_3() -> float:
    """The same figure from scratch: min |h - d|^2 subject to sum (h_k - h_k-1)^2 = 2/3 over
    the 8 steps of 7 zero-padded taps, by bisection on the multiplier."""
    steps = np.eye(8, 7) - np.eye(8, 7, k=-1)
    flicker, unit = steps.T @ steps, np.eye(7)[3]
    low, high = 1e-4, 1e4
    for _ in range(100):
        lam = np.sqrt(low * high)
        h = np.linalg.solve(np.eye(7) + lam * flicker, unit)
        low, high = (lam, high) if 2.0 / (h @ flicker @ h) < 3.0 else (low, lam)
    h = np.linalg.solve(np.eye(7) + high * flicker, unit)
    return float(np.sum((h - unit) ** 2))


def _texture(height, width, rng):
    """A smooth, high-contrast picture Farnebäck can follow."""
    import cv2

    noise = rng.uniform(0, 255, (height, width, 3)).astype(np.float32)
    blurred = cv2.GaussianBlur(noise, (0, 0), 2.0)
    return np.clip((blurred - blurred.mean()) * 4 + 128, 0, 255)


def _redrawn(sources, sigma, rng):
    """What the network does on megamind: the picture plus texture drawn anew every frame."""
    return [
        np.clip(s + np.round(rng.normal(0.0, sigma, s.shape)), 0, 255).astype(np.uint8)
        for s in sources
    ]


def test_seven_taps_at_3_is_the_ideal_filters_figure():
    assert _seven_taps_at_3() == pytest.approx(SEVEN_TAPS_AT_3, abs=2e-5)
    assert SEVEN_TAPS_AT_3 == pytest.approx(0.1266, abs=1e-3)  # the infinite filter's, above


def test_the_bound_along_trajectories_on_texture_moving_by_whole_pixels(bench):
    """A picture sliding by (-2, -1) px a frame, redrawn texture on top: the judge's
    trajectories land on the same picture point in every frame, so along them the oracle
    sees independent draws and meets the 7-tap figure; the source's own flicker along them
    is nil. Along a wrong path the picture itself would flicker and the fit miss it."""
    rng = np.random.default_rng(3)
    height, width, frames = 96, 128, 12
    canvas = _texture(height + frames, width + 2 * frames, rng)
    sources = [
        np.round(canvas[t : t + height, 2 * t : 2 * t + width]).astype(np.uint8)
        for t in range(frames)
    ]
    styled = _redrawn(sources, 12.0, rng)
    pairs = bench.judge_flows(sources)
    positions, reached = bench.trajectories(pairs, 5, -4, 3)
    inner = (reached[-4] & reached[3])[8:-8, 8:-8]
    assert inner.mean() > 0.95
    for j, at in positions.items():
        error = (at - positions[0])[8:-8, 8:-8][inner] + np.float32([2 * j, j])
        assert np.abs(error).max() < 0.25, j
    nothing_still = np.zeros((height, width), bool)
    report = bench.trajectory_bound(styled, sources, nothing_still, pairs, targets=(3.0,))
    assert "still" not in report and report["shares"]["tracked"] > 0.7
    inner = (height - 16) * (width - 16) / (height * width)
    assert sum(report["shares"].values()) == pytest.approx(inner)  # every pixel in one class
    f0, floor = report["tracked"]["flicker"]
    assert floor < 1e-3 * f0
    deviation, _, _, removed = report["tracked"]["targets"][3.0][0]
    assert 3.0 <= removed <= 3.3  # the multiplier grid's step
    assert deviation / (f0 / 2.0) == pytest.approx(SEVEN_TAPS_AT_3, rel=0.08)


def test_the_whole_frame_weights_each_class_by_its_share(bench):
    """A still picture, the left third marked still (fitted without flow), the rest tracked
    (along a nil flow): redrawn texture of 6 levels on the left, 18 on the right. Both
    classes take the same filter shape, so the whole frame's least deviation at /3 is the
    7-tap figure times the share-weighted variance (not the plain mean of the two)."""
    rng = np.random.default_rng(4)
    height, width, frames = 96, 120, 12
    picture = np.round(_texture(height, width, rng)).astype(np.uint8)
    sources = [picture] * frames
    sigma = np.where(np.arange(width) < width // 3, 6.0, 18.0)[None, :, None]
    styled = _redrawn(sources, sigma, rng)
    still = np.zeros((height, width), bool)
    still[8:-8, 8 : width // 3] = True
    report = bench.trajectory_bound(
        styled, sources, still, bench.judge_flows(sources), targets=(3.0,)
    )
    shares = report["shares"]
    still_share, tracked_share = shares["still"], shares["tracked"]
    assert tracked_share == pytest.approx((height - 16) * (width - 8 - width // 3) / still.size)
    assert shares["shorter"] == shares["untouched"] == 0
    variances = [report[part]["flicker"][0] / 2.0 for part in ("still", "tracked")]
    assert variances[1] == pytest.approx(9 * variances[0], rel=0.1)
    weighted = (still_share * variances[0] + tracked_share * variances[1]) / sum(shares.values())
    deviation, _, _, removed = report["whole"]["targets"][3.0][0]
    assert 3.0 <= removed <= 3.3
    assert deviation / weighted == pytest.approx(SEVEN_TAPS_AT_3, rel=0.08)


def test_most_removed_within_a_deviation_picks_the_strongest_filter_that_fits(bench):
    """Points are (deviation, raw reduction, sharpness, excess removed)."""
    points = [(5e-4, 2.0, 0.95, 2.1), (9e-4, 3.0, 0.85, 3.2), (2e-3, 4.0, 0.92, 4.3)]
    most, sharp = bench.most_removed_within(points)
    assert most == points[1] and sharp == points[0]
    assert bench.most_removed_within(points, 1e-4) == (None, None)
