"""The sidebar's panels draw in every state of a run.

Headless Blender draws no regions, so each panel's ``draw()`` gets a layout that checks
every call against ``bpy.types.UILayout``'s RNA: the method must exist and take those
arguments, each ``prop`` must name a real property of its data, each ``operator`` a
registered operator and its properties. The context is a real Sequencer area's.
"""

from __future__ import annotations

import pytest
from vse import all_strips, ext, sequencer_override, top_strips

pytestmark = pytest.mark.blender

LAYOUT_RETURNING = {"row", "column", "box", "split", "column_flow", "grid_flow", "panel"}


class CheckedLayout:
    def __init__(self, calls: list, parent: CheckedLayout | None = None):
        import bpy

        object.__setattr__(self, "_calls", calls)
        object.__setattr__(self, "_rna", bpy.types.UILayout.bl_rna)
        object.__setattr__(self, "_parent", parent)

    def is_enabled(self) -> bool:
        """False where this layout or one holding it was greyed (``enabled = False``)."""
        layout = self
        while layout is not None:
            if not layout.__dict__.get("enabled", True):
                return False
            layout = layout._parent
        return True

    def __setattr__(self, name, value):
        assert name in self._rna.properties, f"UILayout has no attribute {name!r}"
        object.__setattr__(self, name, value)

    def __getattr__(self, name):
        function = self._rna.functions.get(name)
        assert function is not None, f"UILayout has no method {name!r}"
        params = [p.identifier for p in function.parameters if not p.is_output]

        def call(*args, **kwargs):
            assert len(args) <= len(params), f"{name}: too many arguments"
            unknown = set(kwargs) - set(params)
            assert not unknown, f"{name}() takes no {sorted(unknown)}"
            bound = dict(zip(params, args, strict=False)) | kwargs
            self._calls.append((name, bound))
            if name in ("operator", "operator_menu_enum"):  # greyed or not: asked at the end
                self._calls.append(("placed", {"operator": bound["operator"], "layout": self}))
            if "data" in bound and "property" in bound:
                data, prop = bound["data"], bound["property"]
                assert prop in data.bl_rna.properties, f"{type(data).__name__} has no {prop!r}"
            if name == "operator":
                return OperatorProperties(bound["operator"])
            if name in LAYOUT_RETURNING:
                return CheckedLayout(self._calls, self)
            return None

        return call


def enabled_operators(calls) -> dict[str, bool]:
    """Each operator drawn, and whether its button can be pressed (the last one drawn)."""
    return {c[1]["operator"]: c[1]["layout"].is_enabled() for c in calls if c[0] == "placed"}


class OperatorProperties:
    def __init__(self, idname: str):
        import bpy

        module, _, op = idname.partition(".")
        rna = getattr(getattr(bpy.ops, module), op).get_rna_type()  # raises if unregistered
        object.__setattr__(self, "_rna", rna)

    def __setattr__(self, name, value):
        prop = self._rna.properties.get(name)
        assert prop is not None, f"{self._rna.identifier} has no property {name!r}"
        if prop.type == "ENUM":
            assert value in prop.enum_items, f"{value!r} is not an item of {name}"


def draw_all(context, hidden=()) -> list:
    """Draw every Restyle panel whose poll passes (all but ``hidden``); returns the calls."""
    sequencer = ext("panels.sequencer")
    calls: list = []
    drawn = []
    for panel in sequencer.classes:
        if panel.poll(context):
            shim = type("Shim", (), {})()
            shim.layout = CheckedLayout(calls)
            panel.draw(shim, context)
            drawn.append(panel.__name__)
    assert drawn == [p.__name__ for p in sequencer.classes if p.__name__ not in hidden]
    return calls


def labels(calls) -> list[str]:
    return [c[1].get("text", "") for c in calls if c[0] == "label"]


@pytest.fixture
def panel_context(scene, sequencer_area, tmp_path):
    import bpy

    strips = top_strips(scene.sequence_editor)
    (tmp_path / "still.png").touch()  # the sidebar looks for it (not read: Apply is not run)
    strip = strips.new_image("still", str(tmp_path / "still.png"), 1, 1)
    scene.sequence_editor.active_strip = strip
    with sequencer_override(scene, sequencer_area):
        yield bpy.context
    runner = ext("operators.runner")
    runner.RUN.end(runner.IDLE, "")


