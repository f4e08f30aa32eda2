"""Cut detection and keyframe suggestions on generated, h264-encoded clips."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest
from test_temporal_footage import FootageUnavailable, real_clip

from restyle.core.shots import (
    FrameFeatures,
    Shot,
    analyze_shots,
    detect_cuts,
    frame_features,
    shots_from_cuts,
    suggest_keyframes,
)

from clips import encode_clip, pan_frames

SIZE = (256, 144)


def textured_picture(height: int, width: int, seed: int) -> np.ndarray:
    """A second kind of source: gradients, blurred noise, random discs and boxes, text."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([40 + 150 * xs / width, 200 - 120 * ys / height, 90 + 60 * np.sin(xs / 40)], 2)
    texture = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 2)
    image = np.clip(image + 20 * texture[:, :, None] / texture.std(), 0, 255).astype(np.uint8)
    for _ in range(12):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), int(rng.integers(6, height // 5)), colour, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(image, (x, y), (x + int(rng.integers(10, 60)), y + 40), colour, -1)
    cv2.putText(image, "Restyle", (20, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (250,) * 3, 2)
    return image


def zoom_frames(picture: np.ndarray, count: int, rate: float = 0.015) -> list[np.ndarray]:
    width, height = SIZE
    cy, cx = picture.shape[0] / 2, picture.shape[1] / 2
    frames = []
    for t in range(count):
        s = 1 + rate * t
        matrix = np.float32([[s, 0, width / 2 - s * cx], [0, s, height / 2 - s * cy]])
        frames.append(cv2.warpAffine(picture, matrix, SIZE, flags=cv2.INTER_LINEAR))
    return frames


def through_h264(tmp_path, name: str, frames: list[np.ndarray]) -> list[np.ndarray]:
    path = encode_clip(tmp_path / f"{name}.mp4", frames, crf=20)
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.fixture(scope="module")
def spliced(tmp_path_factory) -> list[np.ndarray]:
    """Three shots of 14 frames, each moving: city pan, zoom on a picture, another city pan."""
    frames = (
        pan_frames(14, SIZE, 3.0, seed=0)
        + zoom_frames(textured_picture(200, 360, seed=2), 14)
        + pan_frames(14, SIZE, -2.0, seed=4)
    )
    return through_h264(tmp_path_factory.mktemp("shots"), "spliced", frames)


def test_planted_cuts_are_found(spliced):
    assert detect_cuts(spliced) == [14, 28]
    assert detect_cuts(iter(spliced)) == [14, 28]  # any iterable of frames


def test_no_false_cuts_on_pans_and_a_flash(tmp_path):
    fast = pan_frames(36, SIZE, 6.0, seed=1)
    assert detect_cuts(through_h264(tmp_path, "pan", fast)) == []
    flash = pan_frames(20, SIZE, 2.0, seed=3)
    flash[10] = cv2.add(flash[10], np.full_like(flash[10], 90))
    assert detect_cuts(flash) == []


def test_short_shots_and_minimum_length():
    frames = []
    for seed in range(4):
        frames += (
            pan_frames(7, SIZE, 2.0, seed=seed)
            if seed % 2 == 0
            else zoom_frames(textured_picture(200, 360, seed=seed), 7)
        )
    assert detect_cuts(frames) == [7, 14, 21]
    # 14 comes too soon after the cut at 7; 21 does not. The first frame is where the range
    # begins, not a cut, so it holds nothing back (7 was dropped before, 14 kept).
    assert detect_cuts(frames, min_shot_length=10) == [7, 21]


def test_a_cut_just_after_the_range_start_is_found():
    """A range begun a few frames before a cut still finds it (it was missed when the first
    frame counted as a shot start for the minimum length); the minimum still holds between
    cuts found, and a flash or fast motion at the start is no cut."""
    zoom = zoom_frames(textured_picture(200, 360, seed=2), 14)
    for before in (1, 3, 5):
        pan = pan_frames(before, SIZE, 2.0, seed=0)
        assert detect_cuts(pan + zoom) == [before]
    three = pan_frames(3, SIZE, 2.0, seed=0) + zoom[:3] + pan_frames(10, SIZE, 2.0, seed=4)
    assert detect_cuts(three) == [3]  # 6 is 3 frames after the cut at 3
    flash = pan_frames(14, SIZE, 2.0, seed=3)
    flash[1] = cv2.add(flash[1], np.full_like(flash[1], 90))
    assert detect_cuts(flash) == []
    assert detect_cuts(pan_frames(14, SIZE, 6.0, seed=1)) == []


def test_shots_begun_just_before_a_real_cut(capsys):
    """Megamind's cut at frame 98, with the range begun 1 to 5 frames before it: `restyle
    shots` reports it (and a keyframe in each shot), as it does from frame 90."""
    import json

    from restyle.core import cli

    try:
        path = real_clip("megamind")
    except FootageUnavailable as exc:
        pytest.skip(str(exc))
    for start in (90, 95, 97):
        assert cli.main(["shots", str(path), "--start", str(start), "--end", "110", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["cuts"] == [98], start
        first, second = report["shots"]
        assert (first["start"], first["end"], second["start"]) == (start, 97, 98)
        assert all(s["start"] <= k <= s["end"] for s in (first, second) for k in s["keyframes"])
        assert first["keyframes"] and second["keyframes"]


def test_shots_cover_every_frame_once():
    shots = shots_from_cuts([14, 28, 0, 99], 40)
    assert shots == [Shot(0, 14), Shot(14, 28), Shot(28, 40)]
    assert sum(len(s) for s in shots) == 40


def test_keyframes_fall_inside_every_shot(spliced):
    features = frame_features(spliced)
    assert len(features) == len(spliced) and isinstance(features[0], FrameFeatures)
    cuts = detect_cuts(features)
    keyframes = suggest_keyframes(features, cuts)
    for shot in shots_from_cuts(cuts, len(spliced)):
        assert any(shot.start <= k < shot.end for k in keyframes)
    assert keyframes == sorted(set(keyframes))


def test_motion_earns_more_keyframes_than_a_still_shot():
    still = pan_frames(1, SIZE, seed=2) * 12
    moving = pan_frames(30, SIZE, 8.0, seed=5)  # nearly a frame width of travel
    keyframes = suggest_keyframes(still + moving, [12], motion_budget=0.3)
    in_still = [k for k in keyframes if k < 12]
    in_moving = [k for k in keyframes if k >= 12]
    assert len(in_still) == 1
    assert len(in_moving) >= 2
    capped = suggest_keyframes(still + moving, [12], motion_budget=0.01, max_per_shot=3)
    assert len([k for k in capped if k >= 12]) == 3


def test_analyze_shots_in_one_pass(spliced):
    shots = analyze_shots(spliced)
    assert [(s.start, s.end) for s in shots] == [(0, 14), (14, 28), (28, 42)]
    for shot in shots:
        assert shot.keyframes and all(shot.start <= k < shot.end for k in shot.keyframes)


def test_a_stuttering_pan_is_no_cut():
    """Held frames, then a jump (duplicated-frame video): the jumps are motion, not cuts."""
    frames = [f for f in pan_frames(8, (160, 96), 16.0) for _ in range(6)]
    assert detect_cuts(frames) == []
