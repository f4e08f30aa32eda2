"""Ray chunk joins on held pictures (round 22): a picture held over several frames (a
slideshow, a variable-rate movie: tree.avi shows a new picture every ~6 frames) is styled once
and written again as a copy, so coherence steps once per picture. The chunks' warm-up counted
frames (8), which on tree.avi covered ~2 pictures: a --ray run's frames after a join sat at
42.3 dB against the local run's (14 % of pixels over 2 levels off). It now reaches back over 8
distinct pictures (before the one the chunk's first frame shows), within the shot, as it does
on ordinary footage; a plan of ordinary footage is the same as before.

Each test fails on the code before (the warm-up in frames; no ``pictures``)."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest
from helpers_cli import run

from restyle.core.job import StyleJob
from restyle.core.media import probe
from restyle.core.plan import DEFAULT_WARMUP, Chunk, detect_plan, plan_chunks
from restyle.core.ray_runner import run_on_ray

from clips import make_index_clip, make_variable_rate_clip

pytestmark = pytest.mark.usefixtures("private_home")

HOLD = 4  # slots each picture is held


def held_clip(path, pictures: int):
    """``pictures`` pictures, each held ``HOLD`` slots at 24 fps (the last one slot)."""
    stamps = tuple(range(0, HOLD * pictures, HOLD))
    return make_variable_rate_clip(path, stamps, time_base=Fraction(1, 24))


def held_of(count: int) -> list[int]:
    """The frames of ``held_clip`` that repeat the picture before them."""
    return [i for i in range(count) if i % HOLD]


# -- the plan --------------------------------------------------------------------------------
def test_the_warm_up_reaches_back_over_pictures_not_frames():
    held = held_of(120)  # a picture every 4 frames
    plan = plan_chunks(0, 119, [], max_frames=60, warmup=8, held=held)
    # 60 starts a picture: 8 pictures before it start at 28 (was 52: 2 pictures)
    assert plan.chunks == (Chunk(0, 59), Chunk(60, 119, 32, 8))
    # 61 shows picture 60: that one is styled in the warm-up, then 8 before it
    plan = plan_chunks(0, 121, [], max_frames=61, warmup=8, held=held_of(122))
    assert plan.chunks[1] == Chunk(61, 121, 33, 9)
    assert plan.chunks[1].first_computed == 28


def test_the_warm_up_stays_inside_the_shot():
    held = held_of(100)
    plan = plan_chunks(0, 99, [60], max_frames=20, warmup=8, held=held)  # 60..79, 80..99
    assert plan.chunks[-2:] == (Chunk(60, 79), Chunk(80, 99, 20, 5))
    assert plan.chunks[-1].first_computed == 60  # the cut, not 48 before it
    # a shot that starts on a held frame: styled all the same, and counted
    plan = plan_chunks(0, 99, [61], max_frames=20, warmup=8, held=held)  # 61..79, 80..99
    assert plan.chunks[-1] == Chunk(80, 99, 19, 5)  # 61 and 64, 68, 72, 76


def test_a_warm_up_takes_at_most_the_chunks_own_frames():
    """Pictures held 30 frames (a slideshow): 8 pictures are 240 frames of decoding and
    copies; a chunk of 60 warms up over its last 60 (from a held frame, styled there)."""
    held = [i for i in range(600) if i % 30]
    plan = plan_chunks(0, 599, [], max_frames=300, warmup=8, held=held)
    assert plan.chunks[1] == Chunk(300, 599, 240, 8)  # 8 pictures fit in 300
    plan = plan_chunks(0, 599, [], max_frames=60, warmup=8, held=held)
    assert plan.chunks[5] == Chunk(300, 359, 60, 2)  # 240 (held: styled) and 270
    # at least ``warmup`` frames, as on ordinary footage
    assert plan_chunks(0, 19, [], max_frames=4, warmup=8, held=held).chunks[-1] == Chunk(
        16, 19, 8, 1
    )


def test_ordinary_footage_plans_as_before():
    plan = plan_chunks(0, 99, [30], max_frames=20, warmup=8)
    assert [(c.start, c.warmup, c.pictures) for c in plan.chunks] == [
        (0, 0, None),
        (15, 8, None),
        (30, 0, None),
        (47, 8, None),
        (65, 8, None),
        (82, 8, None),
    ]
    assert plan_chunks(0, 99, [], max_frames=20, warmup=0, held=held_of(100)).computed_frames == 100


def test_detect_plan_notes_a_variable_rate_movies_held_pictures(tmp_path):
    source = held_clip(tmp_path / "vfr.mkv", 25)
    info = probe(source)
    assert info.frame_count == 97
    plan = detect_plan(source, 0, 96, info=info, max_frames=49)
    assert plan.cuts == ()
    assert plan.chunks == (Chunk(0, 47), Chunk(48, 96, 32, DEFAULT_WARMUP))
    # A range that starts mid-way: its first frame is styled, held or not
    plan = detect_plan(source, 6, 96, info=info, max_frames=46)
    assert plan.chunks[1] == Chunk(51, 96, 35, 9)  # 48's picture, and 16, 20, ... 44
    # No coherence: no warm-up, nothing compared
    assert detect_plan(source, 0, 96, info=info, max_frames=49, warmup=0).chunks[1].warmup == 0


def test_detect_plan_of_ordinary_footage_counts_frames(tmp_path):
    source = make_index_clip(tmp_path / "cfr.mkv", 40, size=(64, 48), codec="ffv1")
    plan = detect_plan(source, 0, 39, max_frames=20)
    assert plan.chunks == (Chunk(0, 19), Chunk(20, 39, 8))


def test_the_plan_printout_says_how_many_pictures_warm_up(tmp_path, capsys):
    source = held_clip(tmp_path / "vfr.mkv", 25)
    argv = ["stylize", str(source), "-o", str(tmp_path / "out"), "-s", "starry-swirls"]
    argv += ["--chunk-frames", "49", "--plan"]
    code, record, err = run(argv, capsys)
    assert code == 0, err
    assert [(c["start"], c["warmup"], c["pictures"]) for c in record["chunks"]] == [
        (0, 0, None),
        (48, 32, 8),
    ]
    from restyle.core import cli

    assert cli.main(argv) == 0
    said = capsys.readouterr().out
    assert "  48..96 (warm-up from 16: 8 pictures)" in said.splitlines(), said


# -- a join: in-process Ray against the local run -------------------------------------------
def _frames(folder) -> list[np.ndarray]:
    return [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.glob("[0-9]*.png"))]


def test_a_ray_join_on_held_pictures_is_the_local_run(in_process, library, tmp_path):
    """12 pictures held 4 frames, chunks 0-21 and 22-44: the second's warm-up reaches back
    to the shot's start (6 pictures), so its frames are the local run's exactly. The old
    8-frame warm-up (from 14: 3 pictures) left them off."""
    source = held_clip(tmp_path / "vfr.mkv", 12)
    options = dict(library=library, backend="onnx", format="png")
    local = StyleJob(source, tmp_path / "local", "starry-swirls", **options).run()
    assert (local.written, local.repeated) == (45, 33)
    ray = StyleJob(source, tmp_path / "ray", "starry-swirls", **options)
    result = run_on_ray(ray, "127.0.0.1:1", max_frames=24)
    assert (result.written, result.repeated) == (45, 33)
    one, joined = _frames(tmp_path / "local"), _frames(tmp_path / "ray")
    assert len(one) == len(joined) == 45
    differ = [
        k for k, (a, b) in enumerate(zip(one, joined, strict=True)) if not np.array_equal(a, b)
    ]
    assert differ == []
