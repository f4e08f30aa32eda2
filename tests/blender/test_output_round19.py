"""Round 19's walkthrough of where the styled strip lands and how it shows (bpy 5.0.1, 5.3.0):

- a muted channel (the channel header's eye) is skipped like a locked one: the styled strip
  went into the muted channel 2 above its source and rendered nothing (black), unsaid;
- the styled strip composites as its source does where that holds with the source still
  under it: a Replace source's letterbox bars (hiding what is below) let the red through on
  the styled strip at Alpha Over (other blends: test_blend_round19.py);
- a strobed strip's counts add up: 12 frames at strobe 3 show pictures 0, 3, 6, 9 and a run
  reads 0-9 (the pictures between, for coherence), and the summary said
  '(4 pictures: 10 styled, 0 reused)'."""

from __future__ import annotations

import numpy as np
import pytest
from vse import SIZE, add_images, all_strips, ext, render, top_strips

from clips import make_image_sequence

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]
STYLE = "starry-swirls"


def _apply(scene, name: str, operator: str = "apply_style", **settings):
    import bpy

    before = set(all_strips(scene).keys())
    options = {"style": STYLE, "strength": 0.0, "temporal": 0.0}
    run = getattr(bpy.ops.restyle, operator)
    assert run(strip=name, **(options if operator == "apply_style" else {}), **settings) == {
        "FINISHED"
    }
    made = [s for s in all_strips(scene) if s.name not in before]
    assert len(made) == 1, [s.name for s in made]
    return made[0]


def _pictures(tmp_path, n: int, size=SIZE):
    return make_image_sequence(tmp_path / "pictures", n, size, name="{:04d}.png")


def _red(scene, channel: int = 1, length: int = 4):
    span = ext("compat").effect_span(1, length)
    red = top_strips(scene.sequence_editor).new_effect(
        name="red", type="COLOR", channel=channel, **span
    )
    red.color = (1.0, 0.0, 0.0)
    return red


def _shown_with(scene, strip, others, frame: int) -> np.ndarray:
    """The render at ``frame`` with ``strip`` and ``others`` the only strips not muted."""
    keep = {strip.name, *(s.name for s in others)}
    muted = {s.name: s.mute for s in all_strips(scene)}
    try:
        for s in all_strips(scene):
            s.mute = s.name not in keep
        return render(scene, [frame])[frame].astype(np.int16)
    finally:
        for s in all_strips(scene):
            s.mute = muted[s.name]


def test_the_styled_strip_skips_a_muted_channel(scene, tmp_path):
    below = add_images(scene, _pictures(tmp_path, 4), frame_start=1, channel=1, name="below")
    scene.sequence_editor.channels[2].mute = True
    styled = _apply(scene, below.name)
    assert styled.channel == 3, styled.channel
    shown = render(scene, [2])[2].astype(np.int16)
    source = _shown_with(scene, below, [], 2)
    assert shown.mean() > 40  # not black
    assert np.abs(shown - source).mean() < 3, np.abs(shown - source).mean()


def test_free_channel_skips_muted_and_locked_channels(scene, tmp_path):
    """The one routine Apply, Stabilize and Matte place their strips with."""
    output_strip = ext("operators.output_strip")
    below = add_images(scene, _pictures(tmp_path, 4), frame_start=1, channel=1, name="below")
    strips = top_strips(scene.sequence_editor)
    channels = scene.sequence_editor.channels
    channels[2].mute, channels[3].lock, channels[5].mute = True, True, True
    skipped = output_strip.closed_channels(strips)
    assert {2, 3, 5} <= skipped and 4 not in skipped
    assert output_strip.free_channel(strips, below.channel, 1, 4, skipped) == 4
    for channel in range(2, 129):
        channels[channel].mute = True
    with pytest.raises(ext("core.errors").RestyleError, match="locked or muted channels skipped"):
        output_strip.free_channel(strips, 1, 1, 4, output_strip.closed_channels(strips))


