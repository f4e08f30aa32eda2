"""Errors a Blender user meets name what Blender shows, never the command line's commands or
a Python keyword: the walkthrough (bpy 5.0.1) met 'use a built-in id (see 'restyle styles')'
and 'add some, or pass keyframes='."""

from __future__ import annotations

import inspect

import pytest
from vse import SIZE, add_movie, all_strips, ext

from clips import make_index_clip

pytestmark = pytest.mark.blender


def test_an_unknown_style_names_no_command(scene, sequencer_area, tmp_path):
    import bpy

    clip = make_index_clip(tmp_path / "clip.mp4", 4, SIZE, fps=24, gop=4)
    movie = add_movie(scene, sequencer_area, clip, frame_start=1)
    names = sorted(all_strips(scene).keys())
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.apply_style(strip=movie.name, style="nope")
    said = str(error.value)
    assert "unknown style 'nope': use a built-in style's id (such as '" in said
    assert "restyle " not in said and "--" not in said
    assert sorted(all_strips(scene).keys()) == names


def test_training_without_keyframes_names_the_sidebars_buttons(scene, sequencer_area, tmp_path):
    import bpy

    clip = make_index_clip(tmp_path / "clip.mp4", 4, SIZE, fps=24, gop=4)
    movie = add_movie(scene, sequencer_area, clip, frame_start=1)
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.train_style(strip=movie.name, name="Ink")
    said = str(error.value)
    panel, add, suggest = "Keyframes", "Add Keyframe", "Suggest Keyframes"
    assert (
        f"'{movie.name}' has no keyframes: add some in the {panel} panel ({add} or {suggest})"
        in said
    )
    assert "=" not in said
    # The words are the sidebar's: its Keyframes panel draws both buttons (Add Keyframe as
    # its + icon, named by its tooltip).
    keyframes = ext("panels.keyframes").RESTYLE_PT_keyframes
    assert keyframes.bl_label == panel
    drawn = inspect.getsource(keyframes.draw)
    assert '"restyle.keyframe_add"' in drawn and '"restyle.suggest_keyframes"' in drawn
    assert bpy.types.RESTYLE_OT_keyframe_add.bl_label == add
    assert bpy.types.RESTYLE_OT_suggest_keyframes.bl_label == suggest
