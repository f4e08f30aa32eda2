"""Round 20's Blender walkthrough polish (bpy 5.0.1):

- a strip retimed by a Speed effect greys Apply in the sidebar, saying why in Apply's own
  words (``strip_source.retimed``: one rule for both), as a missing file does;
- a renamed source: Apply again with the same settings selects the strip already showing
  its frames (made while it had its old name, so in the folder named after it) instead of
  stacking a duplicate over it, and says so;
- Apply on a styled strip whose output is shown already says it once: no 'styled the
  source' (nor, its source gone, 'styled X itself') beside 'no new strip';
- Stabilize's blend advice says 'for the stabilized frames';
- a matte strip's sidebar names what Matte made it from;
- a failed Replace Background says 'Failed: ...' in the sidebar's summary (the Matte run's
  stayed), a done one says so;
- a Matte strip's blend record holds the Alpha Over it has, not its source's blend;
- a strobed strip's counts in plain words.
"""

# ruff: noqa: F811 (test_panels' panel_context fixture, imported, is the tests' argument)

from __future__ import annotations

import pytest
from test_blend_round19 import _scene_with
from test_panels import CheckedLayout, enabled_operators, labels, panel_context  # noqa: F401
from vse import SIZE, add_images, all_strips, ext, sequencer_override, top_strips

from clips import make_image_sequence

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]
OPTIONS = {"style": "starry-swirls", "strength": 0.0, "temporal": 0.0}
GIVEN = "restyle_blend_given"  # output_strip.BLEND_GIVEN, as saved in .blend files


def _run(scene, name: str, operator: str = "apply_style", new: int = 1, **given):
    """Run ``operator`` on ``name``; ``new`` strips must be added (the one made returned,
    else None), with the run's summary."""
    import bpy

    before = set(all_strips(scene).keys())
    options = {**(OPTIONS if operator == "apply_style" else {}), **given}
    assert getattr(bpy.ops.restyle, operator)(strip=name, **options) == {"FINISHED"}
    made = [s for s in all_strips(scene) if s.name not in before]
    summary = ext("operators.runner").RUN.summary
    assert len(made) == new, ([s.name for s in made], summary)
    return (made[0] if made else None), summary


def _main_panel(context) -> list:
    calls: list = []
    shim = type("Shim", (), {"layout": CheckedLayout(calls)})()
    ext("panels.sequencer").RESTYLE_PT_main.draw(shim, context)
    return calls


def _clip(scene, tmp_path, n: int = 9, name: str = "clip"):
    files = make_image_sequence(tmp_path / "pictures", n, SIZE, name="{:04d}.png")
    return add_images(scene, files, frame_start=1, channel=1, name=name)


# -- 1. a Speed effect greys Apply ------------------------------------------------------------
def test_a_speed_effect_greys_apply_with_applys_own_words(panel_context):
    """Apply was enabled on a strip under a Speed effect, then refused once pressed."""
    import bpy

    scene = panel_context.scene
    compat = ext("compat")
    strip = scene.sequence_editor.active_strip
    assert enabled_operators(_main_panel(panel_context))["restyle.apply_style"]
    top_strips(scene.sequence_editor).new_effect(
        "Speed", "SPEED", 3, **compat.effect_span(1, 1), **compat.effect_inputs(strip)
    )
    scene.sequence_editor.active_strip = strip
    with pytest.raises(RuntimeError) as refused:
        bpy.ops.restyle.apply_style(strip=strip.name, **OPTIONS)
    said = str(refused.value).removeprefix("Error: ").strip()
    assert "retimed by the speed effect 'Speed'" in said, said
    calls = _main_panel(panel_context)
    assert not enabled_operators(calls)["restyle.apply_style"]
    shown = [c[1] for c in calls if c[0] == "label"]
    first = next(i for i, c in enumerate(shown) if c.get("icon") == "ERROR")
    lines = [shown[first]["text"]]
    for line in shown[first + 1 :]:  # its wrapped lines, under the icon
        if line.get("icon") != "BLANK1":
            break
        lines.append(line["text"])
    assert " ".join(lines) == said, (lines, said)


# -- 2. a renamed source ----------------------------------------------------------------------
def test_a_renamed_source_gets_no_duplicate_over_its_styled_strip(scene, tmp_path):
    """Apply 4-9 on 'clip', 'clip' renamed 'shot1', Apply again: '6 styled, 0 reused' and
    'shot1.Starry Swirls' stacked over 'clip.Starry Swirls', the same frames."""
    clip = _clip(scene, tmp_path)
    styled, _ = _run(scene, clip.name, frame_start=4, frame_end=9)
    clip.name = "shot1"
    _, summary = _run(scene, "shot1", new=0, frame_start=4, frame_end=9)
    assert summary.startswith(f"{styled.name} already shows this output (frames 4-9)"), summary
    assert "made while 'shot1' was named 'clip'" in summary, summary
    assert scene.sequence_editor.active_strip == styled
    # other settings are another output: a strip of its own
    _run(scene, "shot1", frame_start=4, frame_end=9, strength=0.5)


