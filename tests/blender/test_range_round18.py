"""Round 18's review of the frame range (``operators/strip_source.py``):

- a script's ``frame_start=0`` or ``frame_end=0`` given alone read as 0 and 0, the whole
  strip: on a strip showing -4..3, ``frame_start=0`` alone styled -4..3 (not 0..3) and
  ``frame_end=0`` alone -4..3 (not -4..0); on a strip at 5..12 ``frame_start=0`` alone
  styled 5..12 while ``frame_start=3`` alone was refused as outside. 0 alone is frame 0;
  both given as 0 and 0 stay the whole strip (the scripting contract);
- the sidebar's End 0 meant the strip's end only after a Start above 0: a strip entirely at
  negative frames with Start -10 and End 0 was refused ('frames -10-0 are outside').
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from test_edit_tools import SHOT, clips, shaky  # noqa: F401  (clips: a fixture)
from test_ops_round17 import apply
from vse import add_movie, all_strips, ext, shown_frames

from clips import encode_clip

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return encode_clip(tmp_path_factory.mktemp("range18") / "photo.mp4", shaky("astronaut", 8, 3))


def asked(**given) -> SimpleNamespace:
    """A stand-in operator a script gave ``given`` (Start and End not given are 0)."""
    properties = SimpleNamespace(is_property_set=lambda name: name in given)
    return SimpleNamespace(properties=properties, **{"frame_start": 0, "frame_end": 0, **given})


def strip_at(scene, area, clip, start: int):
    """The 8-frame clip as a strip from scene frame ``start`` and its ``StripSource``."""
    strip = add_movie(scene, area, clip, frame_start=start)
    assert shown_frames(strip) == (start, start + 7)
    return strip, ext("operators.strip_source").read_strip(scene, strip)


def test_a_frame_given_alone_as_0_is_frame_0(scene, clip, sequencer_area):
    operator_range = ext("operators.strip_source").operator_range
    _strip, source = strip_at(scene, sequencer_area, clip, -4)  # shows -4..3
    assert operator_range(asked(frame_start=0), source) == (0, 3)  # was -4..3
    assert operator_range(asked(frame_end=0), source) == (-4, 0)  # was -4..3
    assert operator_range(asked(frame_start=0, frame_end=0), source) == (-4, 3)  # contract
    assert operator_range(asked(frame_start=-2, frame_end=0), source) == (-2, 3)  # End 0 rule
    assert operator_range(asked(), source) == (-4, 3)

    _strip, later = strip_at(scene, sequencer_area, clip, 5)  # shows 5..12
    error = ext("core.errors").RestyleError
    for start in (0, 3):  # 0 was quietly the whole strip, 3 refused: both refused now
        said = rf"frames {start}-12 are outside '.*', which shows frames 5-12"
        with pytest.raises(error, match=said):
            operator_range(asked(frame_start=start), later)


def test_the_sidebars_end_0_is_the_strips_end_whatever_start_is(scene, clip, sequencer_area):
    strip_source = ext("operators.strip_source")
    _strip, source = strip_at(scene, sequencer_area, clip, -12)  # shows -12..-5
    sidebar = SimpleNamespace(frame_start=-10, frame_end=0)
    assert strip_source.requested_range(asked(), source, sidebar) == (-10, -5)  # was refused
    assert source.checked_range(0, 0) == (-12, -5)
    assert source.checked_range(-12, -6) == (-12, -6)
    with pytest.raises(ext("core.errors").RestyleError, match="frame -3 is outside"):
        source.checked_range(-3, 0)  # starts after the strip's end
    with pytest.raises(ext("core.errors").RestyleError, match="frames -12 to 0 are outside"):
        strip_source.requested_range(asked(frame_end=0), source, sidebar)  # a script's: frame 0


def test_apply_and_split_with_frame_end_0_alone(scene, clip, clips, sequencer_area):  # noqa: F811
    import bpy

    runner = ext("operators.runner")
    source, _ = strip_at(scene, sequencer_area, clip, -4)
    result, made = apply(source, frame_end=0)
    assert result == {"FINISHED"} and shown_frames(made) == (-4, 0)  # was -4..3
    result, again = apply(made, frame_start=0)  # styled strip: its source's 0..3
    assert result == {"FINISHED"} and shown_frames(again) == (0, 3)
    assert "frames 0-3, the range given" in runner.RUN.summary, runner.RUN.summary

    spliced = add_movie(scene, sequencer_area, clips["spliced"], frame_start=-SHOT - 3, channel=5)
    assert bpy.ops.restyle.split_at_cuts(strip=spliced.name, frame_end=0) == {"FINISHED"}
    pieces = sorted(shown_frames(s) for s in all_strips(scene) if s.channel == 5)
    assert pieces == [(-SHOT - 3, -4), (-3, 2 * SHOT - 4)]  # was split at both cuts
