"""A retimed strip (a Speed effect on it or on a meta strip holding it, or retiming keys)
greys what reads its frames in the sidebar's sub-panels, as it greys Apply (d0a8027), in the
words each of them refuses it with once pressed (``strip_source.retimed``: one rule):
Stabilize and Split at Cuts (Stabilize and Cuts), Matte (Background), Suggest, Export and
Train (Keyframes). Each was enabled and said why only once pressed. Each still refuses when
a script runs it, before changing anything (bpy 5.0.1)."""

# ruff: noqa: F811 (test_panels' panel_context fixture, imported, is the tests' argument)

from __future__ import annotations

import pytest
from test_panels import CheckedLayout, enabled_operators, panel_context  # noqa: F401
from test_polish_round20 import _clip, _run
from vse import all_strips, ext, sequencer_override, top_strips

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]

READING = {  # operator -> the sub-panel drawing its button
    "restyle.stabilize_strip": "edit",
    "restyle.split_at_cuts": "edit",
    "restyle.matte_strip": "background",
    "restyle.suggest_keyframes": "keyframes",
    "restyle.export_keyframes": "keyframes",
    "restyle.train_style": "keyframes",
}


def _sub_panels(context) -> dict[str, list]:
    """Each sub-panel's drawing calls, by its module's name."""
    drawn = {}
    for name in ("edit", "background", "keyframes"):
        panel = ext(f"panels.{name}").classes[-1]
        assert panel.poll(context)
        calls: list = []
        panel.draw(type("Shim", (), {"layout": CheckedLayout(calls)})(), context)
        drawn[name] = calls
    return drawn


def _errors(calls) -> list[str]:
    """Each ERROR line with its wrapped lines after it (``draw_wrapped``), joined."""
    shown = [c[1] for c in calls if c[0] == "label"]
    said = []
    for i, line in enumerate(shown):
        if line.get("icon") != "ERROR":
            continue
        lines = [line["text"]]
        for more in shown[i + 1 :]:
            if more.get("icon") != "BLANK1":
                break
            lines.append(more["text"])
        said.append(" ".join(lines))
    return said


def _changed(scene) -> tuple:
    """What a refused run must leave as it was: strips, markers, keyframes."""
    settings = scene.restyle
    return (
        sorted(all_strips(scene).keys()),
        sorted((m.name, m.frame) for m in scene.timeline_markers),
        sorted((k.strip, k.frame) for k in settings.keyframes),
    )


def _assert_greyed_and_refused(context, strip, said_part: str) -> None:
    """Every button reading ``strip``'s frames greyed, its sub-panel saying why in the words
    its operator refuses with; pressed by a script, each refuses and changes nothing."""
    import bpy

    scene = context.scene
    said = ext("operators.strip_source").retimed(strip)
    assert said_part in said, said
    drawn = _sub_panels(context)
    for name, calls in drawn.items():
        assert said in _errors(calls), (name, _errors(calls))
    enabled = {}
    for calls in drawn.values():
        enabled.update(enabled_operators(calls))
    assert not any(enabled[name] for name in READING), enabled
    assert enabled["restyle.keyframe_add"] and enabled["restyle.snap_cuts"]  # read no frames
    before = _changed(scene)
    for name in READING:
        operator = getattr(bpy.ops.restyle, name.partition(".")[2])
        with pytest.raises(RuntimeError) as refused:
            operator(strip=strip.name)
        assert str(refused.value).removeprefix("Error: ").strip() == said, (name, refused.value)
        assert _changed(scene) == before, name
    folder = ext("operators.keyframes").keyframe_folder(strip.name, scene)[0]
    assert not folder.exists()  # Export wrote nothing


