"""Round 21's command-line walkthrough (real footage).

1. ``--fps 1e9`` made a ProRes movie at 1,000,000,000 frames/s (exit 0) and ``--fps 0.001`` a
   12-frame .mp4 lasting 12000 s. A rate a job is given (--fps, fps=, a Ray run's) is held to
   fields.FPS_RANGE, 1..1000 frames/s, by the one rule (fields.rate_refusal); a source
   movie's own rate is not.
2. ``--fps 1e-6`` said '--fps 0 is out of range' (the job's rounding to 1001ths): the value
   is said as typed.
3. ``--strength 0``'s summary said 'cc: 2 frames styled ... (none on cpu)': no frame is
   styled, each is its source, and the summary says so.
4. ``sheet --tile-width 5`` said 'tile width must be at least 16 px, got 5': it names the
   flag as every range refusal does, and refuses above 2048 (six tiles of 12000 px: past
   any sheet a WebP or JPEG holds, and a MemoryError traceback under an 8 GB limit).
5. ``train --json``'s progress events said ``"fps": 4.1`` for 4.1 iterations per second (and
   its bar '4.10 frames/s'): they say ``iterations_per_second``.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import test_cli_round20 as round20
from helpers_cli import run

from restyle.core import cli
from restyle.core.errors import COMMAND_LINE, RestyleError
from restyle.core.job import StyleJob
from restyle.core.media import probe
from restyle.core.progress import TRAINING, Progress

from clips import encode_clip, make_image_sequence

pytestmark = pytest.mark.usefixtures("private_home")
plate, stylize = round20.plate, round20.stylize  # a fixture and a helper of round 20


# -- 1, 2. a frame rate held to 1..1000 frames/s, said as typed --------------------------------
@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("1e9", "p.mov"),  # ProRes at 1,000,000,000 fps, exit 0
        ("0.001", "p.mp4"),  # 12 frames lasting 12000 s
        ("1e-6", "p.mov"),  # said '--fps 0' (rounded to 1001ths)
        ("1/1000000", "p.mov"),
        ("1000.5", "p.mkv"),  # Matroska's 1 ms timestamps: 1001 fps read back as 1000
        ("0.5", "frames"),
        ("2000", "p.mp4"),  # H.264 in MP4 decoded 2 of 3 frames
        ("0", "p.mov"),
    ],
)
def test_fps_out_of_range_is_refused_as_typed(library, plate, tmp_path, capsys, typed, name):
    out = tmp_path / name
    code, _, err = stylize(library, plate, out, "--fps", typed, "--strength", "0", capsys=capsys)
    assert code == 2, err
    assert f"restyle: error: --fps {typed} is out of range 1..1000 frames/s\n" in err, err
    assert not out.exists()


@pytest.mark.parametrize(("typed", "rate"), [("1", Fraction(1)), ("1000", Fraction(1000))])
def test_the_range_s_ends_make_the_movie_at_that_rate(
    library, plate, tmp_path, capsys, typed, rate
):
    out = tmp_path / "p.mkv"
    code, record, err = stylize(
        library, plate, out, "--fps", typed, "--strength", "0", capsys=capsys
    )
    assert code == 0, err
    assert probe(out).fps == rate and probe(out).frame_count == 2, record


@pytest.mark.parametrize(
    ("fps", "said"),
    [(1e9, "1000000000"), (0.001, "0.001"), (1e-6, "1e-06"), (Fraction(1, 2), "0.5"), (0, "0")],
)
def test_python_and_probe_refuse_the_rate_in_the_same_words(plate, tmp_path, fps, said):
    out = tmp_path / "out"
    with pytest.raises(RestyleError) as refused:
        StyleJob(plate, out, "comic-ink", fps=fps).validate()
    assert str(refused.value) == f"fps={said} is out of range 1..1000 frames/s"
    assert refused.value.said(COMMAND_LINE) == f"--fps {said} is out of range 1..1000 frames/s"
    with pytest.raises(RestyleError) as probed:
        probe(plate, fps=fps)
    assert str(probed.value) == str(refused.value)  # not 'fps=0' for 1e-6
    assert not out.exists()


def test_a_ray_run_refuses_the_rate_before_the_cluster(plate, tmp_path, library, in_process):
    from restyle.core import ray_runner

    out = tmp_path / "out"
    job = StyleJob(plate, out, "comic-ink", fps=1e9, library=library)
    with pytest.raises(RestyleError, match=r"^fps=1000000000 is out of range 1\.\.1000 frames/s$"):
        ray_runner.run_on_ray(job, "auto", max_frames=2)
    assert not out.exists()


def test_a_source_movie_s_own_rate_is_not_held_to_the_range(library, tmp_path, capsys):
    """The range is the user's rate's: a movie at half a frame a second is styled at its
    own rate (the writer takes any rate above 0)."""
    frames = [np.full((48, 64, 3), 60 * i, np.uint8) for i in range(2)]
    movie = encode_clip(tmp_path / "slow.mov", frames, fps=Fraction(1, 2), codec="prores")
    assert probe(movie).fps == Fraction(1, 2)
    out = tmp_path / "o.mov"
    code, record, err = stylize(library, movie, out, "--strength", "0", capsys=capsys)
    assert code == 0, err
    assert probe(out).fps == Fraction(1, 2) and record["frame_rate"] == 0.5


def test_fps_help_names_the_range(capsys):
    assert cli.main(["stylize", "--help"]) == 0
    assert "1..1000 frames/s" in " ".join(capsys.readouterr().out.split())


# -- 3. strength 0: no frame styled -------------------------------------------------------------
def test_strength_0_says_no_frame_was_styled(library, plate, tmp_path, capsys):
    out = tmp_path / "cc"
    argv = ["stylize", str(plate), "-o", str(out), "-s", "comic-ink", "--strength", "0"]
    assert cli.main([*argv, "--library", str(library.root)]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"{out}: 2 frames written in "), said
    assert said.rstrip().endswith("; no network ran: at strength 0 every frame is its source")
    assert "styled" not in said and "none on" not in said, said


def test_a_styled_run_still_says_styled_and_its_engine(library, plate, tmp_path, capsys):
    out = tmp_path / "cc"
    argv = ["stylize", str(plate), "-o", str(out), "-s", "comic-ink", "--max-side", "32"]
    assert cli.main([*argv, "--strength", "0.5", "--library", str(library.root)]) == 0
    said = capsys.readouterr().out
    assert f"{out}: 2 frames styled in " in said and " on cpu)" in said, said
    assert "no network" not in said


# -- 4. the sheet's tile width named as its flag ------------------------------------------------
@pytest.mark.parametrize("width", ["5", "0", "-3", "2049", "12000"])
def test_sheet_tile_width_is_refused_naming_the_flag(library, plate, tmp_path, capsys, width):
    out = tmp_path / "sheet.png"
    argv = ["sheet", str(plate), "-o", str(out), "--tile-width", width]
    code, _, err = run([*argv, "--library", str(library.root)], capsys)
    assert code == 2, err
    assert f"restyle: error: --tile-width {width} is out of range 16..2048\n" in err, err
    assert not out.exists()


# -- 5. training's progress counts iterations, and says so ---------------------------------------
def test_training_events_say_iterations_per_second(capsys):
    events = cli._JsonEvents()
    events(Progress(3, 10, fps=4.1, eta_s=7.0, stage=TRAINING, message="iteration 12"))
    events(Progress(2, 8, fps=2.5, eta_s=2.4, stage="stylize"))
    trained, styled = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert trained["iterations_per_second"] == 4.1 and "fps" not in trained, trained
    assert styled["fps"] == 2.5 and "iterations_per_second" not in styled, styled
    assert cli._rate_text(Progress(3, 10, fps=4.1, eta_s=7.0, stage=TRAINING)) == (
        "4.10 iterations/s, 0:07 left"
    )
    assert cli._rate_text(Progress(2, 8, fps=2.5, eta_s=2.4)) == "2.50 frames/s, 0:02 left"


def test_train_json_progress_events_say_iterations_per_second(tmp_path, capsys):
    pytest.importorskip("torch")
    import cv2

    (first, *_) = make_image_sequence(tmp_path / "shot", 3)  # 160x96: trainable
    painted = tmp_path / "painted.png"
    cv2.imwrite(str(painted), 255 - cv2.imread(str(first)))
    library = tmp_path / "library"
    argv = ["train", str(first.parent), "-k", f"0={painted}", "-n", "Ink", "--time-budget", "1"]
    code, record, err = run([*argv, "--library", str(library)], capsys)
    assert code == 0, err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    trained = [e for e in events if e.get("event") == "progress" and e["stage"] == TRAINING]
    assert trained, err
    assert all("iterations_per_second" in e and "fps" not in e for e in trained), trained
