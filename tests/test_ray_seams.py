"""Where a --ray chunk starts mid-stream it decodes the frames before it that one run's
stream held since its letterbox tracker last started afresh (``ray_runner.history_start``,
``StyleJob.seen_from``), without styling them: its bars are then one run's (a chunk started
a fresh BarTracker, which took a subtitle in a letterbox's bar for the bar's edge), and its
first frame knows whether it repeats the picture before it (a variable-rate movie's held
picture, which one run writes as a copy and counts as repeated). No cluster: each chunk is
run as its Ray task runs it (``_style_chunk``), and compared with one machine's run."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from restyle.core.job import StyleJob
from restyle.core.letterbox import BarTracker
from restyle.core.plan import Chunk, Plan, plan_chunks
from restyle.core.ray_runner import (
    BAR_HISTORY,
    Landing,
    _style_chunk,
    history_start,
    job_fields,
)

from clips import _scene, make_variable_rate_clip

SIZE = (128, 72)  # width, height: a 16:9 frame with a letterbox of 12 rows top and bottom
BAR = 12
SUBTITLE = range(6, 21)  # frames with a subtitle laid over the bottom bar


def letterbox_frame(k: int) -> np.ndarray:
    width, height = SIZE
    frame = np.zeros((height, width, 3), np.uint8)
    frame[BAR : height - BAR] = _scene(width, height - 2 * BAR, seed=k)
    if k in SUBTITLE:  # white text 4..8 rows above the bottom; the bar's inner rows black
        frame[height - 8 : height - 4, 40:88] = 255
    return frame


@pytest.fixture(scope="module")
def subtitled(tmp_path_factory):
    """24 letterboxed frames (one shot), a subtitle in the bottom bar over frames 6-20."""
    folder = tmp_path_factory.mktemp("seams") / "subtitled"
    folder.mkdir()
    for k in range(24):
        cv2.imwrite(str(folder / f"f_{k:04d}.png"), letterbox_frame(k))
    return folder


def test_a_fresh_tracker_takes_the_subtitle_for_the_bars_edge():
    """The clip is a seam: one run keeps the bottom bar under the subtitle; a tracker
    started at frame 8 (mid-subtitle) decides a 4-row bar there."""
    rgb = [cv2.cvtColor(letterbox_frame(k), cv2.COLOR_BGR2RGB) for k in range(24)]
    one = BarTracker()
    decided = [one.decide(frame) for frame in rgb]
    assert {bars.bottom for bars in decided} == {BAR}
    fresh = BarTracker()
    assert fresh.decide(rgb[8]).bottom == 4
    history = BarTracker()
    for frame in rgb[:8]:
        history.see(frame)
    assert history.decide(rgb[8]) == decided[8]


def run_chunks_here(job, plan: Plan, out, history: bool = True) -> list[dict]:
    """Each chunk of ``plan`` as its Ray task runs it, into ``out``: what each reported."""
    fields = job_fields(job)
    job_type = fields.pop("job_type")
    board = SimpleNamespace(report=SimpleNamespace(remote=lambda *args: None))
    landing = Landing(out, ".png")
    reports = []
    for chunk in plan.chunks:
        seen_from = history_start(plan, chunk) if history else None
        cuts = tuple(c for c in plan.cuts if chunk.first_computed < c <= chunk.end)
        reports.append(
            _style_chunk(
                job_type, dict(fields), chunk, landing, board, cuts=cuts, seen_from=seen_from
            )
        )
    return reports


def frames_of(folder) -> list[np.ndarray]:
    return [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.glob("[0-9]*.png"))]


def test_chunks_split_under_a_subtitle_keep_one_runs_bars(library, subtitled, tmp_path):
    options = dict(library=library, backend="onnx", temporal=0.0)
    local = StyleJob(subtitled, tmp_path / "local", "starry-swirls", **options).run()
    one = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in local.frame_files]
    plan = plan_chunks(0, 23, [], max_frames=8, warmup=0)  # 0-7, 8-15, 16-23
    out = tmp_path / "ray"
    out.mkdir()
    job = StyleJob(subtitled, out, "starry-swirls", **options)
    run_chunks_here(job, plan, out)
    chunked = frames_of(out)
    assert len(chunked) == len(one) == 24
    differ = [
        k for k, (a, b) in enumerate(zip(one, chunked, strict=True)) if not np.array_equal(a, b)
    ]
    assert differ == []
    # Without the history (a fresh tracker per chunk, as before) frames 8-23 were cropped at
    # the subtitle: the 8 rows between it and the picture styled, not kept as the bar.
    bare = tmp_path / "bare"
    bare.mkdir()
    run_chunks_here(
        StyleJob(subtitled, bare, "starry-swirls", **options), plan, bare, history=False
    )
    unlike = [
        k
        for k, (a, b) in enumerate(zip(one, frames_of(bare), strict=True))
        if not np.array_equal(a, b)
    ]
    assert unlike == list(range(8, 24))


# 5 pictures, each held 3 slots at 24 fps (stamps in 1/24 s): 13 frames, 8 of them repeats
STAMPS = (0, 3, 6, 9, 12)


def test_a_chunk_starting_on_a_held_picture_counts_it_as_one_run_does(library, tmp_path):
    source = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    options = dict(library=library, backend="onnx", temporal=0.0)
    local = StyleJob(source, tmp_path / "local", "comic-ink", **options).run()
    assert (local.written, local.repeated) == (13, 8)
    plan = plan_chunks(0, 12, [], max_frames=5, warmup=0)  # 0-3, 4-7, 8-12: 4 and 8 held
    out = tmp_path / "ray"
    out.mkdir()
    reports = run_chunks_here(StyleJob(source, out, "comic-ink", **options), plan, out)
    repeats = sorted(i for r in reports for i in r["repeats"])
    assert repeats == sorted(local.repeats) == [1, 2, 4, 5, 7, 8, 10, 11]
    assert sorted({i for r in reports for i, dropped in r["retimed"] if not dropped}) == repeats
    one = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in local.frame_files]
    for k, (a, b) in enumerate(zip(one, frames_of(out), strict=True)):
        assert np.array_equal(a, b), k


def test_a_chunks_history_reaches_back_to_where_one_runs_tracker_started():
    """To its shot's start (a cut resets one run's tracker), BAR_HISTORY frames at most."""
    plan = Plan(100, 999, (300, 700), (Chunk(100, 299), Chunk(300, 499), Chunk(500, 699, 8)))
    assert [history_start(plan, chunk) for chunk in plan.chunks] == [100, 300, 300]
    assert history_start(plan, Chunk(700, 999)) == 700
    assert history_start(Plan(0, 999, ()), Chunk(600, 699, 8)) == 592 - BAR_HISTORY
    assert history_start(plan, Chunk(600, 699, 8), most=10) == 582


def test_under_coherence_a_chunk_sees_its_shot_from_its_start(library, subtitled, tmp_path):
    """Chunks whose warm-up starts under the subtitle (frames 6 and 14): their history goes
    back to the shot's start, so every frame's bottom bar is kept as one run keeps it (the
    styled picture itself differs a little: a warm-up of 2 frames settles coherence only
    roughly)."""
    options = dict(library=library, backend="onnx", temporal=0.5)
    local = StyleJob(subtitled, tmp_path / "local", "starry-swirls", **options).run()
    one = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in local.frame_files]
    plan = plan_chunks(0, 23, [], max_frames=8, warmup=2)
    assert [c.first_computed for c in plan.chunks] == [0, 6, 14]
    height = SIZE[1]
    for history in (True, False):
        out = tmp_path / f"ray-{history}"
        out.mkdir()
        job = StyleJob(subtitled, out, "starry-swirls", **options)
        run_chunks_here(job, plan, out, history=history)
        bars = [
            k
            for k, (a, b) in enumerate(zip(one, frames_of(out), strict=True))
            if not np.array_equal(a[height - BAR :], b[height - BAR :])
        ]
        # without it (a fresh tracker per chunk) the rows above the subtitle were styled
        assert bars == ([] if history else list(range(8, 24))), history
