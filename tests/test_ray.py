"""Chunked runs on a real local Ray cluster (a head and a worker node, started by the test)."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from restyle.core.media import decode_range
from restyle.core.plan import plan_chunks

# Every node of the test cluster on 127.0.0.1: Ray uses loopback addresses when told that
# multi-host clusters are off, and no traffic leaves this machine.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture(scope="module")
def shots_clip(tmp_path_factory):
    from test_plan import three_shot_clip

    return three_shot_clip(tmp_path_factory.mktemp("ray") / "shots.mkv", shot_length=10)


def style_job(library, source, output, **options):
    from restyle.core.job import StyleJob

    options.setdefault("backend", "onnx")
    return StyleJob(source, output, "starry-swirls", library=library, **options)


def test_chunked_run_matches_a_single_machine_run(cluster, library, shots_clip, tmp_path):
    from restyle.core.ray_runner import run_on_ray

    local = style_job(library, shots_clip, tmp_path / "local", temporal=0.0).run()
    plan = plan_chunks(0, 29, [10, 20], max_frames=4, warmup=2)
    result = run_on_ray(
        style_job(library, shots_clip, tmp_path / "ray", temporal=0.0), cluster.address, plan=plan
    )
    assert not result.cancelled and result.written == 30
    for a, b in zip(local.frame_files, sorted((tmp_path / "ray").glob("*.png")), strict=True):
        assert a.name == b.name
        assert np.array_equal(next(iter(decode_range(a, 0, 0))), next(iter(decode_range(b, 0, 0))))
    assert not (tmp_path / "ray" / ".restyle-chunks").exists()
    # The output is an ordinary Restyle folder: a local rerun reuses every frame.
    rerun = style_job(library, shots_clip, tmp_path / "ray", temporal=0.0).run()
    assert rerun.reused == 30 and rerun.written == 0


def test_losing_a_node_mid_run_loses_no_frame(library, shots_clip, tmp_path):
    from ray.cluster_utils import Cluster

    from restyle.core.ray_runner import STAGING, run_on_ray

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    doomed = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    out = tmp_path / "ray"
    plan = plan_chunks(0, 29, [10, 20], max_frames=5, warmup=2)

    def kill_when_started():
        while len(list((out / STAGING).glob("*/[0-9]*.png"))) < 4:
            threading.Event().wait(0.05)
        cluster.remove_node(doomed)

    killer = threading.Thread(target=kill_when_started, daemon=True)
    try:
        killer.start()
        result = run_on_ray(
            style_job(library, shots_clip, out, temporal=0.0), cluster.address, plan=plan
        )
        killer.join(timeout=5)
        assert not killer.is_alive()  # the node really was lost mid-run
    finally:
        ray.shutdown()
        cluster.shutdown()
    local = style_job(library, shots_clip, tmp_path / "local", temporal=0.0).run()
    assert result.written == 30
    for a in local.frame_files:
        ours = next(iter(decode_range(out / a.name, 0, 0)))
        assert np.array_equal(next(iter(decode_range(a, 0, 0))), ours)
