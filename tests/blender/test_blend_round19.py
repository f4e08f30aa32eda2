"""Round 19's review of 80ed2ab (bpy 5.0.1, 5.3.0): the styled strip lands above its source,
which still shows under it, so only a blend that covers the source repeats the source's own
(Replace; Alpha Over and Cross at 100%). 80ed2ab copied any: at Alpha Over 0.5 a 25 % ghost
of the unstyled source showed through (and Stabilize's a double picture), at Add the source
was added twice. Now the styled strip covers the source at Alpha Over 100% and the summary
says so, as it says modifiers: mute the source and blend the styled strip as it was.

Also: a strip that shows this output but is muted (itself, its channel or a meta strip)
shows nothing, so Apply no longer takes it for 'already shows this output' and adds none;
and ``Span.pictures_read`` is ``core.strip_frames.pictures_read`` (clamped to the pictures
there are)."""

from __future__ import annotations

import numpy as np
import pytest
from vse import add_images, all_strips, ext, render, top_strips

from clips import make_image_sequence

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]
STYLE = "starry-swirls"


def _run(scene, name: str, operator: str = "apply_style"):
    import bpy

    before = set(all_strips(scene).keys())
    options = {"style": STYLE, "strength": 0.0, "temporal": 0.0}
    run = getattr(bpy.ops.restyle, operator)
    assert run(strip=name, **(options if operator == "apply_style" else {})) == {"FINISHED"}
    made = [s for s in all_strips(scene) if s.name not in before]
    assert len(made) == 1, ([s.name for s in made], ext("operators.runner").RUN.summary)
    return made[0]


def _scene_with(scene, tmp_path, blend: str, alpha: float, fit: str = "FIT"):
    """A red strip in channel 1 and the source (4 pictures, 64x64 in the wide frame: Fit
    letterboxes them) in channel 2 at ``blend`` and ``alpha``."""
    span = ext("compat").effect_span(1, 4)
    red = top_strips(scene.sequence_editor).new_effect(name="red", type="COLOR", channel=1, **span)
    red.color = (1.0, 0.0, 0.0)
    files = make_image_sequence(tmp_path / "pictures", 4, (64, 64), name="{:04d}.png")
    source = top_strips(scene.sequence_editor).new_image(
        "source", str(files[0]), 2, 1, fit_method=fit
    )
    for f in files[1:]:
        source.elements.append(f.name)
    source.blend_type, source.blend_alpha = blend, alpha
    return red, source


def _shown(scene, frame: int = 2, hidden=()) -> np.ndarray:
    """The render at ``frame``, every strip shown but ``hidden`` (muted for it)."""
    was = {s.name: s.mute for s in hidden}
    try:
        for s in hidden:
            s.mute = True
        return render(scene, [frame])[frame].astype(np.int16)
    finally:
        for s in hidden:
            s.mute = was[s.name]


@pytest.mark.parametrize(
    ("blend", "alpha", "words"),
    [("ADD", 0.5, "Add at 50%"), ("ALPHA_OVER", 0.5, "Alpha Over at 50%")],
)
@pytest.mark.parametrize("operator", ["apply_style", "stabilize_strip"])
def test_a_blend_the_styled_strip_cannot_repeat_is_covered_and_said(
    scene, tmp_path, blend, alpha, words, operator
):
    """No ghost of the source, no source added twice: the styled strip shows as it does
    alone; the summary says how to blend it as the source, and that advice holds."""
    runner = ext("operators.runner")
    red, source = _scene_with(scene, tmp_path, blend, alpha, fit="STRETCH")
    styled = _run(scene, source.name, operator)
    assert (styled.blend_type, styled.blend_alpha) == ("ALPHA_OVER", 1.0)
    summary = runner.RUN.summary
    assert (
        f"'{source.name}' is blended by {words}, which '{styled.name}' cannot repeat with "
        f"'{source.name}' still under it: it covers it at Alpha Over 100%" in summary
    ), summary
    assert f"mute '{source.name}' and set '{styled.name}' to {words}" in summary, summary
    shown = _shown(scene)
    alone = _shown(scene, hidden=(red, source))
    assert np.abs(shown - alone).max() <= 2, np.abs(shown - alone).max()  # it covers: no ghost
    # the advice: the source muted, the styled strip blended as the source was
    expected = _shown(scene, hidden=(styled,))
    assert np.abs(shown - expected).mean() > 10  # the case is not trivially equal
    source.mute = True
    styled.blend_type, styled.blend_alpha = blend, alpha
    advised = _shown(scene)
    assert np.abs(advised - expected).mean() < 3, np.abs(advised - expected).mean()


