"""A run refused before it starts says so in the sidebar, and the picture has one browse button.

GUI walkthrough (Blender 4.3.2): Apply with a style picture that does not exist reported
"style picture not found: ..." while the sidebar still showed the previous run's "Cancelled:
12 of 101 frames kept ... Apply Style again to resume". And the picture's path had two
folder buttons: Blender's own (a FILE_PATH property's) and Choose Style Picture.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_panels import CheckedLayout, draw_all, labels, panel_context  # noqa: F401 (a fixture)
from vse import ext, top_strips

pytestmark = pytest.mark.blender

OLD = "Cancelled: 12 of 101 frames kept; Apply Style again to resume"
RUNS = ["apply_style", "matte_strip", "stabilize_strip", "train_style"]


def end_a_run_before(context) -> None:
    runner = ext("operators.runner")
    runner.RUN.end(runner.CANCELLED, OLD, "/tmp/old-run")
    assert OLD in labels(draw_all(context))


def refused(operator: str, **options) -> str:
    """Run ``bpy.ops.restyle.<operator>`` as a script does (execute, as in background mode),
    expecting a refusal; returns its one-line message."""
    import bpy

    with pytest.raises(RuntimeError) as raised:  # an operator's ERROR report, in a script
        getattr(bpy.ops.restyle, operator)(**options)
    return str(raised.value).strip().removeprefix("Error: ").strip()


# The sub-panel whose button runs each (round 23: a job's outcome is drawn there)
OWN_PANEL = {
    "matte_strip": ("background", "RESTYLE_PT_background"),
    "stabilize_strip": ("edit", "RESTYLE_PT_edit"),
    "train_style": ("keyframes", "RESTYLE_PT_keyframes"),
}


def own_panel_labels(context, operator: str) -> list[str]:
    if operator not in OWN_PANEL:
        return []
    module, name = OWN_PANEL[operator]
    calls: list = []
    shim = type("Shim", (), {"layout": CheckedLayout(calls)})()
    getattr(ext(f"panels.{module}"), name).draw(shim, context)
    return labels(calls)


@pytest.mark.parametrize("operator", RUNS)
def test_a_refused_run_replaces_the_last_summary(panel_context, operator):  # noqa: F811
    end_a_run_before(panel_context)
    message = refused(operator, strip="no such strip")
    assert "no strip named 'no such strip'" in message
    shown = labels(draw_all(panel_context)) + own_panel_labels(panel_context, operator)
    assert OLD not in shown
    assert f"Failed: {message}" in shown, shown


def test_apply_with_a_missing_picture_says_so_in_the_sidebar(panel_context, tmp_path):  # noqa: F811
    scene = panel_context.scene
    frame = tmp_path / "frame.png"
    cv2.imwrite(str(frame), np.full((64, 96, 3), 128, np.uint8))
    strip = top_strips(scene.sequence_editor).new_image("real", str(frame), 2, 1)
    scene.sequence_editor.active_strip = strip
    scene.restyle.style = "PICTURE"
    scene.restyle.picture = str(tmp_path / "gone.png")  # scripts set the path as a string
    assert scene.restyle.picture == str(tmp_path / "gone.png")
    end_a_run_before(panel_context)
    message = refused("apply_style", strip="real")
    assert message.startswith("style picture not found"), message
    shown = labels(draw_all(panel_context))
    assert OLD not in shown
    assert f"Failed: {message}" in shown, shown


def test_the_picture_has_one_browse_button(panel_context):  # noqa: F811
    """Blender draws a browse button beside every FILE_PATH/DIR_PATH string it shows; the
    sidebar draws Choose Style Picture (pictures only) beside the path too."""
    settings = panel_context.scene.restyle
    settings.style = "PICTURE"
    calls = draw_all(panel_context)
    drawn = [c[1] for c in calls if c[0] in ("prop", "operator")]
    assert any(c.get("property") == "picture" for c in drawn)
    browse = [
        c.get("operator") or c["property"]
        for c in drawn
        if c.get("operator") == "restyle.pick_picture"
        or (
            c.get("property") == "picture"
            and c["data"].bl_rna.properties["picture"].subtype in ("FILE_PATH", "DIR_PATH")
        )
    ]
    assert browse == ["restyle.pick_picture"], browse
    import bpy

    picker = bpy.ops.restyle.pick_picture.get_rna_type()
    assert picker.properties["filter_image"].default  # its browser shows pictures only
