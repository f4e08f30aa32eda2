"""A movie whose sound outlasts its pictures, re-rendered shorter under its strip. Blender
sizes an MP4's strip by its pictures whatever its sound, a Matroska file's by its container
(sound included, the last picture held past the pictures): an MP4 re-rendered shorter is
refused like any shortened file; it was held at its last picture, because its container
(its sound) still spanned the strip."""

from __future__ import annotations

import cv2
import pytest
from test_short_file import MENU, movie_with_longer_sound, pictures
from vse import add_movie, ext

from clips import read_index

pytestmark = pytest.mark.blender


@pytest.fixture
def saved(scene, tmp_path):
    """A .blend of this test's own: its keyframe folder lies beside it."""
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    return tmp_path


def test_an_mp4_re_rendered_shorter_is_refused_whatever_its_sound(scene, saved, sequencer_area):
    """12 pictures and 2 s of sound load as a 12-frame strip; re-rendered to 6 pictures
    (the same sound), keyframes 3 and 10 are refused whole: keyframe 10 was exported as the
    file's last picture (5), which the strip never shows there."""
    import bpy

    clip = movie_with_longer_sound(saved / "clip.mp4", 12)
    strip = add_movie(scene, sequencer_area, clip, frame_start=1)
    assert strip.frame_final_duration == 12
    ext("operators.keyframes").add_keyframes(scene.restyle, strip.name, [3, 10])
    movie_with_longer_sound(clip, 6)
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.export_keyframes(strip=strip.name, load=False)
    assert (
        f"'{strip.name}' shows 12 frames but its file now has 6: reload it ({MENU}) or trim it"
        in str(error.value)
    )
    assert pictures(scene, strip) == []


def test_a_matroska_file_re_rendered_shorter_still_spanning_its_strip_is_held(
    scene, saved, sequencer_area
):
    """The same in Matroska: 12 pictures and 2 s of sound load as 48 frames; re-rendered to
    6 pictures its container still spans them, and the strip shows the last picture past
    the 6th (as the 12-picture file did past the 12th): keyframe 20 exports picture 5."""
    import bpy

    clip = movie_with_longer_sound(saved / "clip.mkv", 12)
    strip = add_movie(scene, sequencer_area, clip, frame_start=1)
    if strip.frame_final_duration <= 12:
        pytest.skip("this Blender sizes the strip by its pictures alone")
    ext("operators.keyframes").add_keyframes(scene.restyle, strip.name, [3, 20])
    movie_with_longer_sound(clip, 6)
    assert bpy.ops.restyle.export_keyframes(strip=strip.name, load=False) == {"FINISHED"}
    exported = [read_index(cv2.imread(str(p))[:, :, ::-1]) for p in pictures(scene, strip)]
    assert exported == [2, 5]
