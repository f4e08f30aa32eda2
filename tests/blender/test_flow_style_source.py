"""Apply Style on Restyle's own styled strip styles the strip it was made from: trying looks
one after another (Comic Ink, Apply, then Starry Swirls, Apply) stacked each style on the
previous output, silently ('clip24.mp4.Comic Ink.Starry Swirls'). A source deleted while
the run goes on gets no strip over nothing: its frames wait for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_operators import STYLE, STYLE_NAME, media, saved  # noqa: F401  (fixtures)
from test_panels import CheckedLayout, labels
from vse import add_movie, all_strips, during_the_run, ext, top_strips

pytestmark = pytest.mark.blender


def styled_strip(scene):
    return scene.sequence_editor.active_strip


def test_apply_on_a_styled_strip_styles_its_source(scene, saved, media, sequencer_area):  # noqa: F811
    import bpy

    runner, sequencer = ext("operators.runner"), ext("panels.sequencer")
    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    assert bpy.ops.restyle.apply_style(style="comic-ink", frame_start=1, frame_end=4) == {
        "FINISHED"
    }
    first = styled_strip(scene)
    assert first != source and first.name.startswith(f"{source.name}.")

    # The styled strip is active: Apply styles its source, placed as for the source.
    assert bpy.ops.restyle.apply_style(style=STYLE, frame_start=1, frame_end=4) == {"FINISHED"}
    second = styled_strip(scene)
    assert second.name == f"{source.name}.{STYLE_NAME}", second.name
    assert second.channel == 3 and first.channel == 2  # the first free channel above the source
    folder = Path(bpy.path.abspath(second.directory)).name
    assert folder.startswith(ext("operators.output_strip").slug(source.name) + "-starry")
    assert f"styled the source '{source.name}'" in runner.RUN.summary, runner.RUN.summary
    sidebar: list = []
    sequencer.draw_strip(CheckedLayout(sidebar), scene)
    assert f"Restyle output of '{source.name}'" in labels(sidebar)

    # Deliberately: the styled strip itself.
    scene.sequence_editor.active_strip = first
    assert bpy.ops.restyle.apply_style(
        style=STYLE, frame_start=1, frame_end=4, restyle_output_itself=True
    ) == {"FINISHED"}
    third = styled_strip(scene)
    assert third.name == f"{first.name}.{STYLE_NAME}", third.name
    assert "styled the source" not in runner.RUN.summary


def test_a_styled_strip_whose_source_is_gone_is_styled_itself_and_said(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
):
    import bpy

    runner = ext("operators.runner")
    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    name = source.name
    assert bpy.ops.restyle.apply_style(style="comic-ink", frame_start=1, frame_end=4) == {
        "FINISHED"
    }
    first = styled_strip(scene)
    top_strips(scene.sequence_editor).remove(all_strips(scene)[name])
    scene.sequence_editor.active_strip = first
    assert bpy.ops.restyle.apply_style(style=STYLE, frame_start=1, frame_end=4) == {"FINISHED"}
    assert styled_strip(scene).name == f"{first.name}.{STYLE_NAME}"
    assert f"'{name}', which '{first.name}' was styled from, is not in the sequencer" in (
        runner.RUN.summary
    )


def test_a_source_deleted_during_the_run_gets_no_strip(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
    monkeypatch,
):
    """The styled strip landed with a success summary over nothing. Now: no strip, the
    frames kept (a later Apply on the source reuses them), and a warning that says so."""
    import bpy

    runner = ext("operators.runner")
    name = add_movie(scene, sequencer_area, media["clip24"], frame_start=1).name

    def delete():
        strip = all_strips(scene).get(name)
        if strip is not None:
            top_strips(scene.sequence_editor).remove(strip)

    during_the_run(monkeypatch, ext("core.job").StyleJob, delete)
    result = bpy.ops.restyle.apply_style(strip=name, style=STYLE, frame_start=1, frame_end=4)
    assert result == {"CANCELLED"}
    assert list(all_strips(scene)) == []
    assert runner.RUN.status == runner.CANCELLED
    summary = runner.RUN.summary
    assert summary.startswith(f"No strip added: '{name}' left the sequencer"), summary
    folder = Path(runner.RUN.folder)
    said = bpy.path.relpath(str(folder)) if bpy.data.filepath else str(folder)  # '//restyle/'
    assert f"stay in {said} (" in summary and "4 styled, 0 reused" in summary
    assert sorted(p.name for p in folder.glob("*.png")) == [f"{i:06d}.png" for i in range(4)]

    monkeypatch.undo()
    again = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    assert again.name == name
    assert bpy.ops.restyle.apply_style(strip=name, style=STYLE, frame_start=1, frame_end=4) == {
        "FINISHED"
    }
    assert "0 styled, 4 reused" in runner.RUN.summary
    assert Path(bpy.path.abspath(styled_strip(scene).directory)) == folder


def test_a_stabilized_strip_is_a_source_to_style(scene, saved, sequencer_area, tmp_path):  # noqa: F811
    """Stabilize, then style: the documented chain. A Stabilize output carries no style
    mark, so Apply styles it, not the shaky strip under it."""
    import bpy
    from test_edit_tools import shaky

    from clips import encode_clip

    runner = ext("operators.runner")
    clip = encode_clip(tmp_path / "shaky.mp4", shaky("astronaut", 6, 4))
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    assert bpy.ops.restyle.stabilize_strip(strip=source.name, frame_start=1, frame_end=4) == {
        "FINISHED"
    }
    steady = styled_strip(scene)
    assert steady != source
    assert bpy.ops.restyle.apply_style(style=STYLE, frame_start=1, frame_end=4) == {"FINISHED"}
    assert styled_strip(scene).name == f"{steady.name}.{STYLE_NAME}"
    assert "styled the source" not in runner.RUN.summary
