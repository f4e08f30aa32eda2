"""Round 24's Blender walkthrough (Debian's 4.3.2 under Xvfb at 1280x800; screenshots
/work/notes/shots24/): how a tool or job ended is said in the sub-panel of its button.

1. Export Keyframes' outcome ('2 keyframes exported to ...', or its 'Failed:') was drawn
   under Apply Style, at the top of the sidebar: it is drawn in the Keyframes panel, under
   Export's button; Split at Cuts' and Snap Cuts' in Stabilize and Cuts; Replace
   Background's in Background;
2. Train's and Suggest Keyframes' refusals (before their job starts: 'no styled image for
   keyframe 6 in ...') were drawn under Apply Style too: their operators kept ModalJob's
   task, 'job', which no sub-panel claims;
3. Train's summary said neither where the style was saved nor what the style list calls it
   ('NAME (trained)'): it says both (round 25: on lines of their own); and since 5995b90
   it said "(saving and checking the style)", the last event's words, where it said what
   training reached: it says that again;
   its line "'X' is now the style above" (round 25: "Picked above as 'X'") stayed after
   another style was picked."""

from __future__ import annotations

import importlib.util

import pytest
from test_edit_tools import clips  # noqa: F401  (fixture)
from test_flow_train import exported, paint
from test_operators import media, saved  # noqa: F401  (fixtures)
from test_panels import labels
from test_uifix_round23 import draw
from vse import add_movie, ext, sequencer_override

pytestmark = pytest.mark.blender


@pytest.fixture
def idle():
    runner = ext("operators.runner")
    yield runner.RUN
    runner.RUN.end(runner.IDLE, "")
    runner.RUN.task = "apply"


def texts(context, module: str, name: str) -> str:
    """The label text one Restyle panel's draw() shows, as one string."""
    return " ".join(labels(draw(context, module, name)))


# The panels a run's outcome may show in: (module, panel class)
PANELS = {
    "main": ("sequencer", "RESTYLE_PT_main"),
    "keyframes": ("keyframes", "RESTYLE_PT_keyframes"),
    "edit": ("edit", "RESTYLE_PT_edit"),
    "background": ("background", "RESTYLE_PT_background"),
}


def said_in(context, summary: str) -> dict[str, bool]:
    """Which panels show the start of ``summary`` (wrapped: its first words)."""
    start = " ".join(summary.split()[:3])
    return {key: start in texts(context, *panel) for key, panel in PANELS.items()}


def only(panel: str) -> dict[str, bool]:
    """``said_in``'s answer where ``panel`` alone shows the outcome."""
    return {key: key == panel for key in PANELS}


def test_export_keyframes_says_how_it_ended_in_the_keyframes_panel(
    scene,
    media,  # noqa: F811
    sequencer_area,
    idle,
):
    import bpy

    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    with sequencer_override(scene, sequencer_area):
        with pytest.raises(RuntimeError, match="has no keyframes"):
            bpy.ops.restyle.export_keyframes(strip=source.name, load=False)
        assert idle.task == "export" and idle.summary.startswith("Failed: ")
        assert said_in(bpy.context, idle.summary) == only("keyframes")
        ext("operators.keyframes").add_keyframes(scene.restyle, source.name, [3, 6])
        assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
        assert idle.summary.startswith("Export Keyframes: 2 keyframes exported to ")
        shown = said_in(bpy.context, idle.summary)
        assert shown == only("keyframes")
        # under Export's button, before Train's settings
        panel = texts(bpy.context, "keyframes", "RESTYLE_PT_keyframes")
        empty = ext("panels.keyframes").EMPTY_FOLDER  # Painted From's line, below Export
        assert panel.index("Export Keyframes: 2 keyframes") < panel.index(empty)


def test_split_at_cuts_says_how_it_ended_in_the_stabilize_and_cuts_panel(
    scene,
    clips,  # noqa: F811
    sequencer_area,
    idle,
):
    import bpy

    source = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    with sequencer_override(scene, sequencer_area):
        assert bpy.ops.restyle.split_at_cuts("EXEC_DEFAULT", strip=source.name) == {"FINISHED"}
        assert idle.task == "cuts" and idle.summary.startswith("Split at Cuts: ")
        shown = said_in(bpy.context, idle.summary)
        assert shown == only("edit")
        with pytest.raises(RuntimeError):
            bpy.ops.restyle.split_at_cuts(strip="no such strip")
        assert idle.task == "cuts" and idle.summary.startswith("Failed: ")
        assert said_in(bpy.context, idle.summary)["edit"]
        assert not said_in(bpy.context, idle.summary)["main"]


def test_replace_background_says_how_it_ended_in_the_background_panel(
    scene,
    media,  # noqa: F811
    sequencer_area,
    idle,
):
    import bpy

    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    with sequencer_override(scene, sequencer_area):
        with pytest.raises(RuntimeError):
            bpy.ops.restyle.replace_background(strip=source.name, background="#000000")
        assert idle.task == "background" and idle.summary.startswith("Failed: ")
        shown = said_in(bpy.context, idle.summary)
        assert shown == only("background")


