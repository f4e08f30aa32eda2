"""Train Style refuses a Time Budget out of the one range (core/train/budget.py) before its
worker starts, in Blender's words: a script's train_style(time_budget=1e6) started and then
failed in the worker, naming TrainConfig's 'time_budget_s'."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from vse import add_images, ext

from clips import index_frame

# an unsaved .blend's keyframes go to the temporary folder: a fresh one in each test
pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]


@pytest.mark.parametrize(("given", "said"), [(1e6, "1000000.0"), (-5.0, "-5.0"), (0.005, "0.005")])
def test_an_out_of_range_time_budget_is_refused_before_training(scene, tmp_path, given, said):
    import bpy

    runner = ext("operators.runner")
    files = []
    for i in range(3):
        files.append(tmp_path / f"frame_{i + 1:04d}.png")
        frame = index_frame(i, (160, 96))
        assert cv2.imwrite(
            str(files[-1]), cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR)
        )
    source = add_images(scene, files, frame_start=1)
    ext("operators.keyframes").add_keyframes(scene.restyle, source.name, [1, 3])
    # painted keyframes, as a real run has: before, the worker was what refused the budget
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    for path in ext("operators.output_strip").keyframe_folder(source.name, scene)[0].iterdir():
        assert cv2.imwrite(str(path), 255 - cv2.imread(str(path)))
    scene.restyle.time_budget = 0.01  # a hard min=0 made -5 the sidebar's: 0.01 s, trained
    name = f"Budget {said}"
    with pytest.raises(RuntimeError) as refused:
        bpy.ops.restyle.train_style(strip=source.name, name=name, time_budget=given)
    words = f"Time Budget {said} is out of range 0.01..86400 (24 h)"
    assert words in str(refused.value), refused.value
    assert "time_budget_s" not in str(refused.value)
    assert runner.RUN.status == runner.FAILED  # refused in prepare: no worker ran
    assert runner.RUN.summary == f"Failed: {words}", runner.RUN.summary
    library = ext("core.styles").StyleLibrary(ext("props").library_root(bpy.context))
    assert not library.trained_folder(name).exists()
