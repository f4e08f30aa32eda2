"""Follow-ups to 0db1f5d (Apply on a styled strip styles its source; a source gone at the
end gets no strip): the source is found by what it is, not by its name. A source renamed
during the run lost its result (CANCELLED, no strip, and a remedy that restyled everything
into a new folder); a strip that later took a gone source's name was styled in its place."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from test_flow_train import exported, library, paint
from test_operators import STYLE, STYLE_NAME, media, saved  # noqa: F401  (fixtures)
from vse import add_movie, all_strips, during_the_run, ext, set_timing, top_strips

pytestmark = pytest.mark.blender


def active(scene):
    return scene.sequence_editor.active_strip


def test_a_source_renamed_during_the_run_gets_its_strip(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
    monkeypatch,
):
    import bpy

    runner = ext("operators.runner")
    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    name = source.name

    def rename():
        all_strips(scene)[name].name = "Interview"

    during_the_run(monkeypatch, ext("core.job").StyleJob, rename)
    result = bpy.ops.restyle.apply_style(strip=name, style=STYLE, frame_start=1, frame_end=4)
    assert result == {"FINISHED"}, runner.RUN.summary
    assert runner.RUN.status == runner.FINISHED
    styled = active(scene)
    assert styled.name == f"Interview.{STYLE_NAME}", styled.name
    assert styled.channel == 2 and styled.frame_final_start == 1
    assert styled[ext("operators.output_strip").STYLED_FROM] == "Interview"
    assert Path(bpy.path.abspath(styled.directory)) == Path(runner.RUN.folder)
    assert "4 styled" in runner.RUN.summary


def test_a_source_deleted_during_the_run_counts_its_frame(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
    monkeypatch,
):
    import bpy

    runner = ext("operators.runner")
    name = add_movie(scene, sequencer_area, media["clip24"], frame_start=1).name

    def delete():
        top_strips(scene.sequence_editor).remove(all_strips(scene)[name])

    during_the_run(monkeypatch, ext("core.job").StyleJob, delete)
    result = bpy.ops.restyle.apply_style(strip=name, style=STYLE, frame_start=2, frame_end=2)
    assert result == {"CANCELLED"}
    summary = runner.RUN.summary
    assert "(deleted or undone); the finished 1 frame stays in" in summary, summary
    assert f"on a strip named '{name}' showing the same file uses them" in summary


def test_a_strip_that_took_a_gone_sources_name_is_not_styled_for_it(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
):
    """The source deleted, another clip added under its name: Apply on the old styled strip
    styled that clip and said 'styled the source'."""
    import bpy

    runner = ext("operators.runner")
    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    name = source.name
    assert bpy.ops.restyle.apply_style(style="comic-ink", frame_start=1, frame_end=4) == {
        "FINISHED"
    }
    first = active(scene)
    top_strips(scene.sequence_editor).remove(all_strips(scene)[name])
    other = add_movie(scene, sequencer_area, media["clip30"], frame_start=1)
    other.name = name
    assert other.name == name
    scene.sequence_editor.active_strip = first
    assert bpy.ops.restyle.apply_style(style=STYLE, frame_start=1, frame_end=4) == {"FINISHED"}
    assert active(scene).name == f"{first.name}.{STYLE_NAME}", active(scene).name
    summary = runner.RUN.summary
    assert "styled the source" not in summary, summary
    assert (
        f"'{name}', which '{first.name}' was styled from, is not in the sequencer "
        f"(the strip named '{name}' shows another file): styled '{first.name}' itself"
    ) in summary, summary


def test_a_short_styled_strip_says_the_sources_range(scene, saved, media, sequencer_area):  # noqa: F811
    """A look tried on frames 1-4, then Apply on it with the sidebar's range: the source is
    styled over that range, which the summary now says beside the styled strip's."""
    import bpy

    runner = ext("operators.runner")
    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    assert bpy.ops.restyle.apply_style(style="comic-ink", frame_start=1, frame_end=4) == {
        "FINISHED"
    }
    first = active(scene)
    scene.restyle.frame_start, scene.restyle.frame_end = 1, 6
    assert bpy.ops.restyle.apply_style(style=STYLE) == {"FINISHED"}
    assert active(scene).frame_final_end == 7
    summary = runner.RUN.summary
    assert (
        f"styled the source '{source.name}' ('{first.name}' is Restyle's styled output of "
        f"it): frames 1-6, the sidebar's range ('{first.name}' shows frames 1-4)"
    ) in summary, summary


