"""Round 22's CLI walkthrough, Blender's side: an Apply over a range the styled strip
already shows reported its summary without the 'Restyle:' every other report of a run
has (the status bar showed a bare "clip.Starry Swirls already shows ...")."""

from __future__ import annotations

import pytest
from test_blend_round19 import STYLE, _scene_with
from vse import ext

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]
OPTIONS = {"style": STYLE, "strength": 0.0, "temporal": 0.0}


def test_already_shows_is_reported_as_restyles(scene, tmp_path, capfd):
    import bpy

    _red, source = _scene_with(scene, tmp_path, "ALPHA_OVER", 1.0)
    assert bpy.ops.restyle.apply_style(strip=source.name, **OPTIONS) == {"FINISHED"}
    capfd.readouterr()
    assert bpy.ops.restyle.apply_style(strip=source.name, **OPTIONS) == {"FINISHED"}
    summary = ext("operators.runner").RUN.summary
    assert "already shows this output" in summary, summary
    printed = capfd.readouterr()  # Blender prints an operator's reports headless
    said = [line for line in printed.out.splitlines() if "already shows" in line]
    assert said == [f"Info: Restyle: {summary}"], printed
