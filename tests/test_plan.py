"""Chunk plans: plain data, cut-aligned, covering the range exactly once."""

from __future__ import annotations

import pytest

from restyle.core.errors import RestyleError
from restyle.core.plan import Chunk, Plan, detect_plan, plan_chunks


def covered(plan: Plan) -> list[int]:
    return [f for c in plan.chunks for f in range(c.start, c.end + 1)]


def test_chunks_start_at_every_cut_without_warmup():
    plan = plan_chunks(0, 99, [30, 70], max_frames=1000)
    assert plan.chunks == (Chunk(0, 29), Chunk(30, 69), Chunk(70, 99))
    assert covered(plan) == list(range(100))


def test_long_shots_split_into_balanced_pieces_that_warm_up_inside_the_shot():
    plan = plan_chunks(10, 109, [], max_frames=40, warmup=8)
    assert [len(c) for c in plan.chunks] == [33, 33, 34]
    assert plan.chunks[0].warmup == 0  # the range's own start: a single run has no warm-up
    assert [c.warmup for c in plan.chunks[1:]] == [8, 8]
    assert covered(plan) == list(range(10, 110))
    assert plan.computed_frames == 100 + 16


def test_warmup_never_reaches_back_across_a_cut():
    plan = plan_chunks(0, 59, [50], max_frames=5, warmup=8)
    after_cut = [c for c in plan.chunks if c.start >= 50]
    assert after_cut[0] == Chunk(50, 54, 0)
    assert after_cut[1] == Chunk(55, 59, 5)
    assert all(c.first_computed >= 50 for c in after_cut)


def test_cuts_outside_the_range_are_ignored():
    plan = plan_chunks(20, 40, [5, 20, 41, 30])
    assert plan.cuts == (30,)
    assert plan.chunks == (Chunk(20, 29), Chunk(30, 40))


def test_plan_round_trips_through_json():
    plan = plan_chunks(0, 500, [100, 333], max_frames=120, warmup=4)
    assert Plan.from_json(plan.to_json()) == plan


@pytest.mark.parametrize(
    "args, message",
    [((5, 4, []), "empty"), ((0, 9, []), "at least 1"), ((0, 9, []), "0 or more")],
)
def test_bad_plans_are_refused(args, message):
    options = {"empty": {}, "at least 1": {"max_frames": 0}, "0 or more": {"warmup": -1}}
    with pytest.raises(RestyleError, match=message):
        plan_chunks(*args, **options[message])


def three_shot_clip(path, shot_length: int = 12):
    from clips import encode_clip, pan_frames

    frames = [f for seed in (1, 2, 3) for f in pan_frames(shot_length, (96, 64), 2.0, seed=seed)]
    return encode_clip(path, frames, codec="ffv1")


def test_detected_plan_follows_the_clips_cuts(tmp_path):
    path = three_shot_clip(tmp_path / "three_shots.mkv")
    plan = detect_plan(path, 0, 35, max_frames=100)
    assert plan.cuts == (12, 24)
    assert [(c.start, c.end) for c in plan.chunks] == [(0, 11), (12, 23), (24, 35)]
    offset = detect_plan(path, 6, 35, max_frames=100)
    assert offset.cuts == (12, 24) and offset.chunks[0] == Chunk(6, 11)


def plan_json(capsys, *args: str) -> dict:
    import json

    from restyle.core.cli import main

    assert main([*args, "--plan", "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_plan_says_what_a_run_would_do_with_the_output(tmp_path, capsys):
    """--plan failed ('holds frames made with other settings') on an output a run would
    refuse, so there was no plan at all; it now plans and says what a run would do there:
    make, resume, find nothing to make, replace (--overwrite) or be refused (and why)."""
    from restyle.core.cli import main

    clip = three_shot_clip(tmp_path / "clip.mkv", shot_length=4)
    out = tmp_path / "steady"
    steady = ["stabilize", str(clip), "-o", str(out), "--end", "7", "--chunk-frames", "3"]

    def outlook(*more: str) -> dict:
        before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
        record = plan_json(capsys, *steady, *more)
        assert sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")) == before
        return record["output"]

    fresh = plan_json(capsys, *steady)
    assert fresh["cuts"] == [4] and all(c["warmup"] == 0 for c in fresh["chunks"])  # no coherence
    assert fresh["output"] == {
        "path": str(out), "movie": False, "outcome": "new", "reason": None,
        "reused": 0, "to_make": 8, "replaced": 0,
    }  # fmt: skip
    assert main(steady[:-2] + ["-q"]) == 0
    assert outlook()["outcome"] == "finished"
    (out / "000003.png").unlink()
    assert outlook()["outcome"] == "resume" and outlook()["reused"] == 7
    other = outlook("--crop", "0.2")
    assert other["outcome"] == "refused" and "made with other settings" in other["reason"]
    assert "--overwrite" in other["reason"]
    assert outlook("--crop", "0.2", "--overwrite")["replaced"] == 7
    assert main([*steady, "--crop", "0.2", "--plan"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"output {out}: a run would be refused: {other['reason']}"
    )
    # the source itself: refused before the plan, as a run refuses it before its suffix is
    # read (1a328fe): exit 2, nothing written
    assert main([*steady, "-o", str(clip), "--plan", "--json"]) == 2
    assert "is the input; choose another output" in capsys.readouterr().err


def test_a_bad_option_still_fails_to_plan(tmp_path, capsys):
    from restyle.core.cli import main

    clip = three_shot_clip(tmp_path / "clip.mkv", shot_length=4)
    assert main(["stabilize", str(clip), "-o", str(tmp_path / "o"), "--end", "40", "--plan"]) == 2
    assert "--end 40 is past the source's last frame 11" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["stylize folder", "stylize movie", "stabilize folder"])
def test_plan_says_a_run_would_be_refused_while_another_run_writes_the_output(
    tmp_path, capsys, library, kind
):
    """--plan said 'new: 8 frames to make' while another run held the output's lock, which
    the run itself then refuses: it says so, naming that run, and takes nothing from it."""
    import os

    from restyle.core.writers import OutputLock, lock_path

    clip = three_shot_clip(tmp_path / "clip.mkv", shot_length=4)
    out = tmp_path / ("styled.mp4" if kind.endswith("movie") else "styled")
    job = ["stylize", str(clip), "-s", "ink-wash", "--library", str(library.root)]
    if kind.startswith("stabilize"):
        job = ["stabilize", str(clip)]
    args = [*job, "-o", str(out), "--end", "7"]
    with OutputLock(out):
        held = lock_path(out).read_text()
        output = plan_json(capsys, *args)["output"]
        assert output["outcome"] == "refused" and output["to_make"] == 0
        assert f"another Restyle run (pid {os.getpid()} on " in output["reason"]
        assert "wait for it to finish, or choose another output" in output["reason"]
        from restyle.core.cli import main

        assert main([*args, "--plan"]) == 0
        last = capsys.readouterr().out.splitlines()[-1]
        assert last == f"output {out}: a run would be refused: {output['reason']}"
        with pytest.raises(RestyleError, match="being written by another Restyle run"):
            OutputLock(out).acquire()  # still held by the first run, its record kept
        assert lock_path(out).read_text() == held
    assert plan_json(capsys, *args)["output"]["outcome"] == "new"
    assert not lock_path(out).exists() and not out.exists()  # --plan wrote nothing
