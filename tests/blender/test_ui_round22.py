"""Round 22's carried-over Blender issues (uifix; bpy 5.0.1 and 4.2):

- a renamed source strip applied over another range reuses the frames finished while it
  had its old name (they are in the folder named after it; the settings key, which stamps
  the source's file by what it holds, says they are the same frames), instead of styling
  every frame again;
- Painted From's empty Folder field said nothing of what empty means: it shows the folder
  Export Keyframes writes to, greyed in the field (Blender's placeholder), and a line says
  that empty means that folder, with its whole path;
"""

# ruff: noqa: F811 (test_panels' panel_context fixture, imported, is the tests' argument)

from __future__ import annotations

from pathlib import Path

import pytest
from test_panels import CheckedLayout, labels, panel_context  # noqa: F401
from test_polish_round20 import _clip, _run
from test_polish_round20b import _keyframes_panel
from vse import ext

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


# -- 3. an empty Painted From folder says what it means -------------------------------------
def test_an_empty_painted_folder_shows_the_export_folder(panel_context):
    scene = panel_context.scene
    strip = scene.sequence_editor.active_strip
    settings = scene.restyle
    settings.styled_from, settings.styled_folder = "FOLDER", ""
    exported = ext("operators.output_strip").keyframe_folder(strip.name, scene)[1]
    calls = _keyframes_panel(panel_context)
    field = next(c[1] for c in calls if c[0] == "prop" and c[1]["property"] == "styled_folder")
    assert field.get("placeholder") == exported, field  # greyed in the empty field
    said = labels(calls)
    first = next(i for i, t in enumerate(said) if t.startswith("Empty: Export Keyframes' folder"))
    # the whole path, in lines broken after a '/': the field cuts a long one
    assert exported in "".join(said[first:]).partition(",")[2].strip(), said
    # A folder given: the field shows it, and no line about an empty one.
    settings.styled_folder = "//paint/"
    said = " ".join(labels(_keyframes_panel(panel_context)))
    assert "Empty:" not in said, said
    # Painted from the strips above: no folder at all.
    settings.styled_from = "STRIPS"
    calls = _keyframes_panel(panel_context)
    assert not [c for c in calls if c[0] == "prop" and c[1]["property"] == "styled_folder"]
