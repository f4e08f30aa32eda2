"""The jobs' Python API as a farm script uses it: values of other types, reruns of one job
object, other working folders, threads, Ctrl-C then a rerun."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from restyle.core.errors import RestyleError
from restyle.core.mappings.stabilize_job import StabilizeJob

from clips import encode_clip, pan_frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("api")
    return encode_clip(folder / "pan.mkv", pan_frames(10, (96, 64)), codec="ffv1")


def frames(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def test_whole_numbers_given_as_floats_are_frames(clip, tmp_path):
    """start=2.0 raised "'float' object cannot be interpreted as an integer" mid-run; it is
    frame 2, and keyed as the command line's 2 (the rerun resumes, never 'other settings')."""
    out = tmp_path / "out"
    assert StabilizeJob(clip, out, start=2, end=5, crop=0.1).run().written == 4
    again = StabilizeJob(str(clip), str(out), start=2.0, end=5.0, crop=0.1)
    result = again.run()
    assert (result.written, result.reused) == (0, 4)
    assert (again.start, again.end) == (2, 5) and type(again.start) is int


@pytest.mark.parametrize(
    "options, message",
    [
        ({"start": 2.5}, "start must be a whole number, got 2.5"),
        ({"end": "5"}, "end must be a whole number, got '5'"),  # compared as text: TypeError
        ({"start": True}, "start must be a whole number, got True"),
        ({"batch_size": "2"}, "batch_size must be a whole number, got '2'"),
        ({"batch_size": -1}, "batch_size=-1 is out of range 1..64"),
        ({"strength": "0.5"}, "strength must be a number, got '0.5'"),
        ({"crop": None}, "crop must be a number, got None"),
        ({"overwrite": "no"}, "overwrite must be True or False, got 'no'"),  # was True
        ({"audio": "off"}, "audio must be True or False, got 'off'"),
        ({"source": 5}, "source must be a file or folder path, got 5"),
        ({"output": ""}, "output must be a file or folder path, got ''"),
        ({"cuts": ["x"]}, "a cut must be a whole number, got 'x'"),
        ({"device": 0}, "device must be text, got 0"),  # AttributeError: no 'partition'
        ({"mode": None}, "mode must be text, got None"),
    ],
)
def test_values_of_other_types_are_one_clear_error(clip, tmp_path, options, message):
    fields = {"source": clip, "output": tmp_path / "out", "end": 5, **options}
    with pytest.raises(RestyleError) as error:
        StabilizeJob(**fields).run()
    assert str(error.value) == message
    assert not (tmp_path / "out").exists()


def test_temporal_outside_0_to_1_is_refused(clip, tmp_path, library):
    from restyle.core.job import StyleJob

    for temporal, shown in ((1.5, "1.5"), (-0.1, "-0.1"), ("0.5", None)):
        job = StyleJob(clip, tmp_path / "o", "comic-ink", temporal=temporal, library=library)
        with pytest.raises(RestyleError, match="temporal") as error:
            job.validate()
        assert shown is None or str(error.value) == f"temporal={shown} is out of range 0..1"


def test_the_library_may_be_given_as_a_folder(clip, tmp_path, library):
    """library='/path/to/styles' failed with "'str' object has no attribute 'resolve'"."""
    from restyle.core.job import StyleJob

    job = StyleJob(clip, tmp_path / "o", "comic-ink", library=str(library.root))
    assert job.validate().style.id == "comic-ink" and job.library.root == library.root
    with pytest.raises(RestyleError, match="library must be a StyleLibrary or a folder"):
        StyleJob(clip, tmp_path / "o", "comic-ink", library=5).validate()


def test_a_matte_keyframe_is_a_whole_frame_of_a_dict(clip, tmp_path):
    """keyframes=[(3, 'x.png')] raised AttributeError ('list' has no 'items'); frame 3.5
    was read as frame 3."""
    from restyle.core.mappings.matte_job import MatteJob

    for keyframes, message in (
        ([(3, "x.png")], "keyframes must be a dict"),
        ({3.5: "x.png"}, "a keyframe must be a whole number, got 3.5"),
    ):
        with pytest.raises(RestyleError, match=message):
            MatteJob(clip, tmp_path / "m", keyframes=keyframes).validate()


