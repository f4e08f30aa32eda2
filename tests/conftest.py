"""Shared pytest fixtures. Media fixtures are generated once per session (see clips.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests import the `clips` helper module

from clips import make_index_clip, make_pan_clip  # noqa: E402

CLIP_SIZE = (160, 96)

# The core suite's process must never import bpy: core.engines.inside_blender() is "bpy" in
# sys.modules, so every later test would run as inside Blender and fail far from the cause.
# The Blender suite (tests/blender) imports bpy on purpose, in a pytest process of its own
# (scripts/test.sh); a core test that needs Blender starts a child process. These hooks fail
# the test (or test module, at collection) that brought bpy in, name it, and stop the run.
BLENDER_SUITE = Path(__file__).parent / "blender"
_bpy_since: list[str] = []  # what first brought bpy into this process


def _in_blender_suite(path: Path) -> bool:
    return path.is_relative_to(BLENDER_SUITE)


def _bpy_message(culprit: str) -> str:
    return (
        f"{culprit} imported bpy into the core suite's process: every later core test would "
        "count as inside Blender (core.engines.inside_blender). Import bpy in a child process "
        "(as tests/test_engine_child_bpy.py does), or move the test to tests/blender, which "
        "runs in a pytest process of its own."
    )


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    had = "bpy" in sys.modules
    report = yield
    path = getattr(collector, "path", None)
    if not had and "bpy" in sys.modules and isinstance(collector, pytest.Module):
        _bpy_since.append(collector.nodeid)
        if path is not None and not _in_blender_suite(path) and report.passed:
            report.outcome = "failed"
            report.longrepr = _bpy_message(f"collecting {collector.nodeid}")
    return report


def pytest_runtest_setup(item):
    if "bpy" in sys.modules and not _in_blender_suite(item.path):
        since = _bpy_since[0] if _bpy_since else "something before this test"
        item.session.shouldstop = f"bpy is in the core suite's process since {since}"
        pytest.fail(
            f"bpy is already in this process (since {since}): a core test must not run "
            "beside Blender (run tests/blender in a pytest process of its own).",
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when != "teardown" or _bpy_since or "bpy" not in sys.modules:
        return report
    _bpy_since.append(item.nodeid)  # checked after the test's fixtures were torn down
    if not _in_blender_suite(item.path):
        item.session.shouldstop = f"{item.nodeid} imported bpy into the core suite's process"
        report.outcome = "failed"
        report.longrepr = _bpy_message(item.nodeid)
    return report


@pytest.fixture(autouse=True)
def own_precision_verdicts(tmp_path_factory, monkeypatch):
    """Each test its own machine precision verdicts (core/engines/precision.py), child
    processes included: a test that makes a reduced precision miss the bar keeps fp32 for good
    for that network, in a file (RESTYLE_HOME's cache) every later test, and the user's runs,
    would read."""
    try:
        from restyle.core.engines.precision import VERDICTS_ENV
    except ImportError:  # the GUI lane's Python (Debian's, in the trixie root) has no restyle
        VERDICTS_ENV = "RESTYLE_PRECISION_VERDICTS"
    folder = tmp_path_factory.mktemp("verdicts")
    monkeypatch.setenv(VERDICTS_ENV, str(folder / "precision.json"))


@pytest.fixture
def private_home(tmp_path, monkeypatch):
    """RESTYLE_HOME in the test's own folder (``tmp_path / "home"``), so no test reads or
    writes another's styles. Opt in: ``pytestmark = pytest.mark.usefixtures("private_home")``."""
    monkeypatch.setenv("RESTYLE_HOME", str(tmp_path / "home"))


@pytest.fixture
def in_process(monkeypatch):
    """Ray's tasks run in this process (``helpers_ray.InProcessRay``): ``run_on_ray`` and its
    chunks without a cluster."""
    pytest.importorskip("ray")  # run_chunks imports Ray's scheduling strategy
    from helpers_ray import InProcessRay

    from restyle.core import ray_runner

    monkeypatch.setattr(ray_runner, "connect", lambda address: InProcessRay())
    monkeypatch.setattr(ray_runner, "check_nodes", lambda *args: None)


@pytest.fixture
def tiny_style(tmp_path):
    """A trained style 'Tiny' in the library tmp_path/home (a 4-wide network)."""
    torch = pytest.importorskip("torch")
    import numpy as np

    from restyle.core.train.artifact import write_trained_style
    from restyle.core.train.trainer import TrainFigures, TrainResult
    from restyle.models.fewshot import FewShotGenerator

    home = tmp_path / "home"
    generator = FewShotGenerator(width=4, blocks=1)
    torch.manual_seed(0)
    state = {k: v.detach().numpy().copy() for k, v in generator.state_dict().items()}
    figures = TrainFigures(1, 0.1, 0.1, None, 0.5, 1, "budget", "cpu")
    result = TrainResult(state, generator.arch_config, figures)
    thumbnail = np.zeros((16, 16, 3), np.uint8)
    kept = dict(source="c.mp4", keyframes=[0], thumbnail=thumbnail)
    write_trained_style(home / "styles" / "tiny", result, name="Tiny", **kept)
    return home


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def index_clip_h264(media_dir: Path) -> Path:
    """60 frames of 160x96 h264 (B-frames, keyframe every 25) in MP4; frame i carries i."""
    return make_index_clip(media_dir / "index_h264.mp4", 60, CLIP_SIZE, gop=25)


@pytest.fixture(scope="session")
def index_clip_ffv1(media_dir: Path) -> Path:
    """40 frames of 160x96 lossless FFV1 in Matroska (keyframe every 10); frame i carries i."""
    return make_index_clip(media_dir / "index_ffv1.mkv", 40, CLIP_SIZE, codec="ffv1", gop=10)


@pytest.fixture(scope="session")
def pan_clip(media_dir: Path) -> Path:
    """24 frames of 160x96 h264 panning right by 2 px per frame."""
    return make_pan_clip(media_dir / "pan.mp4", 24, CLIP_SIZE, dx_per_frame=2.0)


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory):
    """A style library with the built-ins converted once per test session."""
    from restyle.core.builtins import install_builtins
    from restyle.core.styles import StyleLibrary

    lib = StyleLibrary(tmp_path_factory.mktemp("library"), bundled=None)
    install_builtins(lib.builtin_dir)
    return lib


