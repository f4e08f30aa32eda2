"""Round 19's Python API walkthrough: bad input is one RestyleError naming the setting,
and nothing changes (no traceback from deep inside, no handler left replaced); a Ray
submission finds a relative style picture as a local run finds it."""

from __future__ import annotations

import signal
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_ray_submit import job_read_back

from restyle.core.errors import COMMAND_LINE, PYTHON, RestyleError
from restyle.core.job import StyleJob

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def shot(tmp_path) -> Path:
    folder = tmp_path / "shot"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"f_{i:04d}.png"), np.full((32, 48, 3), 60 * i, np.uint8))
    return folder


# -- 1. a relative style picture on Ray ----------------------------------------------------
def test_a_relative_style_picture_is_submitted_by_its_full_path(
    shot, tmp_path, library, monkeypatch
):
    """stylize_command passed '-s footage/starry_night.jpg' as given (source, output and
    library absolute): the cluster, in a working folder of its own, said 'style picture not
    found'. Now the picture the local run would use, by its full path."""
    from restyle.core.ray_submit import stylize_command

    home = tmp_path / "project"
    (home / "footage").mkdir(parents=True)
    picture = home / "footage" / "look.png"
    cv2.imwrite(str(picture), np.full((16, 16, 3), (30, 90, 200), np.uint8))
    monkeypatch.chdir(home)
    job = StyleJob(shot, tmp_path / "out", "footage/look.png", library=library)
    local = job.validate()
    command = stylize_command(job)
    assert command[command.index("-s") + 1] == str(picture)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # as the cluster runs it
    ray = job_read_back(command[3:], monkeypatch)
    assert ray.validate().style.picture == picture == home / local.style.picture


def test_an_absolute_style_picture_is_submitted_as_given_with_the_same_key(
    shot, tmp_path, library, monkeypatch
):
    from restyle.core.ray_submit import stylize_command

    picture = tmp_path / "look.png"
    cv2.imwrite(str(picture), np.full((16, 16, 3), (30, 90, 200), np.uint8))
    job = StyleJob(shot, tmp_path / "out", str(picture), library=library)
    local = job.validate()
    command = stylize_command(job)
    assert command[command.index("-s") + 1] == str(picture)
    assert job_read_back(command[3:], monkeypatch).validate().key == local.key
    builtin = StyleJob(shot, tmp_path / "out2", "comic-ink", library=library)
    assert stylize_command(builtin)[stylize_command(builtin).index("-s") + 1] == "comic-ink"


# -- 2. cli.main gives the caller's Ctrl-C handler back ---------------------------------------
@pytest.mark.parametrize("argv", [["styles", "--json"], ["stylize", "missing.mp4", "-o", "x"]])
def test_main_gives_back_the_callers_ctrl_c_and_sigterm_handlers(argv, tmp_path, monkeypatch):
    """A script (or headless Blender) that calls cli.main kept Python's default Ctrl-C
    handler in place of its own afterwards; SIGTERM's was given back."""
    from restyle.core import cli

    monkeypatch.chdir(tmp_path)

    def mine(*_args):
        pass

    def my_term(*_args):
        pass

    before = signal.signal(signal.SIGINT, mine), signal.signal(signal.SIGTERM, my_term)
    try:
        cli.main(argv)
        assert signal.getsignal(signal.SIGINT) is mine
        assert signal.getsignal(signal.SIGTERM) is my_term
    finally:
        signal.signal(signal.SIGINT, before[0])
        signal.signal(signal.SIGTERM, before[1])


# -- 3. bad values from Python: one RestyleError -----------------------------------------------
@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("a" * 300, "has a name too long for the file system (300 bytes, at most 255)"),
        ("a" * 300 + "/clip.mp4", "has a name too long for the file system (300 bytes"),
        ("o\0ut", "holds a NUL character"),
    ],
)
def test_an_output_no_file_system_takes_is_refused_naming_it(shot, tmp_path, name, said):
    """A 300-character output name raised OSError 'File name too long' (check_settings
    read its format), a NUL ValueError 'embedded null byte'; nothing is made."""
    before = sorted(tmp_path.rglob("*"))
    job = StyleJob(shot, str(tmp_path / name), "comic-ink")
    with pytest.raises(RestyleError, match=r"^output ") as caught:
        job.validate()
    assert said in str(caught.value)
    assert caught.value.said(COMMAND_LINE).startswith("-o ")
    with pytest.raises(RestyleError, match=r"^output "):
        job.check_settings()
    assert sorted(tmp_path.rglob("*")) == before


def test_a_source_path_too_long_is_refused_naming_it(tmp_path):
    with pytest.raises(RestyleError, match=r"^source has a name too long"):
        StyleJob(str(tmp_path / ("s" * 256)), tmp_path / "out", "comic-ink").validate()


@pytest.mark.parametrize("painted", [None, 3, ""])
def test_a_matte_keyframe_that_is_no_path_is_refused_naming_it(shot, tmp_path, painted):
    """keyframes={0: None} raised TypeError from pathlib."""
    from restyle.core.mappings.matte_job import MatteJob

    job = MatteJob(shot, tmp_path / "matte", keyframes={0: painted})
    with pytest.raises(RestyleError, match=r"^keyframe 0's matte must be a picture's path"):
        job.validate()
    assert not (tmp_path / "matte").exists()


@pytest.mark.parametrize(
    ("setting", "value", "said"),
    [
        ("time_budget_s", "5", "time_budget_s must be a number, got '5'"),
        ("time_budget_s", None, "time_budget_s must be a number, got None"),
        ("time_budget_s", True, "time_budget_s must be a number, got True"),
        ("device", 5, "device must be text, got 5"),
        ("patch_size", "64", "patch_size must be a whole number, got '64'"),
        ("batch_size", None, "batch_size must be a whole number, got None"),
        ("flip", "no", "flip must be True or False, got 'no'"),
    ],
)
def test_a_training_setting_of_another_type_is_refused_naming_it(setting, value, said):
    """TypeError from round() in time_budget_refusal, AttributeError from device.partition,
    TypeError from '<'; True was taken as a 1-second budget."""
    from restyle.core.train.trainer import TrainConfig

    with pytest.raises(RestyleError) as caught:
        TrainConfig(**{setting: value})
    assert str(caught.value) == said


def test_training_settings_are_read_by_the_jobs_rule(shot, tmp_path):
    """One rule for TrainConfig's time_budget_s and MatteJob's train_seconds: True is
    refused by both (TrainConfig took it), a whole number is a number, 64.0 a whole one."""
    from restyle.core.mappings.matte_job import MatteJob
    from restyle.core.train.trainer import TrainConfig

    config = TrainConfig(time_budget_s=5, patch_size=64.0, seed=np.int64(3))
    assert (config.time_budget_s, config.patch_size, config.seed) == (5.0, 64, 3)
    assert [type(v) for v in (config.time_budget_s, config.patch_size, config.seed)] == [
        float,
        int,
        int,
    ]
    refusals = []
    for make in (
        lambda: TrainConfig(time_budget_s=True),
        lambda: MatteJob(shot, tmp_path / "m", train_seconds=True).validate(),
    ):
        with pytest.raises(RestyleError) as caught:
            make()
        refusals.append(caught.value.said(PYTHON).split(" ", 1)[1])
    assert refusals == ["must be a number, got True"] * 2
