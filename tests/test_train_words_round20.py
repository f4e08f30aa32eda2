"""Training's words, round 20. (1) Training under the name of a stray folder (no style.json:
an interrupted delete leaves one) said "a style named 'X' already exists; use another name or
--overwrite", and --overwrite then trained for the whole budget to refuse "exists and is not a
trained style": now it says what the folder is, before anything is trained, as ``styles
install`` does (``artifact.refuse_a_stray_folder``). (2) A style trained too briefly was told
"train again with a longer time budget", which led straight into 'already exists': the advice
names the way to replace it, in each front end's words. (3) The training report's two L1s
("L1 0.3032 · validation L1 0.0329") say what each measures."""

from __future__ import annotations

import re

import cv2
import pytest
from helpers_cli import run

from restyle.core.errors import BLENDER, COMMAND_LINE, PYTHON, RestyleError
from restyle.core.styles import StyleLibrary

from clips import make_image_sequence

pytestmark = pytest.mark.usefixtures("private_home")

STRAY = "is in the style library but is not a style (no style.json; an interrupted delete"


def _stray_folder(tmp_path, name: str):
    folder = StyleLibrary(tmp_path / "home", bundled=None).trained_folder(name)
    folder.mkdir(parents=True)
    return folder


# -- 1. a stray folder's name ------------------------------------------------------------------
@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_training_under_a_stray_folders_name_says_what_the_folder_is(
    pan_clip, tmp_path, capsys, overwrite
):
    """Both ways refused at once, with what to do: the old words sent the user to --overwrite,
    which refused after training (here: after reading the source, whose keyframe is absent)."""
    folder = _stray_folder(tmp_path, "Drift")
    code, _, err = run(
        ["train", str(pan_clip), "-k", "5=absent.png", "-n", "Drift", *overwrite], capsys
    )
    assert code == 2
    assert f"{folder} {STRAY}" in err and "'Drift' would be saved there" in err, err
    assert "move or remove it by hand, then train again" in err
    assert "already exists" not in err and "absent.png" not in err
    assert folder.is_dir() and not any(folder.iterdir())


@pytest.mark.parametrize("overwrite", [False, True])
def test_python_training_under_a_stray_folders_name_says_what_the_folder_is(tmp_path, overwrite):
    from restyle.core.train.keyframes import train_from_keyframes

    folder = _stray_folder(tmp_path, "Drift")
    library = StyleLibrary(tmp_path / "home", bundled=None)
    with pytest.raises(RestyleError) as error:
        train_from_keyframes(
            tmp_path / "absent.mp4", {0: tmp_path / "0.png"}, "Drift", library, overwrite=overwrite
        )
    assert str(error.value).startswith(f"{folder} {STRAY}")
    assert str(error.value).endswith("then train again")


def test_writing_a_trained_style_over_a_stray_folder_says_what_the_folder_is(tmp_path):
    """``write_trained_style`` (Python's path from ``train_style``'s result, to any folder)
    without overwrite: was 'already exists; use another name or overwrite=True', which
    overwrite=True refused as this says (test_train.py::test_artifact_refuses_to_overwrite)."""
    pytest.importorskip("torch")
    from test_style_install import make_trained_style

    folder = _stray_folder(tmp_path, "Drift")
    with pytest.raises(RestyleError) as error:
        make_trained_style(folder, "Drift")
    assert str(error.value) == f"{folder} exists and is not a trained style; not replacing it"
    assert not any(folder.iterdir())


def test_a_real_style_is_still_a_taken_name(tiny_style, tmp_path, capsys):
    code, _, err = run(
        ["train", str(tmp_path / "absent.mp4"), "-k", "0=a.png", "-n", "Tiny"], capsys
    )
    assert code == 2
    assert "a style named 'Tiny' already exists; use another name or --overwrite" in err


# -- 2. the advice after a short training ------------------------------------------------------
def test_the_advice_after_a_short_training_names_how_to_replace_the_style():
    from restyle.core.train.keyframes import barely_trained

    advice = "train again with a longer time budget and {} to replace it"
    assert barely_trained(7, 100).endswith(advice.format("overwrite=True"))
    assert barely_trained(7, 100, PYTHON) == barely_trained(7, 100)
    assert barely_trained(7, 100, COMMAND_LINE).endswith(advice.format("--overwrite"))
    blender = "train again with a longer time budget and turn on Replace Existing"
    assert barely_trained(7, 100, BLENDER).endswith(blender)
    assert barely_trained(100, 100, COMMAND_LINE) == ""


def test_restyle_train_briefly_then_as_advised(tmp_path, capsys):
    """The command line's warning names --overwrite, and training again with it, under the
    same name, as advised, is not refused (was: 'already exists')."""
    pytest.importorskip("torch")
    frames = make_image_sequence(tmp_path / "shot", 4)
    painted = tmp_path / "0002.png"
    assert cv2.imwrite(str(painted), 255 - cv2.imread(str(frames[2])))
    args = ["train", str(frames[0].parent), "-k", f"2={painted}", "-n", "Brief",
            "--time-budget", "0.01"]  # fmt: skip
    code, record, err = run(args, capsys)
    assert code == 0 and record["training"]["iterations"] < 100
    assert "longer time budget and --overwrite to replace it" in err, err
    code, record, err = run([*args, "--overwrite"], capsys)
    assert code == 0 and record["saved"], err


# -- 3. the report's two L1s -------------------------------------------------------------------
def test_the_training_report_says_what_each_l1_measures(tmp_path):
    """Training's L1 is a running mean on hard-mined patches, validation's the best on
    held-out tiles: 0.3032 against 0.0329 read as a fault without it."""
    pytest.importorskip("torch")
    import numpy as np

    from restyle.core.train.trainer import TrainConfig, train_style

    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (96, 160, 3), np.uint8)
    messages: list[str] = []
    config = TrainConfig(max_iterations=3, time_budget_s=600, val_every=2, seed=0)
    train_style(
        [(source, 255 - source)], config=config, progress=lambda p: messages.append(p.message)
    )
    number = r"\d\.\d{4}"
    assert re.fullmatch(
        rf"iteration 3 · training L1 {number}, running mean on hard patches"
        rf" · validation L1 {number}, best on held-out tiles",
        messages[-1],
    ), messages[-1]


def test_a_step_past_the_budget_says_how_long_it_ran(monkeypatch):
    """Round 21: on a loaded CPU one iteration took 103 s of a 25 s budget and the last
    report still read '25/25 s' with nothing else: the final message says the seconds it
    ran and what one iteration took."""
    pytest.importorskip("torch")
    import time
    import types

    import numpy as np

    from restyle.core.train import trainer
    from restyle.core.train.trainer import TrainConfig, train_style

    calls = iter(range(10**6))  # the clock reads 0 s until the first step is under way, then 100 s
    slow = types.SimpleNamespace(
        perf_counter=lambda: 0.0 if next(calls) < 2 else 100.0, process_time=time.process_time
    )
    monkeypatch.setattr(trainer, "time", slow)
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (96, 160, 3), np.uint8)
    seen: list = []
    config = TrainConfig(max_iterations=2, time_budget_s=25, val_every=2, seed=0)
    train_style([(source, 255 - source)], config=config, progress=seen.append)
    last = seen[-1]
    assert (last.done, last.total) == (25, 25)
    assert "ran 100 s of a 25 s budget: 100.0 s an iteration here" in last.message, last.message
