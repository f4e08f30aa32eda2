"""Cut tools' plans (plain data, no Blender): splits on real boundaries, snaps within reach."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from restyle.core.cut_tools import (
    EditPoint,
    Snap,
    Split,
    boundaries_near,
    describe,
    snap_plan,
    split_plan,
)
from restyle.core.errors import RestyleError

from clips import encode_clip


def still(name: str, n: int, seed: int) -> list[np.ndarray]:
    from skimage import data

    rng = np.random.default_rng(seed)
    image = cv2.resize(getattr(data, name)()[..., :3], (160, 120), interpolation=cv2.INTER_AREA)
    return [
        np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8) for _ in range(n)
    ]


@pytest.fixture(scope="module")
def spliced(tmp_path_factory):
    frames = still("astronaut", 10, 1) + still("coffee", 10, 2) + still("chelsea", 10, 3)
    return encode_clip(tmp_path_factory.mktemp("cuts") / "spliced.mkv", frames, codec="ffv1")


def test_split_plan_lands_on_each_boundary(spliced):
    plan = split_plan("clip", spliced, 101, list(range(30)))
    assert plan == [Split("clip", 111, 10), Split("clip", 121, 20)]
    # a strip showing source frames 5..24 from scene frame 1: one boundary each
    assert [s.frame for s in split_plan("clip", spliced, 1, list(range(5, 25)))] == [6, 16]
    # played backwards, the boundaries come in the order shown
    backwards = split_plan("clip", spliced, 1, list(range(29, -1, -1)))
    assert [(s.frame, s.source_frame) for s in backwards] == [(11, 19), (21, 9)]
    with pytest.raises(RestyleError):
        split_plan("clip", spliced, 1, [])


def test_boundaries_near_an_edit_point(spliced):
    frame_at = {f: f - 40 for f in range(46, 57)}  # scene 46..56 shows source 6..16
    assert boundaries_near(spliced, frame_at) == [50]
    assert boundaries_near(spliced, {f: 3 for f in range(10)}) == []  # a held frame


def test_snap_plan_moves_to_the_nearest_reachable_boundary():
    edit = EditPoint("a", "b", 50, left_reach=(1, 80), right_reach=(20, 90))
    assert snap_plan(edit, [47, 54], 4) == Snap("a", "b", 50, 47, "a shot starts 3 frames earlier")
    assert snap_plan(edit, [52, 47], 4).new == 52
    assert snap_plan(edit, [44, 56], 4) is None  # too far
    assert snap_plan(edit, [50, 51], 4) is None  # on a boundary already
    short = EditPoint("a", "b", 50, left_reach=(1, 51), right_reach=(49, 90))
    assert snap_plan(short, [53], 4) is None  # the left strip's content ends at 51
    assert snap_plan(short, [47], 4) is None  # the right strip's content starts at 49
    assert snap_plan(short, [52], 4).new == 52


def test_describe_lists_every_change():
    lines = describe([Split("clip", 12, 11), Snap("a", "b", 50, 47, "why")])
    assert lines == [
        "split 'clip' at frame 12 (source frame 11)",
        "move the cut 'a' | 'b' from 50 to 47: why",
    ]


def test_cut_detection_reads_a_phone_movie_as_the_strip_shows_it(tmp_path):
    """The cut tools' one read bypassed the strip's upright setting: on Blender 4.2/4.3 a
    phone movie's strip shows it as stored, and its frames are read so (as every job's)."""
    from test_media_edge import SIZE, bright_corner, encode

    from restyle.core.cut_tools import shown_frames

    phone = encode(tmp_path / "phone.mp4", rotation=-90)
    stored = list(shown_frames(phone, [1, 0], upright=False))
    assert {f.shape[1::-1] for f in stored} == {SIZE}
    assert {bright_corner(f) for f in stored} == {"top-left"}
    assert next(shown_frames(phone, [0])).shape[1::-1] == SIZE[::-1]  # upright by default
    assert split_plan("phone", phone, 1, [0, 1, 2], upright=False) == []
    assert boundaries_near(phone, {5: 0, 6: 1, 7: 2}, upright=False) == []
