"""Train says what training warns of: a keyframe over a flat frame (black, a plain title
card) teaches the style nothing about the look (668cfb4). ``restyle train`` printed the
warning; Blender's Train finished as 'Trained X from 2 keyframes' with no word of it."""

from __future__ import annotations

import cv2
import numpy as np
from test_flow_train import library, paint, pytestmark  # noqa: F401
from test_operators import saved  # noqa: F401  (fixture)
from vse import add_images, ext

from clips import index_frame


def test_a_flat_keyframe_is_warned_of(scene, saved, sequencer_area, tmp_path):  # noqa: F811
    """Scene frame 5 shows a black frame (source frame 0): the warning names the keyframe
    as the user keyed it (scene frame 5), and the report is a WARNING."""
    import bpy

    runner = ext("operators.runner")
    folder = tmp_path / "shot"
    folder.mkdir()
    files = []
    for i in range(4):
        frame = np.zeros((96, 160, 3), np.uint8) if i == 0 else index_frame(i, (160, 96))
        files.append(folder / f"frame_{i + 1:04d}.png")
        assert cv2.imwrite(str(files[-1]), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    source = add_images(scene, files, frame_start=5)
    ext("operators.keyframes").add_keyframes(scene.restyle, source.name, [5, 7])
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    exported = ext("operators.output_strip").keyframe_folder(source.name, scene)[0]
    paint(exported / "0005.png")
    paint(exported / "0007.png")
    name = f"Dark {saved.name}"
    assert bpy.ops.restyle.train_style(strip=source.name, name=name, time_budget=0.01) == {
        "FINISHED"
    }
    assert library().trained_folder(name).exists()
    assert runner.RUN.status == runner.FINISHED
    summary = runner.RUN.summary
    assert summary.startswith(f"Trained '{name}' from 2 keyframes"), summary
    assert "; keyframe 5 is a flat frame (one color, such as black): it teaches" in summary
    assert "keyframe 0" not in summary