def test_request_filenames_are_the_plans(scene, saved, media, sequencer_area, monkeypatch):  # noqa: F811
    """``Request.filenames`` took a suffix it ignored and read the job's private plan."""
    import bpy

    strip_job = ext("operators.strip_job")
    seen = []
    finish = strip_job.StripJob.finish

    def keep(self, context, job_request, kind, value):
        seen.append(job_request.data)
        return finish(self, context, job_request, kind, value)

    monkeypatch.setattr(strip_job.StripJob, "finish", keep)
    name = add_movie(scene, sequencer_area, media["clip24"], frame_start=1).name
    assert bpy.ops.restyle.apply_style(strip=name, style=STYLE, frame_start=1, frame_end=3) == {
        "FINISHED"
    }
    request = seen[-1]
    vars(request.job).pop("_plan", None)  # not the job's to tell
    names = request.filenames()
    assert names == [element.filename for element in active(scene).elements]
    assert names == sorted(p.name for p in request.folder.glob("*.png"))


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="training needs torch")
def test_trained_from_one_keyframe_says_one(scene, saved, media, sequencer_area):  # noqa: F811
    import bpy

    runner = ext("operators.runner")
    source, folder = exported(scene, sequencer_area, media["clip24"], [3])
    paint(folder / "0003.png")
    name = f"One {saved.name}"
    assert bpy.ops.restyle.train_style(strip=source.name, name=name, time_budget=0.01) == {
        "FINISHED"
    }, runner.RUN.summary
    assert json.loads((library().trained_folder(name) / "style.json").read_text())
    assert runner.RUN.summary.startswith(f"Trained '{name}' from 1 keyframe"), runner.RUN.summary
    assert "1 keyframes" not in runner.RUN.summary


def test_a_matte_of_a_source_renamed_during_the_run_names_it_now(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
    monkeypatch,
):
    """The matte lands over the renamed source (the shared lookup) and its mark, which
    Replace Background follows, names the source as it is called now, not as it was."""
    import bpy

    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    name = source.name

    def rename():
        all_strips(scene)[name].name = "Interview"

    during_the_run(monkeypatch, ext("core.mappings.matte_job").MatteJob, rename)
    result = bpy.ops.restyle.matte_strip(strip=name, frame_start=1, frame_end=2)
    assert result == {"FINISHED"}, ext("operators.runner").RUN.summary
    assert active(scene)[ext("operators.matte").MATTE_OF] == "Interview"


def _styled_from_a_renamed_source(scene, sequencer_area, clip):
    """A source styled over frames 1-4, then renamed 'Interview': (its name at the run, the
    styled strip, active again)."""
    import bpy

    name = add_movie(scene, sequencer_area, clip, frame_start=1).name
    assert bpy.ops.restyle.apply_style(style="comic-ink", frame_start=1, frame_end=4) == {
        "FINISHED"
    }
    styled = active(scene)
    all_strips(scene)[name].name = "Interview"
    scene.sequence_editor.active_strip = styled
    return name, styled


