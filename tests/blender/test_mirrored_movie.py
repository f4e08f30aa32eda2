"""A movie whose display matrix mirrors it, in this Blender: a keyframe Restyle exports from
its strip is the picture the strip itself renders, so a styled strip lies over its source.
Blender's movie strips ignore the mirror (4.4+ apply the matrix's rotation only, 4.2/4.3
nothing): the jobs read such a movie as ``compat.MOVIE_STRIPS_UPRIGHT`` says, not as
players show it (mirrored)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_media_mirror import close, mirrored_movie
from vse import add_movie, ext, render

pytestmark = pytest.mark.blender


@pytest.mark.parametrize("degrees, hflip", [(0, True), (90, True)])
def test_a_keyframe_of_a_mirrored_movie_is_what_its_strip_shows(
    restyle, scene, sequencer_area, tmp_path, degrees, hflip
):
    import bpy

    if not hasattr(restyle.compat, "MOVIE_STRIPS_UPRIGHT"):
        pytest.skip("compat.py does not say yet how movie strips apply a display matrix")
    movie = mirrored_movie(tmp_path / "selfie.mp4", degrees, hflip, False)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    size = (48, 64) if degrees % 180 else (64, 48)  # a quarter turn in 4.4+: sides swap
    scene.render.resolution_x, scene.render.resolution_y = size  # before: the strip fills it
    source = add_movie(scene, sequencer_area, movie, frame_start=1)
    element = source.elements[0]
    if (element.orig_width, element.orig_height) != size:
        pytest.skip("this Blender shows movies as stored (before 4.4), not turned")
    shown = render(scene, [1], only=source)[1]
    keyframes = ext("operators.keyframes")
    keyframes.add_keyframes(scene.restyle, source.name, [1])
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    folder = keyframes.keyframe_folder(source.name, scene)[0]
    (exported,) = sorted(folder.glob("*.png"))
    exported = cv2.cvtColor(cv2.imread(str(exported)), cv2.COLOR_BGR2RGB)
    assert close(exported, shown), np.abs(exported.astype(int) - shown).max()


def test_a_job_on_a_mirrored_movie_lies_over_its_strip(restyle, scene, sequencer_area, tmp_path):
    """The jobs read the movie as the strip shows it (the job refused 'rotation' as an
    `upright` before): a steady clip stabilised is the picture its strip renders."""
    import bpy

    if not hasattr(restyle.compat, "MOVIE_STRIPS_UPRIGHT"):
        pytest.skip("compat.py does not say yet how movie strips apply a display matrix")
    movie = mirrored_movie(tmp_path / "selfie.mp4", 0, True, False)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    scene.render.resolution_x, scene.render.resolution_y = 64, 48
    source = add_movie(scene, sequencer_area, movie, frame_start=1)
    shown = render(scene, [1], only=source)[1]
    assert bpy.ops.restyle.stabilize_strip(strip=source.name, crop=0.0) == {"FINISHED"}
    (out,) = (tmp_path / "restyle").iterdir()
    first = sorted(out.glob("*.png"))[0]
    styled = cv2.cvtColor(cv2.imread(str(first)), cv2.COLOR_BGR2RGB)
    assert close(styled, shown), np.abs(styled.astype(int) - shown).max()
