"""Round 23's Blender walkthrough (1280x800, Debian's 4.3.2 and bpy 5.0.1):

1. a job's progress and Cancel were drawn at the top of the main panel only: a user who
   scrolled down to Matte, Stabilize or Train saw greyed buttons; its sub-panel shows them;
2. "Any Picture…" showed the generic tile and then the picture: one, smaller, preview;
3. the run's report put the engine line before the unsaved .blend's note (the status bar
   cut it): what was made, the note, warnings, the engine last; the sidebar likewise;
4. Matte ended with a check mark on a nearly empty matte: it warns then;
6. Train's failure was drawn under Apply Style: each job's outcome in its own panel;
7. Stabilize's bar restarted for its second pass unsaid ("Step 1 of 2"); a resume's
   "N frames kept from before" never showed once frames were made;
8. "Only this, the active strip, is styled" showed while Stabilize ran and beside the
   active strip's own output;
9. the unsaved .blend's note (not a warning) had the ERROR icon;
10. Jump was an unlabeled icon."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from test_panels import CheckedLayout, enabled_operators, labels
from vse import add_images, all_strips, ext, sequencer_override, top_strips

pytestmark = pytest.mark.blender

NOTE = (
    "this .blend is not saved, so the frames are in a temporary folder "
    "(/tmp/restyle/vtest-comic-ink-c4860598c8); saving the .blend copies them beside it"
)
ENGINE = "onnx fp32 on cpu (asked for; fast graph, 2 worker(s) x 1 thread(s))"


@pytest.fixture
def ui(scene, sequencer_area, tmp_path):
    import bpy

    (tmp_path / "still.png").touch()
    strip = top_strips(scene.sequence_editor).new_image("still", str(tmp_path / "still.png"), 1, 1)
    scene.sequence_editor.active_strip = strip
    with sequencer_override(scene, sequencer_area):
        yield bpy.context
    runner = ext("operators.runner")
    runner.RUN.end(runner.IDLE, "")
    runner.RUN.task = "apply"


def draw(context, module: str, name: str) -> list:
    """The calls of one Restyle panel's draw()."""
    panel = getattr(ext(f"panels.{module}"), name)
    assert panel.poll(context)
    calls: list = []
    panel.draw(type("Shim", (), {"layout": CheckedLayout(calls)})(), context)
    return calls


PANELS = {
    "matte": ("background", "RESTYLE_PT_background"),
    "stabilize": ("edit", "RESTYLE_PT_edit"),
    "train": ("keyframes", "RESTYLE_PT_keyframes"),
}


def operators(calls) -> list[str]:
    return [c[1]["operator"] for c in calls if c[0] == "operator"]


def bars(calls) -> list[dict]:
    return [c[1] for c in calls if c[0] == "progress"]


@pytest.mark.parametrize("task", sorted(PANELS))
def test_a_running_job_shows_its_bar_and_cancel_in_its_own_panel_too(ui, task):
    runner, progress = ext("operators.runner"), ext("core.progress")
    runner.RUN.status, runner.RUN.task = runner.RUNNING, task
    runner.RUN.strip, runner.RUN.style = "still", "Matte"
    runner.RUN.progress = progress.Progress(3, 12, fps=2.0, eta_s=4.5, stage="stylize")
    own = draw(ui, *PANELS[task])
    assert len(bars(own)) == 1 and "restyle.cancel" in operators(own), own
    main = draw(ui, "sequencer", "RESTYLE_PT_main")  # and at the top, as before
    assert len(bars(main)) == 1 and "restyle.cancel" in operators(main)
    for other, (module, name) in PANELS.items():  # not in another job's panel
        if other != task:
            assert bars(draw(ui, module, name)) == [], other
    runner.RUN.task = "apply"  # Apply's: the main panel's only
    for module, name in PANELS.values():
        assert bars(draw(ui, module, name)) == []


def test_any_picture_shows_one_smaller_preview(ui, tmp_path):
    props = ext("props")
    picture = tmp_path / "starry.png"
    assert cv2.imwrite(str(picture), np.full((48, 64, 3), 200, np.uint8))
    settings = ui.scene.restyle
    settings.style = props.PICTURE
    props.style_items(None, ui)  # the picker's previews, as drawn

    def previews():
        calls = draw(ui, "sequencer", "RESTYLE_PT_main")
        return [c for c in calls if c[0] in ("template_icon", "template_icon_view")]

    (tile,) = previews()  # no picture yet: the picker's tile
    assert tile[0] == "template_icon_view"
    settings.picture = str(picture)
    (shown,) = previews()
    assert shown[0] == "template_icon" and shown[1]["scale"] < 6.0, shown
    assert shown[1]["icon_value"] == props.CATALOG.previews[f"picture:{picture}"].icon_id


