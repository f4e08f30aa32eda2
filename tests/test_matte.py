"""The matte mapping on the shared pipeline: coverage, alignment, stability along known
motion, resets at cuts.

Footage: a camera pan over scikit-image's astronaut (a real photograph of a person, NASA,
public domain): a 352x288 window slides right by 3 px a frame, so the picture moves left by
exactly 3 px. Person and background are boxes read off the photo by eye, independent of the
network."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from restyle.core.mappings.matte import MatteCoherence, Matter, MatteSettings
from restyle.core.pipeline import run_pipeline

WIDTH, HEIGHT, SCALE = 352, 288, 384  # window, and the photo's size once scaled
PAN_DX, TOP = 3, 24  # the window moves right 3 px a frame; its top row in the photo
# (x0, y0, x1, y1) in the 384x384 photo: clearly her (face, chest), clearly not (flag, sky)
PERSON = [(140, 50, 190, 105), (80, 200, 180, 300)]
BACKGROUND = [(0, 0, 80, 110), (255, 0, 384, 140)]


def pan_clip(count: int) -> list[np.ndarray]:
    import skimage.data

    photo = cv2.resize(skimage.data.astronaut(), (SCALE, SCALE), interpolation=cv2.INTER_AREA)
    return [
        np.ascontiguousarray(photo[TOP : TOP + HEIGHT, PAN_DX * t : PAN_DX * t + WIDTH])
        for t in range(count)
    ]


def boxes_in_frame(boxes, t: int):
    """The photo's boxes in frame ``t``'s pixels, clipped to the frame."""
    for x0, y0, x1, y1 in boxes:
        x0, x1 = max(0, x0 - PAN_DX * t), min(WIDTH, x1 - PAN_DX * t)
        y0, y1 = max(0, y0 - TOP), min(HEIGHT, y1 - TOP)
        if x1 > x0 and y1 > y0:
            yield x0, y0, x1, y1


def _run(matter, frames, temporal):
    out: dict[int, np.ndarray] = {}
    run_pipeline(
        iter(list(enumerate(frames))),
        matter,
        lambda i, f: out.__setitem__(i, f.copy()),
        len(frames),
        temporal=temporal,
    )
    return [out[i] for i in range(len(frames))]


def _flicker(alphas) -> float:
    """Mean change of the matte along the known motion (the picture moves left PAN_DX px)."""
    changes = []
    for prev, cur in zip(alphas, alphas[1:], strict=False):
        carried = prev[:, PAN_DX:]  # what frame t-1 shows at x + PAN_DX is at x in frame t
        changes.append(np.abs(cur[:, : WIDTH - PAN_DX] - carried).mean())
    return float(np.mean(changes))


@pytest.fixture(scope="module")
def clip():
    return pan_clip(10)


def test_matte_writes_rgba_aligned_with_the_source(matte_library, clip):
    results = _run(Matter(matte_library), clip, MatteCoherence(0.6))
    for t, (frame, result) in enumerate(zip(clip, results, strict=True)):
        assert result.shape == (HEIGHT, WIDTH, 4)
        assert np.array_equal(result[..., :3], frame)  # colour untouched, exactly aligned
        alpha = result[..., 3] / 255.0
        for x0, y0, x1, y1 in boxes_in_frame(PERSON, t):
            assert alpha[y0:y1, x0:x1].mean() >= 0.9, (t, (x0, y0, x1, y1))
        for x0, y0, x1, y1 in boxes_in_frame(BACKGROUND, t):
            assert alpha[y0:y1, x0:x1].mean() <= 0.1, (t, (x0, y0, x1, y1))


def test_coherence_steadies_the_matte_along_the_motion(matte_library, clip):
    frames = clip
    matter = Matter(matte_library)
    alone = [r[..., 3] / 255.0 for r in _run(matter, frames, None)]
    steady = [r[..., 3] / 255.0 for r in _run(matter, frames, MatteCoherence(0.6))]
    assert _flicker(steady) <= _flicker(alone)
    assert _flicker(steady) <= 0.02


def test_coherence_resets_at_a_cut(matte_library, clip):
    """After a hard cut to an empty scene, the person's matte does not linger."""
    import skimage.data

    frames = clip
    empty = cv2.resize(skimage.data.rocket(), (WIDTH, HEIGHT))  # a launch pad, no people
    results = _run(Matter(matte_library), frames[:5] + [empty] * 2, MatteCoherence(0.9))
    assert results[4][..., 3].mean() / 255.0 > 0.2
    assert results[5][..., 3].mean() / 255.0 < 0.05


def test_refine_off_is_plain_upsampling(matte_library, clip):
    frames = clip
    plain = Matter(matte_library, MatteSettings(refine=False)).matte(frames[0])
    refined = Matter(matte_library).matte(frames[0])
    assert plain.shape == refined.shape and not np.array_equal(plain, refined)
