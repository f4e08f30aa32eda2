"""A cancelled Stabilize run resumes from the button its summary names. Blender fills a
property a button leaves unset with the operator's last value, so a button that sets only
some settings runs with whatever another button set last: another settings key, another
folder, and the run starts over."""

from __future__ import annotations

import pytest
from test_edit_tools import shaky
from vse import add_movie, esc_when, ext, sequencer_override

from clips import encode_clip

pytestmark = pytest.mark.blender

# What the sidebar decides, not its buttons: the active strip, the Frame Range
FROM_THE_SIDEBAR = {"strip", "frame_start", "frame_end"}


def encoded(folder) -> str:
    return encode_clip(folder / "shaky.mp4", shaky("astronaut", 6, 7))


class Buttons:
    """A layout that keeps each operator button drawn: (text, operator, properties set)."""

    def __init__(self, drawn: list):
        object.__setattr__(self, "drawn", drawn)

    def __setattr__(self, name, value):  # enabled, alert: how it looks, not what it runs
        pass

    def __getattr__(self, name):
        def call(*args, **kwargs):
            if name == "operator":
                properties: dict = {}
                self.drawn.append((kwargs.get("text"), args[0], properties))
                return type(
                    "Set", (), {"__setattr__": lambda _s, k, v: properties.update({k: v})}
                )()
            return Buttons(self.drawn)

        return call


def stabilize_button(scene, area) -> dict:
    """The properties the sidebar's Stabilize button sets, drawn by the real panel."""
    import bpy

    drawn: list = []
    panel = type("Panel", (), {"layout": Buttons(drawn)})()
    with sequencer_override(scene, area):
        ext("panels.edit").RESTYLE_PT_edit.draw(panel, bpy.context)
    (properties,) = [p for _text, op, p in drawn if op == "restyle.stabilize_strip"]
    return properties


def tripod_button(scene, area) -> dict:
    """The Stabilize button with the sidebar's Tripod ticked (the other settings as set)."""
    scene.restyle.stabilize_tripod = True
    return stabilize_button(scene, area)


def test_the_stabilize_button_sets_everything_its_run_depends_on(scene, sequencer_area, tmp_path):
    import bpy

    add_movie(scene, sequencer_area, encoded(tmp_path), frame_start=1)
    properties = tripod_button(scene, sequencer_area)
    rna = bpy.ops.restyle.stabilize_strip.get_rna_type()
    settings = {p.identifier for p in rna.properties if p.identifier != "rna_type"}
    assert set(properties) == settings - FROM_THE_SIDEBAR
    assert properties["tripod"] is True


def cancelled_then_resumed(scene, area, tmp_path, monkeypatch, first, between, again) -> str:
    """Frames 1-4 of a movie stabilised with ``first`` (properties) and cancelled, a whole
    run with ``between``, then a run with ``again()``: each summary."""
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "resume.blend"))
    runner = ext("operators.runner")
    source = add_movie(scene, area, encoded(tmp_path), frame_start=1).name
    esc_when(monkeypatch, lambda progress: progress.done >= 1)  # Esc once a frame is written

    def run(**properties) -> set[str]:
        """Invoked as a button does: with an undo step, so Blender fills the properties
        not given from the last run's and remembers this run's (a script's call does not)."""
        with sequencer_override(scene, area):
            return bpy.ops.restyle.stabilize_strip(
                "INVOKE_DEFAULT", True, strip=source, frame_start=1, frame_end=4, **properties
            )

    assert run(**first()) == {"CANCELLED"}
    cancelled = runner.RUN.summary
    monkeypatch.undo()  # no more Esc
    assert run(**between) == {"FINISHED"}
    assert run(**again()) == {"FINISHED"}
    return cancelled, runner.RUN.summary


def kept_then_reused(cancelled: str, resumed: str) -> None:
    kept = int(cancelled.removeprefix("Cancelled: ").split(" of ")[0])
    assert 1 <= kept < 4, cancelled
    assert f", {4 - kept} stabilized, {kept} reused" in resumed, resumed


def test_tripod_resumes_after_another_mode_was_picked(scene, sequencer_area, tmp_path, monkeypatch):
    """Tripod set only tripod=True: a mode picked from the Stabilize menu between a cancel
    and Tripod was the mode Tripod then ran with, another settings key: it started over.
    The sidebar's Stabilize button sets every setting, so a run between changes none."""
    import bpy

    remembered = []

    def tripod():
        last = bpy.context.window_manager.operator_properties_last("restyle.stabilize_strip")
        remembered.append(last.mode)  # what a button that sets no mode runs with now
        return tripod_button(scene, sequencer_area)

    translation = {"mode": "TRANSLATION"}
    cancelled, resumed = cancelled_then_resumed(
        scene, sequencer_area, tmp_path, monkeypatch, tripod, translation, tripod
    )
    assert cancelled.endswith("; Stabilize again to resume"), cancelled
    assert remembered[-1] == "TRANSLATION"
    kept_then_reused(cancelled, resumed)


def test_a_cancelled_run_resumes_in_its_mode_after_a_run_in_another(
    scene, sequencer_area, tmp_path, monkeypatch
):
    """Another mode is another settings key (another folder): a Perspective run between
    leaves the cancelled Translation run's frames to resume from. The sidebar shows the
    mode the Stabilize button runs with, so 'Stabilize again' names no mode."""

    def translation():
        return {"mode": "TRANSLATION"}

    cancelled, resumed = cancelled_then_resumed(
        scene, sequencer_area, tmp_path, monkeypatch, translation, {"mode": "PERSPECTIVE"},
        translation,
    )  # fmt: skip
    assert cancelled.endswith("; Stabilize again to resume"), cancelled
    kept_then_reused(cancelled, resumed)


def test_a_crop_tried_once_is_not_what_the_menu_runs_with_later(
    scene, sequencer_area, tmp_path, monkeypatch
):
    """A crop set once (the redo panel, a script's invoke) was remembered: the next menu run,
    which sets only the mode, cropped so too, another settings key, and the cancelled menu
    run its summary named ('Stabilize > Translation again') started over."""

    def translation():
        return {"mode": "TRANSLATION"}

    cancelled, resumed = cancelled_then_resumed(
        scene, sequencer_area, tmp_path, monkeypatch, translation,
        {"mode": "PERSPECTIVE", "crop": 0.2, "smoothness": 0.3}, translation,
    )  # fmt: skip
    assert cancelled.endswith("; Stabilize again to resume"), cancelled
    kept_then_reused(cancelled, resumed)
