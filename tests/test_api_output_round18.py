"""Round 18: frames never go into a new folder named as a movie, from any front end. 7f5e57b
refused `restyle stylize x.avi -o out.mp4 --format png` in the command line alone; Python's
``StyleJob(..., format="png", output="out.mp4")`` (and MatteJob, StabilizeJob) still made a
folder called out.mp4. The jobs check it as they place their output, one check for the
command line, Python and Blender, each saying it in its own words."""

from __future__ import annotations

import pytest

from restyle.core import cli
from restyle.core.errors import BLENDER, COMMAND_LINE, RestyleError
from restyle.core.job import StyleJob
from restyle.core.mappings.matte_job import MatteJob
from restyle.core.mappings.stabilize_job import StabilizeJob

JOBS = {"stylize": StyleJob, "matte": MatteJob, "stabilize": StabilizeJob}
MOVIE_NAMES = [("out.mp4", "png", "h264"), ("o7.mkv", "tif", "ffv1"), ("take.mov", "png", "prores")]


def make(kind: str, source, output, fmt: str, library) -> StyleJob:
    if kind == "stylize":
        return StyleJob(source, output, "comic-ink", format=fmt, end=1, library=library)
    return JOBS[kind](source, output, format=fmt, end=1, library=library)


@pytest.mark.parametrize("kind", JOBS)
@pytest.mark.parametrize(("name", "fmt", "movie"), MOVIE_NAMES)
def test_python_jobs_refuse_frames_into_a_movie_name(
    tmp_path, library, index_clip_h264, kind, name, fmt, movie
):
    out = tmp_path / name
    job = make(kind, index_clip_h264, str(out), fmt, library)
    with pytest.raises(RestyleError) as refused:
        job.run()
    said = str(refused.value)
    assert said.startswith(f"output={str(out)!r} is a movie's name: use format={movie!r}"), said
    assert said.endswith(f"or a folder name without {out.suffix} for {fmt} frames"), said
    assert list(tmp_path.iterdir()) == []  # it wrote a folder called out.mp4 full of frames
    with pytest.raises(RestyleError) as planned:  # --plan: before the source is read
        job.check_settings()
    assert str(planned.value) == said


@pytest.mark.parametrize("kind", JOBS)
def test_an_output_placed_later_is_checked_too(tmp_path, library, index_clip_h264, kind):
    """Blender's way: validated without an output, then placed (``place(plan, output)``)."""
    job = make(kind, index_clip_h264, None, "png", library)
    plan = job.validate()
    with pytest.raises(RestyleError, match="out.mp4' is a movie's name: use format='h264'"):
        job.place(plan, tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == []


def test_each_front_end_says_it_in_its_words(tmp_path, library, index_clip_h264):
    out = tmp_path / "out.mp4"
    with pytest.raises(RestyleError) as refused:
        make("stylize", index_clip_h264, out, "png", library).validate()
    error = refused.value
    assert error.said(COMMAND_LINE).startswith(f"-o {out} is a movie's name: use --format h264")
    blender = error.said(BLENDER)
    assert blender.startswith(f"output {out} is a movie's name: use Format 'H.264"), blender


def test_the_command_line_says_the_jobs_words(tmp_path, library, index_clip_h264, capsys):
    """The command line has no copy of the rule: its one line is the job's refusal."""
    out = tmp_path / "out.mp4"
    argv = ["stylize", index_clip_h264, "-o", out, "-s", "comic-ink", "--end", "1"]
    argv += ["--format", "png", "--library", library.root]
    assert cli.main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    with pytest.raises(RestyleError) as refused:
        make("stylize", index_clip_h264, str(out), "png", library).validate()
    assert refused.value.said(COMMAND_LINE) in err
    assert list(tmp_path.iterdir()) == []


def test_an_unchosen_suffix_is_refused_as_without_format(tmp_path, library, index_clip_h264):
    """'x.avi' with a sequence format reads as without one: FFV1's suffix, named."""
    job = make("stylize", index_clip_h264, tmp_path / "x.avi", "png", library)
    with pytest.raises(RestyleError, match=r"cannot write '\.avi' files without format='ffv1'"):
        job.validate()
    assert list(tmp_path.iterdir()) == []


def test_folders_are_still_written(tmp_path, library, index_clip_h264):
    """A folder that exists named like a movie is written into (as before), 'x.mp4/' that
    exists too; a plain folder name and a movie format with its suffix are placed."""
    (tmp_path / "made.mp4").mkdir()
    (tmp_path / "slash.mov").mkdir()
    outputs = [("made.mp4", "png"), ("slash.mov/", "jpg"), ("frames", "tif"), ("c.mkv", "h264")]
    for name, fmt in outputs:
        job = make("stylize", index_clip_h264, f"{tmp_path}/{name}", fmt, library)
        assert job.validate().output.name == name.rstrip("/")
    result = make("matte", index_clip_h264, tmp_path / "made.mp4", "png", library)
    assert result.validate().format.id == "png"
