"""--ray keeps and honours a range's end written without its one-frame lookahead (manifest
'no_lookahead', test_range_extend's record) as a local run does: a Ray run ending mid-source
records its last frame in the output's manifest, so a longer run (local or Ray) styles it
again; a Ray run over a folder where a shorter run marked one styles it again, replaces it,
and clears the mark. No cluster: ``run_on_ray`` runs, its Ray tasks (``_style_chunk``) run
in this process through a stand-in ``ray`` (``InProcessRay``), the chunks as a cluster's
would; the slow test runs both ways on test_ray's local cluster. Real footage
(test_range_extend's vtest walk, 160 px)."""

from __future__ import annotations

import json

import pytest
from test_range_extend import FRAMES, job_for, pngs, style, walk  # noqa: F401 (a fixture)
from test_ray import cluster  # noqa: F401 (test_ray's local cluster, for the slow test)

from restyle.core import ray_runner
from restyle.core.job import MANIFEST
from restyle.core.styles import StyleLibrary

CHUNK = 4  # at most 4 frames a chunk: 0-5 runs as 0-2 and 3-5, 0-11 as three chunks


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> StyleLibrary:
    return StyleLibrary(tmp_path_factory.mktemp("ray-extend-library"))


@pytest.fixture(scope="module")
def one_run(walk, library, tmp_path_factory) -> dict[str, bytes]:  # noqa: F811
    folder = tmp_path_factory.mktemp("one") / "out"
    assert style(walk, folder, library, FRAMES - 1).written == FRAMES
    return pngs(folder)


def on_ray(walk, out, library, start, end):  # noqa: F811
    return ray_runner.run_on_ray(job_for(walk, out, library, start, end), "auto", max_frames=CHUNK)


def marks(out) -> list[str]:
    return json.loads((out / MANIFEST).read_text()).get("no_lookahead", [])


def test_a_ray_run_ending_mid_source_records_its_end(walk, library, one_run, in_process, tmp_path):  # noqa: F811
    """--ray 0-5, then 0-11 on one machine into the same folder: frame 5 (the last chunk's
    end, no tail) is recorded, styled again by the longer run, and the folder is one run's.
    (It was not recorded: the local run reused it, frames 5-11 differed from one run.)"""
    out = tmp_path / "out"
    short = on_ray(walk, out, library, 0, 5)
    assert (short.written, short.reused) == (6, 0)
    fifth = sorted(pngs(out))[5]
    assert marks(out) == [fifth]
    same = job_for(walk, out, library, 0, 5)
    assert same.outlook(same.validate())["outcome"] == "finished"
    grown = job_for(walk, out, library, 0, FRAMES - 1).run()
    assert (grown.reused, grown.written) == (5, FRAMES - 5)
    assert pngs(out) == one_run
    assert marks(out) == []


def test_a_ray_run_past_a_recorded_end_styles_it_again(
    walk,  # noqa: F811
    library,
    one_run,
    in_process,
    tmp_path,
):
    """0-5 on one machine (frame 5 recorded), then --ray 0-11: the chunk holding frame 5 runs
    and its frame replaces the recorded one, the record goes, and a later plan of 0-11 is
    finished. (The Ray run counted frame 5 as written and kept it; the record stayed, and
    the plan said resume 11/1.)"""
    out = tmp_path / "out"
    assert style(walk, out, library, 5).written == 6
    assert len(marks(out)) == 1
    grown = on_ray(walk, out, library, 0, FRAMES - 1)
    assert (grown.reused, grown.written) == (5, FRAMES - 5)
    assert marks(out) == []
    whole = job_for(walk, out, library, 0, FRAMES - 1)
    plan = whole.validate()
    assert whole.outlook(plan)["outcome"] == "finished"
    assert pngs(out) == one_run


