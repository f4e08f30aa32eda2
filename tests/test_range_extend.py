"""Growing a range into the same frame folder matches one run (walkthrough: --start 100
--end 129, then --end 159 into the same folder, reused frame 129, made as the range's end
without its one-frame lookahead, and frames 129-146 differed from a single 100-159 run by
45, 17, 6, 3, 1... levels down the causal chain). The manifest records a frame written as
a range's end without its lookahead; a run whose range goes past it styles it again (the
chain re-warmed from the frame before, as a resume does). Real footage: OpenCV's vtest,
320x240 frames as a PNG sequence, styled at 160 px."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import cv2
import pytest
from test_temporal_footage import footage

from restyle.core.job import MANIFEST, StyleJob
from restyle.core.styles import StyleLibrary

from clips import make_variable_rate_clip  # tests/, on the path from conftest

STYLE = "comic-ink"
FRAMES = 12  # the source; the short range ends at 5


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> StyleLibrary:
    return StyleLibrary(tmp_path_factory.mktemp("extend-library"))


@pytest.fixture(scope="module")
def walk(tmp_path_factory) -> Path:
    """vtest frames 60.. (people walking, no cut) as a lossless sequence."""
    folder = tmp_path_factory.mktemp("walk")
    for k, frame in enumerate(footage("vtest", 60, FRAMES)):
        cv2.imwrite(str(folder / f"walk_{k:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return folder


def style(walk: Path, output: Path, library, end: int, **options):
    job = StyleJob(walk, output, STYLE, end=end, max_side=160, library=library, **options)
    return job.run()


def pngs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix == ".png"}


@pytest.fixture(scope="module")
def one_run(walk, library, tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("one") / "out"
    assert style(walk, folder, library, FRAMES - 1).written == FRAMES
    return pngs(folder)


def test_a_grown_range_matches_one_run(walk, library, one_run, tmp_path):
    out = tmp_path / "out"
    assert style(walk, out, library, 5).written == 6
    grown = style(walk, out, library, FRAMES - 1)
    got = pngs(out)
    differ = [name for name in one_run if got[name] != one_run[name]]
    assert differ == []
    assert (grown.reused, grown.written) == (5, FRAMES - 5)  # frame 5 styled again
    assert "no_lookahead" not in json.loads((out / MANIFEST).read_text())  # at the source's end


def test_the_same_range_again_reuses_its_end(walk, library, tmp_path):
    """A rerun (a resume) of the same range reuses the end frame: it ends the range again."""
    out = tmp_path / "out"
    style(walk, out, library, 5)
    before = pngs(out)
    again = style(walk, out, library, 5)
    assert (again.reused, again.written) == (6, 0)
    assert pngs(out) == before


def test_a_range_ending_on_the_sources_last_frame_is_reused_when_shorter(
    walk, library, one_run, tmp_path
):
    """Frames made with their lookahead (a longer range) are reused by a shorter range, and
    its end is not marked: growing it back styles nothing."""
    out = tmp_path / "out"
    style(walk, out, library, FRAMES - 1)
    shorter = style(walk, out, library, 5)
    assert (shorter.reused, shorter.written) == (6, 0)
    again = style(walk, out, library, FRAMES - 1)
    assert (again.reused, again.written) == (FRAMES, 0)
    assert pngs(out) == one_run


def test_a_grown_range_ending_on_a_held_picture_matches_one_run(library, tmp_path):
    """A variable-rate clip (5 pictures, each held 3 frames: frame 3 styled, 4 and 5 its
    copies): a range ending on frame 4 wrote frame 3 (and its copy 4) without frame 3's
    lookahead at frame 6; grown to the end, frames 3 and 4 are made again as in one run."""
    source = make_variable_rate_clip(
        tmp_path / "vfr.mkv", (0, 3, 6, 9, 12), time_base=Fraction(1, 24)
    )
    whole = StyleJob(source, tmp_path / "whole", STYLE, library=library).run()
    out = tmp_path / "out"
    StyleJob(source, out, STYLE, library=library, end=4).run()
    grown = StyleJob(source, out, STYLE, library=library).run()
    assert pngs(out) == pngs(tmp_path / "whole")
    assert (grown.reused, grown.written, grown.repeated) == (3, 10, 6)
    assert whole.repeated == 8


def job_for(walk: Path, output: Path, library, start: int, end: int) -> StyleJob:
    return StyleJob(walk, output, STYLE, start=start, end=end, max_side=160, library=library)


def test_the_plan_counts_a_recorded_end_as_to_make(walk, library, tmp_path):
    """--plan (``StyleJob.outlook``) keeps frames by ``_Run.done``'s rule (``frame_kept``):
    a grown range's recorded end is to make (it said 6 reused where the run made 7), the
    same range's end is kept (finished)."""
    out = tmp_path / "out"
    style(walk, out, library, 5)
    grow = job_for(walk, out, library, 0, FRAMES - 1)
    plan = grow.validate()
    seen = grow.outlook(plan)
    assert (seen["outcome"], seen["reused"], seen["to_make"]) == ("resume", 5, FRAMES - 5)
    same = job_for(walk, out, library, 0, 5)
    assert same.outlook(same.validate())["outcome"] == "finished"
    grown = grow.run()
    assert (grown.reused, grown.written) == (seen["reused"], seen["to_make"])


def test_a_range_assembled_from_two_runs_is_not_finished_at_a_recorded_end(walk, library, tmp_path):
    """0-5, then 6-11, into one folder: every frame is there, but frame 5 was written as a
    range's end without its lookahead: a 0-11 run makes it again, so it is not finished."""
    out = tmp_path / "out"
    style(walk, out, library, 5)
    job_for(walk, out, library, 6, FRAMES - 1).run()
    whole = job_for(walk, out, library, 0, FRAMES - 1)
    plan = whole.validate()
    seen = whole.outlook(plan)
    assert (seen["outcome"], seen["reused"], seen["to_make"]) == ("resume", FRAMES - 1, 1)
    result = whole.run()
    assert (result.reused, result.written) == (FRAMES - 1, 1)
    assert whole.outlook(whole.validate())["outcome"] == "finished"  # now it is
