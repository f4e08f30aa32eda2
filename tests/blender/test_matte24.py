"""Matte on a strip with no one in it says the job's warning of a matte keeping almost
nothing once, in scene frames (the job measures the frames it makes, for every front end;
Matte read the finished strip's files itself before, which said it a second time now).

Footage: scikit-image's rocket on its pad (a real photograph, NASA, public domain, no
people), panned 3 px a frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from vse import add_images, all_strips, ext

pytestmark = pytest.mark.blender

WIDTH, HEIGHT = 352, 288
WORDS = "the matte keeps almost nothing ("


def test_matte_says_a_nearly_empty_matte_once_in_scene_frames(scene, tmp_path):
    import bpy
    import skimage.data

    scene.render.resolution_x, scene.render.resolution_y = WIDTH, HEIGHT
    photo = cv2.resize(skimage.data.rocket(), (WIDTH, HEIGHT))
    folder = tmp_path / "rocket"
    folder.mkdir()
    files = []
    for i in range(4):
        files.append(folder / f"{i:04d}.png")
        cv2.imwrite(str(files[-1]), cv2.cvtColor(np.roll(photo, 3 * i, axis=1), cv2.COLOR_RGB2BGR))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    source = add_images(scene, files, frame_start=10, channel=2, name="rocket")
    before = set(all_strips(scene).keys())
    assert bpy.ops.restyle.matte_strip(strip=source.name, frame_start=10, frame_end=13) == {
        "FINISHED"
    }
    (matte,) = [s for s in all_strips(scene) if s.name not in before]
    said = ext("operators.runner").RUN.summary
    assert said.count(WORDS) == 1, said  # the job's, not the strip's files read again
    assert "(0.0% of the picture, frames 10-13), so a new background" in said, said
    assert "frames 0-3" not in said  # the source's numbering, as the command line says it
    # Matte reads no files of its own (StripJob's hook); Replace Background still does
    strip_job = ext("operators.strip_job").StripJob
    assert ext("operators.matte").RESTYLE_OT_matte_strip._made_warnings is strip_job._made_warnings
    assert "frames 10-13" in ext("operators.matte").nearly_empty(matte)