def test_a_source_renamed_after_the_run_is_styled_from_its_styled_strip(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
):
    """The source renamed after Apply has no strip of the marked name and, never exported,
    no keyframe key: Apply on the styled strip said the source 'is not in the sequencer'
    (false) and stacked a style on the styled strip. The source is found by its file."""
    import bpy

    runner = ext("operators.runner")
    _, first = _styled_from_a_renamed_source(scene, sequencer_area, media["clip24"])
    result = bpy.ops.restyle.apply_style(style=STYLE, frame_start=1, frame_end=4)
    assert result == {"FINISHED"}, runner.RUN.summary
    styled = active(scene)
    assert styled.name == f"Interview.{STYLE_NAME}", styled.name
    assert styled[ext("operators.output_strip").STYLED_FROM] == "Interview"
    summary = runner.RUN.summary
    assert f"styled the source 'Interview' ('{first.name}' is Restyle's styled" in summary
    assert "not in the sequencer" not in summary, summary


def test_the_sidebar_names_a_styled_strips_source_as_it_is_called_now(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
):
    output_strip = ext("operators.output_strip")
    name, styled = _styled_from_a_renamed_source(scene, sequencer_area, media["clip24"])
    editor = scene.sequence_editor
    assert output_strip.styled_from_now(editor, styled) == "Restyle output of 'Interview'"
    top_strips(editor).remove(all_strips(scene)["Interview"])
    said = output_strip.styled_from_now(editor, styled)
    assert said == f"Restyle output of '{name}' (not found)", said


def test_of_several_strips_showing_the_source_the_one_below_is_styled(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
):
    """Renamed, and a second strip shows its file: the one in the nearest channel below the
    styled strip, under its frames, is its source; when no rule picks one, Apply refuses
    (styling the styled strip would stack a style on it) and says so."""
    import bpy

    runner = ext("operators.runner")
    output_strip = ext("operators.output_strip")
    clip = media["clip24"]
    name, first = _styled_from_a_renamed_source(scene, sequencer_area, clip)
    copy = add_movie(scene, sequencer_area, clip, frame_start=100, channel=1)
    copy.name = "Copy"  # not the marked name, which the first strip of that name answers to
    editor = scene.sequence_editor
    editor.active_strip = first
    assert output_strip.styled_from_now(editor, first) == "Restyle output of 'Interview'"
    assert bpy.ops.restyle.apply_style(style=STYLE, frame_start=1, frame_end=4) == {"FINISHED"}, (
        runner.RUN.summary
    )
    assert active(scene).name == f"Interview.{STYLE_NAME}", active(scene).name

    set_timing(first, content_start=50)  # over neither strip showing the file now
    editor.active_strip = first
    said = output_strip.styled_from_now(editor, first)
    assert said == f"Restyle output of '{name}' (2 strips show {Path(clip).name})", said
    before = len(all_strips(scene))
    names = "'Copy', 'Interview'"
    said = f"several strips show {Path(clip).name} ({names}): select the source and Apply"
    with pytest.raises(RuntimeError, match=re.escape(said)):  # Blender raises a refusal
        bpy.ops.restyle.apply_style(style=STYLE, frame_start=50, frame_end=53)
    assert runner.RUN.summary == f"Failed: {said}", runner.RUN.summary
    assert len(all_strips(scene)) == before


def test_one_rule_matches_a_strip_to_a_file(scene, media, sequencer_area):  # noqa: F811
    """``output_strip.shows_file``, the one rule ``strip_job.source_strip`` (the source
    during a run) and ``_is_source`` (a styled strip's source) both use: the file as
    ``strip_media`` says it, however the path is spelled; as the .blend stores it only
    where the caller kept that (a project folder moved whole); no other file."""
    import os

    output_strip = ext("operators.output_strip")
    shows = output_strip.shows_file
    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    other = add_movie(scene, sequencer_area, media["clip30"], frame_start=1, channel=2)
    path = output_strip.strip_media(source)
    folder, name = os.path.split(path)
    assert shows(source, path) and shows(source, os.path.join(folder, ".", name))
    assert not shows(other, path)
    moved = os.path.join(folder, "moved", name)  # where the project is now: not the file
    assert not shows(source, moved)
    assert shows(source, moved, stored=source.filepath)
    assert not shows(other, moved, stored=source.filepath)
    record = output_strip.media_record(source)
    assert [output_strip._is_source(s, record) for s in (source, other)] == [True, False]
