"""The round-17 GUI walkthrough's sidebar findings: a missing file and a missing PyTorch said
before a button is pressed (and the button greyed), Replace Background's choice as a mode
with a colour swatch, a file picker or a strip picker, and Stabilize's settings in the panel
with one plain Stabilize button. Drawn with test_panels' checking layout."""

# ruff: noqa: F811 (test_panels' panel_context fixture, imported, is the tests' argument)

from __future__ import annotations

import os

import pytest
import test_panels
from test_panels import CheckedLayout, enabled_operators, labels, panel_context  # noqa: F401
from vse import all_strips, ext

pytestmark = pytest.mark.blender


class Recorded(test_panels.OperatorProperties):
    """An operator button's properties, checked as test_panels checks them, and kept."""

    kept: list = []

    def __init__(self, idname: str):
        super().__init__(idname)
        object.__setattr__(self, "values", {})
        Recorded.kept.append((idname, self.values))

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        self.values[name] = value


@pytest.fixture
def recorded(monkeypatch):
    Recorded.kept = []
    monkeypatch.setattr(test_panels, "OperatorProperties", Recorded)
    return Recorded.kept


def draw(panel_name: str, context) -> list:
    panel = ext(f"panels.{panel_name}").classes[-1]
    assert panel.poll(context)
    calls: list = []
    panel.draw(type("Shim", (), {"layout": CheckedLayout(calls)})(), context)
    return calls


def main_panel(context) -> list:
    calls: list = []
    shim = type("Shim", (), {"layout": CheckedLayout(calls)})()
    ext("panels.sequencer").RESTYLE_PT_main.draw(shim, context)
    return calls


def add_keyframe(settings, strip: str, frame: int = 1) -> None:
    keyframe = settings.keyframes.add()
    keyframe.strip, keyframe.frame = strip, frame


# -- 1. a missing file ------------------------------------------------------------------------
def test_a_missing_file_is_named_and_what_reads_it_is_greyed(panel_context, tmp_path):
    """Apply stayed enabled on a strip whose file is gone, and said so only once pressed."""
    settings = panel_context.scene.restyle
    add_keyframe(settings, "still")
    reading = {
        "restyle.apply_style",
        "restyle.suggest_keyframes",
        "restyle.export_keyframes",
        "restyle.train_style",
        "restyle.matte_strip",
        "restyle.stabilize_strip",
        "restyle.split_at_cuts",
    }

    def shown():
        calls = main_panel(panel_context)
        for name in ("keyframes", "background", "edit"):
            calls += draw(name, panel_context)
        return calls

    calls = shown()
    assert not [c for c in calls if c[0] == "label" and "missing" in c[1].get("text", "")]
    enabled = enabled_operators(calls)
    torch = ext("core.engines").torch_available()  # no torch: Train is greyed for that
    assert all(enabled[name] for name in (reading if torch else reading - {"restyle.train_style"}))

    (tmp_path / "still.png").unlink()
    calls = shown()
    warning = [c[1] for c in calls if c[0] == "label" and c[1].get("icon") == "ERROR"]
    assert warning[0] == {"text": "File missing: still.png", "icon": "ERROR"}
    enabled = enabled_operators(calls)
    assert not any(enabled[name] for name in reading), enabled
    assert enabled["restyle.keyframe_add"] and enabled["restyle.snap_cuts"]  # read no file


def test_a_missing_movie_is_named(panel_context, tmp_path):
    """A movie strip's file is looked for too (its path, not its pictures)."""
    from clips import make_index_clip

    scene = panel_context.scene
    path = make_index_clip(tmp_path / "shot.mp4", 4)
    strip = test_panels.top_strips(scene.sequence_editor).new_movie("shot", str(path), 3, 1)
    scene.sequence_editor.active_strip = strip
    calls = main_panel(panel_context)
    assert not [text for text in labels(calls) if text.startswith("File missing")]
    assert enabled_operators(calls)["restyle.apply_style"]
    strip.filepath = str(tmp_path / "gone.mp4")
    calls = main_panel(panel_context)
    assert "File missing: gone.mp4" in labels(calls)
    assert not enabled_operators(calls)["restyle.apply_style"]


# -- 2. no PyTorch ----------------------------------------------------------------------------
@pytest.mark.parametrize("torch", [False, True])
def test_train_says_it_needs_pytorch_before_it_is_pressed(panel_context, monkeypatch, torch):
    engines = ext("core.engines")
    monkeypatch.setattr(engines, "torch_available", lambda: torch)
    # looked up again (raising=False: before the cache, there was none to empty)
    monkeypatch.setattr(ext("prefs"), "TORCH_FOUND", [], raising=False)
    add_keyframe(panel_context.scene.restyle, "still")
    calls = draw("keyframes", panel_context)
    errors = [c[1]["text"] for c in calls if c[0] == "label" and c[1].get("icon") == "ERROR"]
    after = [c[1] for c in calls if c[0] == "label"]
    hint = " ".join(
        c["text"] for c in after[after.index({"text": errors[0], "icon": "ERROR"}) :]
    ) if errors else ""  # fmt: skip
    refusal = ext("operators.train_style").NO_TORCH  # Train's own words
    assert refusal == "training needs PyTorch: install it in Preferences > Add-ons > Restyle"
    if torch:
        assert not errors
    else:
        assert hint == refusal[:1].upper() + refusal[1:], hint
    assert enabled_operators(calls)["restyle.train_style"] is torch


