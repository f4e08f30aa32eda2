"""Apply on an image strip of a plate numbered from 1001 (plate.1001.png ...): the output
folder holds the plate's own frame numbers (001003.png for plate.1003.png), and the output
strip lands frame-accurately above its source, its elements those files in order. A rerun
finds the strip already there (the names it compares are the run's own)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_operators import STYLE, saved  # noqa: F401  (fixture)
from vse import SIZE, add_images, all_strips, ext, render, shown_frames

from clips import make_image_sequence

pytestmark = pytest.mark.blender


def test_apply_on_a_plate_from_1001_lands_its_numbers_above_it(scene, saved, tmp_path):  # noqa: F811
    import bpy
    import cv2

    files = make_image_sequence(tmp_path / "plate", 6, SIZE, name="plate.{:04d}.png", first=1001)
    source = add_images(scene, files, frame_start=1, name="plate")
    result = bpy.ops.restyle.apply_style(strip=source.name, style=STYLE, frame_start=3, frame_end=5)
    assert result == {"FINISHED"}
    styled = scene.sequence_editor.active_strip
    assert styled != source and styled.channel == source.channel + 1
    assert shown_frames(styled) == (3, 5)
    names = ["001003.png", "001004.png", "001005.png"]  # scene frames 3..5: plate.1003..1005
    assert [e.filename for e in styled.elements] == names
    folder = Path(bpy.path.abspath(styled.directory))
    assert sorted(p.name for p in folder.glob("*.png")) == names

    written = [cv2.imread(str(folder / n)).astype(int)[..., ::-1] for n in names]
    shown = render(scene, [3, 4, 5], only=styled)
    for frame, picture in shown.items():
        errors = [np.abs(picture.astype(int) - w).mean() for w in written]
        assert int(np.argmin(errors)) == frame - 3, (frame, errors)

    count = len(all_strips(scene))
    again = bpy.ops.restyle.apply_style(strip=source.name, style=STYLE, frame_start=3, frame_end=5)
    assert again == {"FINISHED"}
    assert len(all_strips(scene)) == count  # already shown: no duplicate on top
    assert "already shows this output" in ext("operators.runner").RUN.summary
