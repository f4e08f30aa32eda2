"""test_ray_seams's chunks on a real local Ray cluster (test_ray's): ``run_chunks`` hands
each task its history (``history_start``), so a --ray run's bars and repeats are one
machine's."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest
from test_ray import cluster, style_job  # noqa: F401  (the cluster fixture)
from test_ray_seams import STAMPS, subtitled  # noqa: F401  (a fixture)

from restyle.core.plan import plan_chunks

from clips import make_variable_rate_clip

pytestmark = pytest.mark.slow


def pixels(files) -> list[np.ndarray]:
    return [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(files)]


def test_a_ray_run_keeps_one_machines_bars_and_repeats(cluster, library, subtitled, tmp_path):  # noqa: F811
    from restyle.core.ray_runner import run_on_ray

    local = style_job(library, subtitled, tmp_path / "local", temporal=0.0).run()
    plan = plan_chunks(0, 23, [], max_frames=8, warmup=0)  # 8 and 16: under the subtitle
    job = style_job(library, subtitled, tmp_path / "ray", temporal=0.0)
    result = run_on_ray(job, cluster.address, plan=plan)
    assert (result.written, result.cancelled) == (24, False)
    ray_frames = pixels((tmp_path / "ray").glob("*.png"))
    for k, (a, b) in enumerate(zip(pixels(local.frame_files), ray_frames, strict=True)):
        assert np.array_equal(a, b), k

    source = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    local = style_job(library, source, tmp_path / "vfr-local", temporal=0.0).run()
    plan = plan_chunks(0, 12, [], max_frames=5, warmup=0)  # 4 and 8: held pictures
    job = style_job(library, source, tmp_path / "vfr-ray", temporal=0.0)
    result = run_on_ray(job, cluster.address, plan=plan)
    assert (result.written, result.repeated) == (local.written, local.repeated) == (13, 8)
    assert result.warnings == local.warnings
