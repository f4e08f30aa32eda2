"""Round 22's carried-over Blender issues (uifix; bpy 5.0.1 and 4.2):

- a renamed source strip applied over another range reuses the frames finished while it
  had its old name (they are in the folder named after it; the settings key, which stamps
  the source's file by what it holds, says they are the same frames), instead of styling
  every frame again;
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_polish_round20 import _clip, _run

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]


# -- 4. a renamed source reuses its finished frames over another range ---------------------
def test_a_renamed_source_reuses_its_frames_over_another_range(scene, tmp_path):
    import bpy

    clip = _clip(scene, tmp_path)
    first, summary = _run(scene, clip.name, frame_start=2, frame_end=5)
    assert "4 styled, 0 reused" in summary, summary
    clip.name = "shot"
    second, summary = _run(scene, "shot", frame_start=3, frame_end=8)
    assert "3 styled, 3 reused" in summary, summary  # frames 3..5 were made as 'clip'
    assert second.directory == first.directory  # the frames are in the folder made then
    assert second.frame_final_start == 3 and len(second.elements) == 6
    # No folder named after the new name: no second copy of the frames was written.
    folders = Path(bpy.path.abspath(first.directory)).parent
    assert not list(folders.glob("shot-*")), list(folders.iterdir())