# -- 3. a sound strip's name, quoted ----------------------------------------------------------
def test_an_unsupported_strip_is_named_in_quotes(panel_context):
    scene = panel_context.scene
    words = test_panels.top_strips(scene.sequence_editor).new_effect(
        "snd", "TEXT", 2, **ext("compat").effect_span(1, 5)
    )
    scene.sequence_editor.active_strip = words
    assert labels(main_panel(panel_context))[0] == "'snd' is a text strip"


# -- 4. Replace Background's choice -----------------------------------------------------------
@pytest.fixture
def matte(panel_context, tmp_path):
    """A strip marked as the matte of the fixture's still (what Matte leaves)."""
    scene = panel_context.scene
    strips = test_panels.top_strips(scene.sequence_editor)
    source = scene.sequence_editor.active_strip
    matte = strips.new_image("still.Matte", str(tmp_path / "still.png"), 2, 1)
    matte[ext("operators.matte").MATTE_OF] = source.name
    scene.sequence_editor.active_strip = matte
    return matte


def replace_button(calls, recorded) -> tuple[dict, bool]:
    (values,) = [v for op, v in recorded if op == "restyle.replace_background"]
    return values, enabled_operators(calls)["restyle.replace_background"]


def test_background_is_a_mode_with_a_swatch_a_file_picker_or_a_strip_picker(
    panel_context, matte, recorded
):
    """The Background field was free text ('BLUR'): now a mode, and for each mode its own
    control, which the panel turns into the operator's documented text."""
    settings = panel_context.scene.restyle
    rna = settings.bl_rna.properties
    assert rna["background_color"].subtype == "COLOR_GAMMA"
    assert rna["background_color"].array_length == 3
    assert rna["background_picture"].subtype == "FILE_PATH"
    assert rna["background_kind"].type == "ENUM"

    def shown(kind, **values):
        settings.background_kind = kind
        for name, value in values.items():
            setattr(settings, name, value)
        recorded.clear()
        calls = draw("background", panel_context)
        props = [c for c in calls if c[0] in ("prop", "prop_search")]
        return [(c[0], c[1]["property"]) for c in props], *replace_button(calls, recorded)

    props, values, enabled = shown("BLUR")
    assert props == [("prop", "background_kind")] and values["background"] == "BLUR" and enabled

    props, values, enabled = shown("COLOR", background_color=(1.0, 0.5, 0.0))
    assert props == [("prop", "background_kind"), ("prop", "background_color")]
    assert values == {"strip": matte.name, "background": "#FF8000"} and enabled

    props, values, enabled = shown("PICTURE", background_picture="")
    assert props[1] == ("prop", "background_picture") and not enabled  # nothing chosen yet
    props, values, enabled = shown("PICTURE", background_picture="//sky.png")
    assert values["background"] == "//sky.png" and enabled

    props, values, enabled = shown("STRIP", background_strip="still")
    assert props[1] == ("prop_search", "background_strip") and values["background"] == "still"
    calls = draw("background", panel_context)
    (search,) = [c[1] for c in calls if c[0] == "prop_search"]
    editor = panel_context.scene.sequence_editor
    assert search["search_data"] == editor
    assert search["search_property"] in ("strips_all", "sequences_all")
    assert getattr(editor, search["search_property"])["still"]


def test_the_colour_chosen_is_the_colour_behind_the_matte(panel_context, matte, recorded):
    import bpy

    settings = panel_context.scene.restyle
    settings.background_kind = "COLOR"
    settings.background_color = (0.2, 0.4, 0.6)
    values, _enabled = replace_button(draw("background", panel_context), recorded)
    assert bpy.ops.restyle.replace_background(**values) == {"FINISHED"}
    (colour,) = [s for s in all_strips(panel_context.scene) if s.type == "COLOR"]
    assert tuple(colour.color) == pytest.approx((0.2, 0.4, 0.6), abs=0.5 / 255)


# -- 5. Stabilize's settings ------------------------------------------------------------------
def test_stabilize_shows_its_settings_and_one_plain_button(panel_context, recorded):
    """The main button was a drop-down of modes, and smoothness and crop were not there."""
    settings = panel_context.scene.restyle
    settings.stabilize_mode = "TRANSLATION"
    settings.stabilize_smoothness, settings.stabilize_crop = 0.3, 0.2
    settings.stabilize_strength, settings.stabilize_tripod = 0.8, True
    calls = draw("edit", panel_context)
    assert not [c for c in calls if c[0] == "operator_menu_enum"]
    props = {c[1]["property"] for c in calls if c[0] == "prop"}
    assert {"stabilize_mode", "stabilize_smoothness", "stabilize_crop"} <= props
    buttons = [c[1] for c in calls if c[0] == "operator"]
    (button,) = [b for b in buttons if b["operator"] == "restyle.stabilize_strip"]
    assert "text" not in button  # the operator's own label, 'Stabilize'
    (values,) = [v for op, v in recorded if op == "restyle.stabilize_strip"]
    assert values["mode"] == "TRANSLATION" and values["tripod"] is True
    assert values["smoothness"] == pytest.approx(0.3) and values["crop"] == pytest.approx(0.2)
    assert values["strength"] == pytest.approx(0.8)