@pytest.mark.parametrize(
    "operator, words",
    [("train_style", "has no keyframes"), ("suggest_keyframes", "no strip named")],
)
def test_train_and_suggest_refusals_are_said_in_the_keyframes_panel(
    scene,
    media,  # noqa: F811
    sequencer_area,
    idle,
    operator,
    words,
):
    import bpy

    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=1)
    name = source.name if operator == "train_style" else "no such strip"
    with sequencer_override(scene, sequencer_area):
        with pytest.raises(RuntimeError, match=words):
            getattr(bpy.ops.restyle, operator)(strip=name)
        assert idle.task == {"train_style": "train", "suggest_keyframes": "shots"}[operator]
        shown = said_in(bpy.context, idle.summary)
        assert shown == only("keyframes")


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="training needs torch")
def test_train_says_what_the_style_list_calls_the_style_and_where_it_is(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
    idle,
):
    import bpy

    source, folder = exported(scene, sequencer_area, media["clip24"], [3, 6])
    paint(folder / "0003.png")
    paint(folder / "0006.png")
    name = "Listed ink"  # short: the panel wraps a long one (each line's words apart)
    with sequencer_override(scene, sequencer_area):
        result = bpy.ops.restyle.train_style(strip=source.name, name=name, time_budget=0.01)
        assert result == {"FINISHED"}
        style = ext("core.styles").StyleLibrary(ext("props").library_root(bpy.context))
        kept = style.trained_folder(name)
        listed = f"{name} (trained)"
        assert ext("props").CATALOG.name_of(name) == listed  # what the picker shows
        summary = idle.summary
        assert summary.startswith(f"Trained '{name}' from 2 keyframes"), summary
        # what training reached, not the last event's 'saving and checking the style'
        assert "from 2 keyframes (iteration " in summary, summary
        assert "saving and checking" not in summary
        # where the style is and what the list calls it: lines of their own since round 25
        panel = texts(bpy.context, "keyframes", "RESTYLE_PT_keyframes")
        assert f"Saved in {ext('operators.modal_job').blender_path(kept)}" in panel, panel
        assert f"Picked above as '{listed}'" in panel, panel
        assert scene.restyle.style == name
        # another style picked since: the line would say what is no longer so
        scene.restyle.style = ext("props").CATALOG.items[0][0]
        panel = texts(bpy.context, "keyframes", "RESTYLE_PT_keyframes")
        assert "Picked above" not in panel
        assert f"In the style list as '{listed}'" in panel, panel
        assert summary[:30] in panel  # the summary stays: where the style is


class Placed:
    """A stand-in layout that keeps where each label and button lands, nested as drawn."""

    def __init__(self):
        self.items: list = []

    def __setattr__(self, name, value):  # enabled, scale_y, use_property_split...
        object.__setattr__(self, name, value)

    def column(self, **_kwargs):
        inner = Placed()
        self.items.append(inner)
        return inner

    row = column

    def label(self, text="", icon="NONE"):
        self.items.append(f"label: {text}")

    def operator(self, operator, **_kwargs):
        self.items.append(f"button: {operator}")
        return type("Properties", (), {})()

    def shown(self) -> list[str]:
        """Top to bottom, as the sidebar shows them."""
        out = []
        for item in self.items:
            out += item.shown() if isinstance(item, Placed) else [item]
        return out


def test_with_no_strip_the_edit_panel_says_so_above_snap_cuts(scene, sequencer_area, idle):
    """The column for Snap Cuts was made before the line, so the button came first."""
    import bpy

    scene.sequence_editor_create()
    with sequencer_override(scene, sequencer_area):
        panel = ext("panels.edit").RESTYLE_PT_edit
        assert panel.poll(bpy.context)
        layout = Placed()
        panel.draw(type("Shim", (), {"layout": layout})(), bpy.context)
    assert layout.shown() == [
        "label: Select a movie or image strip to stabilize or split",
        "button: restyle.snap_cuts",
    ]


def test_a_warning_report_says_the_warning_before_the_unsaved_note(restyle):
    """Matte's report on a nearly empty matte in Debian's 4.3 status bar at 1280x800: the
    warning icon, then 'Street.Matte: frames 101-108, ...; this .blend is not saved, so the
    frames are in a temporary folder (/tmp/...' cut there: the warning never in view. The
    report says the warnings right after what was made, as the sidebar draws them."""
    note = (
        "this .blend is not saved, so the frames are in a temporary folder "
        "(/tmp/restyle/Street-matte-a20eb29fc5); saving the .blend copies them beside it"
    )
    engine = "onnx fp32 on cpu (no faster engine installed; plain graph, 2 workers x 1 thread)"
    warning = "the matte keeps almost nothing (0.3% of the picture, frames 101-108)"
    made = "Street.Matte: frames 101-108, 8 matted, 0 reused, 1.7 frames/s"
    said = ext("operators.strip_job").report_words(
        f"{made}; engine: {engine}", engine, [warning], note
    )
    assert said == f"Restyle: {made}; {warning}; {note}; engine: {engine}"
    assert said.index(warning) < 120  # in view in the status bar of a 1280-pixel window
