"""Blender says an error's settings as its own controls are labelled ('Backend', 'Start'),
never as the command line's flags ('--backend torch')."""

from __future__ import annotations

import shutil

import pytest
from vse import SIZE, add_movie, all_strips, ext, sequencer_override, shown_frames

from clips import make_index_clip

pytestmark = pytest.mark.blender


# The strip's own controls as Blender's Strip sidebar labels them (bl_ui/properties_strip.py
# gives Opacity and Multiply a text of their own: their RNA names are longer).
STRIP_LABELS = {
    "Saturation": "color_saturation",
    "Multiply": "color_multiply",
    "Opacity": "blend_alpha",
}


def test_the_labels_blender_says_are_the_sidebars(restyle):
    """Each setting the error table gives a Blender label is a control of that name, a
    sidebar setting, a Restyle operator's (its redo panel: Stabilize's Smoothness) or the
    strip's own (Color's Saturation, Multiply; Opacity), and a value it says is one of that
    setting's choices as the sidebar shows it."""
    import bpy

    errors = ext("core.errors")
    controls = {p.name: p for p in bpy.context.scene.restyle.bl_rna.properties}
    strip = (getattr(bpy.types, "MovieStrip", None) or bpy.types.MovieSequence).bl_rna
    for label, identifier in STRIP_LABELS.items():
        controls.setdefault(label, strip.properties[identifier])
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


# -- round 20: a taken name and a stray folder for Train Style ------------------------------
def a_trained_style(folder, name: str):
    """A real (untrained) few-shot style at ``folder``, as training writes it (torch)."""
    import numpy as np

    pytest.importorskip("torch")
    trainer, generator = ext("core.train.trainer"), ext("models.fewshot").FewShotGenerator(4, 1)
    state = {k: v.detach().numpy().copy() for k, v in generator.state_dict().items()}
    figures = trainer.TrainFigures(1, 0.1, 0.1, None, 0.5, 1, "budget", "cpu")
    result = trainer.TrainResult(state, generator.arch_config, figures)
    thumbnail = np.zeros((16, 16, 3), np.uint8)
    kept = dict(source="c.mp4", keyframes=[0], thumbnail=thumbnail)
    return ext("core.train.artifact").write_trained_style(folder, result, name=name, **kept)


@pytest.mark.parametrize("overwrite", [False, True])
def test_training_under_a_stray_folders_name_says_what_the_folder_is(
    scene, sequencer_area, tmp_path, overwrite
):
    """A folder with no style.json (an interrupted delete) was 'already exists; use another
    name or Replace Existing', and Replace Existing then trained to refuse it: said at once."""
    import bpy

    clip = make_index_clip(tmp_path / "clip.mp4", 4, SIZE, fps=24, gop=4)
    movie = add_movie(scene, sequencer_area, clip, frame_start=1)
    library = ext("core.styles").StyleLibrary(ext("props").library_root(bpy.context))
    folder = library.trained_folder(f"Drift {tmp_path.name}")
    folder.mkdir(parents=True)
    try:
        with pytest.raises(RuntimeError) as error:
            bpy.ops.restyle.train_style(
                strip=movie.name,
                keyframes="2",
                styled=str(tmp_path),
                name=f"Drift {tmp_path.name}",
                overwrite=overwrite,
            )
    finally:
        folder.rmdir()  # still empty: nothing written into it
    said = str(error.value)
    assert f"{folder} is in the style library but is not a style (no style.json" in said
    assert "move or remove it by hand, then train again" in said
    assert "already exists" not in said and "--" not in said, said


@pytest.mark.usefixtures("own_output_folder")
def test_the_advice_after_a_short_training_names_replace_existing(scene, sequencer_area, tmp_path):
    """'train again with a longer time budget' led to 'already exists; use another name or
    Replace Existing': the advice names Replace Existing, and training again with it, as
    advised, replaces the style."""
    import bpy

    pytest.importorskip("torch")
    from test_flow_train import exported, library, paint

    runner = ext("operators.runner")
    clip = make_index_clip(tmp_path / "clip.mp4", 8, SIZE, fps=24, gop=4)
    source, folder = exported(scene, sequencer_area, clip, [3, 6])
    paint(folder / "0003.png")
    paint(folder / "0006.png")
    name = f"Brief {tmp_path.name}"
    train = dict(strip=source.name, name=name, time_budget=0.01)
    assert bpy.ops.restyle.train_style(**train) == {"FINISHED"}
    try:
        summary = runner.RUN.summary
        assert "longer time budget and turn on Replace Existing" in summary, summary
        assert "--" not in summary and "overwrite" not in summary, summary
        assert bpy.ops.restyle.train_style(**train, overwrite=True) == {"FINISHED"}
        assert runner.RUN.status == runner.FINISHED, runner.RUN.summary
    finally:
        shutil.rmtree(library().trained_folder(name))
