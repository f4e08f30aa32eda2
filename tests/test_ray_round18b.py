"""--ray findings of round 18's review, each case failing on the code before it:

1. A run that wrote nothing removed its empty frames folder after letting go of its lock, so
   a duplicate run that took the lock meanwhile lost the folder it worked in: the folder
   goes under the lock now.
2. Blender's submission counted an earlier Restyle's frames (its source known by its path)
   as none kept: it keyed the folder in the new form where the node's run keeps the old key.
   One ``ray_runner.landing_for``, keyed as ``place`` keys it, serves both.
3. A --ray movie and a local run into it took two locks (the movie's frames folder's, the
   movie's), so neither saw the other; a refusal named the hidden frames folder; a finished
   movie's shortcut left a failed mux's frames folder behind. One lock now, the movie's.
4. Blender's Run on: Ray result kept only the counts of the node's record: repeated frames,
   warnings, the engine, finished before were lost, and it listed every numbered file there.
5. test_late_core_round17's stand-in node manifest keys a movie's frames in
   ``frames_format``, as the node does."""

from __future__ import annotations

import dataclasses
import json
import threading
from fractions import Fraction

import cv2
import numpy as np
import pytest
from helpers_ray import InProcessRay
from test_late_core_round17 import node_manifest
from test_repeated_pictures import STAMPS
from test_source_stamp import write_shot

from restyle.core import job as job_module
from restyle.core import ray_runner, ray_submit, writers
from restyle.core.cli import main
from restyle.core.errors import RestyleError
from restyle.core.job import MANIFEST, StyleJob, movie_frames_folder
from restyle.core.ray_runner import run_on_ray
from restyle.core.ray_submit import RaySubmission, stylize_command

from clips import make_variable_rate_clip

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def no_cluster(monkeypatch):
    """A cluster never reached: a run that gets that far says so."""

    def connect(address):
        raise RestyleError(f"reached the cluster at {address}")

    monkeypatch.setattr(ray_runner, "connect", connect)


def style_job(library, source, out, **fields) -> StyleJob:
    fields = {"temporal": 0.0, "max_side": 64, "library": library, **fields}
    return StyleJob(str(source), None if out is None else str(out), "comic-ink", **fields)


# -- 1. an empty frames folder goes under the lock -----------------------------------------
def test_a_failed_run_leaves_its_folder_to_the_run_that_locks_it_next(
    library, tmp_path, monkeypatch
):
    """Run A fails at the cluster; run B takes the lock as A lets it go. B styles its 4
    frames; it failed 'FileNotFoundError: .../out/.restyle.json...part' (A removed the
    folder B worked in)."""
    pytest.importorskip("ray")  # run_chunks imports Ray's scheduling strategy
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / "out"
    b_locked, a_done = threading.Event(), threading.Event()
    said: dict[str, object] = {}

    def connect(address):
        if address == "A":
            raise RestyleError("A cannot reach its cluster")
        b_locked.set()  # B holds the lock, its folder made
        assert a_done.wait(60)
        return InProcessRay()

    def run_b():
        try:
            said["B"] = run_on_ray(style_job(library, shot, out), "B", max_frames=2)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            said["B"] = exc

    b = threading.Thread(target=run_b)
    release = writers.OutputLock.release

    def release_then_b(lock):  # A lets go of the lock: B takes it before A goes on
        release(lock)
        if threading.current_thread() is threading.main_thread() and not b.is_alive():
            b.start()
            assert b_locked.wait(120)

    monkeypatch.setattr(ray_runner, "connect", connect)
    monkeypatch.setattr(ray_runner, "check_nodes", lambda *args: None)
    monkeypatch.setattr(writers.OutputLock, "release", release_then_b)
    with pytest.raises(RestyleError, match="A cannot reach"):
        run_on_ray(style_job(library, shot, out), "A", max_frames=2)
    a_done.set()
    b.join(300)
    assert not isinstance(said["B"], BaseException), repr(said["B"])
    assert said["B"].written == 4
    assert sorted(p.name for p in out.glob("0*.png")) == [f"00000{i}.png" for i in range(4)]


# -- 2. an earlier Restyle's frames, counted by Blender's submission -----------------------
def test_a_submission_keeps_an_earlier_restyles_frames(library, tmp_path):
    """Frames 0-2 made by an earlier Restyle (path-form source stamps): the placed job reuses
    all 3, and the submission counts them kept (was 0: all stale under the new key)."""
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / "frames"
    with job_module.path_stamps():
        assert style_job(library, shot, out, end=2).run().written == 3
    job = style_job(library, shot, None, end=2)
    plan = job.place(job.validate(), out)  # as Blender places it
    assert plan.path_stamps and job.outlook(plan)["reused"] == 3
    kept = RaySubmission(job, "head:8265")._finished_frames()
    assert [p.name for p in kept] == ["000000.png", "000001.png", "000002.png"]