@pytest.mark.parametrize(("blend", "alpha"), [("ALPHA_OVER", 1.0), ("REPLACE", 0.5)])
def test_the_styled_strip_composites_as_its_source(scene, tmp_path, blend, alpha):
    """Over a red strip; the pictures letterboxed (Fit: square pictures in a wide frame), so
    Replace's bars hide the red (a transparent picture would show it in Alpha Over's).
    Replace folds its opacity into the frames read (``compat.strip_color``): the styled
    strip keeps Replace at opacity 1, or the frames were darkened twice. Rendered as it
    plays, the source still shown under the styled strip (80ed2ab's test muted it), and
    with the source muted; a blend that cannot be repeated over the source:
    tests/blender/test_blend_round19.py."""
    red = _red(scene)
    files = _pictures(tmp_path, 4, size=(64, 64))
    source = top_strips(scene.sequence_editor).new_image(
        "source", str(files[0]), 2, 1, fit_method="FIT"
    )
    for f in files[1:]:
        source.elements.append(f.name)
    source.blend_type, source.blend_alpha = blend, alpha
    styled = _apply(scene, source.name)
    assert styled.channel == 3
    expected = _shown_with(scene, source, [red], 2)
    shown = render(scene, [2])[2].astype(np.int16)  # nothing muted
    bars = np.s_[:, :8]  # left of the letterboxed picture
    assert (expected[bars][..., 0].mean() > 200) == (blend == "ALPHA_OVER")  # red shows, or not
    assert np.abs(shown[bars] - expected[bars]).max() <= 2
    assert np.abs(shown - expected).mean() < 3, np.abs(shown - expected).mean()
    muted = _shown_with(scene, styled, [red], 2)  # the source muted: the same still
    assert np.abs(muted - expected).mean() < 3, np.abs(muted - expected).mean()
    assert np.abs(muted[bars] - expected[bars]).max() <= 2
    assert (styled.blend_type, styled.blend_alpha) == (blend, 1.0)


@pytest.mark.parametrize(
    ("operator", "word"), [("apply_style", "styled"), ("stabilize_strip", "stabilized")]
)
def test_a_strobed_strips_counts_add_up(scene, tmp_path, operator, word):
    """12 pictures at strobe 3 over frames 1-12 show pictures 0, 3, 6, 9; the run reads 0-9
    (Apply's temporal coherence follows them all). A rerun reuses the 10."""
    runner = ext("operators.runner")
    source = add_images(scene, _pictures(tmp_path, 12), frame_start=1, channel=1, name="strobed")
    source.strobe = 3.0
    styled = _apply(scene, source.name, operator)
    said = f"{styled.name}: frames 1-12 show 4 of the 10 pictures read (10 {word}, 0 reused)"
    assert runner.RUN.summary.startswith(said), runner.RUN.summary
    top_strips(scene.sequence_editor).remove(styled)
    again = _apply(scene, source.name, operator)
    said = f"{again.name}: frames 1-12 show 4 of the 10 pictures read (0 {word}, 10 reused)"
    assert runner.RUN.summary.startswith(said), runner.RUN.summary


def test_a_plain_strips_counts_are_frames(scene, tmp_path):
    """One picture a frame: the counts are the frames', no pictures named."""
    runner = ext("operators.runner")
    source = add_images(scene, _pictures(tmp_path, 4), frame_start=1, channel=1, name="plain")
    styled = _apply(scene, source.name)
    # 4 styled, or 4 reused: an earlier test's strip of the same pictures (the same content
    # and time to the second) and settings made these frames, beside a .blend an earlier
    # module left saved (seen in CI), and Apply reuses another strip's frames of the same
    # file (7210e12)
    summary = runner.RUN.summary
    assert summary.startswith(
        (
            f"{styled.name}: frames 1-4, 4 styled, 0 reused",
            f"{styled.name}: frames 1-4, 0 styled, 4 reused",
        )
    ), summary