def test_the_report_says_what_was_made_and_the_note_before_the_engine(restyle):
    said = ext("operators.strip_job").report_words(
        f"vtest.Comic Ink: frames 1-8, 8 styled; engine: {ENGINE}",
        ENGINE,
        ["its modifiers were not applied"],
        NOTE,
    )
    assert said == (  # warnings before the note since round 24 (the status bar cut them)
        f"Restyle: vtest.Comic Ink: frames 1-8, 8 styled; its modifiers were not applied; "
        f"{NOTE}; engine: {ENGINE}"
    )
    plain = ext("operators.strip_job").report_words("a: frames 1-2, 2 styled", "", [], "")
    assert plain == "Restyle: a: frames 1-2, 2 styled"
    saved = ext("operators.strip_job").report_words(
        f"a: frames 1-2, 2 styled; engine: {ENGINE}", ENGINE, [], "in //restyle/a-comic-ink"
    )
    assert saved == f"Restyle: a: frames 1-2, 2 styled; in //restyle/a-comic-ink; engine: {ENGINE}"


def summary_lines(summary: str, note: str = "") -> list[tuple[str, str]]:
    runner, sequencer = ext("operators.runner"), ext("panels.sequencer")
    runner.RUN.end(runner.FINISHED, summary, "/tmp/restyle/x", note=note)
    context = SimpleNamespace(
        region=SimpleNamespace(width=2000),  # one line each
        preferences=SimpleNamespace(system=SimpleNamespace(ui_scale=1.0)),
    )
    lines: list = []
    layout = SimpleNamespace(
        column=lambda align=False: layout,
        row=lambda align=False: layout,
        label=lambda text="", icon="NONE": lines.append((icon, text)),
        operator=lambda idname, **kwargs: SimpleNamespace(),  # the details button
    )
    sequencer.draw_summary(layout, context)
    runner.RUN.end(runner.IDLE, "")
    return lines


def test_the_sidebar_says_the_note_with_an_info_icon_and_the_engine_last(restyle):
    first = "vtest.Comic Ink: frames 1-8, 8 styled, 1.5 frames/s"
    warning = "its modifiers were not applied"
    shown = summary_lines(f"{first}; engine: {ENGINE}; {warning}", note=NOTE)
    assert (
        shown
        == [  # round 25: the rate, the note's path, the engine's why in the details
            ("CHECKMARK", "vtest.Comic Ink: frames 1-8, 8 styled"),
            ("ERROR", warning[0].upper() + warning[1:]),
            ("INFO", "Save the .blend to keep these frames"),  # not a warning: saving keeps them
            ("INFO", "Engine: onnx fp32 on cpu"),
        ]
    )


def test_matte_warns_of_a_nearly_empty_matte_as_it_ends(scene, tmp_path):
    """The strip's files read (Replace Background's check); Matte now says the job's own
    measure (``MatteJob.coverage``: tests/blender/test_matte24.py)."""
    matte = ext("operators.matte")
    files = []
    for i in range(4):
        rgba = np.zeros((48, 64, 4), np.uint8)
        rgba[:2, :2] = 255  # 0.1% of the picture kept
        files.append(tmp_path / f"{i:04d}.png")
        assert cv2.imwrite(str(files[-1]), rgba)
    strip = add_images(scene, files, frame_start=1, channel=2, name="cut.Matte")
    said = matte.nearly_empty(strip)
    assert "the matte keeps almost nothing (0.1% of the picture, frames 1-4)" in said, said
    assert "a new background replaces nearly the whole frame" in said
    full = tmp_path / "full"
    full.mkdir()
    for f in files:
        cv2.imwrite(str(full / f.name), np.full((48, 64, 4), 255, np.uint8))
    kept = add_images(scene, [full / f.name for f in files], frame_start=1, channel=3)
    assert matte.nearly_empty(kept) == ""
    assert ext("operators.strip_job").StripJob._made_warnings(None, strip) == []  # Apply's


def test_a_refused_job_says_so_in_its_own_panel_not_under_apply(ui):
    import bpy

    runner = ext("operators.runner")
    with pytest.raises(RuntimeError, match="no strip named"):  # a script's error, as reported
        bpy.ops.restyle.matte_strip(strip="no such strip")
    assert runner.RUN.status == runner.FAILED and runner.RUN.task == "matte"
    failed = runner.RUN.summary
    assert failed.startswith("Failed: ")
    assert failed not in labels(draw(ui, "sequencer", "RESTYLE_PT_main"))
    assert any(
        failed[:30] in text for text in labels(draw(ui, "background", "RESTYLE_PT_background"))
    )


