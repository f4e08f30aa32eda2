"""Train says when it saved a style after too few iterations to have learned anything
(a Time Budget of 8 s under load ran 1 iteration, and the summary said nothing of it)."""

from __future__ import annotations

import importlib.util
import json

import cv2
import pytest
from test_operators import media, saved  # noqa: F401  (fixtures)
from vse import add_movie, ext

pytestmark = [
    pytest.mark.blender,
    pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="training needs torch"),
]


def exported(scene, area, clip, frames):
    """``clip`` from frame 1 with keyframes at ``frames``, exported: (strip, folder)."""
    import bpy

    source = add_movie(scene, area, clip, frame_start=1)
    ext("operators.keyframes").add_keyframes(scene.restyle, source.name, frames)
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    return source, ext("operators.output_strip").keyframe_folder(source.name, scene)[0]


def paint(path) -> None:
    image = cv2.imread(str(path))
    assert cv2.imwrite(str(path), 255 - image)


def library():
    import bpy

    return ext("core.styles").StyleLibrary(ext("props").library_root(bpy.context))


def test_a_style_trained_too_briefly_is_said_to_be(scene, saved, media, sequencer_area):  # noqa: F811
    """A Time Budget too short for the machine (8 s under load ran 1 iteration) saved the
    style with no word of it; under the trainer's first checkpoint the summary warns."""
    import bpy

    runner = ext("operators.runner")
    source, folder = exported(scene, sequencer_area, media["clip24"], [3, 6])
    paint(folder / "0003.png")
    paint(folder / "0006.png")
    name = f"Brief {saved.name}"
    assert bpy.ops.restyle.train_style(strip=source.name, name=name, time_budget=0.01) == {
        "FINISHED"
    }
    style = library().trained_folder(name)
    meta = json.loads((style / "style.json").read_text())
    iterations = meta["training"]["iterations"]
    checkpoint = meta["training"]["config"]["val_every"]
    assert 1 <= iterations < checkpoint == 100
    assert runner.RUN.status == runner.FINISHED
    summary = runner.RUN.summary
    assert summary.startswith(f"Trained '{name}' from 2 keyframes"), summary
    word = "iteration" if iterations == 1 else "iterations"
    assert f"only {iterations} training {word} (fewer than 100" in summary, summary

    # Trained as far as the checkpoint (the figures as a longer run writes them): no warning
    # (the core's check: core.train.keyframes, which restyle train says too).
    assert ext("core.train.keyframes").barely_trained(checkpoint, checkpoint) == ""
