"""Round 18's de-duplication review: one wording for a cancelled movie (local or --ray),
one frame-span helper, one time-budget check, one painting reader, and another job's output
named by the job its record says ran, not by its style's id."""

from __future__ import annotations

import argparse

import pytest

from restyle.core.cli import _report_run
from restyle.core.errors import RestyleError
from restyle.core.job import JobResult, StyleJob, _made_otherwise


# -- 1. a --ray movie cancelled before its first frame: 'cancelled after N s' -----------
def cancelled_summary(capsys, ray: str | None) -> list[str]:
    result = JobResult("out.mp4", [], cancelled=True, style="starry-swirls", seconds=1.3)
    args = argparse.Namespace(json=False, quiet=False, ray=ray)
    assert _report_run(args, result, "h264", "styled", {}) == 130
    return capsys.readouterr().out.splitlines()


def test_a_ray_movie_cancelled_before_any_frame_says_it_as_a_local_one(capsys):
    """It printed 'out.mp4: 0 frames styled in 1.3 s (0.00 frames/s)' under --ray."""
    ray, local = cancelled_summary(capsys, "auto"), cancelled_summary(capsys, None)
    assert ray[0] == local[0] == "out.mp4: cancelled after 1.3 s; no movie written", ray
    assert ray[1:] == ["cancelled: no frame finished; nothing kept"], ray


# -- 5. another job's output is named by the job its record says ran --------------------
def made(style: str, job: str | None = "stylize") -> dict:
    record = {"source": "s", "stamps": "content", "style": style, "settings": {}}
    return record if job is None else {**record, "job": job}


def test_a_user_style_named_matte_is_no_other_job():
    """A style whose id is 'matte' read as matte's output: 'made by matte (another job)'."""
    said = _made_otherwise(made("matte"), made("comic-ink"))
    assert said == "with other settings (style matte, now comic-ink)", said


def test_another_job_is_named_by_its_record_and_an_older_record_by_its_style():
    assert _made_otherwise(made("comic-ink", "matte"), made("comic-ink")).startswith(
        "by matte (another job; this one is stylize)"
    )
    older = _made_otherwise(made("stabilize", None), made("comic-ink"))
    assert older == "by stabilize (another job; this one is stylize)", older


def test_each_job_keeps_its_job_in_its_record(library, index_clip_h264, tmp_path):
    from restyle.core.mappings.stabilize_job import StabilizeJob

    for job in (StyleJob(index_clip_h264, tmp_path / "a", "comic-ink", end=1),
                StabilizeJob(index_clip_h264, tmp_path / "b", end=1)):  # fmt: skip
        job.library = library
        assert job._made_from(job.check_settings())["job"] == job.stage


# -- 3. one time-budget rule: the command line, MatteJob and TrainConfig ------------------
@pytest.mark.parametrize("seconds", [0.001, 86401.0, 1e9])
def test_train_config_refuses_the_budgets_matte_refuses(seconds):
    """TrainConfig checked only '> 0': the Python API trained for 1e9 s, which matte refused."""
    from restyle.core.train.trainer import TrainConfig

    with pytest.raises(RestyleError) as refused:  # errors.setting's words (round 19)
        TrainConfig(time_budget_s=seconds)
    said = f"time_budget_s={seconds!r} is out of range 0.01..86400 (24 h)"
    assert str(refused.value) == f"Invalid training settings: {said}"


@pytest.mark.parametrize("seconds", [0.01, 60.0, 86400.0])
def test_train_config_takes_the_budgets_matte_takes(seconds):
    from restyle.core.train.trainer import TrainConfig

    assert TrainConfig(time_budget_s=seconds).time_budget_s == seconds


def test_the_command_line_says_the_budget_as_before():
    from restyle.core.cli import _time_budget
    from restyle.core.errors import COMMAND_LINE

    with pytest.raises(RestyleError) as refused:
        _time_budget(argparse.Namespace(time_budget=0.001), 60.0, "time_budget")
    assert refused.value.said(COMMAND_LINE).startswith("--time-budget 0.001 is out of range 0.01")
    assert _time_budget(argparse.Namespace(time_budget=None), 60.0, "time_budget") == 60.0


# -- 2. one helper for frames in words: core's warnings and Blender's summaries -------------
@pytest.mark.parametrize(
    ("indices", "said"),
    [
        ([5], "frame 5"),
        ([3, 4, 5, 9], "frames 3-5, 9"),
        (range(120, 121), "frame 120"),  # Blender's summary of scene frames first..last
        (range(3, 10), "frames 3-9"),
        (range(-20, -8), "frames -20 to -9"),
        ([9, 9], "frames 9, 9"),  # a frame named twice is not one frame
        (range(0, 40, 2), "frames 0, 2, 4, 6, 8, 10, 12, 14, ..."),
    ],
)
def test_frames_are_named_by_one_helper(indices, said):
    from restyle.core.words import frames_named

    assert frames_named(indices) == said


# -- 4. one painting reader: training's paintings and a matte's masks --------------------
@pytest.mark.parametrize("what", ["painting", "mask"])
def test_paintings_and_masks_are_refused_in_one_set_of_words(tmp_path, what):
    from restyle.core.mappings.matte import read_mask
    from restyle.core.train.keyframes import read_painting, read_styled_keyframe

    def read(path):  # as training reads a painting, or a matte a mask
        if what == "mask":
            return lambda: read_mask(path, 16, 16, 7)
        return lambda: read_styled_keyframe(path, (16, 16), 7)

    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a picture")
    for path, words in ((tmp_path / "nope.png", f"keyframe 7's {what} not found: "),
                        (junk, f"cannot read keyframe 7's {what} {junk}: not an image or corrupt")):  # fmt: skip
        for reading in (read(path), lambda p=path: read_painting(p, 7, what)):
            with pytest.raises(RestyleError) as refused:
                reading()
            assert str(refused.value).startswith(words), refused.value


def test_blenders_least_time_budget_is_in_range():
    """Blender's float properties are float32: Time Budget 0.01 arrives as 0.0099999998, and
    9e17951's rule refused every Blender training at the least budget."""
    import numpy as np

    from restyle.core.train.trainer import TrainConfig

    assert TrainConfig(time_budget_s=float(np.float32(0.01))).time_budget_s < 0.01
