"""Round 20's second Blender walkthrough (bpy 5.3.0, Blender 4.3.2; run on bpy 5.0.1):

- Apply again after renaming the source selects the strip already showing its frames
  (d0a8027) and the sidebar shows that summary: the run's folder is the one that strip
  shows (made under the old name), not the new name's, which no strip shows, so the
  sidebar took the summary for one whose strip was undone and hid it;
- Stabilize's slider is Stabilize Strength, not a second 'Strength' under the style's, and
  its range refusal says so in Blender;
- with no keyframes the Keyframes panel says why Export and Train are greyed, and how to
  add one;
- training into a stray folder that holds the user's files names them, as
  'restyle styles delete' does; the short-training advice says 'turn on Replace Existing'.
"""

# ruff: noqa: F811 (test_panels' panel_context fixture, imported, is the tests' argument)

from __future__ import annotations

import pytest
from test_panels import CheckedLayout, enabled_operators, labels, panel_context  # noqa: F401
from test_polish_round20 import _clip, _run
from vse import ext

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]


# -- 1. a renamed source's summary shows ------------------------------------------------------
def test_the_summary_of_apply_after_a_rename_shows(scene, tmp_path):
    """The shortcut's summary, '... were made while 'shot1' was named 'clip'', was kept with
    the new name's folder (shot1-...): the sidebar hid it, with the styled strip active and
    with the source active."""
    about = ext("panels.sequencer").summary_about
    clip = _clip(scene, tmp_path)
    styled, _ = _run(scene, clip.name, frame_start=4, frame_end=9)
    clip.name = "shot1"
    _, summary = _run(scene, "shot1", new=0, frame_start=4, frame_end=9)
    assert "made while 'shot1' was named 'clip'" in summary, summary
    editor = scene.sequence_editor
    assert editor.active_strip == styled  # selected it
    assert about(scene), summary
    editor.active_strip = clip
    assert about(scene), summary


# -- 3. readable controls -----------------------------------------------------------------------
def test_stabilize_strength_is_named_apart_from_the_styles(panel_context):
    import bpy

    errors = ext("core.errors")
    settings = panel_context.scene.restyle.bl_rna.properties
    operator = bpy.ops.restyle.stabilize_strip.get_rna_type().properties
    assert settings["strength"].name == "Strength"
    assert settings["stabilize_strength"].name == "Stabilize Strength"
    assert operator["strength"].name == "Stabilize Strength"  # the button's, the same
    job = ext("core.mappings.stabilize").StabilizeSettings(strength=2.0)
    with pytest.raises(errors.RestyleError) as refused:
        job.check()
    said = refused.value.said(errors.BLENDER)
    assert said == "Stabilize Strength 2.0 is out of range 0..1", said
    assert refused.value.said(errors.COMMAND_LINE).startswith("--strength 2.0 ")


def _keyframes_panel(context) -> list:
    calls: list = []
    ext("panels.keyframes").RESTYLE_PT_keyframes.draw(
        type("Shim", (), {"layout": CheckedLayout(calls)})(), context
    )
    return calls


def test_no_keyframes_says_why_export_is_greyed(panel_context):
    scene = panel_context.scene
    strip = scene.sequence_editor.active_strip
    calls = _keyframes_panel(panel_context)
    assert not enabled_operators(calls)["restyle.export_keyframes"]
    said = " ".join(labels(calls))
    assert "No keyframes to export or train from" in said, labels(calls)
    assert "add one at the playhead (+), or Suggest" in said, labels(calls)
    keyframe = scene.restyle.keyframes.add()
    keyframe.strip, keyframe.frame = strip.name, 1
    calls = _keyframes_panel(panel_context)
    assert enabled_operators(calls)["restyle.export_keyframes"]
    assert "No keyframes" not in " ".join(labels(calls)), labels(calls)


# -- 4. words ---------------------------------------------------------------------------------
def test_training_into_a_stray_folder_names_what_it_holds(tmp_path):
    artifact = ext("core.train.artifact")
    errors = ext("core.errors")
    stray = tmp_path / "styles" / "Mine"
    stray.mkdir(parents=True)
    (stray / "notes.txt").write_text("mine")
    with pytest.raises(errors.RestyleError) as refused:
        artifact.refuse_a_taken_name(stray, "Mine", overwrite=True)
    said = str(refused.value)
    assert said.startswith(f"{stray} is in the style library but is not a style (no style.json"), (
        said
    )
    assert ", and it holds notes.txt: 'Mine' would be saved there" in said, said
    (stray / "notes.txt").unlink()  # empty, as an interrupted delete leaves it: nothing held
    with pytest.raises(errors.RestyleError) as refused:
        artifact.refuse_a_taken_name(stray, "Mine", overwrite=True)
    assert "holds" not in str(refused.value), refused.value


def test_the_short_training_advice_says_turn_on_replace_existing():
    errors = ext("core.errors")
    barely = ext("core.train.keyframes").barely_trained
    blender = barely(7, 100, errors.BLENDER)
    assert blender.endswith("a longer time budget and turn on Replace Existing"), blender
    assert barely(7, 100, errors.COMMAND_LINE).endswith("and --overwrite to replace it")
    assert barely(7, 100, errors.PYTHON).endswith("and overwrite=True to replace it")