# -- 6. late review: a styled strip's source file, one stat a redraw, PyTorch looked up once --
def styled_output(panel_context, tmp_path):
    """A strip marked as Apply's output of the fixture's still (what Apply leaves), its
    frames in a folder of their own."""
    output_strip = ext("operators.output_strip")
    editor = panel_context.scene.sequence_editor
    source = editor.active_strip
    folder = tmp_path / "styled"
    folder.mkdir()
    (folder / "0001.png").touch()
    styled = test_panels.top_strips(editor).new_image("still.Comic", str(folder / "0001.png"), 2, 1)
    styled[output_strip.STYLED_FROM] = source.name
    styled[output_strip.STYLED_MEDIA] = output_strip.media_record(source)
    editor.active_strip = styled
    return source, styled, folder / "0001.png"


def test_a_styled_strip_whose_frames_are_gone_can_still_be_applied(panel_context, tmp_path):
    """Apply on a styled strip styles its source: the styled strip's own frames, cleaned
    away with the temp folder, showed 'File missing' and greyed Apply although Apply works."""
    editor = panel_context.scene.sequence_editor
    source, styled, frame = styled_output(panel_context, tmp_path)
    assert ext("operators.output_strip").styled_source(editor, styled)[0] == source  # Apply's
    frame.unlink()
    calls = main_panel(panel_context)
    assert "Restyle output of 'still'" in labels(calls)
    assert not [text for text in labels(calls) if text.startswith("File missing")]
    assert enabled_operators(calls)["restyle.apply_style"]

    # the source's file gone instead: that is the file Apply would miss
    frame.touch()
    (tmp_path / "still.png").unlink()
    calls = main_panel(panel_context)
    assert "File missing: still.png" in labels(calls)
    assert not enabled_operators(calls)["restyle.apply_style"]

    # the source no longer in the sequencer: Apply styles the output itself, so its frames
    test_panels.top_strips(editor).remove(source)
    assert enabled_operators(main_panel(panel_context))["restyle.apply_style"]
    frame.unlink()
    calls = main_panel(panel_context)
    assert "File missing: 0001.png" in labels(calls)
    assert not enabled_operators(calls)["restyle.apply_style"]


def test_a_redraw_looks_for_the_strips_file_once(panel_context, monkeypatch):
    """The main panel and three sub-panels each stat the file: four a redraw, now one."""
    strip = panel_context.scene.sequence_editor.active_strip
    path = ext("operators.output_strip").strip_media(strip)
    looked: list = []
    isfile = os.path.isfile
    monkeypatch.setattr(os.path, "isfile", lambda p: looked.append(p) or isfile(p))
    for _redraw in range(2):
        calls = main_panel(panel_context)
        for name in ("keyframes", "background", "edit"):
            calls += draw(name, panel_context)
    assert looked.count(path) == 2, looked


def test_pytorch_is_looked_up_once_until_its_install_finishes(panel_context, monkeypatch):
    """find_spec('torch') scans sys.path while torch is not imported: it ran every redraw."""
    engines, prefs = ext("core.engines"), ext("prefs")
    asked: list = []
    monkeypatch.setattr(engines, "torch_available", lambda: asked.append(1) is None and False)
    monkeypatch.setattr(ext("prefs"), "TORCH_FOUND", [], raising=False)
    for _redraw in range(3):
        draw("keyframes", panel_context)
    assert len(asked) == 1

    # the preferences' Install PyTorch finishing (its pip run said 0)
    monkeypatch.setattr(prefs, "INSTALL", prefs.InstallState())
    monkeypatch.setattr(prefs, "add_torch_site_packages", lambda: None)
    prefs.INSTALL.messages.put(("done", 0))
    prefs.RESTYLE_OT_install_torch._drain(None, block=False)
    assert prefs.INSTALL.ok
    draw("keyframes", panel_context)
    assert len(asked) == 2


def test_the_background_mode_is_labelled_type_and_end_says_what_0_does(panel_context, matte):
    calls = draw("background", panel_context)
    (kind,) = [c[1] for c in calls if c[0] == "prop" and c[1]["property"] == "background_kind"]
    assert kind["text"] == "Type"  # 'Background' inside the Background panel
    end = panel_context.scene.restyle.bl_rna.properties["frame_end"].description
    assert "(0: to the strip's last frame)" in end
    editor = panel_context.scene.sequence_editor
    assert getattr(editor, ext("compat").all_strips_name(editor))["still"]  # 4.4's rename
