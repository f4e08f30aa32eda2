"""Round 18's command-line walkthrough words: a mistake points to its command's help, --json
records alike (one line, ``output``, ``folder``), cancel and option-warning words, and the
core's words for damaged frames, non-picture styles, unreadable or another job's output."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from restyle.core import cli
from restyle.core.engines import torch_available
from restyle.core.errors import RestyleError
from restyle.core.job import MANIFEST, JobResult, _damage_warnings
from restyle.core.styles import StyleLibrary

needs_torch = pytest.mark.skipif(not torch_available(), reason="needs PyTorch")


def run(capsys, *words: str) -> tuple[int, str, str]:
    code = cli.main(list(words))
    said = capsys.readouterr()
    return code, said.out, said.err


# -- 1. a mistake points to the command's help -------------------------------------------
@pytest.mark.parametrize(
    ("words", "help_of"),
    [
        (["stylize", "in.mp4", "-o", "out", "-s", "comic-ink", "--bogus"], "stylize"),
        (["train", "in.mp4", "-k", "1=a.png", "-n", "x", "--budget", "5"], "train"),
        (["shots", "in.mp4", "extra"], "shots"),
    ],
)
def test_an_unknown_word_points_to_the_commands_help(capsys, words, help_of):
    code, _, err = run(capsys, *words)
    assert code == 2 and f"see 'restyle {help_of} --help'" in err, err
    assert "unrecognized arguments" in err


@pytest.mark.parametrize("command", [["train", "-n", "x"], ["matte", "-o", "out"]])
def test_a_negative_keyframe_says_frames_are_0_based(capsys, command):
    if command[0] == "train" and not torch_available():
        pytest.skip("train checks for PyTorch first")
    code, _, err = run(capsys, command[0], "in.mp4", *command[1:], "-k", "-1=pic.jpg")
    assert code == 2 and "frames are 0-based: --keyframe '-1=pic.jpg'" in err, err


# -- 2. --json records alike ---------------------------------------------------------------
def test_shots_and_styles_json_are_one_line(library, index_clip_h264, capsys):
    code, out, _ = run(capsys, "shots", str(index_clip_h264), "--json", "--end", "9")
    assert code == 0 and len(out.strip().splitlines()) == 1, out
    assert json.loads(out)["shots"][0]["start"] == 0
    code, out, _ = run(capsys, "styles", "--json", "--library", str(library.root))
    assert code == 0 and len(out.strip().splitlines()) == 1
    assert "comic-ink" in [s["id"] for s in json.loads(out)]


def test_styles_list_refuses_extra_words(library, capsys):
    code, out, err = run(capsys, "styles", "list", "foo", "--library", str(library.root))
    assert code == 2 and "styles list takes no names (got 'foo')" in err and out == ""


@needs_torch
def test_pack_says_output_and_install_says_folder(tmp_path, capsys):
    from test_style_install import make_trained_style

    folder = make_trained_style(tmp_path / "made" / "tiny")
    lib = str(tmp_path / "lib")
    code, out, err = run(capsys, "styles", "install", str(folder), "--json", "--library", lib)
    installed = json.loads(out)
    assert code == 0 and Path(installed["folder"]).is_dir(), err
    assert (Path(installed["folder"]) / "style.json").is_file()
    packed = tmp_path / "tiny.zip"
    code, out, err = run(capsys, "styles", "pack", "Tiny Ink", str(packed), "--json", "--library", lib)  # fmt: skip
    record = json.loads(out)
    assert code == 0 and record["output"] == record["file"] == str(packed), err


@pytest.mark.parametrize("name", ["sheet.mp4", "sheet.exr"])
def test_the_sheet_refusal_names_every_format_it_writes(tmp_path, capsys, name):
    """.exr made OpenCV raise (no clean error); the words and the check are one table."""
    picture = tmp_path / "in.png"
    cv2.imwrite(str(picture), np.zeros((32, 32, 3), np.uint8))
    code, _, err = run(capsys, "sheet", str(picture), "-o", str(tmp_path / name))
    assert code == 2 and f"cannot write a picture named {name}" in err, err
    assert all(suffix in err for suffix in cli.SHEET_SUFFIXES)
    assert all(cv2.haveImageWriter(f"x{suffix}") for suffix in cli.SHEET_SUFFIXES)


# -- 3. cancel and option warnings ---------------------------------------------------------
@needs_torch
def test_a_cancelled_training_reports_the_seconds_it_ran():
    """Its last progress event said done 120/120 (the budget) after stopping early."""
    from test_train import SMALL, CancelAtIteration, invert, moving_clip

    from restyle.core.train.trainer import train_style

    clip = moving_clip()
    events = []
    config = replace(SMALL, time_budget_s=120, max_iterations=None)
    result = train_style([(clip[0], invert(clip[0]))], config=config, progress=events.append,
                         cancel=CancelAtIteration(5))  # fmt: skip
    assert result.figures.stopped_because == "cancelled"
    last = events[-1]
    assert last.total == 120 and last.done == int(result.figures.seconds) < 120, last
    assert last.message.startswith("iteration 5")


def test_a_cancel_before_any_frame_is_one_line_not_zero_frames(capsys, tmp_path):
    result = JobResult(tmp_path / "frames", [], cancelled=True, style="stabilize", seconds=1.3)
    args = SimpleNamespace(json=False, quiet=False, cancel_code=130)
    assert cli._report_run(args, result, "png", "stabilized", {}, engine=False) == 130
    out = capsys.readouterr().out
    assert "0 frames" not in out and "frames/s" not in out, out
    assert out.splitlines() == [
        f"{tmp_path / 'frames'}: cancelled after 1.3 s",
        "cancelled: no frame finished; nothing kept",
    ]


def test_options_that_do_nothing_are_warned(library, index_clip_h264, tmp_path, capsys):
    out = str(tmp_path / "frames")
    common = ["stylize", str(index_clip_h264), "-o", out, "-s", "comic-ink", "--end", "1"]
    code, _, err = run(capsys, *common, "--temporal", "0", "--lookahead", "--audio",
                       "--library", str(library.root))  # fmt: skip
    assert code == 0, err
    assert "warning: --lookahead does nothing" in err and "--temporal is 0" in err, err
    assert "warning: --audio does nothing: png frames carry no sound" in err, err
    # Blender's Ray submission passes --no-lookahead and --no-audio: never warned
    code, _, err = run(capsys, *common, "--temporal", "0", "--no-lookahead", "--no-audio",
                       "--library", str(library.root))  # fmt: skip
    assert code == 0 and "does nothing" not in err, err


# -- 4. core words -------------------------------------------------------------------------
def test_one_damaged_frame_is_singular(tmp_path):
    plan = SimpleNamespace(info=SimpleNamespace(path=str(tmp_path / "clip.mp4")))
    (one,) = _damage_warnings(plan, [3], 10)
    assert "1 frame could not be decoded cleanly (around frame 3:" in one, one
    assert "repeat the frame before it;" in one
    (three,) = _damage_warnings(plan, [3, 4, 9], 10)
    assert "3 frames could not be decoded cleanly (around frames 3-4, 9:" in three, three
    assert "repeat the frame before them;" in three


@pytest.mark.parametrize(("name", "kind"), [("passwd", "its name has no extension"),
                                            ("notes.txt", "a .txt file")])  # fmt: skip
def test_a_style_file_that_is_no_picture_says_why(tmp_path, name, kind):
    path = tmp_path / name
    path.write_text("root:x:0:0")
    with pytest.raises(RestyleError) as caught:
        StyleLibrary(tmp_path / "lib", bundled=None).resolve(str(path))
    said = str(caught.value)
    assert f"is not a picture ({kind}); a style picture is one of" in said, said
    assert "()" not in said and ".png" in said


def test_a_damaged_manifest_is_said_so(library, index_clip_h264, tmp_path, capsys):
    out = tmp_path / "frames"
    words = ["stylize", str(index_clip_h264), "-o", str(out), "-s", "comic-ink", "--end", "1",
             "--temporal", "0", "--library", str(library.root)]  # fmt: skip
    assert run(capsys, *words)[0] == 0
    (out / MANIFEST).write_text('{"key": "abc", "made_fr')  # cut short
    code, _, err = run(capsys, *words)
    assert code == 2 and f"its record of how they were made ({MANIFEST}) is damaged" in err, err
    assert "earlier Restyle" not in err and "use --overwrite to make them again" in err
    assert run(capsys, *words, "--overwrite")[0] == 0


def test_another_jobs_output_is_named_by_its_job(library, index_clip_h264, tmp_path, capsys):
    """It said '(style stabilize, now comic-ink)', a style where a job made the frames."""
    out = str(tmp_path / "frames")
    where = [str(index_clip_h264), "-o", out, "--end", "2", "--library", str(library.root)]
    assert run(capsys, "stabilize", *where)[0] == 0
    code, _, err = run(capsys, "stylize", *where, "-s", "comic-ink", "--temporal", "0")
    assert code == 2, err
    assert "holds frames made by stabilize (another job; this one is stylize)" in err, err
    assert "style stabilize" not in err
