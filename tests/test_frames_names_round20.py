"""Round 20's frames-folder, output-name and scratch-file fixes, each case failing on the
code before it:

1. A movie finished on one machine (``StyleJob._drop_ray_frames``) or by a shorter --ray
   run's mux (``ray_runner._mux``) deleted the whole frames folder a cancelled --ray run of
   these settings left, frames outside its own range too (the settings key does not hold
   the range): now it goes only when every frame in it lies inside the movie's range.
2. The output-name limit is checked against the name actually written (after the suffix
   ``movie_path`` adds), not against the hidden ``.NAME.frames`` folder --ray writes
   into; ``--plan`` refuses as the run would.
3. Scratch files of an atomic write (a sheet, a style pack, a manifest) are named so
   ``writers.remove_stale_scratch`` recognises them.

No cluster: --ray's tasks run in this process (the ``in_process`` fixture). Strength 0
writes the source's frames: no network converted or run."""

from __future__ import annotations

import pytest
from helpers_cli import run
from test_ray_round19b import RAY, cancelled_mux, stylize

from restyle.core import ray_runner
from restyle.core.job import movie_frames_folder

from clips import noise_shot

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def shot(tmp_path):
    return noise_shot(tmp_path / "shot", 12)


def frames_in(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.stem.isdigit())


def cancel_on_ray(shot, out, capsys, monkeypatch) -> None:
    """A --ray run of frames 0-11 into the movie ``out``, cancelled at its mux: all 12 kept."""
    with monkeypatch.context() as cancelled:
        cancelled.setattr(ray_runner, "_mux", cancelled_mux)
        code, record, err = run(stylize(shot, out, *RAY), capsys)
    assert code == 130 and record["written"] == 12, err
    assert len(frames_in(movie_frames_folder(out))) == 12


# -- 1. a frames folder holding frames outside the finished movie's range is kept -------------
@pytest.mark.parametrize("where", ["here", "ray"])
def test_a_shorter_movie_keeps_a_longer_runs_ray_frames(
    in_process, shot, tmp_path, capsys, monkeypatch, where
):
    """Frames 0-11 kept by a cancelled --ray run; a run of frames 0-1 (local, or --ray: its
    mux) finishes its 2-frame movie and deleted all 12; they stay, and --plan --ray of the
    whole range still counts them."""
    out = tmp_path / "m.mp4"
    cancel_on_ray(shot, out, capsys, monkeypatch)
    ray = RAY if where == "ray" else []
    code, record, err = run(stylize(shot, out, *ray, "--end", "1"), capsys)
    assert code == 0 and record["written"] + record["reused"] == 2, err
    assert out.is_file()
    assert len(frames_in(movie_frames_folder(out))) == 12  # the longer run's, kept
    code, plan, err = run(stylize(shot, out, "--plan", "--overwrite", *RAY), capsys)
    assert code == 0 and (plan["output"]["reused"], plan["output"]["to_make"]) == (12, 0), plan
    code, record, err = run(stylize(shot, out, "--overwrite", *RAY), capsys)
    assert code == 0 and (record["written"], record["reused"]) == (0, 12), err
    assert not movie_frames_folder(out).exists()  # every frame inside the movie's range: gone


def test_a_movie_of_the_whole_range_still_drops_its_ray_frames(
    in_process, shot, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "m.mp4"
    cancel_on_ray(shot, out, capsys, monkeypatch)
    code, record, err = run(stylize(shot, out), capsys)
    assert code == 0 and record["written"] == 12, err
    assert not movie_frames_folder(out).exists()