def test_a_training_failure_is_drawn_in_the_keyframes_panel(ui):
    runner = ext("operators.runner")
    runner.RUN.strip = "still"
    runner.RUN.end(runner.FAILED, "Failed: training needs PyTorch")
    runner.RUN.task = "train"
    assert "Failed: training needs PyTorch" not in labels(draw(ui, "sequencer", "RESTYLE_PT_main"))
    assert "Failed: training needs PyTorch" in labels(draw(ui, "keyframes", "RESTYLE_PT_keyframes"))
    runner.RUN.task = "apply"  # Apply's own: under Apply Style
    assert "Failed: training needs PyTorch" in labels(draw(ui, "sequencer", "RESTYLE_PT_main"))


def test_stabilize_says_which_of_its_two_passes_the_bar_is(ui):
    runner, progress = ext("operators.runner"), ext("core.progress")
    runner.RUN.status, runner.RUN.task = runner.RUNNING, "stabilize"
    runner.RUN.strip, runner.RUN.style = "still", "Stabilize"
    texts = []
    for shown in (
        progress.Progress(8, 12, stage="track", message="Tracking the camera"),
        progress.Progress(12, 12, stage="track", message="Smoothing the camera path"),
        progress.Progress(3, 12, fps=2.0, eta_s=4.5, stage="stabilize"),
    ):
        runner.RUN.progress = shown
        texts += [b["text"] for b in bars(draw(ui, "edit", "RESTYLE_PT_edit"))]
    assert texts == [
        "Step 1 of 2: tracking the camera",
        "Step 1 of 2: smoothing the camera path",
        "Step 2 of 2: 3 / 12, 2.0 frames/s, 4 s left",
    ]


def test_a_resume_keeps_saying_the_frames_kept_once_frames_are_made(ui):
    """The sidebar polls 5 times a second: the kept event came and went in one poll."""
    runner, progress = ext("operators.runner"), ext("core.progress")
    worker = runner.Worker(job=None)
    kept = "6 frames kept from before"
    worker.events.put(("progress", progress.Progress(6, 12, stage="stylize", message=kept)))
    worker.events.put(("progress", progress.Progress(7, 12, fps=1.6, eta_s=3.1)))
    assert worker.poll() is None
    assert worker.progress.done == 7 and worker.progress.message == kept
    worker.events.put(("progress", progress.Progress(7, 12, stage="encode")))  # another stage
    worker.poll()
    assert worker.progress.message == ""
    runner.RUN.status, runner.RUN.task = runner.RUNNING, "apply"
    runner.RUN.progress = progress.Progress(7, 12, fps=1.6, eta_s=3.1, message=kept)
    calls = draw(ui, "sequencer", "RESTYLE_PT_main")
    assert [b["text"] for b in bars(calls)] == ["7 / 12, 1.6 frames/s, 3 s left"]
    assert "6 frames kept from before" in labels(calls)


ONLY = "Only this, the active strip, is styled"


def test_only_this_is_said_only_when_true_and_relevant(ui, tmp_path):
    runner = ext("operators.runner")
    scene = ui.scene
    source = scene.sequence_editor.active_strip
    output = top_strips(scene.sequence_editor).new_image(
        "still.Comic Ink", str(tmp_path / "still.png"), 2, 1
    )
    output[ext("operators.output_strip").STYLED_FROM] = source.name
    for strip in all_strips(scene):
        strip.select = True
    scene.sequence_editor.active_strip = source
    assert ONLY not in labels(draw(ui, "sequencer", "RESTYLE_PT_main"))  # its own output
    other = top_strips(scene.sequence_editor).new_image("other", str(tmp_path / "still.png"), 3, 1)
    other.select = True
    assert ONLY in labels(draw(ui, "sequencer", "RESTYLE_PT_main"))
    runner.RUN.status, runner.RUN.task = runner.RUNNING, "stabilize"  # no Apply to speak of
    assert ONLY not in labels(draw(ui, "sequencer", "RESTYLE_PT_main"))
    runner.RUN.status = runner.IDLE
    scene.sequence_editor.active_strip = output  # Apply styles the source: its line says so
    assert ONLY not in labels(draw(ui, "sequencer", "RESTYLE_PT_main"))


def test_jump_is_labeled(ui):
    import bpy

    calls = draw(ui, "keyframes", "RESTYLE_PT_keyframes")
    assert not enabled_operators(calls)["restyle.keyframe_jump"]  # no keyframe to jump to
    assert bpy.ops.restyle.keyframe_add() == {"FINISHED"}
    calls = draw(ui, "keyframes", "RESTYLE_PT_keyframes")
    (jump,) = [c[1] for c in calls if c[0] == "operator" and c[1]["operator"].endswith("jump")]
    assert jump["text"] == "Jump to Selected Keyframe" and jump["icon"] == "TIME"
    assert enabled_operators(calls)["restyle.keyframe_jump"]