# -- 3. one lock for a movie, whichever runs it --------------------------------------------
def test_a_ray_run_into_a_movie_being_written_is_refused_naming_it(library, tmp_path, no_cluster):
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / "dup.mkv"
    with writers.OutputLock(out), pytest.raises(RestyleError) as refused:  # a local run's
        run_on_ray(style_job(library, shot, out), "head:6379")
    assert str(refused.value).startswith(f"{out} is being written by another Restyle run")
    assert not movie_frames_folder(out).exists()


def test_a_local_run_into_a_movie_a_ray_run_writes_is_refused(library, tmp_path, monkeypatch):
    """A local run started while a --ray run styles the movie's frames: refused (it wrote
    the movie, and the --ray run failed at its mux 'already exists')."""
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / "dup.mkv"
    local: list[str] = []

    def connect(address):  # the Ray run holds its locks: a local run starts now
        try:
            style_job(library, shot, out).run()
            local.append("finished")
        except RestyleError as exc:
            local.append(str(exc))
        raise RestyleError("stopped here")

    monkeypatch.setattr(ray_runner, "connect", connect)
    with pytest.raises(RestyleError, match="stopped here"):
        run_on_ray(style_job(library, shot, out), "head:6379")
    assert local[0].startswith(f"{out} is being written by another Restyle run"), local
    assert not out.exists()


@pytest.mark.parametrize("whose", ["these settings", "other settings", "no manifest"])
def test_a_finished_movie_drops_its_frames_folder_only_of_its_settings(
    library, tmp_path, no_cluster, whose
):
    """A movie finished with these settings and a frames folder left beside it (a --ray
    run's mux refused): the shortcut deletes it where Restyle made it with these settings,
    and keeps any other (was: always kept)."""
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / "film.mkv"
    job = style_job(library, shot, out)
    job.run()
    folder = movie_frames_folder(out)
    key = dataclasses.replace(job, output=folder, format="png").validate().key
    folder.mkdir()
    cv2.imwrite(str(folder / "000000.png"), np.full((48, 64, 3), 90, np.uint8))
    key = {"these settings": key, "other settings": "0123456789abcdef"}.get(whose)
    if key is not None:
        (folder / MANIFEST).write_text(json.dumps({"key": key, "stale": []}))
    result = run_on_ray(style_job(library, shot, out), "head:6379")
    assert result.finished_before and result.reused == 4
    assert folder.exists() == (whose != "these settings")


# -- 4. the node's record, whole, in Blender's result --------------------------------------
def test_a_submission_returns_what_the_node_said(library, tmp_path, monkeypatch, capsys):
    """A variable-rate clip's 13 frames (8 repeated), run by the command line the node runs:
    the submission's result keeps its repeated frames, warnings, engine and, on a rerun,
    finished before; its frames are the range's, not every numbered file there."""
    source = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    out = tmp_path / "out"
    job = style_job(library, source, None)
    plan = job.place(job.validate(), out)
    node = stylize_command(job)[3:-3]  # as the node runs it, here: no --ray
    logs: list[str] = []

    def dashboard(url, data=None, method=None):
        if url.endswith("/logs"):
            return {"logs": logs[-1]}
        return {"status": "SUCCEEDED"} if "/api/jobs/restyle-" in url else {}

    monkeypatch.setattr(ray_submit, "_request", dashboard)
    for rerun in (False, True):
        assert main([*node, "--json"]) == 0
        logs.append(capsys.readouterr().out)
        record = json.loads(logs[-1])
        (out / "000099.png").write_bytes((out / "000000.png").read_bytes())  # not the range's
        result = RaySubmission(job, "head:8265", poll_s=0.0).run()
        assert result.finished_before == record["finished_before"] == rerun
        assert result.repeated == record["repeated"] == (0 if rerun else 8)
        assert result.warnings == record["warnings"]
        assert rerun or any("rate" in w for w in result.warnings)  # a variable rate's
        engine = (result.backend, result.device, result.engine)
        assert engine == (record["backend"], record["device"], record["engine"])
        assert rerun or all(engine)
        assert [p.name for p in result.frame_files] == [f"{i:06d}.png" for i in range(13)]
    assert plan.total == 13


# -- 5. the stand-in node manifest keys frames as the node does ----------------------------
def test_the_stand_in_node_manifest_keys_a_movies_frames_in_their_format(
    library, index_clip_h264, tmp_path, monkeypatch
):
    monkeypatch.setattr(ray_runner, "MOVIE_FRAMES_FORMAT", "tif")
    job = StyleJob(index_clip_h264, None, "comic-ink", 0, 1, format="h264", library=library)
    plan = job.place(job.validate(), tmp_path / "film.mp4")
    folder = movie_frames_folder(plan.output)
    folder.mkdir()
    node_manifest(job, plan)
    cv2.imwrite(str(folder / "000000.tif"), np.full((96, 160, 3), 90, np.uint8))
    kept = RaySubmission(job, "head:8265")._finished_frames()
    assert [p.name for p in kept] == ["000000.tif"]  # was none: keyed as PNG frames
