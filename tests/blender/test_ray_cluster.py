"""Apply with "Run on: Ray cluster": Blender submits the CLI over HTTP and lands the strip.

The test starts a real local Ray cluster with its dashboard (the cluster side needs Ray; the
Blender side uses none of it) and checks the strip as after a local run, down to the pixels.
"""

from __future__ import annotations

import os
import socket
import sys
import time
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

    port, agent_port = _free_port(), _free_port()
    # The job's `python -m restyle` is this interpreter's, as on a cluster that has Restyle.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 2,
            "include_dashboard": True,
            "dashboard_port": port,
            # Ray's default agent port (52365) is taken by any other cluster on the machine,
            # and then this one never accepts a job ('No available agent').
            "dashboard_agent_listen_port": agent_port,
        },
    )
    _wait_for_job_agent(f"http://127.0.0.1:{port}")
    yield f"127.0.0.1:{port}"
    ray.shutdown()
    cluster.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_job_agent(url: str, patience_s: float = 120.0) -> None:
    """A fresh cluster refuses jobs ('No available agent') until its job agent is up: wait
    for a trivial job to be accepted, so a cluster that never gets ready fails here, named
    as such, and not inside the operator (the test is about Blender, not Ray's start-up)."""
    from ray.job_submission import JobSubmissionClient

    deadline = time.monotonic() + patience_s
    while True:
        try:
            JobSubmissionClient(url).submit_job(entrypoint="true")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(2.0)


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