def test_a_sequencer_without_a_scene_acts_on_none(scene, sequencer_area, tmp_path):
    """5.0 on, a workspace's Sequencer may have no scene (the Layout workspace's has none):
    Blender's own sequencer then shows nothing and greys its operators. Restyle's sidebar
    and Apply took the window's scene instead, and styled a strip that Sequencer does not
    show. Now the sidebar says to pick a scene; a script, outside any Sequencer, still
    works on the context's scene."""
    import bpy

    compat = ext("compat")
    if "sequencer_scene" not in bpy.types.WorkSpace.bl_rna.properties:
        pytest.skip("before 5.0 the Sequencer always shows the window's scene")
    strip = top_strips(scene.sequence_editor).new_image("still", str(tmp_path / "a.png"), 1, 1)
    scene.sequence_editor.active_strip = strip
    workspace = bpy.context.workspace
    workspace.sequencer_scene = None  # the window's scene is still the test's
    try:
        with sequencer_override(scene, sequencer_area):
            assert compat.sequencer_scene(bpy.context) is None
            assert not bpy.ops.sequencer.split.poll()  # as Blender's own
            assert not bpy.ops.restyle.apply_style.poll()
            assert not bpy.ops.restyle.keyframe_add.poll()
            sequencer = ext("panels.sequencer")
            shown = [p for p in sequencer.classes if p.poll(bpy.context)]
            assert shown == [sequencer.RESTYLE_PT_main]
            calls: list = []
            shim = type("Shim", (), {"layout": CheckedLayout(calls)})()
            sequencer.RESTYLE_PT_main.draw(shim, bpy.context)
            assert labels(calls) == ["This Sequencer shows no scene: pick one in its header"]
        assert compat.sequencer_scene(bpy.context) == scene
    finally:
        workspace.sequencer_scene = scene


def test_idle(panel_context):
    calls = draw_all(panel_context)
    assert ("operator", {"operator": "restyle.apply_style", "icon": "BRUSHES_ALL"}) in calls
    assert "still" in labels(calls)
    assert any(c[0] == "template_icon_view" for c in calls)


def test_with_other_strips_selected_it_says_which_is_styled(panel_context, tmp_path):
    """Two strips selected, Apply styles the active one only: the sidebar named it without
    saying the other is left alone."""
    scene = panel_context.scene
    strips = top_strips(scene.sequence_editor)
    other = strips.new_image("other", str(tmp_path / "b.png"), 2, 1)
    for strip in all_strips(scene):
        strip.select = False
    assert "Only this, the active strip, is styled" not in labels(draw_all(panel_context))
    other.select = scene.sequence_editor.active_strip.select = True
    assert "Only this, the active strip, is styled" in labels(draw_all(panel_context))


def test_running(panel_context):
    runner, progress = ext("operators.runner"), ext("core.progress")
    runner.RUN.status = runner.RUNNING
    runner.RUN.strip, runner.RUN.style = "still", "Comic Ink"
    for shown in (
        progress.Progress(0, 10, stage="setup", message="converting styles"),
        progress.Progress(4, 10, fps=2.5, eta_s=2.4),
        progress.Progress(9, 10, fps=0.01, eta_s=4000),
    ):
        runner.RUN.progress = shown
        calls = draw_all(panel_context)
        bars = [c[1] for c in calls if c[0] == "progress"]
        assert len(bars) == 1
        assert not any(
            c[0] == "operator" and c[1]["operator"] == "restyle.apply_style" for c in calls
        )
        assert any(c[0] == "operator" and c[1]["operator"] == "restyle.cancel" for c in calls)
    assert bars[0]["factor"] == pytest.approx(0.9) and "1 h 06 min left" in bars[0]["text"]


def test_the_bar_says_a_message_until_a_rate_is_known(panel_context):
    """A resume's first event says the frames it kept (398d4c0): the sidebar drew only
    '54 / 100' where the command line's bar says '54 frames kept from before'."""
    runner, progress = ext("operators.runner"), ext("core.progress")
    runner.RUN.status = runner.RUNNING
    runner.RUN.strip, runner.RUN.style = "still", "Comic Ink"
    texts = []
    for shown in (
        progress.Progress(54, 100, stage="stylize", message="54 frames kept from before"),
        progress.Progress(55, 100, fps=2.5, eta_s=18.0, stage="stylize"),
    ):
        runner.RUN.progress = shown
        texts += [c[1]["text"] for c in draw_all(panel_context) if c[0] == "progress"]
    assert texts == ["54 / 100, 54 frames kept from before", "55 / 100, 2.5 frames/s, 18 s left"]


