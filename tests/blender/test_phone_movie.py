"""Phone footage (a movie tagged with a display rotation) in this Blender: what Restyle makes
of its strip has the size the strip shows, upright from 4.4 on, as stored before
(compat.MOVIE_STRIPS_SHOW_ROTATION), so a styled strip lies exactly over its source."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_media_edge import FRAMES, SIZE, encode
from vse import add_movie, all_strips, ext

pytestmark = pytest.mark.blender


def picture_size(path: Path) -> tuple[int, int]:
    import cv2

    height, width = cv2.imread(str(path)).shape[:2]
    return width, height


def test_a_styled_phone_movie_has_the_size_its_strip_shows(
    restyle, scene, sequencer_area, tmp_path
):
    import bpy

    movie = encode(tmp_path / "phone.mp4", rotation=-90)  # 64x48 stored, 48x64 upright
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    source = add_movie(scene, sequencer_area, movie, frame_start=1)
    shown = source.elements[0].orig_width, source.elements[0].orig_height
    assert shown == ((48, 64) if restyle.compat.MOVIE_STRIPS_SHOW_ROTATION else SIZE)

    before = set(all_strips(scene).keys())
    assert bpy.ops.restyle.apply_style(
        strip=source.name, style="comic-ink", backend="ONNX", temporal=0.0
    ) == {"FINISHED"}
    (styled,) = [s for s in all_strips(scene) if s.name not in before]
    frames = sorted(Path(bpy.path.abspath(styled.directory)).glob("*.png"))
    assert len(frames) == FRAMES
    assert {picture_size(f) for f in frames} == {shown}

    keyframes = ext("operators.keyframes")
    keyframes.add_keyframes(scene.restyle, source.name, [2])
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    folder = keyframes.keyframe_folder(source.name, scene)[0]
    assert picture_size(folder / "0002.png") == shown  # painted over, it trains as shown
