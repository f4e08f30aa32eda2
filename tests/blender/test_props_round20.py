"""A number a script gives Apply Style, Stabilize or Matte out of its range is refused in the
core's words (the command line's and Python's rule, Blender's labels) and nothing is made:
hard limits on the operators' properties clamped it unseen as it was assigned (bpy 5.0.1:
strength=5.0 ran at 1, -3.0 at 0, max_side=8 at 32, smoothness=9.0 at 1, each a new strip).
A Longest Side or Scale a script gives alone chooses its Processing Size: max_side=64
without size_mode ran at the original size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from vse import add_images, all_strips, ext

from clips import index_frame

# an unsaved .blend's frames go to the temporary folder: a fresh one in each test
pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]

STYLE = "starry-swirls"


@pytest.fixture
def source(scene, tmp_path):
    files = []
    for i in range(3):
        files.append(tmp_path / f"frame_{i + 1:04d}.png")
        frame = cv2.cvtColor(np.ascontiguousarray(index_frame(i, (160, 96))), cv2.COLOR_RGB2BGR)
        assert cv2.imwrite(str(files[-1]), frame)
    return add_images(scene, files, frame_start=1)


def _refused(scene, run, words: str) -> None:
    """``run()`` raises Blender's RuntimeError saying ``words``, the sidebar's summary says
    it, and no strip is made."""
    runner = ext("operators.runner")
    before = sorted(s.name for s in all_strips(scene))
    with pytest.raises(RuntimeError) as refused:
        run()
    assert words in str(refused.value), refused.value
    assert runner.RUN.status == runner.FAILED  # refused in prepare: no worker ran
    assert runner.RUN.summary == f"Failed: {words}", runner.RUN.summary
    assert sorted(s.name for s in all_strips(scene)) == before


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"strength": 5.0}, "Strength 5.0 is out of range 0..1"),
        ({"strength": -3.0}, "Strength -3.0 is out of range 0..1"),
        ({"size_mode": "MAX_SIDE", "max_side": 8}, "Longest Side 8 is out of range 32..16384"),
        ({"max_side": 8}, "Longest Side 8 is out of range 32..16384"),  # the mode it chooses
        ({"size_mode": "SCALE", "scale": 10.0}, "Scale 10.0 is out of range 0.05..4"),
        ({"scale": 4.2}, "Scale 4.2 is out of range 0.05..4"),  # not 4.199999809265137
        ({"temporal": 2.0}, "Temporal Coherence 2.0 is out of range 0..1"),
        ({"carry": -1.0}, "Carry Keyframes -1.0 is out of range 0..1"),
    ],
)
def test_apply_style_refuses_a_number_out_of_range(scene, source, given, words):
    import bpy

    _refused(scene, lambda: bpy.ops.restyle.apply_style(strip=source.name, **given), words)


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"smoothness": 9.0}, "Smoothness 9.0 is out of range 0..1"),
        ({"crop": 0.9}, "Crop 0.9 is out of range 0..0.5"),
        ({"strength": -0.5}, "Stabilize Strength -0.5 is out of range 0..1"),
    ],
)
def test_stabilize_refuses_a_number_out_of_range(scene, source, given, words):
    import bpy

    _refused(scene, lambda: bpy.ops.restyle.stabilize_strip(strip=source.name, **given), words)


def test_matte_refuses_a_temporal_coherence_out_of_range(scene, source):
    import bpy

    words = "Temporal Coherence 1.5 is out of range 0..1"
    _refused(scene, lambda: bpy.ops.restyle.matte_strip(strip=source.name, temporal=1.5), words)


def test_the_sidebar_keeps_its_ranges_as_hard_limits(restyle):
    """The sidebar's sliders behave as before (typed out of range, they clamp), and each
    operator's slider spans the same range, now as soft limits."""
    import bpy

    sidebar = restyle.props.RESTYLE_PG_settings.bl_rna.properties
    pairs = [(bpy.ops.restyle.apply_style, n, n) for n in ("strength", "max_side", "scale")]
    pairs += [(bpy.ops.restyle.apply_style, n, n) for n in ("temporal", "carry")]
    pairs += [(bpy.ops.restyle.matte_strip, "temporal", "temporal")]
    pairs += [
        (bpy.ops.restyle.stabilize_strip, n, f"stabilize_{n}")
        for n in ("smoothness", "crop", "strength")
    ]
    for op, name, setting in pairs:
        own, held = op.get_rna_type().properties[name], sidebar[setting]
        assert (own.soft_min, own.soft_max) == (held.hard_min, held.hard_max), (op, name)
        assert own.hard_min < held.hard_min and own.hard_max > held.hard_max, (op, name)


def _sizes_run(monkeypatch) -> list[tuple]:
    """The (max_side, scale) each Apply's job is validated with, as it runs."""
    job = ext("core.job").StyleJob
    validate, seen = job.validate, []

    def noted(self):
        seen.append((self.max_side, self.scale))
        return validate(self)

    monkeypatch.setattr(job, "validate", noted)
    return seen


def test_a_size_given_alone_chooses_its_processing_size(scene, source, monkeypatch):
    """max_side=64 alone ran at the original size (size_mode's default, ORIGINAL); a script's
    size now chooses its mode, over the sidebar's too, which it leaves as it was."""
    import bpy

    seen = _sizes_run(monkeypatch)
    settings = scene.restyle
    settings.size_mode, settings.max_side, settings.scale = "SCALE", 512, 0.25
    for given in ({"max_side": 64}, {"scale": 0.5}):
        assert bpy.ops.restyle.apply_style(strip=source.name, style=STYLE, temporal=0.0, **given)
    assert seen == [(64, None), (None, 0.5)]
    assert (settings.size_mode, settings.max_side, settings.scale) == ("SCALE", 512, 0.25)


def test_the_sidebar_size_is_used_when_a_script_gives_none(scene, source, monkeypatch):
    import bpy

    seen = _sizes_run(monkeypatch)
    scene.restyle.size_mode, scene.restyle.max_side = "MAX_SIDE", 64
    assert bpy.ops.restyle.apply_style(strip=source.name, style=STYLE, temporal=0.0)
    assert bpy.ops.restyle.apply_style(  # a mode given alone: the sidebar's size for it
        strip=source.name, style=STYLE, temporal=0.0, size_mode="SCALE"
    )
    assert seen == [(64, None), (None, scene.restyle.scale)]


@pytest.mark.parametrize(
    ("given", "words"),
    [
        (
            {"size_mode": "ORIGINAL", "max_side": 64},
            "Longest Side 64 needs Processing Size 'Longest Side', not 'Original'",
        ),
        (
            {"size_mode": "MAX_SIDE", "scale": 0.3},  # not 0.30000001192092896
            "Scale 0.3 needs Processing Size 'Scale', not 'Longest Side'",
        ),
        (
            {"max_side": 64, "scale": 0.5},
            "Longest Side 64 and Scale 0.5 both given: give one of them",
        ),
    ],
)
def test_a_size_given_with_another_processing_size_is_refused(scene, source, given, words):
    import bpy

    _refused(scene, lambda: bpy.ops.restyle.apply_style(strip=source.name, **given), words)