@pytest.mark.parametrize("status", ["FINISHED", "FAILED", "CANCELLED"])
def test_after_a_run(panel_context, status):
    runner = ext("operators.runner")
    runner.RUN.end(status, f"the {status.lower()} summary", "/tmp/somewhere")
    calls = draw_all(panel_context)
    assert f"the {status.lower()} summary" in labels(calls)
    assert "Last output: /tmp/somewhere" in labels(calls)
    assert any(c[0] == "operator" and c[1]["operator"] == "wm.path_open" for c in calls)


def test_a_long_summary_is_wrapped_not_cut(panel_context):
    """Blender cuts a too-long label in the middle: the summary comes as lines that fit."""
    runner, sequencer = ext("operators.runner"), ext("panels.sequencer")
    width = sequencer.wrap_width(panel_context)  # the test's region: wider than a sidebar
    # not measurements ('22.1 frames/s'): round 25's sidebar leaves those to the details
    clauses = ", ".join(["2 reused", "3 kept from before", "1 held"] * (width // 20))
    summary = (
        f"clip30.Comic Ink: frames 3-26, 24 styled, {clauses}; engine: onnx fp32 on cpu "
        "(asked for; fast graph, 2 worker(s) x 1 thread(s))"
    )
    runner.RUN.end("FINISHED", summary, "/tmp/somewhere")
    lines = [c[1] for c in draw_all(panel_context) if c[0] == "label"]
    first = next(i for i, c in enumerate(lines) if c["text"].startswith("clip30.Comic Ink"))
    engine = next(i for i, c in enumerate(lines) if c["text"].startswith("Engine: onnx"))
    shown = lines[first : engine + 3]
    assert shown[0]["icon"] == "CHECKMARK" and lines[engine]["icon"] == "INFO"
    assert all(len(c["text"]) <= width for c in shown)
    words = " ".join(c["text"] for c in lines[first:engine]).split()
    assert words == summary.partition("; engine: ")[0].split()
    assert len(lines[first:engine]) > 1 and lines[first + 1]["icon"] == "BLANK1"


def test_every_option_shown(panel_context):
    settings = panel_context.scene.restyle
    for mode in ("ORIGINAL", "MAX_SIDE", "SCALE"):
        settings.size_mode = mode
        settings.style = "PICTURE"
        settings.frame_start, settings.frame_end = 3, 9
        calls = draw_all(panel_context)
        props = {c[1]["property"] for c in calls if c[0] == "prop"}
        assert {
            "picture",
            "strength",
            "size_mode",
            "preserve_colors",
            "temporal",
            "carry",
            "backend",
            "device",
            "output_format",
            "frame_start",
            "frame_end",
        } <= props
        assert ("max_side" in props) == (mode == "MAX_SIDE")
        assert ("scale" in props) == (mode == "SCALE")


def test_unsupported_strip_is_named(panel_context):
    scene = panel_context.scene
    strip = top_strips(scene.sequence_editor).new_effect(
        "adjust", "ADJUSTMENT", 2, **ext("compat").effect_span(1, 5)
    )
    scene.sequence_editor.active_strip = strip
    assert "'adjust' is an adjustment layer" in labels(draw_all(panel_context, RANGE))
    assert len(all_strips(scene)) == 2


RANGE = ("RESTYLE_PT_range",)
SOUND_STRIP_SAYS = ["'tone' is a sound strip", "Select a movie or image strip to style"]


def test_a_sound_strip_shows_no_frame_range(panel_context, tmp_path):
    """The GUI walkthrough saw the sidebar offer a sound strip's frames as the range to style
    ('Whole strip: 1 - 24', Set Start, From Strip) while Apply was greyed. Restyle cannot
    style sound: the sidebar says which strips it styles, and shows no range for it; the
    sub-panels that act on the active strip say what to select (Snap Cuts acts on all)."""
    import wave

    scene = panel_context.scene
    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(48000)
        sound.writeframes(bytes(2 * 48000))  # one second: 24 frames at 24 fps
    try:
        tone = top_strips(scene.sequence_editor).new_sound("tone", str(path), 3, 1)
    except RuntimeError as exc:  # bpy 4.2's module
        if "without Audaspace" not in str(exc):
            raise
        pytest.skip("this bpy has no sound (compiled without Audaspace)")
    scene.sequence_editor.active_strip = tone
    calls = draw_all(panel_context, RANGE)
    shown = labels(calls)
    assert shown[:2] == SOUND_STRIP_SAYS, shown
    assert not any("Whole strip" in text for text in shown), shown
    assert not [c for c in calls if c[1].get("property") in ("frame_start", "frame_end")]
    drawn = {c[1]["operator"] for c in calls if c[0] == "placed"}
    assert "restyle.set_frame_range" not in drawn

    calls = []
    for name in ("keyframes", "background", "edit"):
        panel = ext(f"panels.{name}").classes[-1]
        panel.draw(type("Shim", (), {"layout": CheckedLayout(calls)})(), panel_context)
    assert labels(calls) == [
        "Select the movie or image strip to paint keyframes of",
        "Select the movie or image strip to matte",
        "Select a movie or image strip to stabilize or split",
    ]
    assert enabled_operators(calls) == {"restyle.snap_cuts": True}

    scene.sequence_editor.active_strip = all_strips(scene)["still"]
    assert "Whole strip: 1 - 1" in labels(draw_all(panel_context))  # a picture strip's range


def test_actions_need_a_movie_or_image_strip(panel_context):
    """Apply is greyed while a strip Restyle cannot read is active; Matte, Stabilize, Split,
    Add Keyframe and Suggest Keyframes were not, and each pressed only to say why not."""
    scene = panel_context.scene
    panels = [ext(f"panels.{name}").classes[-1] for name in ("keyframes", "background", "edit")]

    def drawn() -> dict[str, bool]:
        calls: list = []
        for panel in panels:
            assert panel.poll(panel_context)
            panel.draw(type("Shim", (), {"layout": CheckedLayout(calls)})(), panel_context)
        return enabled_operators(calls)

    actions = {
        "restyle.keyframe_add",
        "restyle.suggest_keyframes",
        "restyle.matte_strip",
        "restyle.stabilize_strip",
        "restyle.split_at_cuts",
    }
    assert all(drawn()[name] for name in actions)  # the panel's image strip
    words = top_strips(scene.sequence_editor).new_effect(
        "words", "TEXT", 2, **ext("compat").effect_span(1, 5)
    )
    scene.sequence_editor.active_strip = words
    shown = drawn()
    assert not any(shown.get(name) for name in actions)  # greyed or not drawn at all
    assert shown["restyle.snap_cuts"]  # acts on every strip, not the active one


def test_a_style_trained_again_shows_its_new_thumbnail(restyle, tmp_path):
    """Train a style again under its name: its thumbnail file changes, but the picker kept
    showing the preview it had loaded first (until Blender restarted)."""
    import os

    import cv2
    import numpy as np

    catalog = ext("props").CATALOG
    catalog.reload(ext("props").library_root(None))  # the previews exist once the picker has
    thumbnail = tmp_path / "thumbnail.png"
    cv2.imwrite(str(thumbnail), np.zeros((32, 32, 3), np.uint8))
    catalog._icon("Trained Twice", thumbnail)
    assert tuple(catalog.previews["Trained Twice"].image_size) == (32, 32)
    cv2.imwrite(str(thumbnail), np.full((48, 64, 3), 255, np.uint8))  # trained again
    os.utime(thumbnail, ns=(10**18, 10**18))  # a file system with coarse times still differs
    catalog._icon("Trained Twice", thumbnail)
    assert tuple(catalog.previews["Trained Twice"].image_size) == (64, 48)


def test_preferences_draw(restyle):
    import bpy

    prefs = bpy.context.preferences.addons[restyle.__name__].preferences
    calls: list = []
    ext("prefs").draw_preferences(prefs, CheckedLayout(calls), bpy.context)
    text = " ".join(labels(calls))
    assert "onnxruntime 1." in text and "av 1" in text
    if ext("prefs").module_status("torch", "torch"):
        assert "torch 2." in text
    else:  # online access is off in the bpy module: the exact command instead of a button
        assert "pip install --target" in text and "torch==2.13.0" in text
        operators = [c[1] for c in calls if c[0] == "operator"]
        assert not any(o["operator"].startswith("restyle.install") for o in operators)
        # Blender cuts a label that long: a button beside it copies the command in full.
        command = ext("prefs").install_command()
        assert command in labels(calls)
        copies = [o for o in operators if o["operator"] == "restyle.copy_command"]
        assert copies and copies[0]["icon"] == "COPYDOWN"
