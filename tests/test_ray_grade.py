"""A graded strip's Run on: Ray (core/ray_submit.py): the submitted command line carries the
strip's Saturation and Multiply (a Replace blend's opacity folded in, Convert to Float), and
read back by the CLI makes the job Blender made, with the same settings key. No Ray needed."""

from __future__ import annotations

import numpy as np
import pytest
from test_ray_submit import job_read_back

from restyle.core.job import StyleJob
from restyle.core.ray_runner import job_fields
from restyle.core.ray_submit import stylize_command
from restyle.core.strip_frames import StripColor

F32 = np.float32
# As Blender hands them over (compat.strip_color): float32 settings, the opacity multiplied
# in as Python floats, so neither is a short decimal.
BLENDER_GRADE = StripColor(float(F32(0.3)), float(F32(1.1)) * float(F32(0.7)), as_float=True)


def graded(source, out, library, color):
    return StyleJob(source, out, "comic-ink", library=library, strip_color=color)


def test_a_graded_strip_is_submitted_with_its_grade(
    tmp_path, library, monkeypatch, index_clip_h264
):
    job = graded(index_clip_h264, tmp_path / "out", library, BLENDER_GRADE)
    local = job.validate()
    command = stylize_command(job)
    said = [float(command[command.index(flag) + 1]) for flag in ("--saturation", "--multiply")]
    assert said == [BLENDER_GRADE.saturation, BLENDER_GRADE.multiply]  # to the last bit
    assert "--convert-to-float" in command and "--opacity" not in command
    ray = job_read_back(command[3:], monkeypatch)
    assert ray.strip_color == BLENDER_GRADE
    assert ray.validate().key == local.key
    ungraded = graded(index_clip_h264, tmp_path / "out", library, None)
    assert ungraded.validate().key != local.key


@pytest.mark.parametrize(
    "color", [StripColor(0.0, 1.0), StripColor(1.0, 1.8), StripColor(0.5, 0.5)]
)
def test_each_grade_reads_back_under_blenders_key(
    tmp_path, library, monkeypatch, index_clip_h264, color
):
    job = graded(index_clip_h264, tmp_path / "out", library, color)
    command = stylize_command(job)
    assert "--convert-to-float" not in command
    ray = job_read_back(command[3:], monkeypatch)
    assert (ray.strip_color.saturation, ray.strip_color.multiply) == (
        color.saturation,
        color.multiply,
    )
    assert ray.validate().key == job.validate().key


def test_blender_5_1s_order_is_submitted_and_read_back(
    tmp_path, library, monkeypatch, index_clip_h264
):
    """A grade read on Blender 5.2+ (Convert to Float before Saturation) reaches the node in
    that order (--saturate-in-float), under the submitting Blender's key; the bare flag an
    older submission sends still means 4.2-5.1's order, and a grade the order cannot change
    sends the bare flag."""
    color = StripColor(0.5, 4.0, as_float=True, saturate_in_float=True)
    job = graded(index_clip_h264, tmp_path / "out", library, color)
    command = stylize_command(job)
    assert command[command.index("--convert-to-float") + 1] == "--saturate-in-float"
    ray = job_read_back(command[3:], monkeypatch)
    assert ray.strip_color == color
    assert ray.validate().key == job.validate().key
    older = [word for word in command if word != "--saturate-in-float"]  # before the order
    assert job_read_back(older[3:], monkeypatch).strip_color == StripColor(0.5, 4.0, True)
    unsaturated = graded(index_clip_h264, tmp_path / "out", library, StripColor(1, 2, True, True))
    command = stylize_command(unsaturated)
    assert "--convert-to-float" in command and "--saturate-in-float" not in command


@pytest.mark.parametrize("color", [None, StripColor(), StripColor(as_float=True)])
def test_an_ungraded_strip_is_submitted_without_grade_options(
    tmp_path, library, monkeypatch, index_clip_h264, color
):
    """No grade, no options: a cluster node whose Restyle has none still runs the job."""
    job = graded(index_clip_h264, tmp_path / "out", library, color)
    command = stylize_command(job)
    grade = {"--saturation", "--multiply", "--opacity", "--convert-to-float"}
    assert not {*grade, "--saturate-in-float"} & set(command)
    assert job_read_back(command[3:], monkeypatch).validate().key == job.validate().key


def test_every_chunk_of_a_ray_run_is_given_the_grade(tmp_path, library):
    """The node's ``--ray auto`` run hands each chunk's job the driver's fields."""
    job = graded(tmp_path / "clip.mp4", tmp_path / "out", library, BLENDER_GRADE)
    assert job_fields(job)["strip_color"] == BLENDER_GRADE
