"""What a run's record says (round 17's walkthroughs of the command line's --json and of
Blender's summaries), each case failing on the code before it:

1. A rerun into a finished movie names the first run's engine words (``engine``), kept in
   the movie's tag with its backend and device; null where an older movie does not say.
2. ``finished_before`` is true whenever the run found its output finished with these
   settings, a frame folder too (every frame of the range reused, nothing made), as
   --plan calls it 'finished': stylize and stabilize alike.
3. A --ray run into a movie cancelled before any frame landed leaves no frames folder (it
   held only its manifest).
4. A Ray submission cancelled into a movie counts the range's frames kept in the movie's
   frames folder (the command line's written + reused), so Blender need not count files.
5. A variable-rate source over a range too short to measure states no average rate, and
   counts as repeats only the frames written as copies (the summary's 'repeated')."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from helpers_cli import run
from test_late_core_round17 import cancelled_after_landing, node_manifest
from test_rerun_finished import untag

from restyle.core import cli, ray_runner
from restyle.core.errors import Cancelled
from restyle.core.job import MANIFEST, StyleJob, movie_frames_folder
from restyle.core.progress import CancelToken

from clips import encode_clip, make_variable_rate_clip, noise_shot, pan_frames


@pytest.fixture
def shot(tmp_path):
    return noise_shot(tmp_path / "shot", seed=5)


def stylize(library, source, out, *words):
    argv = ["stylize", str(source), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    return [*argv, *words, "--library", str(library.root)]


# -- 1. a finished movie's engine --------------------------------------------------------
def test_a_finished_movie_rerun_names_the_first_runs_engine(library, shot, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    code, first, err = run(stylize(library, shot, out), capsys)
    assert code == 0 and first["engine"] and first["backend"], (err, first)
    code, again, err = run(stylize(library, shot, out), capsys)
    assert code == 0 and again["finished_before"], err
    assert again["engine"] == first["engine"]  # was "": the tag kept backend and device only
    untag(out)  # a movie made before its tag kept the engine: null, as backend and device
    code, older, err = run(stylize(library, shot, out), capsys)
    assert code == 0 and older["finished_before"], err
    assert (older["engine"], older["backend"], older["device"]) == (None, None, None)


# -- 2. finished_before for a frame folder -------------------------------------------------
def test_a_finished_folder_rerun_is_finished_before(library, shot, tmp_path, capsys):
    out = tmp_path / "frames"
    code, first, err = run(stylize(library, shot, out), capsys)
    assert code == 0 and (first["written"], first["finished_before"]) == (4, False), err
    code, planned, _ = run(stylize(library, shot, out, "--plan"), capsys)
    assert planned["output"]["outcome"] == "finished"
    for words in ([], ["--overwrite"]):  # --overwrite keeps frames these settings made
        code, again, err = run(stylize(library, shot, out, *words), capsys)
        assert code == 0, err
        assert (again["written"], again["reused"], again["finished_before"]) == (0, 4, True)
        assert again["engine"] and again["backend"] == first["backend"]
    cli.main(stylize(library, shot, out))
    assert "already finished with these settings (4 frames reused)" in capsys.readouterr().out


def test_a_resumed_folder_is_not_finished_before(library, shot, tmp_path, capsys):
    out = tmp_path / "frames"
    code, first, err = run(stylize(library, shot, out, "--end", "1"), capsys)
    assert code == 0 and first["written"] == 2, err
    code, rest, err = run(stylize(library, shot, out), capsys)
    assert code == 0 and rest["reused"] and rest["written"], err  # frame 1 again: its end
    assert rest["finished_before"] is False


def test_a_finished_stabilize_folder_keeps_its_figures(tmp_path, capsys):
    frames = pan_frames(8, (96, 64), 1.5, seed=1) + pan_frames(8, (96, 64), -2.0, seed=7)
    clip = encode_clip(tmp_path / "two_shots.mkv", frames, codec="ffv1")
    argv = ["stabilize", str(clip), "-o", str(tmp_path / "stab")]
    code, first, err = run(argv, capsys)
    assert code == 0 and not first["finished_before"] and first["cuts"] == [8], err
    code, again, err = run(argv, capsys)
    assert code == 0, err
    assert (again["written"], again["reused"], again["finished_before"]) == (0, 16, True)
    # the manifest's figures, not a movie tag's nulls
    assert (again["kept_area"], again["cuts"]) == (first["kept_area"], first["cuts"])


def test_a_finished_ray_folder_rerun_is_finished_before(library, in_process, tmp_path):  # noqa: F811
    source = encode_clip(tmp_path / "clip.mkv", pan_frames(4, (64, 48), 1.0), codec="ffv1")
    out = tmp_path / "frames"

    def job():
        return StyleJob(source, out, "comic-ink", max_side=64, library=library)

    first = ray_runner.run_on_ray(job(), "auto", max_frames=2)
    assert (first.written, first.finished_before) == (4, False)
    again = ray_runner.run_on_ray(job(), "auto", max_frames=2)
    assert (again.written, again.reused, again.finished_before) == (0, 4, True)


# -- 3. a Ray movie cancelled before any frame ---------------------------------------------
def cancelled(*args, **kwargs):  # run_chunks stopped (Ctrl-C) before any chunk's frame landed
    raise Cancelled()


def test_a_ray_movie_cancelled_before_any_frame_leaves_no_folder(
    library,
    in_process,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    source = encode_clip(tmp_path / "clip.mkv", pan_frames(4, (64, 48), 1.0), codec="ffv1")
    movie = tmp_path / "rm.mp4"

    monkeypatch.setattr(ray_runner, "run_chunks", cancelled)
    job = StyleJob(source, movie, "comic-ink", max_side=64, library=library)
    result = ray_runner.run_on_ray(job, "auto", max_frames=2, cancel=CancelToken())
    assert result.cancelled and (result.written, result.reused) == (0, 0)
    assert not movie_frames_folder(movie).exists()  # held only .restyle.json
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["clip.mkv"]


def test_a_ray_folder_that_held_frames_before_is_kept(library, in_process, tmp_path, monkeypatch):  # noqa: F811
    """Only a folder this run made and left with nothing but its manifest goes."""
    source = encode_clip(tmp_path / "clip.mkv", pan_frames(4, (64, 48), 1.0), codec="ffv1")
    movie = tmp_path / "rm.mp4"
    folder = movie_frames_folder(movie)
    folder.mkdir()
    monkeypatch.setattr(ray_runner, "run_chunks", cancelled)
    job = StyleJob(source, movie, "comic-ink", max_side=64, library=library)
    assert ray_runner.run_on_ray(job, "auto", max_frames=2).cancelled
    assert (folder / MANIFEST).is_file()  # not this run's folder: left as a run keeps it


# -- 4. a cancelled Ray submission's movie frames -----------------------------------------
def test_a_cancelled_ray_submission_counts_a_movies_kept_frames(
    library, index_clip_h264, tmp_path, monkeypatch
):
    job = StyleJob(index_clip_h264, None, "comic-ink", 1, 3, format="h264", library=library)
    plan = job.place(job.validate(), tmp_path / "film.mp4")  # as Blender places it
    assert plan.format.movie
    folder = movie_frames_folder(plan.output)
    folder.mkdir()
    # an earlier run's manifest, as its node wrote it; without it every frame there is of
    # other settings, kept by no run (Landing.written)
    node_manifest(job, plan)
    picture = np.zeros((8, 8, 3), np.uint8)
    for i in (0, 1, 5):  # an earlier run's frames: 1 in this range, 0 and 5 outside it
        cv2.imwrite(str(folder / f"{i:06d}.png"), picture)
    # the cluster lands frame 2, then stops
    result = cancelled_after_landing(monkeypatch, job, folder / "000002.png", picture, 2, 3)
    assert result.cancelled
    assert (result.written, result.reused) == (1, 1)  # frame 2 landed now, frame 1 before
    assert result.frame_files == []  # a movie's frames are not its output's


# -- 5. a variable rate over a short range --------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "repeats"),
    [(3, 5, ""), (2, 4, "; 1 frame repeats the one before (frame 3)")],
)
def test_a_short_variable_rate_range_states_no_average(library, tmp_path, start, end, repeats):
    # 20 frames 1/20 s apart, told 24 fps: slots 3, 9, 15, 21 repeat the one before
    source = make_variable_rate_clip(tmp_path / "phone.mkv", range(0, 240, 12), rate=24)
    out = tmp_path / "out"
    job = StyleJob(source, out, "comic-ink", start=start, end=end, temporal=0, library=library)
    result = job.run()
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert "average" not in warning  # 3 frames: was 'its frames average 16 fps'
    assert warning.endswith("frames are taken at 24 fps, the rate its container states" + repeats)
    assert result.repeated == (1 if repeats else 0)  # the summary's count, the same frames


def test_the_cli_says_the_same_of_a_short_range(library, tmp_path, capsys):
    source = make_variable_rate_clip(tmp_path / "phone.mkv", range(0, 240, 12), rate=24)
    argv = [*stylize(library, source, tmp_path / "out", "--start", "3", "--end", "5")]
    code, record, err = run(argv, capsys)
    assert code == 0 and record["repeated"] == 0, err
    assert record["warnings"] == [
        "phone.mkv has a variable frame rate: frames are taken at 24 fps, the rate its "
        "container states"
    ]


def test_ten_frames_state_their_average(library, tmp_path):
    """From MEASURED_RATE_FRAMES frames on, the average is stated (one frame moves it by a
    tenth at most): frames 0-9 hold 8 frames of their own in 10 slots of 1/24 s."""
    source = make_variable_rate_clip(tmp_path / "phone.mkv", range(0, 240, 12), rate=24)
    job = StyleJob(source, tmp_path / "out", "comic-ink", 0, 9, temporal=0, library=library)
    result = job.run()
    assert result.warnings == [
        "phone.mkv has a variable frame rate: frames are taken at 24 fps, the rate its "
        "container states (its frames average 19.2 fps); 2 frames repeat the one before "
        "(frames 3, 9)"
    ]
    assert result.repeated == 2


def test_a_finished_matte_folder_is_finished_before(tmp_path, capsys):
    clip = encode_clip(tmp_path / "pan.mkv", pan_frames(3, (64, 48), 1.0), codec="ffv1")
    argv = ["matte", str(clip), "-o", str(tmp_path / "matte")]
    code, first, err = run(argv, capsys)
    assert code == 0 and (first["written"], first["finished_before"]) == (3, False), err
    code, again, err = run(argv, capsys)
    assert code == 0, err
    assert (again["written"], again["reused"], again["finished_before"]) == (0, 3, True)
