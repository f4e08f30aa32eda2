"""One rule for a frame range outside the strip, and one table of engine choices, in Blender."""

from __future__ import annotations

import pytest
from vse import SIZE, add_movie, ext, sequencer_override

from clips import make_index_clip

pytestmark = pytest.mark.blender


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_index_clip(tmp_path_factory.mktemp("range") / "index.mp4", 24, SIZE, gop=6)


def test_apply_and_suggest_share_the_out_of_range_rule(scene, sequencer_area, clip):
    import bpy

    source = add_movie(scene, sequencer_area, clip, frame_start=5)  # shows scene 5..28
    scene.sequence_editor.active_strip = source
    settings = scene.restyle
    settings.frame_start, settings.frame_end = 20, 40
    messages = []
    with sequencer_override(scene, sequencer_area):
        for run in (
            lambda: bpy.ops.restyle.suggest_keyframes(strip=source.name),
            lambda: bpy.ops.restyle.apply_style(strip=source.name, style="comic-ink"),
        ):
            with pytest.raises(RuntimeError, match="outside") as caught:
                run()
            messages.append(str(caught.value).splitlines()[-1])
    assert messages[0] == messages[1]
    assert "which shows frames 5-28" in messages[0]
    assert len(scene.timeline_markers) == 0 and settings.strip_keyframes(source.name) == []

    settings.frame_start, settings.frame_end = 8, 20
    with sequencer_override(scene, sequencer_area):
        assert bpy.ops.restyle.suggest_keyframes(strip=source.name) == {"FINISHED"}
    keyframes = settings.strip_keyframes(source.name)
    assert keyframes and all(8 <= k <= 20 for k in keyframes)


def test_ranges_before_frame_0_read_well(scene, sequencer_area, clip):
    """A strip moved before frame 0 said 'which shows frames -20--9'."""
    import bpy

    source = add_movie(scene, sequencer_area, clip, frame_start=-20)  # shows -20..3
    settings = scene.restyle
    settings.frame_start, settings.frame_end = -30, -9
    with pytest.raises(RuntimeError, match="outside") as caught:
        bpy.ops.restyle.apply_style(strip=source.name, style="comic-ink")
    assert "frames -30 to -9 are outside" in str(caught.value)
    assert "which shows frames -20 to 3" in str(caught.value)


def test_a_strip_in_a_trimmed_meta_offers_only_what_it_shows(scene, sequencer_area, clip):
    """'From Strip' took the strip's own handles (1-24) where its meta hides 1-5, and Apply
    then refused that very range; Add Keyframe took a hidden frame that Export refused."""
    import bpy
    from test_panels import CheckedLayout, labels

    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    for strip in ext("compat").all_strips(scene.sequence_editor):
        strip.select = strip == source
    with sequencer_override(scene, sequencer_area):
        assert bpy.ops.sequencer.meta_make() == {"FINISHED"}
        ext("compat").strip_set(source.parent_meta(), "left_handle", 6)
        scene.sequence_editor.active_strip = source
        calls: list = []
        shim = type("Shim", (), {"layout": CheckedLayout(calls)})()
        ext("panels.sequencer").RESTYLE_PT_range.draw(shim, bpy.context)
        assert "Whole strip: 6 - 24" in labels(calls)

        assert bpy.ops.restyle.set_frame_range(source="STRIP") == {"FINISHED"}
        settings = scene.restyle
        assert (settings.frame_start, settings.frame_end) == (6, 24)
        settings.frame_start = settings.frame_end = 0
        scene.frame_set(10)
        assert bpy.ops.restyle.set_frame_range(source="END") == {"FINISHED"}
        assert (settings.frame_start, settings.frame_end) == (6, 10)

        scene.frame_set(3)
        with pytest.raises(RuntimeError, match="frame 3 is outside"):
            bpy.ops.restyle.keyframe_add()
        scene.frame_set(6)
        assert bpy.ops.restyle.keyframe_add() == {"FINISHED"}
    assert settings.strip_keyframes(source.name) == [6]


def test_preferences_and_sidebar_offer_the_same_engine_choices(restyle):
    import bpy

    choices = ext("core.engines.choices")
    prefs = bpy.context.preferences.addons[restyle.__name__].preferences
    for prop, table in (("backend", choices.BACKENDS), ("device", choices.DEVICES)):
        in_prefs = [
            (i.identifier, i.name, i.description)
            for i in type(prefs).bl_rna.properties[prop].enum_items
        ]
        in_sidebar = [
            (i.identifier, i.name, i.description)
            for i in ext("props").RESTYLE_PG_settings.bl_rna.properties[prop].enum_items
        ]
        assert in_prefs == [(c.word.upper(), c.label, c.description) for c in table]
        assert in_sidebar[0][0] == "DEFAULT" and in_sidebar[1:] == in_prefs


def test_end_at_current_frame_0_never_reads_as_the_strips_end(scene, sequencer_area, clip):
    """End 0 means the strip's end (871340f), so End at Current Frame on frame 0 after a
    negative Start stored -5..0, which then styled -5 to the strip's last frame (3)."""
    import bpy

    source = add_movie(scene, sequencer_area, clip, frame_start=-20)  # shows -20..3
    scene.sequence_editor.active_strip = source
    settings = scene.restyle
    settings.frame_start, settings.frame_end = -5, 2
    scene.frame_set(0)
    with sequencer_override(scene, sequencer_area):
        assert bpy.ops.restyle.set_frame_range(source="END") == {"FINISHED"}
    assert (settings.frame_start, settings.frame_end) == (-5, 1)


def test_a_strip_that_ends_at_frame_0_keeps_end_0(scene, sequencer_area, clip):
    """9f3f909 turned every End 0 into 1, so a strip showing -23..0 got -23..1 from Set to
    Strip, which Apply then refused as outside the strip."""
    import bpy

    source = add_movie(scene, sequencer_area, clip, frame_start=-23)  # shows -23..0
    scene.sequence_editor.active_strip = source
    settings = scene.restyle
    with sequencer_override(scene, sequencer_area):
        assert bpy.ops.restyle.set_frame_range(source="STRIP") == {"FINISHED"}
        assert (settings.frame_start, settings.frame_end) == (-23, 0)
        assert bpy.ops.restyle.apply_style(strip=source.name, style="comic-ink") == {"FINISHED"}
    styled = scene.sequence_editor.active_strip
    assert (styled.frame_final_start, styled.frame_final_end - 1) == (-23, 0)
