"""Round 19's walkthrough of dde0b23 (bpy 5.0.1, 5.3.0): a re-run that finds the styled strip
already showing its output ('already shows this output: selected it, no new strip') left
that strip's blend as it was made, while the source's had changed since (Alpha Over 100% to
Replace, Replace to Add 80%). Now it takes the source's blend by the rule a new strip does
(``output_strip.styled_blend``), the summary says so when it changed, and the note is given
where it cannot be repeated (test_blend_round19.py is that rule for a new strip)."""

from __future__ import annotations

import numpy as np
import pytest
from test_blend_round19 import STYLE, _scene_with, _shown
from vse import all_strips, ext

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]


def _again(scene, name: str, operator: str) -> str:
    """Run ``operator`` on ``name``; it must add no strip. Returns the run's summary."""
    import bpy

    before = set(all_strips(scene).keys())
    options = {"style": STYLE, "strength": 0.0, "temporal": 0.0}
    run = getattr(bpy.ops.restyle, operator)
    assert run(strip=name, **(options if operator == "apply_style" else {})) == {"FINISHED"}
    assert set(all_strips(scene).keys()) == before
    return ext("operators.runner").RUN.summary


def _first(scene, name: str, operator: str):
    """Run ``operator`` on ``name``; it must add one strip, returned."""
    before = set(all_strips(scene).keys())
    import bpy

    options = {"style": STYLE, "strength": 0.0, "temporal": 0.0}
    run = getattr(bpy.ops.restyle, operator)
    assert run(strip=name, **(options if operator == "apply_style" else {})) == {"FINISHED"}
    made = [s for s in all_strips(scene) if s.name not in before]
    assert len(made) == 1, ext("operators.runner").RUN.summary
    return made[0]


@pytest.mark.parametrize(
    ("operator", "on"),
    [("apply_style", "source"), ("apply_style", "styled"), ("stabilize_strip", "source")],
)
def test_a_rerun_gives_the_styled_strip_its_sources_new_blend(scene, tmp_path, operator, on):
    """Made at Alpha Over 100%, the source then set to Replace: the re-run sets the styled
    strip to Replace (the letterbox bars hide the red, as the source's do) and says so."""
    _red, source = _scene_with(scene, tmp_path, "ALPHA_OVER", 1.0)
    styled = _first(scene, source.name, operator)
    assert (styled.blend_type, styled.blend_alpha) == ("ALPHA_OVER", 1.0)
    source.blend_type = "REPLACE"
    summary = _again(scene, styled.name if on == "styled" else source.name, operator)
    assert summary.startswith(f"{styled.name} already shows this output"), summary
    assert (styled.blend_type, styled.blend_alpha) == ("REPLACE", 1.0)
    assert "its blend set to Replace 100%" in summary, summary
    assert "is blended by" not in summary, summary
    expected = _shown(scene, hidden=(styled,))
    bars = np.s_[:, :8]  # left of the letterboxed picture: black under Replace, not red
    assert expected[bars][..., 0].mean() < 50, expected[bars][..., 0].mean()
    shown = _shown(scene)
    assert np.abs(shown - expected).mean() < 3, np.abs(shown - expected).mean()
    # again, nothing changed: no word of the blend
    summary = _again(scene, source.name, operator)
    assert "blend set" not in summary and "is blended by" not in summary, summary


def test_a_rerun_on_a_blend_it_cannot_repeat_covers_and_says_so(scene, tmp_path):
    """Made at Replace, the source then set to Add 80%: the re-run sets the styled strip to
    Alpha Over 100% (covering the source, no source added twice) with the note, each time."""
    _red, source = _scene_with(scene, tmp_path, "REPLACE", 1.0, fit="STRETCH")
    styled = _first(scene, source.name, "apply_style")
    assert styled.blend_type == "REPLACE"
    source.blend_type, source.blend_alpha = "ADD", 0.8
    note = (
        f"'{source.name}' is blended by Add at 80%, which '{styled.name}' cannot repeat with "
        f"'{source.name}' still under it: it covers it at Alpha Over 100%"
    )
    summary = _again(scene, source.name, "apply_style")
    assert (styled.blend_type, styled.blend_alpha) == ("ALPHA_OVER", 1.0)
    assert "its blend set to Alpha Over 100%" in summary and note in summary, summary
    shown = _shown(scene)
    alone = _shown(scene, hidden=(source,))
    assert np.abs(shown - alone).max() <= 2, np.abs(shown - alone).max()
    summary = _again(scene, source.name, "apply_style")
    assert "blend set" not in summary and note in summary, summary


def test_the_notes_advice_followed_is_kept(scene, tmp_path):
    """The note's advice taken (the source muted, the styled strip blended as it is): a
    re-run leaves that blend and gives no note."""
    _red, source = _scene_with(scene, tmp_path, "ADD", 0.5, fit="STRETCH")
    styled = _first(scene, source.name, "apply_style")
    assert "is blended by" in ext("operators.runner").RUN.summary
    source.mute = True
    styled.blend_type, styled.blend_alpha = "ADD", 0.5
    summary = _again(scene, source.name, "apply_style")
    assert summary.startswith(f"{styled.name} already shows this output"), summary
    assert (styled.blend_type, styled.blend_alpha) == ("ADD", 0.5)
    assert "blend set" not in summary and "is blended by" not in summary, summary


def test_a_matte_rerun_keeps_its_own_blend(scene, tmp_path):
    """Matte's strip keeps Alpha Over 100% on a re-run whatever the source's blend became."""
    _red, source = _scene_with(scene, tmp_path, "ALPHA_OVER", 1.0, fit="STRETCH")
    matte = _first(scene, source.name, "matte_strip")
    source.blend_type = "REPLACE"
    summary = _again(scene, source.name, "matte_strip")
    assert summary.startswith(f"{matte.name} already shows this output"), summary
    assert (matte.blend_type, matte.blend_alpha) == ("ALPHA_OVER", 1.0)
    assert "blend set" not in summary and "is blended by" not in summary, summary
