"""Blender 5's raw cache (Sequencer sidebar > Cache > Cache Settings > Raw, on by default)
files a movie's frame under its index truncated while decoding it rounded, so a movie slower
than the scene can show a source frame off the styled strip, depending on the order frames
were viewed (tests/blender/test_rate_adjusted_timing.py's tripwire). A run on such a strip
says so, with the fix; not with the cache off, not for a strip at the scene's rate, and not
on 4.2 (its cache keys frames by their float index). Which frames it may swap is plain
timing: core.strip_frames.raw_cache_mixed, tests/test_strip_frames.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from vse import add_movie, ext

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]

VTEST = Path.home() / ".cache" / "restyle" / "footage" / "vtest.avi"
needs_vtest = pytest.mark.skipif(
    not VTEST.is_file(), reason="needs ~/.cache/restyle/footage/vtest.avi"
)


def run(operator, strip, first, last) -> str:
    import bpy

    settings = {"style": "comic-ink", "strength": 0.0, "temporal": 0.0}
    given = settings if operator == "apply_style" else {}
    result = getattr(bpy.ops.restyle, operator)(
        strip=strip.name, frame_start=first, frame_end=last, **given
    )
    assert result == {"FINISHED"}
    return ext("operators.runner").RUN.summary


def slowed_vtest(scene, sequencer_area, cache: bool):
    """vtest.avi (10 fps) at its own rate in a 25 fps scene, from frame 1: scene frame f
    shows index (f - 1) * 0.4, so frame 3 (0.8) rounds to 1 but is filed under 0 with
    frames 1-2, frame 4 (1.2) under 1 with frame 5 (1.6, shown as 2)."""
    scene.render.resolution_x, scene.render.resolution_y = 128, 96
    scene.render.fps = 25
    scene.sequence_editor.use_cache_raw = cache
    strip = add_movie(scene, sequencer_area, VTEST, frame_start=1)
    assert strip.fps == 10.0
    return strip


@needs_vtest
@pytest.mark.parametrize("operator", ["apply_style", "stabilize_strip"])
def test_a_slowed_movie_with_the_raw_cache_on_is_warned_of(scene, sequencer_area, operator):
    import bpy

    strip = slowed_vtest(scene, sequencer_area, cache=True)
    summary = run(operator, strip, 2, 4)
    said = (
        f"'{strip.name}' plays slower than the scene, and Blender's raw cache may show it a "
        "source frame off the styled strip at 3 frames (2-4), depending on the order frames "
        "are viewed or rendered: turn off Raw (Sequencer sidebar > Cache > Cache Settings) "
        "to see exactly the frames styled"
    )
    if bpy.app.version >= (5, 0, 0):
        assert said in summary, summary
    else:  # 4.2: float cache keys, the decoded frame whatever the order
        assert "raw cache" not in summary, summary


@needs_vtest
def test_no_warning_with_the_raw_cache_off(scene, sequencer_area):
    strip = slowed_vtest(scene, sequencer_area, cache=False)
    summary = run("apply_style", strip, 2, 4)
    assert "raw cache" not in summary, summary
    assert "2-4" in summary, summary  # the run happened and said its frames


@needs_vtest
def test_no_warning_for_a_movie_at_the_scene_rate(scene, sequencer_area):
    scene.render.fps = 25
    scene.sequence_editor.use_cache_raw = True
    strip = add_movie(scene, sequencer_area, VTEST, frame_start=1, own_rate=False)
    summary = run("apply_style", strip, 2, 4)
    assert "raw cache" not in summary, summary


@needs_vtest
@pytest.mark.parametrize("cache", [True, False])
def test_export_keyframes_warns_of_the_raw_cache(scene, sequencer_area, cache):
    """Export Keyframes writes the frame Blender decodes; with the raw cache on, Blender 5 may
    show a slowed movie's neighbour at those keyframes: said once, naming them."""
    import bpy

    strip = slowed_vtest(scene, sequencer_area, cache=cache)
    ext("operators.keyframes").add_keyframes(scene.restyle, strip.name, [3, 6])
    assert bpy.ops.restyle.export_keyframes(strip=strip.name, load=False) == {"FINISHED"}
    summary = ext("operators.runner").RUN.summary
    assert "2 keyframes exported" in summary, summary
    said = (
        f"'{strip.name}' plays slower than the scene, and Blender's raw cache may show it a "
        "source frame off the exported picture at 2 keyframes (3, 6), depending on the order "
        "frames are viewed or rendered: turn off Raw (Sequencer sidebar > Cache > Cache "
        "Settings) to see exactly the frames exported"
    )
    if cache and bpy.app.version >= (5, 0, 0):
        assert summary.count(said) == 1, summary
    else:  # the cache off, or 4.2's float cache keys
        assert "raw cache" not in summary, summary
