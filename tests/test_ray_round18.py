"""--ray leftovers of round 17, each case failing on the code before it:

1. A movie a duplicate submission muxed while this one waited for the frames folder's lock is
   found finished under the lock (``StyleJob._place_locked``, as one machine's run finds it):
   exit 0, ``finished_before``, nothing styled or rewritten; it styled every frame again and
   then failed 'out.mkv already exists'.
2. A movie's frames wait for the mux in one format (``ray_runner.MOVIE_FRAMES_FORMAT``), which
   the node's run and Blender's submission (``RaySubmission._landing``) both read.
3. A frames folder an earlier Restyle made on Ray (its source known by its path:
   ``StyleJob.path_stamped``) is resumed, a folder's and a movie's."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from helpers_cli import run
from test_source_stamp import write_shot

from restyle.core import job as job_module
from restyle.core import ray_runner, writers
from restyle.core.cli import main
from restyle.core.errors import Cancelled
from restyle.core.job import MANIFEST, StyleJob, movie_frames_folder
from restyle.core.ray_submit import RaySubmission

pytestmark = pytest.mark.usefixtures("private_home")
CORE = Path(ray_runner.__file__).parent


def on_ray(cluster, library, shot, out, *words):
    """Four BMP frames of ``shot`` styled on the cluster into ``out``, two frames a chunk."""
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    ray = ["--ray", cluster.address, "--chunk-frames", "2", "--temporal", "0"]
    return [*argv, *ray, *words, "--library", str(library.root)]


def times(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.glob("0*.*"))}


# -- 1. a duplicate's movie muxed while this run waited for the lock ------------------------
@pytest.mark.slow
def test_a_movie_muxed_while_waiting_for_the_lock_is_finished(
    cluster, library, tmp_path, capsys, monkeypatch
):
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / "out.mkv"
    argv = on_ray(cluster, library, shot, out)
    duplicate: list[int] = []

    class DuplicateFirst(writers.OutputLock):
        """The frames folder's lock, taken only once a duplicate submission has muxed the
        movie: this run was past its own 'finished?' check when the other one ended."""

        def acquire(self) -> None:
            if not duplicate:  # the duplicate's own locks are plain ones
                duplicate.append(-1)
                duplicate[0] = main([*argv, "-q"])
                assert out.is_file()
            super().acquire()

    monkeypatch.setattr(writers, "OutputLock", DuplicateFirst)
    code, record, err = run(argv, capsys)
    assert duplicate == [0]
    made = out.stat().st_mtime_ns
    assert code == 0, err  # was exit 2, its frames folder gone with the duplicate's mux
    assert record["finished_before"] and (record["written"], record["reused"]) == (0, 4)
    assert out.stat().st_mtime_ns == made and not movie_frames_folder(out).exists()


# -- 2. one format for a movie's frames ------------------------------------------------------
def test_a_movie_frames_format_is_said_once():
    """'png' is a movie's frames' format in one place of the Ray modules' code."""
    found = []
    for name in ("ray_runner.py", "ray_submit.py"):
        tree = ast.parse((CORE / name).read_text(encoding="utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree) if _has_docstring(n)}
        found += [
            name
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and n.value == "png" and id(n) not in docs
        ]
    assert found == ["ray_runner.py"], found  # was one in each


def _has_docstring(node) -> bool:
    kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return isinstance(node, kinds) and ast.get_docstring(node, clean=False) is not None


@pytest.mark.slow
def test_the_node_and_the_submission_read_one_frames_format(
    cluster, library, tmp_path, monkeypatch
):
    """With the format changed in its one place, the node lands the movie's frames so and a
    submission counts them (``Landing.written``) where they are: all 4 kept."""
    monkeypatch.setattr(ray_runner, "MOVIE_FRAMES_FORMAT", "tif", raising=False)
    monkeypatch.setattr(ray_runner, "_mux", _cancelled_mux)
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / "out.mkv"
    job = StyleJob(str(shot), str(out), "comic-ink", temporal=0, max_side=64, library=library)
    result = ray_runner.run_on_ray(job, cluster.address, max_frames=2)
    assert result.cancelled and result.written == 4
    frames = movie_frames_folder(out)
    assert sorted(p.suffix for p in frames.glob("0*.*")) == [".tif"] * 4  # was .png
    kept = RaySubmission(job, "head:8265")._finished_frames()  # the job as placed
    assert sorted(p.name for p in kept) == sorted(p.name for p in frames.glob("0*.*"))


def _cancelled_mux(*_args, **_kwargs):
    """A cancel as the mux starts: the movie's frames stay in its frames folder."""
    raise Cancelled()


# -- 3. an earlier Restyle's frames folder resumed on Ray ----------------------------------
@pytest.mark.slow
def test_an_earlier_restyles_ray_folder_is_resumed(cluster, library, tmp_path, capsys):
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / "out"
    with job_module.path_stamps():  # as an earlier Restyle knew its source
        code, first, err = run(on_ray(cluster, library, shot, out, "--end", "1"), capsys)
        assert code == 0 and first["written"] == 2, err
    kept = json.loads((out / MANIFEST).read_text())
    before = times(out)
    code, again, err = run(on_ray(cluster, library, shot, out), capsys)
    assert code == 0, err
    assert (again["written"], again["reused"]) == (2, 2)
    assert {k: v for k, v in times(out).items() if k in before} == before  # not made again
    assert json.loads((out / MANIFEST).read_text())["key"] == kept["key"]


@pytest.mark.slow
def test_an_earlier_restyles_ray_movie_frames_are_muxed(
    cluster, library, tmp_path, capsys, monkeypatch
):
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / "out.mkv"
    with job_module.path_stamps(), monkeypatch.context() as patch:  # an earlier Restyle's
        patch.setattr(ray_runner, "_mux", _cancelled_mux)  # its frames left for a rerun
        code, first, err = run(on_ray(cluster, library, shot, out), capsys)
        assert first["cancelled"] and first["written"] == 4, err
    assert len(times(movie_frames_folder(out))) == 4
    code, again, err = run(on_ray(cluster, library, shot, out), capsys)
    assert code == 0, err
    assert (again["written"], again["reused"]) == (0, 4)  # muxed, none styled again
    assert out.is_file() and not movie_frames_folder(out).exists()
    assert writers.made_facts(out)["made_from"]["stamps"] == "content"
