"""Apply Style with "Run on: Ray cluster" styles a graded strip as it shows: its Saturation and
Multiply (a Replace blend's Opacity folded in) travel on the submitted command line, which
grades every frame the cluster reads. Such a strip was refused ('a Ray run cannot apply the
Saturation and Multiply'), as the command line had no words for them.

The cluster test starts a real local Ray cluster with its dashboard (test_ray_cluster.py's).
"""

from __future__ import annotations

import importlib.util
import shlex

import numpy as np
import pytest
from test_edit_tools import shaky
from test_operators import saved  # noqa: F401 - a fixture: frames go beside the .blend
from vse import add_movie, all_strips, ext, render

from clips import encode_clip

pytestmark = pytest.mark.blender
STYLE = "comic-ink"
RAY_MISSING = importlib.util.find_spec("ray") is None
if not RAY_MISSING:
    from test_ray_cluster import dashboard  # noqa: F401 - a fixture: a local cluster's dashboard

# The command line's grade options and the strip properties whose ranges they take.
PROPERTIES = {
    "saturation": "color_saturation",
    "multiply": "color_multiply",
    "opacity": "blend_alpha",
}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return encode_clip(tmp_path_factory.mktemp("ray-grade") / "photo.mp4", shaky("astronaut", 6, 3))


def test_the_grade_options_take_blenders_ranges(scene, sequencer_area, clip):
    """What a strip can hold, the command line takes, and nothing more."""
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    ranges = ext("core.cli").grade_ranges()
    assert set(ranges) == set(PROPERTIES)
    for option, name in PROPERTIES.items():
        rna = source.bl_rna.properties[name]
        assert ranges[option] == (rna.hard_min, rna.hard_max), option


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.mark.skipif(RAY_MISSING, reason="the test cluster needs Ray (Blender itself does not)")
def test_a_graded_strip_runs_on_a_ray_cluster_as_it_shows(
    scene,
    saved,  # noqa: F811
    sequencer_area,
    clip,
    dashboard,  # noqa: F811
    monkeypatch,
):
    import bpy

    ray_submit, runner = ext("core.ray_submit"), ext("operators.runner")
    submitted = []
    submit = ray_submit._submit
    monkeypatch.setattr(
        ray_submit, "_submit", lambda base, job: submitted.append(job) or submit(base, job)
    )
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    source.color_saturation, source.color_multiply = 0.0, 1.5
    source.blend_type, source.blend_alpha = "REPLACE", 0.5
    before = set(all_strips(scene).keys())
    settings = {"strip": source.name, "style": STYLE, "strength": 0.0, "temporal": 0.0}
    settings.update(frame_start=2, frame_end=4)
    result = bpy.ops.restyle.apply_style(**settings, run_on="RAY", ray_address=dashboard)
    assert result == {"FINISHED"}
    (entrypoint,) = [job["entrypoint"] for job in submitted]
    words = shlex.split(entrypoint)
    grade = [words[words.index(flag) + 1] for flag in ("--saturation", "--multiply")]
    assert grade == ["0.0", "0.75"], entrypoint  # Replace's opacity folded into the multiply
    (made,) = [s for s in all_strips(scene) if s.name not in before]
    shown = render(scene, [2, 4], only=source)
    styled = render(scene, [2, 4], only=made)
    for frame in (2, 4):
        assert psnr(styled[frame], shown[frame]) > 40, frame
        assert np.ptp(styled[frame].astype(int), axis=-1).max() <= 2  # grey
    # The cluster keyed its frames as Blender does: run here, the same strip reuses them.
    # a strip that already shows this output would only be selected (9db7ae8)
    ext("compat").strips(scene.sequence_editor).remove(made)
    assert bpy.ops.restyle.apply_style(**settings, run_on="LOCAL") == {"FINISHED"}
    assert "0 styled, 3 reused" in runner.RUN.summary, runner.RUN.summary
