"""The reviewer's Blender finding on round 20 (f23b374), bpy 5.0.1 and 4.2: a styled strip's
blend set by hand to exactly what Restyle would now give its source's blend was still said on
a rerun ("keeps its blend, Replace at 100% (set by hand); ... Restyle now gives Replace at
100%"), a warning about nothing; ``output_strip.restyle_blending`` says nothing there now."""

from __future__ import annotations

import pytest
from test_blend_round19 import _scene_with
from test_leftovers_round20 import GIVEN, _apply, _blend

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]


def test_a_blend_set_by_hand_to_what_restyle_gives_is_not_said(scene, tmp_path):
    """Made at Alpha Over 100%; the styled strip set to Replace by hand, then the source set
    to Replace: the rerun keeps the strip's blend (Replace, as Restyle would give it) and the
    summary says nothing of the blend. A hand-set blend Restyle would not give is still said
    (tests/blender/test_leftovers_round20.py)."""
    _red, source = _scene_with(scene, tmp_path, "ALPHA_OVER", 1.0)
    styled, _ = _apply(scene, source.name)
    assert dict(styled[GIVEN]) == {"type": "ALPHA_OVER", "alpha": 1.0}
    styled.blend_type = "REPLACE"  # by hand
    source.blend_type = "REPLACE"
    _, summary = _apply(scene, source.name, new=0)
    assert summary.startswith(f"{styled.name} already shows this output"), summary
    assert _blend(styled) == ("REPLACE", 1.0)
    assert "blend" not in summary, summary
