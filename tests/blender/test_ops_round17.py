"""Round 17's Blender walkthrough, for scripts and the preferences:

- ``frame_start`` alone failed with 'frame range 90-0 ends before it starts': a range's
  unset end is the strip's last frame (``frame_end`` alone: from its first), for Apply and
  Split at Cuts alike, and the sidebar's End 0 after a later Start too; 0 and 0 stay the
  whole strip;
- an operator without a sequencer to work in said only 'poll() failed, context is
  incorrect': its poll now says which is missing;
- Apply on a styled strip with 0 and 0 given said 'the range given', not 'the whole strip';
- the preferences said Intel GPUs run through 'the bundled OpenVINO' (it is not bundled),
  put 'unverified' in the GPU box's title and called the Style Library the built-ins' folder.
"""

from __future__ import annotations

import pytest
from test_edit_tools import SHOT, clips, shaky  # noqa: F401  (clips: a fixture)
from test_openvino_prefs import draw
from test_panels import labels
from vse import add_movie, all_strips, ext, sequencer_override, shown_frames

from clips import encode_clip

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]
STYLE = "comic-ink"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return encode_clip(tmp_path_factory.mktemp("ops17") / "photo.mp4", shaky("astronaut", 8, 3))


def apply(strip, **given) -> tuple[set, object]:
    """Apply Style at strength 0 (no network: quick) and the strip it made, if any."""
    import bpy

    scene = strip.id_data
    before = set(all_strips(scene).keys())
    result = bpy.ops.restyle.apply_style(
        strip=strip.name, style=STYLE, strength=0.0, temporal=0.0, **given
    )
    made = [s for s in all_strips(scene) if s.name not in before]
    return result, (made[0] if made else None)


def test_a_start_or_an_end_alone_takes_the_strips_other_end(scene, clip, sequencer_area):
    source = add_movie(scene, sequencer_area, clip, frame_start=5)  # shows scene 5..12
    assert shown_frames(source) == (5, 12)
    result, made = apply(source, frame_start=9)  # was: 'frame range 9-0 ends before it starts'
    assert result == {"FINISHED"} and shown_frames(made) == (9, 12)
    result, made = apply(source, frame_end=6)  # was: 'frames 0-6 are outside ...'
    assert result == {"FINISHED"} and shown_frames(made) == (5, 6)
    result, made = apply(source, frame_start=0, frame_end=0)
    assert result == {"FINISHED"} and shown_frames(made) == (5, 12)

    scene.restyle.frame_start, scene.restyle.frame_end = 11, 0  # the sidebar's End not set
    result, made = apply(source)
    assert result == {"FINISHED"} and shown_frames(made) == (11, 12)

    with pytest.raises(RuntimeError, match=r"frame 20 is outside '.*', which shows frames 5-12"):
        apply(source, frame_start=20)
    with pytest.raises(RuntimeError, match="frame range 8-6 ends before it starts"):
        apply(source, frame_start=8, frame_end=6)  # both given: as given


def test_split_at_cuts_with_a_start_or_an_end_alone(scene, clips, sequencer_area):  # noqa: F811
    import bpy

    source = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    assert bpy.ops.restyle.split_at_cuts(strip=source.name, frame_start=SHOT + 4) == {"FINISHED"}
    pieces = sorted(all_strips(scene), key=lambda s: shown_frames(s)[0])
    assert [shown_frames(p) for p in pieces] == [(1, 2 * SHOT), (2 * SHOT + 1, 3 * SHOT)]
    assert bpy.ops.restyle.split_at_cuts(strip=pieces[0].name, frame_end=SHOT + 4) == {"FINISHED"}
    pieces = sorted(shown_frames(s) for s in all_strips(scene))
    assert pieces == [(1, SHOT), (SHOT + 1, 2 * SHOT), (2 * SHOT + 1, 3 * SHOT)]


def test_poll_says_why_there_is_nothing_to_work_on(scene, sequencer_area, tmp_path):
    import bpy

    compat = ext("compat")
    bare = bpy.data.scenes.new("no-strips")  # no sequence editor
    try:
        compat.set_sequencer_scene(bpy.context, bare)
        for run in (
            lambda: bpy.ops.restyle.apply_style(style=STYLE),
            lambda: bpy.ops.restyle.keyframe_add(),
        ):
            with pytest.raises(RuntimeError) as caught:
                run()
            said = str(caught.value)
            assert "Scene 'no-strips' has no sequencer strips: add a movie or image strip" in said
    finally:
        compat.set_sequencer_scene(bpy.context, scene)
        bpy.data.scenes.remove(bare)

    with sequencer_override(scene, sequencer_area), pytest.raises(RuntimeError) as caught:
        bpy.ops.restyle.keyframe_add()  # strips, none active
    assert "No active strip" in str(caught.value)

    if "sequencer_scene" not in bpy.types.WorkSpace.bl_rna.properties:
        return  # before 5.0 the Sequencer always shows the window's scene
    workspace = bpy.context.workspace
    workspace.sequencer_scene = None
    try:
        with sequencer_override(scene, sequencer_area):
            for run in (
                lambda: bpy.ops.restyle.apply_style(style=STYLE),
                lambda: bpy.ops.restyle.keyframe_add(),
                lambda: bpy.ops.restyle.set_frame_range(source="WHOLE"),
            ):
                with pytest.raises(RuntimeError) as caught:
                    run()
                said = str(caught.value)
                assert "This Sequencer shows no scene: pick one in its header" in said, said
    finally:
        workspace.sequencer_scene = scene


