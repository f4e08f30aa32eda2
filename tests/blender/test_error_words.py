"""Blender says an error's settings as its own controls are labelled ('Backend', 'Start'),
never as the command line's flags ('--backend torch')."""

from __future__ import annotations

import pytest
from vse import SIZE, add_movie, all_strips, ext

from clips import make_index_clip

pytestmark = pytest.mark.blender


def test_the_labels_blender_says_are_the_sidebars(restyle):
    """Each setting the error table gives a Blender label is a sidebar setting of that
    name, and a value it says is one of that setting's choices as the sidebar shows it."""
    import bpy

    errors = ext("core.errors")
    controls = {p.name: p for p in bpy.context.scene.restyle.bl_rna.properties}
    for key, row in errors.SETTINGS.items():
        if row.label is None:
            continue
        assert row.label in controls, f"{key}: the sidebar has no setting '{row.label}'"
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


def test_a_refusal_before_the_run_names_blenders_controls(
    scene, sequencer_area, tmp_path, restyle, monkeypatch
):
    """Apply's checks before anything runs (``prepare``) are said in the sidebar's words
    too: a movie re-rendered shorter as Apply checks it is refused with 'End 11', not a
    script's 'end=11' (the operator reported ``str(error)``)."""
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
    assert "End 11 is past the source's last frame 5" in said
    assert "--" not in said and "=" not in said
    assert sorted(all_strips(scene).keys()) == names