def _readable_first(context, strip) -> None:
    """Before it is retimed every button reading it can be pressed (Train: with PyTorch)."""
    context.scene.sequence_editor.active_strip = strip
    keyframe = context.scene.restyle.keyframes.add()  # Export and Train need one
    keyframe.strip, keyframe.frame = strip.name, ext("compat").handles(strip)[0]
    enabled = {}
    torch = ext("core.engines").torch_available()  # no torch: Train is greyed for that
    no_torch = ext("operators.train_style").NO_TORCH.lower()  # its own line, not the strip's
    for calls in _sub_panels(context).values():
        enabled.update(enabled_operators(calls))
        about = [e for e in _errors(calls) if torch or e.lower() != no_torch]
        assert not about, about
    assert all(enabled[n] for n in READING if torch or n != "restyle.train_style"), enabled


def test_a_speed_effect_greys_what_reads_the_strip(panel_context):
    scene = panel_context.scene
    compat = ext("compat")
    strip = scene.sequence_editor.active_strip
    _readable_first(panel_context, strip)
    top_strips(scene.sequence_editor).new_effect(
        "Speed", "SPEED", 3, **compat.effect_span(1, 1), **compat.effect_inputs(strip)
    )
    scene.sequence_editor.active_strip = strip
    _assert_greyed_and_refused(panel_context, strip, "retimed by the speed effect 'Speed'")


def test_a_speed_effect_on_a_meta_strip_greys_what_reads_its_strip(scene, sequencer_area, tmp_path):
    import bpy

    compat = ext("compat")
    strip = _clip(scene, tmp_path)
    with sequencer_override(scene, sequencer_area):
        _readable_first(bpy.context, strip)
        for other in all_strips(scene):
            other.select = other == strip
        assert bpy.ops.sequencer.meta_make() == {"FINISHED"}
        meta = strip.parent_meta()
        top_strips(scene.sequence_editor).new_effect(
            "Speed", "SPEED", 3, **compat.effect_span(1, 9), **compat.effect_inputs(meta)
        )
        scene.sequence_editor.active_strip = strip
        _assert_greyed_and_refused(bpy.context, strip, "retimed by the speed effect 'Speed'")


def test_retiming_keys_grey_what_reads_the_strip(scene, sequencer_area, tmp_path):
    import bpy

    strip = _clip(scene, tmp_path)
    with sequencer_override(scene, sequencer_area):
        _readable_first(bpy.context, strip)
        for other in all_strips(scene):  # the strip alone selected, as Blender 4.2 needs
            other.select = other == strip
        scene.sequence_editor.active_strip = strip
        assert bpy.ops.sequencer.retiming_segment_speed_set(speed=50.0) == {"FINISHED"}
        if bpy.app.version < (4, 3) and not ext("compat").retiming_active(strip):
            pytest.skip("Blender 4.2's retiming_segment_speed_set keys no segment of this strip")
        assert ext("compat").retiming_active(strip)
        _assert_greyed_and_refused(bpy.context, strip, "has retiming keys")


def test_a_styled_strip_under_a_speed_effect_says_why_in_its_sub_panels(
    scene, sequencer_area, tmp_path
):
    """Apply's own advice: style it first, then put the speed effect on the styled strip.
    Apply still reads the source there (the main panel says nothing of the retiming), but
    Stabilize, Matte and the keyframe tools read the styled strip itself: their sub-panels
    say why they are greyed."""
    import bpy

    compat = ext("compat")
    source = _clip(scene, tmp_path)
    styled, _summary = _run(scene, source.name)
    top_strips(scene.sequence_editor).new_effect(
        "Speed", "SPEED", 9, **compat.effect_span(1, 9), **compat.effect_inputs(styled)
    )
    scene.sequence_editor.active_strip = styled
    with sequencer_override(scene, sequencer_area):
        calls: list = []
        shim = type("Shim", (), {"layout": CheckedLayout(calls)})()
        ext("panels.sequencer").RESTYLE_PT_main.draw(shim, bpy.context)
        assert enabled_operators(calls)["restyle.apply_style"]  # reads 'clip', not retimed
        assert not [e for e in _errors(calls) if "retim" in e], _errors(calls)
        _assert_greyed_and_refused(bpy.context, styled, "retimed by the speed effect 'Speed'")