def test_a_styled_strip_with_0_and_0_given_says_the_whole_strip(scene, clip, sequencer_area):
    runner = ext("operators.runner")
    source = add_movie(scene, sequencer_area, clip, frame_start=1)  # shows 1..8
    result, first = apply(source, frame_start=1, frame_end=4)
    assert result == {"FINISHED"}
    result, made = apply(first, frame_start=0, frame_end=0)
    assert result == {"FINISHED"} and shown_frames(made) == (1, 8)
    summary = runner.RUN.summary
    assert f"frames 1-8, the whole strip ('{first.name}' shows frames 1-4)" in summary, summary
    assert "the range given" not in summary


def test_the_preferences_say_what_is_bundled(restyle, monkeypatch):
    import bpy

    monkeypatch.setattr(ext("core.engines.gpu"), "nvidia_driver_present", lambda: False)
    # no OpenVINO box to point to (a CPU without bf16): test_bf16_round21 has the other case
    monkeypatch.setattr(ext("core.gpu_install"), "cpu_flags", lambda: frozenset({"avx2"}))
    said = labels(draw(restyle))
    text = " ".join(said)  # long lines come wrapped (round 18)
    assert "GPU Support" in said and "Experimental: not yet tried on an NVIDIA GPU" in text, said
    assert "OpenVINO" in said, said
    assert not [t for t in said if "unverified" in t], said
    assert "No NVIDIA driver found: install the driver first" in text, said
    assert "(an Intel GPU needs OpenVINO, which is not bundled:" in text, said
    assert "bundled OpenVINO" not in text, said

    prefs = bpy.context.preferences.addons[restyle.__name__].preferences
    tip = prefs.bl_rna.properties["library_folder"].description
    assert "trained styles" in tip and "built-in and trained" not in tip, tip


def test_a_range_given_once_is_not_remembered(scene, clip, sequencer_area):
    """Blender restores an operator's last-used values when it runs again from its UI (a
    button, a menu, F3: ``bpy.ops`` with undo, as Blender calls it; plain ``bpy.ops`` from a
    script does not). Restored values are not 'set' (``is_property_set``'s ghost rule, bpy
    5.0.1), so the sidebar's range still applies, but they were read: ``frame_start=0``
    alone after a run with End 10 styled frames 0-12 ('outside the strip') instead of the
    whole strip. Start and End are SKIP_SAVE: never remembered."""
    import bpy

    for name in ("apply_style", "stabilize_strip", "matte_strip", "split_at_cuts"):
        rna = getattr(bpy.ops.restyle, name).get_rna_type().properties
        assert rna["frame_start"].is_skip_save and rna["frame_end"].is_skip_save, name

    source = add_movie(scene, sequencer_area, clip, frame_start=5)  # shows scene 5..12

    def from_ui(**given):  # as a button calls it: last-used values restored, then stored
        before = set(all_strips(scene).keys())
        result = bpy.ops.restyle.apply_style(
            "EXEC_DEFAULT", True, strip=source.name, style=STYLE, strength=0.0, temporal=0.0,
            **given,
        )  # fmt: skip
        assert result == {"FINISHED"}
        made = [s for s in all_strips(scene) if s.name not in before]
        return shown_frames(made[0])

    assert from_ui(frame_start=9, frame_end=10) == (9, 10)
    scene.restyle.frame_start, scene.restyle.frame_end = 11, 0
    assert from_ui() == (11, 12)  # the sidebar's path: its range, not the last run's
    assert from_ui(frame_start=0, frame_end=0) == (5, 12)  # both given 0 and 0: the whole
    with pytest.raises(RuntimeError, match=r"frames 0-12 are outside"):  # 0 alone: frame 0
        from_ui(frame_start=0)  # (round 18; it was the whole strip, like 0 and 0)


def test_stabilize_settings_are_the_sidebars(restyle):
    """Stabilize's operator settings and the scene's ``stabilize_*`` are built from one spec
    each (props.STABILIZE_SPECS): same range, default and words; the operator's are never
    remembered (its mode was, unlike the rest)."""
    import bpy

    operator = bpy.ops.restyle.stabilize_strip.get_rna_type().properties
    scene = bpy.types.Scene.bl_rna.properties["restyle"].fixed_type.properties
    for name in ("mode", "smoothness", "crop", "strength", "tripod"):
        mine, sidebar = operator[name], scene[f"stabilize_{name}"]
        assert mine.is_skip_save, name
        for field in ("name", "description", "default", "subtype"):
            assert getattr(mine, field, None) == getattr(sidebar, field, None), (name, field)
        # the sidebar's range as soft limits: a script's value out of it is refused (round 20)
        for end in ("min", "max"):
            mine_end, held = (
                getattr(mine, f"soft_{end}", None),
                getattr(sidebar, f"hard_{end}", None),
            )
            assert mine_end == held, (name, end)
