"""A job Run on: Ray refused by its node says its settings as Blender's controls are named,
as a local run's refusal does: 'Device 'Metal' is PyTorch's: use Backend 'PyTorch'', not the
node's command line ('--device mps ... use --backend torch'). A real local Ray cluster runs
the command Blender submits."""

from __future__ import annotations

import pytest
import test_ray_cluster as cluster
from vse import add_movie, all_strips

from clips import make_index_clip

pytestmark = pytest.mark.blender
dashboard = cluster.dashboard  # fixture: a real local cluster with its dashboard


def test_a_ray_jobs_refusal_names_blenders_controls(scene, sequencer_area, tmp_path, dashboard):
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "ray.blend"))
    clip = make_index_clip(tmp_path / "clip.mp4", 4, (64, 48), fps=24)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    before = set(all_strips(scene).keys())
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.apply_style(
            strip=source.name,
            style="comic-ink",
            backend="ONNX",
            device="MPS",
            run_on="RAY",
            ray_address=dashboard,
        )
    said = str(error.value)
    assert "the Ray job failed: Device 'Metal' is PyTorch's: use Backend 'PyTorch'" in said, said
    assert "--device" not in said and "--backend" not in said
    assert set(all_strips(scene).keys()) == before
