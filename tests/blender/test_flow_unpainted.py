"""Train refuses keyframes nobody painted: Export Keyframes writes the frame itself to paint
over, and training with one of two still unpainted said 'Trained X from 2 keyframes'."""

from __future__ import annotations

import pytest
from test_flow_train import exported, library, paint, pytestmark  # noqa: F401
from test_operators import media, saved  # noqa: F401  (fixtures)
from vse import ext


def test_a_keyframe_left_unpainted_is_refused(scene, saved, media, sequencer_area):  # noqa: F811
    import bpy

    runner = ext("operators.runner")
    source, folder = exported(scene, sequencer_area, media["clip24"], [3, 6, 9])
    paint(folder / "0006.png")
    name = f"Half Painted {saved.name}"
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.train_style(strip=source.name, name=name, time_budget=1.0)
    said = str(error.value)
    assert "0003.png (keyframe 3), 0009.png (keyframe 9) are still the unpainted frames" in said
    assert str(folder) in said and "0006.png" not in said
    assert not library().trained_folder(name).exists()
    assert runner.RUN.status == runner.FAILED and "0003.png" in runner.RUN.summary
