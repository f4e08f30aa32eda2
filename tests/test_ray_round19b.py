"""--ray's records, found by round 19's walkthrough, each case failing on the code before it:

1. A frames folder written by --ray keeps ``made_from`` as a local run's does
   (``ray_runner._run_locked``'s record), so a rerun with other settings is refused naming
   what differs, not 'made by an earlier Restyle or with other settings'; a folder started
   on one machine and resumed on Ray keeps it.
2. ``--plan --ray`` into a movie counts the frames a cancelled --ray run kept in its frames
   folder, as a --ray rerun reuses them (``StyleJob.outlook``, by ``ray_runner.landing_for``;
   without --ray, a local run's plan: tests/test_plan_round19.py).
3. A movie finished on one machine removes the frames folder a cancelled --ray run of these
   settings left beside it (a --ray rerun's shortcut did; a local one kept it for good).

No cluster: ``run_on_ray`` runs, its tasks in this process through the stand-in ``ray``
(test_ray_range_extend's ``InProcessRay``). Strength 0 writes the source's frames: no
network converted or run, and the settings still differ where a test asks."""

from __future__ import annotations

import json

import pytest
from helpers_cli import run

from restyle.core import ray_runner
from restyle.core.errors import Cancelled
from restyle.core.job import MANIFEST, movie_frames_folder

from clips import noise_shot

pytestmark = pytest.mark.usefixtures("private_home")
RAY = ["--ray", "auto", "--chunk-frames", "2"]


@pytest.fixture
def shot(tmp_path):
    return noise_shot(tmp_path / "shot", 6)


def stylize(shot, out, *words: str, strength: str = "0") -> list[str]:
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--temporal", "0"]
    return [*argv, "--strength", strength, *words]


def cancelled_mux(*_args, **_kwargs):
    """A cancel as the mux starts: the movie's frames stay in its frames folder."""
    raise Cancelled()


# -- 1. made_from in a --ray frames folder ----------------------------------------------------
@pytest.mark.parametrize("where", ["here", "ray"])
def test_a_rerun_with_another_strength_names_it(in_process, shot, tmp_path, capsys, where):
    out = tmp_path / "out"
    ray = RAY if where == "ray" else []
    code, _, err = run(stylize(shot, out, *ray), capsys)
    assert code == 0, err
    code, _, err = run(stylize(shot, out, *ray, strength="0.5"), capsys)
    assert code == 2 and "made with other settings (--strength 0.0, now 0.5)" in err, err
    assert "earlier Restyle" not in err  # --ray's said 'by an earlier Restyle or with...'


def test_a_ray_folder_keeps_a_local_runs_record(in_process, shot, tmp_path, capsys):
    """The same fields, the same made_from, whichever ran it."""
    here, there = tmp_path / "here", tmp_path / "there"
    assert run(stylize(shot, here), capsys)[0] == 0
    assert run(stylize(shot, there, *RAY), capsys)[0] == 0
    local = json.loads((here / MANIFEST).read_text())
    ray = json.loads((there / MANIFEST).read_text())
    assert set(ray) == set(local), set(ray) ^ set(local)
    assert ray["made_from"] == local["made_from"] and ray["key"] == local["key"]


def test_a_folder_resumed_on_ray_keeps_its_made_from(in_process, shot, tmp_path, capsys):
    """Started on one machine (frames 0-2), resumed with --ray: made_from was dropped."""
    out = tmp_path / "out"
    assert run([*stylize(shot, out), "--end", "2"], capsys)[0] == 0
    made = json.loads((out / MANIFEST).read_text())["made_from"]
    code, record, err = run(stylize(shot, out, *RAY), capsys)
    assert code == 0 and (record["written"], record["reused"]) == (3, 3), err
    kept = json.loads((out / MANIFEST).read_text())
    assert kept["made_from"]["settings"] == made["settings"], kept


