"""Warping error (Lai et al. 2018), PSNR and SSIM on generated images and pans."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from restyle.core.flow import (
    FarnebackEstimator,
    FlowEstimator,
    backward_warp,
    consistency_mask,
    motion_boundary_mask,
    occlusion_mask,
)
from restyle.core.metrics import FlowJudge, WarpingErrorMeter, psnr, ssim, warping_error

from clips import flicker, pan_frames

SIZE = (224, 128)


def recolour(frame: np.ndarray) -> np.ndarray:
    """A deterministic per-pixel 'style' (gamma, swapped channels): consistent by construction."""
    lut = np.round(np.linspace(0, 1, 256) ** 0.6 * 255).astype(np.uint8)
    return cv2.LUT(frame, lut)[:, :, ::-1].copy()


@pytest.fixture(scope="module")
def pan() -> list[np.ndarray]:
    return pan_frames(10, SIZE, 3.0)


def test_warping_error_near_zero_for_consistent_video_and_high_for_flicker(pan):
    consistent = warping_error(pan, [recolour(f) for f in pan])
    flickering = warping_error(pan, flicker(pan))
    assert consistent < 1e-3
    assert flickering > 5e-3
    assert flickering > 8 * consistent


def test_warping_error_is_exactly_zero_on_a_still_video():
    frame = pan_frames(1, SIZE)[0]
    assert warping_error([frame] * 3, [recolour(frame)] * 3) == 0.0


def test_warping_error_follows_the_input_motion_not_the_output(pan):
    """A style that stays put while the source pans is inconsistent in Lai's sense."""
    still = [recolour(pan[0])] * len(pan)
    assert warping_error(pan, still) > 10 * warping_error(pan, [recolour(f) for f in pan])


def test_meter_streams_the_batch_value_and_skips_cut_pairs(pan):
    other = pan_frames(6, SIZE, -3.0, seed=5)
    inputs = pan[:6] + other
    outputs = flicker(inputs, seed=3)
    meter = WarpingErrorMeter()
    pair_errors = []
    for index, (source, styled) in enumerate(zip(inputs, outputs, strict=True)):
        if index == 6:
            meter.reset()
        error = meter.add(source, styled)
        assert (error is None) == (index in (0, 6))
        if error is not None:
            pair_errors.append(error)
    assert meter.pairs == 10
    assert meter.value == pytest.approx(np.mean(pair_errors))
    assert warping_error(inputs, outputs, cuts=[6]) == pytest.approx(meter.value)
    assert math.isnan(WarpingErrorMeter().value)
    with pytest.raises(ValueError):
        warping_error(inputs, outputs[:-1])


def test_dis_flow_recovers_a_known_translation(pan):
    flow = FlowEstimator(preset="medium", max_side=None).flow(pan[0], pan[1])
    inner = flow[16:-16, 16:-16]
    assert np.median(inner[:, :, 0]) == pytest.approx(-3.0, abs=0.2)
    assert np.median(inner[:, :, 1]) == pytest.approx(0.0, abs=0.2)
    # Reduced-resolution flow is scaled back to full-resolution pixels.
    small = FlowEstimator(preset="medium", max_side=112).flow(pan[0], pan[1])
    assert small.shape == flow.shape
    assert np.median(small[16:-16, 16:-16, 0]) == pytest.approx(-3.0, abs=0.3)
    warped = backward_warp(pan[1], flow)
    assert np.abs(warped[8:-8, 8:-8].astype(int) - pan[0][8:-8, 8:-8]).mean() < 4


def test_farneback_judge_recovers_the_translation_and_agrees_with_dis(pan):
    """The independent judge: its own flow, and the same verdict on steady vs flickering."""
    flow = FarnebackEstimator().flow(pan[0], pan[1])
    assert np.median(flow[16:-16, 16:-16, 0]) == pytest.approx(-3.0, abs=0.2)
    steady, flickering = [recolour(f) for f in pan], flicker(pan)
    for method in ("farneback", "dis"):
        judge = FlowJudge(pan, method)
        assert judge.warping_error(flickering) == pytest.approx(
            warping_error(pan, flickering, flow=method)
        )
        assert judge.warping_error(steady) < 0.2 * judge.warping_error(flickering)
    with pytest.raises(ValueError):
        warping_error(pan, pan, flow="lucas-kanade")


