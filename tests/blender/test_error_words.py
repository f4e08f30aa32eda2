"""Blender says an error's settings as its own controls are labelled ('Backend', 'Start'),
never as the command line's flags ('--backend torch')."""

from __future__ import annotations

import pytest
from vse import SIZE, add_movie, all_strips, ext, sequencer_override, shown_frames

from clips import make_index_clip

pytestmark = pytest.mark.blender


def test_the_labels_blender_says_are_the_sidebars(restyle):
    """Each setting the error table gives a Blender label is a control of that name, a
    sidebar setting or a Restyle operator's (its redo panel: Stabilize's Smoothness), and a
    value it says is one of that setting's choices as the sidebar shows it."""
    import bpy

    errors = ext("core.errors")
    controls = {p.name: p for p in bpy.context.scene.restyle.bl_rna.properties}
    for name in dir(bpy.ops.restyle):
        operator = getattr(bpy.ops.restyle, name).get_rna_type()
        for prop in operator.properties:
            controls.setdefault(prop.name, prop)
    for key, row in errors.SETTINGS.items():
        if row.label is None:
            continue
        assert row.label in controls, f"{key}: no sidebar or operator setting '{row.label}'"
        if row.choices is not None:
            names = {item.name for item in controls[row.label].enum_items}
            said = errors.say(errors.setting(key, _a_value(key)), errors.BLENDER)
            assert said.startswith(f"{row.label} '") and said[len(row.label) + 2 : -1] in names


def _a_value(key: str) -> str:
    return {"format": "ffv1", "backend": "torch", "device": "cpu"}[key]


def test_an_engine_error_from_a_run_names_blenders_controls(
    scene, sequencer_area, tmp_path, restyle
):
    import bpy

    clip = make_index_clip(tmp_path / "clip.mp4", 6, SIZE, fps=24, gop=6)
    movie = add_movie(scene, sequencer_area, clip, frame_start=1)
    names = sorted(all_strips(scene).keys())
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.apply_style(
            strip=movie.name, style="starry-swirls", backend="ONNX", device="MPS"
        )
    said = str(error.value)
    assert "Device 'Metal' is PyTorch's: use Backend 'PyTorch'" in said
    assert "--" not in said
    assert sorted(all_strips(scene).keys()) == names


def test_a_strip_whose_file_is_now_shorter_is_refused_in_the_strips_terms(
    scene, sequencer_area, tmp_path, restyle
):
    """A movie re-rendered shorter under its strip: Apply says what the strip shows against
    what the file holds and how to reload it (Blender's own menu), instead of the job's
    0-based source index as if the End control held it ('End 11'), or styling the file's
    last frame over and over. After that reload, Apply styles the strip."""
    import inspect

    import bpy

    clip = make_index_clip(tmp_path / "clip.mp4", 12, SIZE, fps=24, gop=6)
    movie = add_movie(scene, sequencer_area, clip, frame_start=1)
    make_index_clip(clip, 6, SIZE, fps=24, gop=6)  # the strip was read at 12 frames
    names = sorted(all_strips(scene).keys())
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.apply_style(strip=movie.name, style="starry-swirls")
    said = str(error.value)
    menu = "Strip > Inputs > Reload Strips and Adjust Length"
    assert f"'{movie.name}' shows 12 frames but its file now has 6: reload it ({menu})" in said
    assert "End" not in said and "11" not in said
    assert sorted(all_strips(scene).keys()) == names

    inputs = bpy.types.SEQUENCER_MT_strip_input  # the menu the message names, as named
    assert inputs.bl_label == "Inputs"
    assert '"SEQUENCER_MT_strip_input"' in inspect.getsource(bpy.types.SEQUENCER_MT_strip.draw)
    assert 'text="Reload Strips and Adjust Length").adjust_length' in inspect.getsource(inputs.draw)
    with sequencer_override(scene, sequencer_area):
        assert bpy.ops.sequencer.reload(adjust_length=True) == {"FINISHED"}
    assert bpy.ops.restyle.apply_style(strip=movie.name, style="starry-swirls") == {"FINISHED"}
    (styled,) = set(all_strips(scene).keys()) - set(names)
    assert shown_frames(all_strips(scene)[styled]) == (1, 6)


def test_a_file_shortened_after_the_check_names_no_control(
    scene, sequencer_area, tmp_path, restyle, monkeypatch
):
    """Apply's checks before anything runs (``prepare``) are said in Blender's words: a
    movie re-rendered shorter as Apply checks it is refused by the job's source indices,
    said as such ('last source frame 11'), never as a control ('End 11': the sidebar's End
    holds a scene frame) nor a script's 'end=11' (the operator reported ``str(error)``)."""
    import bpy

    clip = make_index_clip(tmp_path / "clip.mp4", 12, SIZE, fps=24, gop=6)
    movie = add_movie(scene, sequencer_area, clip, frame_start=1)
    names = sorted(all_strips(scene).keys())
    job_class = ext("core.job").StyleJob
    validate = job_class.validate

    def shortened_then_validated(job):
        make_index_clip(clip, 6, SIZE, fps=24, gop=6)  # the strip was read at 12 frames
        return validate(job)

    monkeypatch.setattr(job_class, "validate", shortened_then_validated)
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.apply_style(strip=movie.name, style="starry-swirls")
    said = str(error.value)
    assert "last source frame 11 is past the source's last frame 5" in said
    assert "End" not in said and "--" not in said and "=" not in said
    assert sorted(all_strips(scene).keys()) == names
