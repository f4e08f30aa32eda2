"""Round 23: a .blend a test saved no longer carries its frames folder into later tests.

The session keeps a saved .blend's path (only reading the home file clears it), so every
later test's frames went beside the last one saved, to its ``//restyle/``, and Apply reused
an earlier test's frames of the same pictures and settings ('0 styled, 4 reused' in CI:
2346a58). ``own_output_folder`` and each module now save it again into a folder of their own
(conftest ``saved_again``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from vse import ext

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]

SAVED: list[Path] = []  # the folder the first test saved its .blend into


def test_a_test_saves_its_blend(restyle, tmp_path):
    import bpy

    assert bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "first.blend")) == {"FINISHED"}
    folder, stored = ext("operators.output_strip").output_folder("plain", "starry-swirls", "k")
    assert stored.startswith("//restyle/") and folder.is_relative_to(tmp_path)
    SAVED.append(tmp_path)


def test_a_later_test_styles_into_a_folder_of_its_own(restyle, tmp_path):
    import bpy

    if not SAVED:
        pytest.skip("the test before did not save its .blend")
    output_strip = ext("operators.output_strip")
    assert bpy.data.filepath  # still saved: beside a .blend, not in the temporary folder
    folder, stored = output_strip.output_folder("plain", "starry-swirls", "k")
    assert stored.startswith("//restyle/")
    assert not folder.is_relative_to(SAVED[0]), folder  # not the earlier test's frames
    assert not folder.exists()  # nothing made there yet
    keyframes, _ = output_strip.keyframe_folder("plain")
    assert not keyframes.is_relative_to(SAVED[0]), keyframes
