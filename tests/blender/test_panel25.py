"""Round 25's panel review:

1. After every job the main Restyle panel took 10-12 lines at the sidebar's width: the
   summary (2-3, with the rate and warping error), the unsaved .blend's note (4, with the
   temporary folder's path), the engine (3, with why and how it runs). It says each in a
   short line, as Blender's panels do; warnings stay whole (each is something to act on);
   the whole report is the tooltip of a details button beside the first line (a click
   copies it) and Blender's report (Info editor).
2. Train's words named the style by the catalogue (``CATALOG.name_of``), whose fallback is
   the bare id: a catalogue that did not hold the new style said "'Neon Ink' in the style
   list" for what the list calls 'Neon Ink (trained)'. They read the saved style itself.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from test_panels import CheckedLayout, labels
from vse import ext

pytestmark = pytest.mark.blender

SIDEBAR = SimpleNamespace(  # the Video Editing template's sidebar, 379 pixels at 1x
    region=SimpleNamespace(width=379),
    preferences=SimpleNamespace(system=SimpleNamespace(ui_scale=1.0)),
)
ENGINE = "onnx fp32 on cpu (asked for; fast graph, 2 worker(s) x 1 thread(s))"
FOLDER = "/tmp/restyle/vtest-comic-ink-376088f181"
NOTE = (
    f"this .blend is not saved, so the frames are in a temporary folder ({FOLDER}); "
    "saving the .blend copies them beside it"
)
FIRST = "vtest.Comic Ink: frames 5-12, 8 styled, 0 reused, 2.2 frames/s, warping error 0.0015"


def summary_calls(summary: str, note: str = "") -> list:
    runner, sequencer = ext("operators.runner"), ext("panels.sequencer")
    runner.RUN.end(runner.FINISHED, summary, FOLDER, note=note)
    calls: list = []
    try:
        sequencer.draw_summary(CheckedLayout(calls), SIDEBAR)
    finally:
        runner.RUN.end(runner.IDLE, "")
    return calls


def details(calls) -> str:
    (button,) = [c[1] for c in calls if c[0] == "operator"]
    assert button["operator"] == "restyle.details" and button["emboss"] is False
    return next(c[1]["value"] for c in calls if c[0] == "set" and c[1]["name"] == "text")


@pytest.fixture
def recorded(monkeypatch):
    """The details button's text, as set on its properties (``OperatorProperties``)."""
    import test_panels

    real = test_panels.OperatorProperties.__setattr__
    seen: list = []

    def record(self, name, value):
        seen.append(("set", {"name": name, "value": value}))
        real(self, name, value)

    monkeypatch.setattr(test_panels.OperatorProperties, "__setattr__", record)
    return seen


def test_a_finished_apply_says_itself_in_a_few_short_lines(restyle, recorded):
    calls = summary_calls(f"{FIRST}; engine: {ENGINE}", note=NOTE)
    lines = labels(calls)
    assert len(lines) == 3, lines  # 8 before, 10-12 in the walkthrough's narrower sidebar
    assert lines[0] == "vtest.Comic Ink: frames 5-12, 8 styled", lines  # on one line
    assert lines[-2:] == ["Save the .blend to keep these frames", "Engine: onnx fp32 on cpu"]
    # nothing lost: the whole report in the details' tooltip, one clause a line
    whole = details(calls + recorded)
    assert whole.split("\n") == [FIRST, NOTE, f"engine: {ENGINE}"]


def test_warnings_stay_whole_and_the_unsaved_risk_is_said(restyle, recorded):
    warning = "its modifiers were not applied: 'Brighter' (apply them to the styled strip)"
    calls = summary_calls(f"{FIRST}; engine: {ENGINE}; {warning}", note=NOTE)
    icons = [c[1].get("icon") for c in calls if c[0] == "label"]
    lines = labels(calls)
    at = icons.index("ERROR")
    said = " ".join(lines[at : at + 1 + icons[at + 1 :].count("BLANK1")])
    assert warning[0].upper() + warning[1:] in said, lines
    assert "Save the .blend to keep these frames" in lines  # the risk, and what to do
    assert "temporary folder" in details(calls + recorded)


def test_reused_frames_are_said_where_there_are_some(restyle):
    pictures = "vtest.Comic Ink: frames 1-8 (5 pictures: 5 styled, 0 reused), 1.1 frames/s"
    said = " ".join(labels(summary_calls(pictures)))
    assert said == "vtest.Comic Ink: frames 1-8 (5 pictures: 5 styled)", said
    again = "vtest.Comic Ink: frames 1-8, 0 styled, 8 reused"
    assert " ".join(labels(summary_calls(again))) == again


def test_a_gpu_it_could_not_use_is_still_said(restyle, recorded):
    why = "CUDA not usable: missing cuDNN 9 (libcudnn.so.9)"
    engine = f"onnx fp32 on cpu (auto: an NVIDIA GPU; {why}; running on CPU)"
    calls = summary_calls(f"{FIRST}; engine: {engine}")
    lines = labels(calls)
    assert " ".join(lines).endswith(f"Engine: onnx fp32 on cpu {why}"), lines
    assert "auto: an NVIDIA GPU" not in lines and "running on CPU" not in lines
    assert f"engine: {engine}" in details(calls + recorded)


def test_the_details_tooltip_is_the_whole_text(restyle):
    import bpy

    details = ext("operators.sidebar").RESTYLE_OT_details
    assert details.description(bpy.context, SimpleNamespace(text="a; b")) == "a; b"
    assert bpy.ops.restyle.details.get_rna_type().properties["text"].is_hidden


def trained_folder(root, name: str):
    folder = root / "styles" / name.replace(" ", "-")
    folder.mkdir(parents=True)
    (folder / "style.json").write_text(json.dumps({"name": name}), encoding="utf-8")
    return folder


def test_the_keyframes_panel_names_the_style_as_the_list_does(restyle, tmp_path):
    runner, keyframes, props = ext("operators.runner"), ext("panels.keyframes"), ext("props")
    folder = trained_folder(tmp_path, "Neon Ink")
    props.CATALOG.items = []  # not read since Train saved it (another library folder)
    runner.RUN.begin("vtest", "Neon Ink", 1, SimpleNamespace(token=None), task="train")
    runner.RUN.end(runner.FINISHED, "Trained 'Neon Ink' from 2 keyframes", str(folder))
    calls: list = []
    try:
        settings = SimpleNamespace(style="Neon Ink")
        keyframes.draw_trained(CheckedLayout(calls), SIDEBAR, settings)
    finally:
        runner.RUN.end(runner.IDLE, "")
        props.CATALOG.loaded = False
    assert "Picked above as 'Neon Ink (trained)'" in labels(calls), labels(calls)


def test_train_reports_the_style_lists_name(restyle, scene, tmp_path):
    import bpy

    train, props = ext("operators.train_style"), ext("props")
    folder = trained_folder(tmp_path, "Neon Ink")  # outside the library the catalogue reads
    job = SimpleNamespace(name="Neon Ink", trained="", warnings=[], keyframes=[3, 6])
    request = SimpleNamespace(job=job, data=(scene.name, scene.session_uid))
    reports: list = []
    me = SimpleNamespace(report=lambda kind, text: reports.append(text))
    try:
        done = train.RESTYLE_OT_train_style.finish(me, bpy.context, request, "done", folder)
    finally:
        ext("operators.runner").RUN.end(ext("operators.runner").IDLE, "")
        props.CATALOG.loaded = False
    assert done == {"FINISHED"}
    assert "'Neon Ink (trained)' in the style list" in reports[0], reports
