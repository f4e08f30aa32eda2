"""TemporalBlender on a synthetic pan with per-frame 'style' flicker, cuts and new content."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from restyle.core.metrics import psnr, warping_error
from restyle.core.temporal import Guide, TemporalBlender

from clips import flicker, pan_frames

SIZE = (256, 144)


def blend_all(blender: TemporalBlender, sources, styled) -> list[np.ndarray]:
    return [blender.step(source, frame) for source, frame in zip(sources, styled, strict=True)]


@pytest.fixture(scope="module")
def pan() -> list[np.ndarray]:
    return pan_frames(20, SIZE, 3.0)


def test_blending_removes_most_flicker_and_stays_close_to_the_styled_frames(pan):
    styled = flicker(pan)
    output = blend_all(TemporalBlender(strength=0.6), pan, styled)
    per_frame_error = warping_error(pan, styled)
    blended_error = warping_error(pan, output)
    assert blended_error < 0.4 * per_frame_error
    fidelity = np.mean([psnr(o, s) for o, s in zip(output[1:], styled[1:], strict=True)])
    assert fidelity > 28.0
    # The blend averages the noise away rather than adding artefacts of its own.
    noisy = np.mean([psnr(s, p) for s, p in zip(styled[1:], pan[1:], strict=True)])
    cleaned = np.mean([psnr(o, p) for o, p in zip(output[1:], pan[1:], strict=True)])
    assert cleaned > noisy + 2.0


def test_stronger_blending_is_steadier(pan):
    styled = flicker(pan)
    errors = [warping_error(pan, blend_all(TemporalBlender(s), pan, styled)) for s in (0.3, 0.8)]
    assert errors[1] < errors[0]


def test_a_consistent_video_passes_through_without_smearing(pan):
    output = blend_all(TemporalBlender(strength=0.8), pan, pan)
    assert min(psnr(o, p) for o, p in zip(output[1:], pan[1:], strict=True)) > 33.0


def test_strength_zero_returns_the_styled_frames_untouched(pan):
    blender = TemporalBlender(strength=0.0)
    styled = flicker(pan[:3])
    for source, frame in zip(pan[:3], styled, strict=True):
        assert blender.step(source, frame) is frame
    with pytest.raises(ValueError):
        TemporalBlender(strength=1.5)


def test_a_hard_cut_restarts_from_the_styled_frame(pan):
    other = [np.ascontiguousarray(f[::-1, :, ::-1]) for f in pan_frames(8, SIZE, -2.0, seed=9)]
    sources = pan[:8] + other
    styled = flicker(sources, seed=4)
    blender = TemporalBlender(strength=0.7)
    output = blend_all(blender, sources, styled)
    assert np.array_equal(output[0], styled[0])
    assert np.array_equal(output[8], styled[8])  # detected automatically
    assert not np.array_equal(output[9], styled[9])  # and blending resumes inside the shot
    # reset() forces a restart anywhere.
    blender.reset()
    assert np.array_equal(blender.step(sources[9], styled[9]), styled[9])


def test_new_content_takes_the_new_styled_pixels(pan):
    """A disc that appears mid-shot must not be blended with what was there before."""
    sources = [f.copy() for f in pan[:10]]
    for frame in sources[6:]:
        cv2.circle(frame, (128, 60), 22, (250, 40, 200), -1)
    styled = flicker(sources, seed=6)
    output = blend_all(TemporalBlender(strength=0.8), sources, styled)
    inside = (slice(45, 76), slice(113, 144))
    difference = np.abs(output[6][inside].astype(int) - styled[6][inside]).mean()
    elsewhere = np.abs(output[6][100:, :].astype(int) - styled[6][100:, :]).mean()
    assert difference < 2.0
    assert elsewhere > 3 * difference  # blending is on elsewhere, off on the new disc


def test_prepare_on_worker_threads_then_apply_matches_step(pan):
    styled = flicker(pan[:8])
    expected = blend_all(TemporalBlender(strength=0.5), pan[:8], styled)
    blender = TemporalBlender(strength=0.5)
    previous = [None] + pan[:7]
    with ThreadPoolExecutor(max_workers=2) as pool:
        guides = list(pool.map(blender.prepare, previous, pan[:8]))
    assert isinstance(guides[0], Guide) and guides[0].cut
    assert not any(g.cut for g in guides[1:])
    output = [blender.apply(g, s) for g, s in zip(guides, styled, strict=True)]
    for got, want in zip(output, expected, strict=True):
        assert np.array_equal(got, want)


def test_styled_frame_of_another_size_is_refused(pan):
    blender = TemporalBlender()
    guide = blender.prepare(pan[0], pan[1])
    with pytest.raises(ValueError, match="resize"):
        blender.apply(guide, pan[1][:100])


def test_a_cut_with_the_same_colours_is_found_by_the_photometric_check(pan):
    """The same picture upside down has the same histogram; no flow can match it."""
    flipped = np.ascontiguousarray(pan[1][::-1, ::-1])
    guide = TemporalBlender().prepare(pan[0], flipped)
    assert guide.cut and guide.reason == "flow lost"
    assert not TemporalBlender().prepare(pan[0], pan[1]).cut


def test_patches_cover_every_moved_pixel_with_its_own_maps():
    """Patches are cut per run of moving columns in each band of rows: every output pixel the
    upscaled flow moves lies in one, with the pixel grid plus that flow as its maps."""
    from restyle.core.flow import pixel_grid, resize_flow
    from restyle.core.temporal import _moving_patches

    rng = np.random.default_rng(0)
    height, width = 110, 193
    xs, ys = pixel_grid(height, width)
    for _ in range(12):
        flow = np.zeros((37, 64, 2), np.float32)
        for _ in range(3):  # a few moving things, the rest exactly still
            y, x = rng.integers(0, 30), rng.integers(0, 56)
            flow[y : y + rng.integers(1, 8), x : x + rng.integers(1, 8)] = rng.normal(0, 3, 2)
        full = resize_flow(flow, height, width)
        covered = np.zeros((height, width), bool)
        for p in _moving_patches(flow.copy(), height, width):
            at = (slice(p.y0, p.y1), slice(p.x0, p.x1))
            covered[at] = True
            map_x, map_y = cv2.convertMaps(p.map_xy, p.map_frac, cv2.CV_32FC1)
            assert np.abs(map_x - (xs + full[..., 0])[at]).max() < 1 / 32 + 1e-3
            assert np.abs(map_y - (ys + full[..., 1])[at]).max() < 1 / 32 + 1e-3
        moved = (full != 0).any(axis=2)
        assert covered[moved].all()
        assert covered.mean() < 0.8  # still parts between moving things are left out