def test_one_job_object_runs_twice_and_after_a_change(clip, tmp_path):
    job = StabilizeJob(clip, tmp_path / "out", end=4)
    first = job.run()
    again = job.run()
    assert (first.written, again.written, again.reused) == (5, 0, 5)
    assert job.kept_area
    job.output = tmp_path / "other"
    assert job.run().written == 5
    assert frames(tmp_path / "out") == frames(tmp_path / "other")


def test_one_job_object_runs_into_a_movie_then_a_folder(clip, tmp_path):
    """The format read from the first output stayed: the job pointed at a folder next wrote
    'frames.mp4'. A format given outright stays."""
    job = StabilizeJob(clip, tmp_path / "a.mkv", end=3)
    assert job.run().output == tmp_path / "a.mkv"
    job.output = tmp_path / "frames"
    assert job.run().output == tmp_path / "frames" and len(frames(tmp_path / "frames")) == 4
    given = StabilizeJob(clip, tmp_path / "b", end=3, format="tif")
    given.run()
    given.output = tmp_path / "c"
    given.run()
    assert len(list((tmp_path / "c").glob("*.tif"))) == 4


def test_a_job_run_from_another_working_folder_reads_its_paths_there(tmp_path, monkeypatch):
    """A job validated in one working folder, then run from another, ran the first folder's
    plan (its clip's length and size) over the second's files; relative paths are read where
    run() is called, as open() reads them."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    encode_clip(a / "clip.mkv", pan_frames(10, (96, 64)), codec="ffv1")
    encode_clip(b / "clip.mkv", pan_frames(6, (96, 64), seed=4), codec="ffv1")
    monkeypatch.chdir(a)
    job = StabilizeJob("clip.mkv", "out")
    assert job.validate().end == 9
    monkeypatch.chdir(b)
    result = job.run()
    assert result.written == 6 and sorted(frames(b / "out")) == [f"{i:06d}.png" for i in range(6)]
    assert not (a / "out").exists()


def test_two_jobs_in_two_threads(clip, tmp_path):
    results: dict[int, object] = {}

    def run(i: int) -> None:
        results[i] = StabilizeJob(clip, tmp_path / f"out{i}", end=7).run()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i].written for i in range(2)] == [8, 8]
    assert frames(tmp_path / "out0") == frames(tmp_path / "out1")


def test_openvino_is_imported_whole_by_two_threads():
    """Two matte jobs started in two threads: the second took the module the first was still
    importing ('partially initialized module openvino has no attribute Core')."""
    pytest.importorskip("openvino")
    code = """if True:
        import sys, threading
        from restyle.core.engines.openvino_engine import import_openvino
        threading.Thread(target=import_openvino).start()
        while "openvino" not in sys.modules:
            pass
        print(hasattr(import_openvino(), "Core"))
    """
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "True", proc.stderr


def test_the_command_line_runs_from_a_scripts_thread(clip, tmp_path):
    """restyle.core.cli.main called from a thread (a farm wrapper's) raised 'signal only
    works in main thread': Ctrl-C stays the main thread's, the run goes on."""
    from restyle.core.cli import main

    codes = []
    args = ["stabilize", str(clip), "-o", str(tmp_path / "out"), "--end", "3", "-q"]
    thread = threading.Thread(target=lambda: codes.append(main(args)))
    thread.start()
    thread.join()
    assert codes == [0] and len(frames(tmp_path / "out")) == 4


def test_ctrl_c_mid_run_keeps_finished_frames_and_a_rerun_resumes(clip, tmp_path):
    def interrupt(p) -> None:
        if p.stage == "stabilize" and p.done >= 3:
            raise KeyboardInterrupt

    job = StabilizeJob(clip, tmp_path / "out")
    with pytest.raises(KeyboardInterrupt):
        job.run(progress=interrupt)
    kept = frames(tmp_path / "out")
    assert 3 <= len(kept) < 10
    result = job.run()
    assert (result.reused, result.written) == (len(kept), 10 - len(kept))
    StabilizeJob(clip, tmp_path / "whole").run()
    assert frames(tmp_path / "out") == frames(tmp_path / "whole")


def test_no_terminal_no_prompt(clip, tmp_path):
    """From cron or a farm (no TTY on any stream): no progress bar, one summary line."""
    proc = subprocess.run(
        [sys.executable, "-m", "restyle", "stabilize", str(clip), "-o", str(tmp_path / "o")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TERM": "dumb"},
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.count("\n") == 1 and "10 frames stabilized" in proc.stdout


def test_a_job_of_absolute_paths_runs_where_the_working_folder_was_deleted(
    clip, tmp_path, library, monkeypatch
):
    """A farm script run from a temporary folder since cleaned up: every job failed with
    FileNotFoundError (the working folder was asked for whatever the paths). Absolute paths
    need none; a relative one is a clear error that names it, and nothing is written."""
    from restyle.core.job import StyleJob

    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    out = tmp_path / "out"
    job = StyleJob(clip, out, "comic-ink", library=library, end=1, temporal=0.0)
    job.validate()
    assert job.run().written == 2
    assert StabilizeJob(clip, tmp_path / "steady", end=2).run().written == 3
    said = "the working folder was deleted, so the relative path {} cannot be found"
    for source, output, style, name in (
        (clip.name, tmp_path / "rel", "comic-ink", clip.name),
        (clip, "rel", "comic-ink", "rel"),
        (clip, tmp_path / "rel", "painting.jpg", "painting.jpg"),
    ):
        relative = StyleJob(source, output, style, library=library)
        with pytest.raises(RestyleError, match=said.format(name)):
            relative.validate()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "steady"]


def test_a_format_in_capitals_is_the_command_lines(clip, tmp_path, library):
    """format='PNG' keyed its frames apart from the command line's png: the same job from
    the command line was refused ('holds frames made with other settings')."""
    from restyle.core.cli import main
    from restyle.core.job import StyleJob

    out = tmp_path / "out"
    job = StyleJob(clip, out, "comic-ink", end=3, format="PNG", library=library)
    assert job.run().written == 4 and job.format == "png"
    argv = ["stylize", str(clip), "-o", str(out), "-s", "comic-ink", "--end", "3", "--json"]
    assert main([*argv, "--library", str(library.root)]) == 0
    assert StyleJob(clip, out, "comic-ink", end=3, format="Png", library=library).run().reused == 4


def test_a_range_past_a_plate_numbered_from_1001_says_frames_count_from_0(tmp_path):
    """A plate plate.1001.png ... asked --start 1001 (its file's number) was told only that
    1001 is past the last frame 3; a sequence numbered from 0 keeps the plain message."""
    import cv2
    import numpy as np

    from restyle.core.job import StyleJob

    for first, hint in ((1001, " (frames count from 0: plate.1001.png is frame 0)"), (0, "")):
        folder = tmp_path / f"plate{first}"
        folder.mkdir()
        for i in range(4):
            cv2.imwrite(
                str(folder / f"plate.{first + i:04d}.png"), np.full((32, 48, 3), i, np.uint8)
            )
        for bounds, said in (({"start": 1001}, "start=1001"), ({"end": 1004}, "end=1004")):
            job = StyleJob(folder, tmp_path / "out", "comic-ink", **bounds)
            with pytest.raises(RestyleError) as error:
                job.validate()
            assert str(error.value) == f"{said} is past the source's last frame 3{hint}"
    assert not (tmp_path / "out").exists()


def test_a_quoted_home_folder_is_the_users_home(clip, tmp_path, library, monkeypatch):
    """source='~/pan.mkv' was not found and output='~/out' made a folder named '~' in the
    working folder, while a style picture's '~/...' was the home's: every path reads '~'."""
    import shutil

    from restyle.core.job import StyleJob

    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    shutil.copy(clip, home / "pan.mkv")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    job = StyleJob("~/pan.mkv", "~/out", "comic-ink", end=1, library=library)
    result = job.run()
    assert result.written == 2 and result.output == home / "out"
    assert sorted(p.name for p in (home / "out").glob("*.png")) == ["000000.png", "000001.png"]
    assert list(work.iterdir()) == []
