"""Apply with "Run on: Ray cluster": Blender submits the CLI over HTTP and lands the strip.

The test starts a real local Ray cluster with its dashboard (the cluster side needs Ray; the
Blender side uses none of it) and checks the strip as after a local run, down to the pixels.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
import test_operators as operators
from vse import add_movie, all_strips

pytestmark = pytest.mark.blender
media, reference, saved = operators.media, operators.reference, operators.saved  # fixtures
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # every node on 127.0.0.1
ray = pytest.importorskip("ray", reason="the test cluster needs Ray (Blender itself does not)")


@pytest.fixture
def dashboard():
    from ray.cluster_utils import Cluster

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The job's `python -m restyle` is this interpreter's, as on a cluster that has Restyle.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 2, "include_dashboard": True, "dashboard_port": port},
    )
    yield f"127.0.0.1:{port}"
    ray.shutdown()
    cluster.shutdown()


def test_apply_on_a_ray_cluster_lands_the_strip(
    scene, saved, media, reference, sequencer_area, dashboard
):
    import bpy

    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=5, channel=2)
    before = set(all_strips(scene).keys())
    result = bpy.ops.restyle.apply_style(
        strip=source.name, style=operators.STYLE, temporal=0.0, run_on="RAY", ray_address=dashboard
    )
    assert result == {"FINISHED"}
    (styled,) = operators.new_strips(scene, before)
    operators.check_new_strip(scene, styled, f"{source.name}.{operators.STYLE_NAME}", 3, 5, 28)
    shown = operators.check_alignment(
        scene, source, styled, range(5, 29), reference(media["clip24"])
    )
    assert list(shown.values()) == list(range(24))


def test_an_unreachable_cluster_is_a_clear_error_and_changes_nothing(
    scene, saved, media, sequencer_area
):
    import bpy

    source = add_movie(scene, sequencer_area, media["clip24"], frame_start=5, channel=2)
    before = set(all_strips(scene).keys())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(RuntimeError, match="cannot reach the Ray dashboard"):
        bpy.ops.restyle.apply_style(
            strip=source.name, style=operators.STYLE, run_on="RAY", ray_address=dead
        )
    assert set(all_strips(scene).keys()) == before
    assert not any((saved / "restyle").glob("*/*.png"))