def test_stylize_into_a_folder_ray_stabilized_names_the_job(in_process, shot, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run(["stabilize", str(shot), "-o", str(out), *RAY], capsys)
    assert code == 0, err
    code, _, err = run(stylize(shot, out, *RAY), capsys)
    assert code == 2 and "made by stabilize (another job; this one is stylize)" in err, err


def test_a_cancelled_ray_movie_rerun_names_the_setting(
    in_process, shot, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "out.mkv"
    monkeypatch.setattr(ray_runner, "_mux", cancelled_mux)
    code, record, err = run(stylize(shot, out, *RAY), capsys)
    assert code == 130 and record["written"] == 6, err
    code, _, err = run(stylize(shot, out, *RAY, strength="0.5"), capsys)
    folder = movie_frames_folder(out)
    assert code == 2 and f"{folder.name} holds frames made with other settings" in err, err
    assert "(--strength 0.0, now 0.5)" in err, err


# -- 2. --plan --ray counts a cancelled --ray movie's frames -------------------------------
def test_plan_counts_the_frames_a_cancelled_ray_movie_kept(
    in_process, shot, tmp_path, capsys, monkeypatch
):
    """Frames 0-3 kept by a --ray run cancelled at its mux; --plan --ray for 0-5: 'resume',
    4 reused, 2 to make (was 'new', 6 to make), as the --ray rerun then does; with other
    settings it says the rerun's refusal, naming the frames folder and the setting."""
    out = tmp_path / "out.mkv"
    with monkeypatch.context() as cancelled:
        cancelled.setattr(ray_runner, "_mux", cancelled_mux)
        code, record, err = run([*stylize(shot, out, *RAY), "--end", "3"], capsys)
    assert code == 130 and record["written"] == 4, err
    code, plan, err = run(stylize(shot, out, "--plan", *RAY), capsys)
    seen = plan["output"]
    assert code == 0 and seen["outcome"] == "resume", (seen, err)
    assert (seen["reused"], seen["to_make"], seen["replaced"]) == (4, 2, 0)
    code, other, err = run(stylize(shot, out, "--plan", *RAY, strength="0.5"), capsys)
    assert code == 0 and other["output"]["outcome"] == "refused", other
    said = other["output"]["reason"]
    assert f"{movie_frames_folder(out).name} holds frames made with other settings" in said
    assert "(--strength 0.0, now 0.5)" in said, said
    code, record, err = run(stylize(shot, out, *RAY), capsys)
    assert code == 0 and (record["written"], record["reused"]) == (2, 4), err
    assert out.is_file() and not movie_frames_folder(out).exists()


# -- 3. a movie finished on one machine drops the --ray frames of its settings -------------
def test_a_local_finish_removes_the_ray_frames(in_process, shot, tmp_path, capsys, monkeypatch):
    """Cancelled on --ray (6 frames kept in .out.mkv.frames), finished on one machine: the
    frames folder goes (was kept for good: hidden, ~5 MB for 8 frames at 768x576); a rerun
    finds the movie finished."""
    out = tmp_path / "out.mkv"
    with monkeypatch.context() as cancelled:
        cancelled.setattr(ray_runner, "_mux", cancelled_mux)
        assert run(stylize(shot, out, *RAY), capsys)[0] == 130
    assert (movie_frames_folder(out) / MANIFEST).is_file()
    code, record, err = run(stylize(shot, out), capsys)
    assert code == 0 and record["written"] == 6 and out.is_file(), err
    assert not movie_frames_folder(out).exists()
    code, record, err = run(stylize(shot, out), capsys)
    assert code == 0 and record["finished_before"], err


@pytest.mark.parametrize("whose", ["these settings", "other settings"])
def test_a_local_rerun_of_a_finished_movie_drops_only_its_settings_frames(
    in_process, shot, tmp_path, capsys, monkeypatch, whose
):
    """A movie finished before, a cancelled --ray run's frames beside it (these settings', or
    strength 0.5's): the local 'already finished' shortcut deletes only these settings'."""
    out = tmp_path / "out.mkv"
    assert run(stylize(shot, out), capsys)[0] == 0
    strength = "0" if whose == "these settings" else "0.5"
    with monkeypatch.context() as cancelled:
        cancelled.setattr(ray_runner, "_mux", cancelled_mux)
        code, _, err = run(stylize(shot, out, *RAY, "--overwrite", strength=strength), capsys)
    assert code in (0, 130), err
    if whose == "these settings":  # --ray finds it finished and drops its own: make one
        folder = movie_frames_folder(out)
        other = tmp_path / "other.mkv"
        with monkeypatch.context() as cancelled:
            cancelled.setattr(ray_runner, "_mux", cancelled_mux)
            assert run(stylize(shot, other, *RAY), capsys)[0] == 130
        movie_frames_folder(other).rename(folder)
    assert (movie_frames_folder(out) / MANIFEST).is_file()
    code, record, err = run(stylize(shot, out), capsys)
    assert code == 0 and record["finished_before"], err
    assert movie_frames_folder(out).exists() == (whose == "other settings")