@pytest.fixture(scope="session")
def matte_library(tmp_path_factory: pytest.TempPathFactory):
    """A library with the matte network converted once (from the mediapipe wheel on PyPI)."""
    from restyle.core.errors import RestyleError
    from restyle.core.mappings.matte_model import install_matte
    from restyle.core.styles import StyleLibrary

    lib = StyleLibrary(tmp_path_factory.mktemp("matte-library"), bundled=None)
    try:
        install_matte(lib.builtin_dir)
    except RestyleError as exc:  # offline and no RESTYLE_MEDIAPIPE_WHEEL
        pytest.skip(f"matte network unavailable: {exc}")
    return lib


@pytest.fixture
def placed(library, index_clip_h264, tmp_path):
    """A job for frames 0-3 into a folder, placed as Blender places it (the Ray tests)."""
    from restyle.core.job import StyleJob

    job = StyleJob(index_clip_h264, None, "comic-ink", start=0, end=3, library=library)
    plan = job.place(job.validate(), tmp_path / "out")
    plan.output.mkdir()
    return job, plan


@pytest.fixture(scope="session")
def ray_cluster():
    """A real local Ray cluster, a head and a worker node (one CPU each) on 127.0.0.1, started
    once per session (each start is ~10-30 s): the modules' ``cluster`` fixtures share it."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # every node on 127.0.0.1
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def ray_turn(cluster):
    """A module's turn on the session's local Ray cluster: ``--ray auto`` finds it (the
    address file its head wrote as it started, which another test's own cluster took away as
    it shut down), and the module's driver connection ends with the module."""
    import ray

    ray._private.utils.write_ray_address(cluster.head_node.gcs_address)
    yield cluster
    ray.shutdown()


@pytest.fixture(scope="module")
def cluster(ray_cluster):
    """The session's local Ray cluster, this module's turn on it (``ray_turn``)."""
    yield from ray_turn(ray_cluster)