# -- 3a. already shown, of the source ---------------------------------------------------------
def test_apply_on_a_styled_strip_already_shown_says_it_once(scene, tmp_path):
    clip = _clip(scene, tmp_path, 6)
    styled, _ = _run(scene, clip.name)
    _, summary = _run(scene, styled.name, new=0)
    assert summary.startswith(
        f"{styled.name} already shows this output of the source 'clip' (frames 1-6, "
    ), summary
    assert "no new strip" in summary and "styled the source" not in summary, summary


def test_apply_on_a_styled_strip_whose_source_is_gone_says_nothing_styled(scene, tmp_path):
    """Its source deleted, a styled strip is styled itself; applied again, its output is
    shown already: it said '... no new strip; ... is not in the sequencer: styled X itself'."""
    clip = _clip(scene, tmp_path, 6)
    styled, _ = _run(scene, clip.name)
    top_strips(scene.sequence_editor).remove(clip)
    again, _ = _run(scene, styled.name)
    _, summary = _run(scene, styled.name, new=0)
    assert summary.startswith(
        f"{again.name} already shows this output of '{styled.name}' itself (frames 1-6): "
        "selected it, no new strip; 'clip', which "
    ), summary
    assert f"styled '{styled.name}' itself" not in summary, summary


# -- 3b. Stabilize's blend advice -------------------------------------------------------------
def test_stabilizes_blend_advice_says_stabilized(scene, tmp_path):
    _red, source = _scene_with(scene, tmp_path, "ADD", 0.5, fit="STRETCH")
    made, summary = _run(scene, source.name, "stabilize_strip")
    assert f"for the stabilized frames blended as '{source.name}' is" in summary, summary
    assert "styled frames" not in summary, summary
    _, summary = _run(scene, source.name)  # Apply's words stay
    assert f"for the styled frames blended as '{source.name}' is" in summary, summary


# -- 3c, 3d, 4. a matte strip -----------------------------------------------------------------
@pytest.fixture
def matte(scene, tmp_path):
    source = _clip(scene, tmp_path, 3)
    source.blend_type = "REPLACE"  # its styled strips take Replace; a matte, Alpha Over
    made, _ = _run(scene, source.name, "matte_strip")
    return made


def test_a_matte_strips_record_holds_its_own_blend(matte):
    assert (matte.blend_type, matte.blend_alpha) == ("ALPHA_OVER", 1.0)
    assert matte[GIVEN].to_dict() == {"type": "ALPHA_OVER", "alpha": 1.0}


def test_a_matte_strip_says_what_it_was_made_from(matte, scene, sequencer_area):
    import bpy

    scene.sequence_editor.active_strip = matte
    with sequencer_override(scene, sequencer_area):
        shown = labels(_main_panel(bpy.context))
        assert "Made by Matte from 'clip'" in shown, shown
        all_strips(scene)["clip"].name = "gone"
        shown = labels(_main_panel(bpy.context))
        assert "Made by Matte from 'clip' (not found)" in shown, shown


def test_a_failed_replace_background_says_failed(matte, scene, tmp_path):
    import bpy

    runner = ext("operators.runner")
    assert runner.RUN.summary.startswith(matte.name), runner.RUN.summary  # Matte's summary
    gone = str(tmp_path / "gone.png")
    with pytest.raises(RuntimeError, match="is not a strip, a picture file"):
        bpy.ops.restyle.replace_background(strip=matte.name, background=gone)
    assert runner.RUN.summary.startswith(f"Failed: background '{gone}' is not a strip")
    assert runner.RUN.status == runner.FAILED and runner.RUN.strip == matte.name
    assert bpy.ops.restyle.replace_background(strip=matte.name, background="#336699") == {
        "FINISHED"
    }
    said = f"Replace Background: '{matte.name}.Background' is the new background"
    assert runner.RUN.summary == said, runner.RUN.summary
    assert runner.RUN.status == runner.FINISHED


# -- 3e. a strobed strip's counts -------------------------------------------------------------
def test_a_strobed_strips_counts_in_plain_words(scene, tmp_path):
    """12 pictures at strobe 3 over frames 1-12 show pictures 0, 3, 6, 9; the run reads
    0-9. It said '(10 pictures: 10 styled, 0 reused; 4 of them shown)'."""
    source = _clip(scene, tmp_path, 12, name="strobed")
    source.strobe = 3.0
    styled, summary = _run(scene, source.name)
    said = f"{styled.name}: frames 1-12 show 4 of the 10 pictures read (10 styled, 0 reused)"
    assert summary.startswith(said), summary