def test_forward_backward_check_on_synthetic_flows():
    height, width = 40, 60
    flow_fw = np.zeros((height, width, 2), np.float32)
    flow_fw[:, :, 0] = 3.0
    flow_bw = -flow_fw
    mask = consistency_mask(flow_fw, flow_bw)
    assert mask[:, : width - 4].all()  # consistent translation
    assert not mask[:, width - 3 :].any()  # targets outside the next frame
    broken = flow_bw.copy()
    broken[10:20, 20:30] = 0.0  # the backward flow disagrees here: occlusion
    occluded = occlusion_mask(flow_fw, broken)
    assert occluded[10:20, 17:27].all()
    assert not occluded[25:, : width - 4].any()


def test_motion_boundary_mask_matches_lai_reference():
    rng = np.random.default_rng(0)
    flow = cv2.GaussianBlur(rng.normal(0, 3, (30, 40, 2)).astype(np.float32), (0, 0), 2)
    flow[:, 20:] += 4.0  # a motion edge
    # Lai et al.'s compute_flow_gradients + detect_occlusion, written out with loops.
    expected = np.zeros((30, 40), bool)
    for y in range(30):
        for x in range(40):
            du = flow[y, x] - flow[y, x + 1] if x + 1 < 40 else np.zeros(2)
            dv = flow[y, x] - flow[y + 1, x] if y + 1 < 30 else np.zeros(2)
            gradient = du[0] ** 2 + dv[0] ** 2 + du[1] ** 2 + dv[1] ** 2
            expected[y, x] = gradient > 0.01 * (flow[y, x] ** 2).sum() + 0.002
    assert np.array_equal(motion_boundary_mask(flow), expected)
    assert motion_boundary_mask(flow)[:, 19].all()


def test_psnr_known_values():
    a = np.full((8, 8, 3), 0.5, np.float32)
    assert psnr(a, a) == math.inf
    assert psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-4)
    a8 = np.full((8, 8, 3), 100, np.uint8)
    assert psnr(a8, a8 + 10) == pytest.approx(20 * math.log10(255 / 10), abs=1e-4)
    assert psnr(a8, a8 + 10) == pytest.approx(psnr(a8 / 255.0, (a8 + 10) / 255.0), abs=1e-4)
    with pytest.raises(ValueError):
        psnr(a, a[:4])


def _ssim_reference(x: np.ndarray, y: np.ndarray) -> float:
    """Wang et al.'s SSIM with explicit 11x11 Gaussian windows at every valid position."""
    g = cv2.getGaussianKernel(11, 1.5)
    window = g @ g.T
    c1, c2 = 0.01**2, 0.03**2
    values = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            px, py = x[i : i + 11, j : j + 11], y[i : i + 11, j : j + 11]
            mx, my = (window * px).sum(), (window * py).sum()
            vx = (window * (px - mx) ** 2).sum()
            vy = (window * (py - my) ** 2).sum()
            cov = (window * (px - mx) * (py - my)).sum()
            values.append(
                (2 * mx * my + c1) * (2 * cov + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
            )
    return float(np.mean(values))


def test_ssim_matches_the_windowed_definition():
    rng = np.random.default_rng(2)
    x = cv2.GaussianBlur(rng.random((28, 30)), (0, 0), 1.0)
    y = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1)
    assert ssim(x, y) == pytest.approx(_ssim_reference(x, y), abs=1e-6)


def test_ssim_properties(pan):
    frame = pan[0]
    assert ssim(frame, frame) == pytest.approx(1.0)
    noisy = flicker([frame])[0]
    value = ssim(frame, noisy)
    assert 0.0 < value < 0.95
    assert ssim(noisy, frame) == pytest.approx(value)
    assert ssim(frame, noisy) == pytest.approx(ssim(frame / 255.0, noisy / 255.0), abs=1e-6)
    assert 0.0 < ssim(frame, noisy, luminance=True) < 1.0
    with pytest.raises(ValueError):
        ssim(frame[:8, :8], noisy[:8, :8])
