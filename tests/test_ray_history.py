"""How much history a --ray chunk decodes before its first frame (``history_frames``): a
style's letterbox tracker gets as many frames as the chunk computes (its own and warm-up),
HISTORY_FLOOR at least and BAR_HISTORY at most, so decoding stays a fraction of styling with
a small --chunk-frames or a fast GPU; a mapping (matte, stabilisation: no bars) gets the one
frame before, all a held picture's repeat is told by. No cluster: chunks are run as their
Ray tasks run them (``_style_chunk``)."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

from restyle.core.job import StyleJob
from restyle.core.plan import Chunk, Plan, plan_chunks
from restyle.core.ray_runner import (
    BAR_HISTORY,
    HISTORY_FLOOR,
    Landing,
    _style_chunk,
    _tracks_bars,
    history_frames,
    history_start,
    job_fields,
)

from clips import make_variable_rate_clip

STAMPS = (0, 3, 6, 9, 12)  # 5 pictures, each held 3 slots: 13 frames, 8 of them repeats


def test_a_chunks_history_is_bounded_by_its_own_length():
    assert history_frames(Chunk(240, 263, 8), bars=True) == 32  # --chunk-frames 24
    assert history_frames(Chunk(240, 479, 8), bars=True) == BAR_HISTORY  # the default 240
    assert history_frames(Chunk(240, 1239, 8), bars=True) == BAR_HISTORY
    assert history_frames(Chunk(240, 243, 0), bars=True) == HISTORY_FLOOR
    assert history_frames(Chunk(240, 263, 8), bars=False) == 1
    # within its shot still: a cut before the cap is where history starts
    plan = Plan(0, 999, (230,), (Chunk(0, 229), Chunk(230, 239), Chunk(240, 263, 8)))
    assert history_start(plan, plan.chunks[2], history_frames(plan.chunks[2], True)) == 230


def test_only_a_style_looks_for_bars(library, tmp_path):
    from restyle.core.mappings.matte_job import MatteJob
    from restyle.core.mappings.stabilize_job import StabilizeJob

    source = tmp_path / "x.mkv"
    assert _tracks_bars(StyleJob(source, tmp_path / "o", "comic-ink", library=library))
    assert not _tracks_bars(StabilizeJob(source, tmp_path / "s"))
    assert not _tracks_bars(MatteJob(source, tmp_path / "m"))


def test_one_frame_of_history_tells_a_held_pictures_repeats(library, tmp_path):
    """The chunks start on held pictures (4 and 8): the frame before is all they need."""
    source = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    options = dict(library=library, backend="onnx", temporal=0.0)
    local = StyleJob(source, tmp_path / "local", "comic-ink", **options).run()
    plan = plan_chunks(0, 12, [], max_frames=5, warmup=0)  # 0-3, 4-7, 8-12
    out = tmp_path / "ray"
    out.mkdir()
    fields = job_fields(StyleJob(source, out, "comic-ink", **options))
    job_type = fields.pop("job_type")
    board = SimpleNamespace(report=SimpleNamespace(remote=lambda *args: None))
    reports = [
        _style_chunk(
            job_type,
            dict(fields),
            c,
            Landing(out, ".png"),
            board,
            seen_from=history_start(plan, c, 1),
        )
        for c in plan.chunks
    ]
    repeats = sorted(i for r in reports for i in r["repeats"])
    assert repeats == sorted(local.repeats) == [1, 2, 4, 5, 7, 8, 10, 11]