def test_cross_at_100_is_kept_with_the_source_shown(scene, tmp_path):
    """Cross at 100% shows the strip alone, clear bars too (they hide the red), as Replace
    does (the letterbox walkthrough with Replace at 50% and Alpha Over at 100%:
    test_output_round19.py). Rendered as it plays: the source shown under the styled strip."""
    runner = ext("operators.runner")
    blend = "CROSS"
    red, source = _scene_with(scene, tmp_path, blend, 1.0)
    styled = _run(scene, source.name)
    assert (styled.blend_type, styled.blend_alpha) == (blend, 1.0)
    assert "is blended by" not in runner.RUN.summary, runner.RUN.summary
    expected = _shown(scene, hidden=(styled,))
    shown = _shown(scene)
    bars = np.s_[:, :8]  # left of the letterboxed picture
    red_bars = expected[bars][..., 0].mean() > 200
    assert not red_bars, expected[bars][..., 0].mean()
    assert np.abs(shown[bars] - expected[bars]).max() <= 2
    assert np.abs(shown - expected).mean() < 3, np.abs(shown - expected).mean()


def test_a_matte_keeps_its_own_blending_and_says_nothing_of_it(scene, tmp_path):
    """Matte keeps its own blending (Alpha Over 100%) and no note: clear around its people,
    it covers nothing."""
    runner = ext("operators.runner")
    _red, source = _scene_with(scene, tmp_path, "ADD", 0.5, fit="STRETCH")
    matte = _run(scene, source.name, "matte_strip")
    assert (matte.blend_type, matte.blend_alpha) == ("ALPHA_OVER", 1.0)
    assert "is blended by" not in runner.RUN.summary, runner.RUN.summary


@pytest.mark.parametrize("how", ["strip", "channel"])
def test_a_muted_styled_strip_is_not_already_showing(scene, tmp_path, how):
    """A styled strip muted (or in a muted channel) shows nothing: Apply again adds one that
    shows the output, in an unmuted channel, reusing the frames."""
    runner = ext("operators.runner")
    files = make_image_sequence(tmp_path / "pictures", 4, name="{:04d}.png")
    source = add_images(scene, files, frame_start=1, channel=1, name="plain")
    styled = _run(scene, source.name)
    channels = scene.sequence_editor.channels
    if how == "strip":
        styled.mute = True
    else:
        channels[styled.channel].mute = True
    again = _run(scene, source.name)
    assert not again.mute and not channels[again.channel].mute
    assert again.channel not in (source.channel, styled.channel)
    assert runner.RUN.summary.startswith(f"{again.name}: frames 1-4, 0 styled, 4 reused"), (
        runner.RUN.summary
    )
    shown = _shown(scene)
    alone = _shown(scene, hidden=(source,))
    assert np.abs(shown - alone).max() <= 2  # the new strip is what shows
    # unmuted, the first one shows it already: selected, none added (9db7ae8)
    top_strips(scene.sequence_editor).remove(again)
    styled.mute, channels[styled.channel].mute = False, False
    import bpy

    options = {"style": STYLE, "strength": 0.0, "temporal": 0.0}
    assert bpy.ops.restyle.apply_style(strip=source.name, **options) == {"FINISHED"}
    assert f"{styled.name} already shows this output" in runner.RUN.summary, runner.RUN.summary


def test_pictures_read_is_the_cores_clamped(scene):
    """``Span.pictures_read`` counts what ``core.strip_frames.pictures_read`` reads: a strip
    whose content claims 12 pictures where its files hold 10 (a movie cut short) reads 10."""
    strip_frames = ext("core.strip_frames")
    strip_job, strip_source = ext("operators.strip_job"), ext("operators.strip_source")
    timing = strip_frames.StripTiming(frame_start=1, length=12)
    source = strip_source.StripSource("clip", "movie", (), (1, 12), 1, (), timing, frame_count=10)
    shown = strip_frames.source_frames(timing, 1, 12)
    span = strip_job.Span("Scene", source, 1, 12, shown)
    assert span.pictures_read() == len(strip_frames.pictures_read(timing, 1, 12, 10)) == 10
    strobed = strip_frames.StripTiming(frame_start=1, length=12, strobe=3.0)
    source = strip_source.StripSource("clip", "image", (), (1, 12), 1, (), strobed, frame_count=12)
    span = strip_job.Span("Scene", source, 1, 12, strip_frames.source_frames(strobed, 1, 12))
    assert span.pictures_read() == 10  # pictures 0-9: those between the shown 0, 3, 6, 9
