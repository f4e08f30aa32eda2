"""An HDR movie strip in Blender: Restyle's Blender jobs read frames through core.media, so
they get the same SDR BT.709 picture as the command line (BT.2390 tone map, 203-nit white),
not the coded PQ values: a keyframe exported from a PQ strip shows a 203-nit grey near SDR
white (0.90), where the coded value is 0.58."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from test_hdr_source import PQ, coded_movie, pq_signal
from vse import add_movie, ext

pytestmark = pytest.mark.blender


def test_a_keyframe_exported_from_a_pq_strip_is_tone_mapped(
    restyle, scene, sequencer_area, tmp_path
):
    import bpy

    movie = coded_movie(tmp_path / "hdr.mkv", [np.full(3, pq_signal(203))] * 4, PQ)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    source = add_movie(scene, sequencer_area, movie, frame_start=1)
    keyframes = ext("operators.keyframes")
    keyframes.add_keyframes(scene.restyle, source.name, [1])
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    folder = keyframes.keyframe_folder(source.name, scene)[0]
    (exported,) = sorted(Path(folder).glob("*.png"))
    picture = cv2.imread(str(exported), cv2.IMREAD_UNCHANGED)
    level = picture.mean() / np.iinfo(picture.dtype).max
    assert 0.88 < level < 0.93, level
