"""Round 25's Blender walkthrough (Debian's 4.3.2 under Xvfb at 1280x800, vtest.avi and
Megamind.avi; bpy 5.0.1 for training): what a video editor tripped over.

1. Train's outcome in the Keyframes panel took 8 lines at the sidebar's width (the listed
   name, the iteration's three clauses, the whole library path, then "'X (trained)' is now
   the style above: Apply it"): it takes at most 4, the path on one line with a button that
   opens the folder; the whole story stays in Blender's report (Info editor).
2. A tool's warning sat under its check mark, as if all were well: Replace Background on a
   matte that keeps almost nothing (vtest.avi's distant walkers: 0.3%) drew 'Replace
   Background: ... is the new background; the matte keeps almost nothing ...' as one
   block with a check mark (Train's and Export's warnings likewise). A job's warnings had
   lines of their own with a warning icon (after the engine): a tool's have them too.
3. Split at Cuts on Megamind.avi, then Ctrl+Z: the one strip came back, and Stabilize and
   Cuts went on saying "'Megamind' split at frames 202, 299, 355 into 4 strips". An undo
   takes a tool's summary away with its edit (Replace Background's, Suggest Keyframes' too)."""

from __future__ import annotations

import importlib.util

import cv2
import numpy as np
import pytest
from test_edit_tools import clips  # noqa: F401  (fixture)
from test_flow_train import exported, paint
from test_operators import media, saved  # noqa: F401  (fixtures)
from test_panels import labels
from test_ui_round24 import idle  # noqa: F401  (fixture)
from test_uifix_round23 import draw
from vse import add_images, add_movie, all_strips, ext, sequencer_override

pytestmark = pytest.mark.blender

SIDEBAR_WIDTH = 40  # characters a label line holds in a default sidebar (300 px at 1x)


def after_train_button(calls) -> list:
    """The Keyframes panel's calls drawn under its Train Style button."""
    at = next(i for i, c in enumerate(calls) if c[1].get("operator") == "restyle.train_style")
    return calls[at + 1 :]


def said_blocks(calls) -> list[tuple[str, list[str]]]:
    """The labels drawn, as (icon, lines): a wrapped text's lines after its first have
    a blank icon (``draw_wrapped``)."""
    blocks: list[tuple[str, list[str]]] = []
    for kind, args in calls:
        if kind == "label":
            icon = args.get("icon", "NONE")
            if icon == "BLANK1" and blocks:
                blocks[-1][1].append(args.get("text", ""))
            else:
                blocks.append((icon, [args.get("text", "")]))
    return blocks


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="training needs torch")
def test_train_says_how_it_ended_in_a_few_lines_with_the_folder_a_click_away(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
    idle,  # noqa: F811
    monkeypatch,
):
    import bpy

    text = ext("panels.text")
    monkeypatch.setattr(text, "wrap_width", lambda context: SIDEBAR_WIDTH)
    for module in ("panels.keyframes", "panels.sequencer"):
        monkeypatch.setattr(ext(module), "wrap_width", lambda context: SIDEBAR_WIDTH)
    source, folder = exported(scene, sequencer_area, media["clip24"], [3, 6])
    paint(folder / "0003.png")
    paint(folder / "0006.png")
    name = "Compact ink"
    with sequencer_override(scene, sequencer_area):
        result = bpy.ops.restyle.train_style(strip=source.name, name=name, time_budget=0.01)
        assert result == {"FINISHED"}
        kept = ext("core.styles").StyleLibrary(ext("props").library_root(bpy.context))
        kept = kept.trained_folder(name)
        listed = ext("props").CATALOG.name_of(name)
        below = after_train_button(draw(bpy.context, "keyframes", "RESTYLE_PT_keyframes"))
    # the budget is too short to learn: its warning on lines of their own (they were under
    # the outcome's check mark), then at most 4 lines (8 before, with a name this long)
    blocks = said_blocks(below)
    warned = [lines for icon, lines in blocks if icon == "ERROR"]
    assert len(warned) == 1 and "barely learned" in " ".join(warned[0]), blocks
    lines = [line for icon, block in blocks if icon != "ERROR" for line in block]
    said = " ".join(lines)
    assert len(lines) <= 4, lines
    assert f"Trained '{name}' from 2 keyframes (iteration " in said, lines
    assert f"Picked above as '{listed}'" in said, lines  # the style list's name for it
    shown = ext("operators.modal_job").blender_path(str(kept))
    assert any(line.endswith(shown) for line in lines), lines  # the folder, on one line
    opens = [c[1] for c in below if c[0] == "operator" and c[1]["operator"] == "wm.path_open"]
    assert len(opens) == 1, below  # ... and a button that opens it
    assert idle.folder == str(kept)


def test_replace_background_warns_of_a_nearly_empty_matte_with_a_warning_icon(
    scene,
    sequencer_area,
    idle,  # noqa: F811
    tmp_path,
):
    import bpy

    files = []
    for i in range(4):
        rgba = np.zeros((96, 160, 4), np.uint8)
        rgba[:4, :4] = 255  # 0.1% of the picture kept
        files.append(tmp_path / f"{i:04d}.png")
        assert cv2.imwrite(str(files[-1]), rgba)
    matte = add_images(scene, files, frame_start=1, channel=2, name="walkers.Matte")
    matte[ext("operators.matte").MATTE_OF] = "walkers"  # as Matte marks it
    scene.sequence_editor.active_strip = matte
    with sequencer_override(scene, sequencer_area):
        done = bpy.ops.restyle.replace_background(strip=matte.name, background="#000000")
        assert done == {"FINISHED"}
        blocks = said_blocks(draw(bpy.context, "background", "RESTYLE_PT_background"))
    made = "Replace Background: 'walkers.Matte.Background' is the new background"
    checked = [" ".join(lines) for icon, lines in blocks if icon == "CHECKMARK"]
    assert checked == [made], blocks  # alone under the check mark
    (warned,) = [" ".join(lines) for icon, lines in blocks if icon == "ERROR"]
    assert warned.startswith("The matte keeps almost nothing (0.1% of the picture"), blocks


def test_an_undone_split_takes_its_summary_with_it(
    scene,
    clips,  # noqa: F811
    sequencer_area,
    idle,  # noqa: F811
):
    import bpy

    source = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    name = scene.name
    bpy.ops.ed.undo_push(message="before split")
    done = bpy.ops.restyle.split_at_cuts("EXEC_DEFAULT", True, strip=source.name)
    assert done == {"FINISHED"}  # as test_edit_tools' (with an override, undo crashes)
    with sequencer_override(scene, sequencer_area):
        said = " ".join(labels(draw(bpy.context, "edit", "RESTYLE_PT_edit")))
    assert "split at frames" in said and "into 3 strips" in said, said
    bpy.ops.ed.undo()  # one undo step puts the one strip back
    scene = bpy.data.scenes[name]
    assert len(all_strips(scene)) == 1
    with sequencer_override(scene, sequencer_area):
        said = " ".join(labels(draw(bpy.context, "edit", "RESTYLE_PT_edit")))
    assert "split at frames" not in said, said
