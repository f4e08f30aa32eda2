"""Temporal coherence on real footage with independent motion (OpenCV's sample clips from
Debian's opencv-doc): no ghost trails behind walking people, nothing carried across a cut,
flicker removed along moving things. The "style" is a known colour mapping plus per-frame
noise, so the right answer for every pixel is known."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core.media import decode_range
from restyle.core.metrics import warping_error
from restyle.core.temporal import TemporalBlender

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from real_footage import FootageUnavailable, real_clip  # noqa: E402

SIZE = (320, 240)


def footage(name: str, start: int, count: int) -> list[np.ndarray]:
    try:
        path = real_clip(name)
    except FootageUnavailable as exc:
        pytest.skip(str(exc))
    frames = decode_range(path, start, start + count - 1)
    return [cv2.resize(f[..., :3], SIZE, interpolation=cv2.INTER_AREA) for f in frames]


def styled(sources, seed: int = 0) -> list[np.ndarray]:
    """A colour mapping of each frame (the 'style') plus independent per-frame flicker."""
    rng = np.random.default_rng(seed)
    out = []
    for frame in sources:
        mapped = 255.0 - frame[..., ::-1].astype(np.float32)
        noise = rng.normal(0.0, 8.0, frame.shape).astype(np.float32)
        out.append(np.clip(mapped + noise, 0, 255).astype(np.uint8))
    return out


def blend_all(blender, sources, frames) -> list[np.ndarray]:
    return [blender.step(s, f) for s, f in zip(sources, frames, strict=True)]


@pytest.fixture(scope="module")
def walkers() -> list[np.ndarray]:
    return footage("vtest", 60, 14)  # several people crossing a static camera's view


def test_walking_people_leave_no_ghost_trail(walkers):
    """Where the source changed a lot between frames (a person left or arrived), the output
    is about as close to this frame's clean style as the per-frame styled frame; a running
    average without motion compensation and masks drags the previous frame along."""
    frames = styled(walkers)
    clean = [255.0 - f[..., ::-1].astype(np.float32) for f in walkers]
    coherent = blend_all(TemporalBlender(), walkers, frames)
    ours, naive, per_frame = [], [], []
    average = frames[0].astype(np.float32)
    for t in range(1, len(walkers)):
        change = np.abs(walkers[t].astype(int) - walkers[t - 1]).max(axis=2) > 60
        target = clean[t][change]
        average = 0.5 * average + 0.5 * frames[t]
        ours.append(np.abs(coherent[t][change] - target).mean())
        naive.append(np.abs(average[change] - target).mean())
        per_frame.append(np.abs(frames[t][change] - target).mean())
    assert np.mean(naive) > 4 * np.mean(ours)  # the measure does see ghosts
    assert np.mean(ours) < 1.5 * np.mean(per_frame)


def test_nothing_is_carried_across_a_cut_between_real_clips(walkers):
    other = footage("megamind", 40, 6)
    sources = walkers[:6] + other
    frames = styled(sources, seed=3)
    blender = TemporalBlender()
    output = blend_all(blender, sources, frames)
    assert np.array_equal(output[6], frames[6])  # the cut is detected: a fresh start
    assert not np.array_equal(output[7], frames[7])  # and blending resumes in the new shot
    assert not np.array_equal(output[5], frames[5])


def test_flicker_is_removed_on_real_footage(walkers):
    """Judged by Farneback flow (the method uses DIS): most of the excess flicker goes."""
    frames = styled(walkers)
    output = blend_all(TemporalBlender(), walkers, frames)
    mapped = [255 - f[..., ::-1] for f in walkers]  # the same style without flicker
    floor = warping_error(walkers, mapped, flow="farneback")
    plain = warping_error(walkers, frames, flow="farneback")
    coherent = warping_error(walkers, output, flow="farneback")
    assert (plain - floor) > 3 * (coherent - floor)


def test_a_still_background_is_carried_without_resampling(walkers):
    """Where nothing moved, the previous output is taken as it is (no sub-pixel shift from
    flow noise, which would blur the texture and let it flicker): there the output is exactly
    the blend of the previous output and the styled frame. Only patches around the walkers
    are resampled."""
    frames = styled(walkers, seed=5)
    height, width = walkers[0].shape[:2]
    for margin, exact in ((2.0, True), (None, False)):
        blender = TemporalBlender(still_margin=margin, lookahead=False)
        previous = blender.step(walkers[0], frames[0])
        errors, areas = [], []
        for t in range(1, len(walkers)):
            guide = blender.prepare(walkers[t - 1], walkers[t])
            output = blender.apply(guide, frames[t])
            still = np.abs(walkers[t].astype(int) - walkers[t - 1]).max(axis=2) < 4
            still = cv2.erode(still.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
            confidence = cv2.resize(guide.confidence, (width, height))
            weight = (blender.strength * confidence)[..., None]
            expected = weight * previous + (1 - weight) * frames[t]
            errors.append(np.abs(output[still] - expected[still]).max())
            areas.append(sum((p.y1 - p.y0) * (p.x1 - p.x0) for p in guide.patches))
            previous = output
        if exact:
            assert max(errors) <= 1.0  # uint8 rounding only
            assert np.mean(areas) < 0.5 * height * width
        else:
            assert max(errors) > 2.0  # following DIS everywhere shifts the background
            assert np.mean(areas) == height * width


def test_the_blend_takes_per_pixel_weights_only_where_trust_is_partial(walkers):
    """Where both frames are fully trusted the lookahead blend takes constant weights, elsewhere
    per-pixel ones: everywhere the output is the per-pixel blend of the warped previous output,
    the warped next frame and the styled frame, to 8-bit rounding."""
    from restyle.core.temporal import _warp

    frames = styled(walkers[:5], seed=7)
    blender = TemporalBlender(lookahead=True)
    guides = [blender.prepare(a, b) for a, b in zip([None, *walkers[:4]], walkers[:5], strict=True)]
    previous = blender.apply(guides[0], frames[0], guides[1], frames[1])
    height, width = frames[0].shape[:2]
    partial = []
    for t in range(1, 4):
        output = blender.apply(guides[t], frames[t], guides[t + 1], frames[t + 1])
        c_prev, c_next = guides[t].confidence, guides[t + 1].ahead.confidence
        (s, b), strength = blender.lookahead_weights, blender.strength
        w_next = cv2.resize(b * c_next, (width, height))[..., None]
        w_prev = cv2.resize(c_prev * (strength - (strength - s) * c_next), (width, height))
        w_prev = w_prev[..., None]
        warped = _warp(previous, guides[t].patches, cv2.INTER_CUBIC, np.empty_like(previous))
        ahead = guides[t + 1].ahead.patches
        warped_next = _warp(frames[t + 1], ahead, cv2.INTER_LINEAR, np.empty_like(previous))
        expected = w_prev * warped + w_next * warped_next + (1 - w_prev - w_next) * frames[t]
        assert np.abs(output - np.clip(expected, 0, 255)).max() <= 1.01
        partial.append(((c_prev < 1) | (c_next < 1)).mean())
        previous = output
    assert 0 < min(partial) and max(partial) < 0.5  # both kinds of pixels were there
