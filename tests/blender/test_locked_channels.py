"""Locked channels and locked strips are left alone, as Blender's own edits leave them: a new
strip (Apply, Matte, Stabilize) skips a locked channel, and Replace Background never moves a
locked matte strip. The walkthrough on bpy 5.0.1 found Matte's strip in a locked channel 2
and a locked matte moved from channel 3 to 4 by Replace Background."""

from __future__ import annotations

import pytest
from test_matte_strip import pan_strip  # noqa: F401  (a fixture)
from vse import SIZE, add_movie, all_strips, ext, shown_frames

from clips import make_index_clip

pytestmark = pytest.mark.blender

STYLE = "starry-swirls"


def _new(scene, call, **settings):
    before = set(all_strips(scene).keys())
    assert call(**settings) == {"FINISHED"}
    (made,) = [s for s in all_strips(scene) if s.name not in before]
    return made


def _channels(scene) -> dict[str, int]:
    return {s.name: s.channel for s in all_strips(scene)}


def test_apply_skips_locked_channels(scene, sequencer_area, tmp_path):
    """Apply, Matte and Stabilize place their strip with one routine (output_strip)."""
    import bpy

    clip = make_index_clip(tmp_path / "clip.mp4", 6, SIZE, fps=24, gop=6)
    movie = add_movie(scene, sequencer_area, clip, frame_start=1)
    scene.sequence_editor.channels[2].lock = True
    args = {"strip": movie.name, "style": STYLE, "frame_start": 1, "frame_end": 2}
    styled = _new(scene, bpy.ops.restyle.apply_style, **args)
    assert styled.channel == 3 and shown_frames(styled) == (1, 2)
    scene.sequence_editor.channels[4].lock = True
    again = _new(scene, bpy.ops.restyle.apply_style, **args, strength=0.5)
    assert again.channel == 5  # 2 and 4 locked, 3 taken
    assert not [s for s in all_strips(scene) if s.channel in (2, 4)]


def test_matte_skips_a_locked_channel(scene, pan_strip):  # noqa: F811
    import bpy

    scene.sequence_editor.channels[3].lock = True  # the one above the source (channel 2)
    matte = _new(
        scene, bpy.ops.restyle.matte_strip, strip=pan_strip.name, frame_start=10, frame_end=11
    )
    assert matte.channel == 4


def test_replace_background_never_moves_a_locked_matte(scene, pan_strip):  # noqa: F811
    """No room under it: refused before anything changes, naming the lock. Room under it (a
    background it had before): the new one goes there and the matte stays."""
    import bpy

    matte = _new(
        scene, bpy.ops.restyle.matte_strip, strip=pan_strip.name, frame_start=10, frame_end=11
    )
    name = matte.name
    assert matte.channel == 3  # right above the source
    matte.lock = True
    span = ext("compat").effect_span(10, 11)
    top = ext("compat").strips(scene.sequence_editor)
    sky = top.new_effect(name="sky", type="COLOR", channel=5, **span)
    before = _channels(scene)
    for background in ("#0000FF", "BLUR", sky.name):  # each would lift it above channel 3
        with pytest.raises(RuntimeError, match=f"'{name}' is locked .or its channel is."):
            bpy.ops.restyle.replace_background(strip=name, background=background)
        assert _channels(scene) == before
    top.remove(sky)

    matte.lock = False
    assert bpy.ops.restyle.replace_background(strip=name, background="#00FF00") == {"FINISHED"}
    assert _channels(scene)[name] == 4
    matte = all_strips(scene)[name]
    matte.lock = True
    assert bpy.ops.restyle.replace_background(strip=name, background="#0000FF") == {"FINISHED"}
    ours = [s for s in all_strips(scene) if s.get("restyle_background_of") == name]
    assert [(s.type, s.channel) for s in ours] == [("COLOR", 3)]
    assert tuple(ours[0].color) == pytest.approx((0.0, 0.0, 1.0))
    assert matte.channel == 4 and matte.lock
    before = _channels(scene)
    with pytest.raises(RuntimeError, match="needs channels 2 and 3 under it free"):
        bpy.ops.restyle.replace_background(strip=name, background="BLUR")  # the source is on 2
    assert _channels(scene) == before

    # A matte in a locked channel is locked too.
    matte.lock = False
    scene.sequence_editor.channels[4].lock = True
    assert bpy.ops.restyle.replace_background(strip=name, background="#FF0000") == {"FINISHED"}
    assert _channels(scene)[name] == 4


def test_replace_background_lifts_a_matte_past_a_locked_channel(scene, pan_strip):  # noqa: F811
    import bpy

    matte = _new(
        scene, bpy.ops.restyle.matte_strip, strip=pan_strip.name, frame_start=10, frame_end=11
    )
    scene.sequence_editor.channels[4].lock = True
    assert bpy.ops.restyle.replace_background(strip=matte.name, background="BLUR") == {"FINISHED"}
    ours = sorted((s.channel, s.type) for s in all_strips(scene) if s.get("restyle_background_of"))
    assert ours == [(3, "ADJUSTMENT"), (5, "GAUSSIAN_BLUR")]
    assert matte.channel == 6