def test_a_ray_rerun_of_the_range_keeps_its_end_a_longer_one_does_not(
    walk,  # noqa: F811
    library,
    one_run,
    in_process,
    tmp_path,
):
    """--ray 0-5 twice: the second reuses all 6, frame 5 still recorded; then --ray 0-11
    styles frame 5 again (its chunk runs) and the folder is one run's, nothing recorded."""
    out = tmp_path / "out"
    on_ray(walk, out, library, 0, 5)
    again = on_ray(walk, out, library, 0, 5)
    assert (again.written, again.reused) == (0, 6)
    assert len(marks(out)) == 1
    grown = on_ray(walk, out, library, 0, FRAMES - 1)
    assert (grown.reused, grown.written) == (5, FRAMES - 5)
    assert marks(out) == []
    assert pngs(out) == one_run


@pytest.mark.slow
def test_on_a_cluster_either_order_gives_one_run(walk, library, one_run, cluster, tmp_path):  # noqa: F811
    """On a real (local) cluster: --ray 0-5 then 0-11 on one machine, and 0-5 on one
    machine then --ray 0-11, each give one 0-11 run's frames, nothing left recorded."""
    for first_on_ray in (True, False):
        out = tmp_path / f"out-{first_on_ray}"
        if first_on_ray:
            short = ray_runner.run_on_ray(
                job_for(walk, out, library, 0, 5), cluster.address, max_frames=CHUNK
            )
            assert (short.written, short.cancelled) == (6, False)
            assert len(marks(out)) == 1
            grown = job_for(walk, out, library, 0, FRAMES - 1).run()
        else:
            assert style(walk, out, library, 5).written == 6
            grown = ray_runner.run_on_ray(
                job_for(walk, out, library, 0, FRAMES - 1), cluster.address, max_frames=CHUNK
            )
        assert (grown.reused, grown.written) == (5, FRAMES - 5), first_on_ray
        assert marks(out) == [], first_on_ray
        assert pngs(out) == one_run, first_on_ray


class _Killed(BaseException):
    """The driver's death (SIGKILL) at a chosen point: nothing after it runs."""


def killed(*args):
    raise _Killed()


def test_a_driver_killed_after_the_end_lands_leaves_it_marked(
    walk,  # noqa: F811
    library,
    one_run,
    in_process,
    tmp_path,
    monkeypatch,
):
    """--ray 0-5 whose driver dies once every chunk has landed, before it records the marks
    (``_record_marks``): frame 5 is marked all the same (recorded before it landed), so a
    later 0-11 run styles it again and the folder is one run's. (The mark was recorded only
    by the driver after the chunks: the longer run reused frame 5, frames 5-11 differed.)"""
    out = tmp_path / "out"
    with monkeypatch.context() as patched, pytest.raises(_Killed):
        patched.setattr(ray_runner, "_record_marks", killed)
        on_ray(walk, out, library, 0, 5)
    assert len(pngs(out)) == 6  # every frame landed
    assert marks(out) == [sorted(pngs(out))[5]]
    grown = job_for(walk, out, library, 0, FRAMES - 1).run()
    assert (grown.reused, grown.written) == (5, FRAMES - 5)
    assert pngs(out) == one_run
    assert marks(out) == []


@pytest.mark.slow
def test_on_a_cluster_a_killed_driver_leaves_the_end_marked(
    walk,  # noqa: F811
    library,
    one_run,
    cluster,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    """As above on a real (local) cluster, where the task that lands frame 5 records its
    mark in the output's manifest from its own worker: the driver dies before its record,
    frame 5 is marked, and a later 0-11 run gives one run's frames."""
    out = tmp_path / "out"
    with monkeypatch.context() as patched, pytest.raises(_Killed):
        patched.setattr(ray_runner, "_record_marks", killed)
        ray_runner.run_on_ray(job_for(walk, out, library, 0, 5), cluster.address, max_frames=CHUNK)
    assert marks(out) == [sorted(pngs(out))[5]]
    grown = job_for(walk, out, library, 0, FRAMES - 1).run()
    assert (grown.reused, grown.written) == (5, FRAMES - 5)
    assert pngs(out) == one_run
    assert marks(out) == []
