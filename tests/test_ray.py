"""Chunked runs on a real local Ray cluster (a head and a worker node, started by the test)."""

from __future__ import annotations

import contextlib
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


from conftest import ray_turn  # noqa: E402


@pytest.fixture(scope="module")
def cluster(ray_cluster):
    """The session's local Ray cluster (tests/conftest.py), this module's turn on it; defined
    here too, as the other Ray modules import it from this one."""
    yield from ray_turn(ray_cluster)


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
    # The summary names the engine that ran on the nodes, not the words asked for ('auto').
    assert (result.backend, result.device) == (local.backend, local.device) == ("onnx", "cpu")
    for a, b in zip(local.frame_files, sorted((tmp_path / "ray").glob("*.png")), strict=True):
        assert a.name == b.name
        assert np.array_equal(next(iter(decode_range(a, 0, 0))), next(iter(decode_range(b, 0, 0))))
    assert not (tmp_path / "ray" / ".restyle-chunks").exists()
    # The output is an ordinary Restyle folder: a local rerun reuses every frame.
    rerun = style_job(library, shots_clip, tmp_path / "ray", temporal=0.0).run()
    assert rerun.reused == 30 and rerun.written == 0


def read_frame(path):
    return next(iter(decode_range(path, 0, 0)))


def test_a_chunk_split_inside_a_shot_looks_ahead_across_the_join(
    cluster, library, shots_clip, tmp_path
):
    """With coherence (the lookahead is on by default) a chunk's last frame looks ahead at the
    next chunk's first frame, styled again for that and not written. Where each warm-up
    reaches back to its shot's start, every frame equals a single-machine run's, joins too."""
    from restyle.core.ray_runner import STAGING, run_on_ray

    local = style_job(library, shots_clip, tmp_path / "local", end=9).run()
    plan = plan_chunks(0, 9, [], max_frames=4, warmup=8)
    assert [(c.start, c.end, c.first_computed) for c in plan.chunks] == [
        (0, 2, 0),
        (3, 5, 0),
        (6, 9, 0),
    ]
    result = run_on_ray(
        style_job(library, shots_clip, tmp_path / "ray", end=9), cluster.address, plan=plan
    )
    assert not result.cancelled and result.written == 10
    for a in local.frame_files:
        assert np.array_equal(read_frame(a), read_frame(tmp_path / "ray" / a.name)), a.name
    assert not (tmp_path / "ray" / STAGING).exists()
    # The join needs the lookahead: a run that ends at frame 5 makes another frame 5.
    alone = style_job(library, shots_clip, tmp_path / "alone", end=5).run()
    assert not np.array_equal(read_frame(alone.frame_files[5]), read_frame(local.frame_files[5]))


def test_ray_and_one_machine_agree_at_the_cuts(cluster, library, shots_clip, tmp_path):
    """Ray's plan splits at the cuts ``core.shots`` finds; a coherent single-machine run finds
    the same ones while decoding and restarts there too (the blender's own test misses both
    cuts of this clip: test_temporal_cuts.py), so every frame is the same, cuts included."""
    from restyle.core.ray_runner import run_on_ray

    local = style_job(library, shots_clip, tmp_path / "local").run()
    result = run_on_ray(style_job(library, shots_clip, tmp_path / "ray"), cluster.address)
    assert not result.cancelled and result.written == 30
    for a in local.frame_files:
        assert np.array_equal(read_frame(a), read_frame(tmp_path / "ray" / a.name)), a.name


@pytest.mark.parametrize("damage", ["variable-rate", "truncated", "corrupt"])
def test_a_ray_run_warns_as_one_machine_does(cluster, library, index_clip_ffv1, tmp_path, damage):
    """A variable-rate or damaged source warns on Ray with one machine's words, once per run:
    each chunk warned of its own part (a line per chunk, counts of that chunk only), and its
    warm-up frames were counted again."""
    from test_file_safety import damaged_copies, variable_rate_movie

    from restyle.core.media import probe
    from restyle.core.ray_runner import run_on_ray

    if damage == "variable-rate":
        source = variable_rate_movie(tmp_path / "phone.mkv")
    else:
        source = damaged_copies(index_clip_ffv1, tmp_path)[damage == "corrupt"]
    last = probe(source).frame_count - 1
    local = style_job(library, source, tmp_path / "local", temporal=0.0).run()
    plan = plan_chunks(0, last, [], max_frames=4 if last < 20 else 12, warmup=2)
    result = run_on_ray(
        style_job(library, source, tmp_path / "ray", temporal=0.0), cluster.address, plan=plan
    )
    assert result.written == local.written == last + 1 and len(local.warnings) == 1
    # a damaged source decodes the same frames every time (slice threads only), so Ray's
    # chunks name exactly the frames one machine names
    assert result.warnings == local.warnings


def test_a_ray_run_into_a_folder_says_the_pixel_aspect_is_lost_once(cluster, library, tmp_path):
    """Frames of an anamorphic source written as image files warn that the pixel aspect is
    not kept, as one machine does: the chunks' writers said it, and the run's warnings,
    rebuilt from the chunks' facts, dropped it."""
    from fractions import Fraction

    from test_media_edge import FRAMES, encode

    from restyle.core.ray_runner import run_on_ray

    source = encode(tmp_path / "pal.mp4", pixel_aspect=Fraction(16, 15))
    local = style_job(library, source, tmp_path / "local", temporal=0.0).run()
    plan = plan_chunks(0, FRAMES - 1, [], max_frames=2, warmup=1)
    assert len(plan.chunks) > 1
    result = run_on_ray(
        style_job(library, source, tmp_path / "ray", temporal=0.0), cluster.address, plan=plan
    )
    assert result.written == local.written == FRAMES
    assert sum("pixel aspect 16/15 is not kept" in w for w in local.warnings) == 1
    assert result.warnings == local.warnings


def test_ray_splits_where_the_jobs_own_cuts_are(library, shots_clip, tmp_path):
    """A job given ``cuts`` restarts its coherence there; Ray's plan splits there too."""
    from restyle.core.plan import plan_for

    given = style_job(library, shots_clip, tmp_path / "out", cuts=(7, 20))
    assert plan_for(given, given.validate(), None).cuts == (7, 20)
    found = style_job(library, shots_clip, tmp_path / "out")
    assert plan_for(found, found.validate(), None).cuts == (10, 20)


def test_losing_a_node_mid_run_loses_no_frame(library, shots_clip, tmp_path):
    from ray.cluster_utils import Cluster

    from restyle.core.ray_runner import STAGING, run_on_ray

    ray.shutdown()  # the module's driver joined the session's cluster: this run joins this one
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


def restyle_cli(library, *args):
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "restyle", *args, "--library", str(library.root), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc.returncode, (json.loads(proc.stdout) if proc.returncode == 0 else proc.stderr)


def stylize_cli(library, source, output, *args):
    return restyle_cli(
        library, "stylize", str(source), "-o", str(output), "-s", "starry-swirls", *args
    )


def test_cli_plan_prints_the_chunks_and_writes_nothing(library, shots_clip, tmp_path):
    code, plan = stylize_cli(library, shots_clip, tmp_path / "out", "--plan", "--chunk-frames", "6")
    assert code == 0 and plan["cuts"] == [10, 20]
    assert [c["start"] for c in plan["chunks"]] == [0, 5, 10, 15, 20, 25]
    assert [c["warmup"] for c in plan["chunks"]] == [0, 5, 0, 5, 0, 5]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ray", "127.0.0.1:1"], "cannot reach a Ray cluster at '127.0.0.1:1'"),
        (["--ray", "nowhere"], "must be 'auto' or host:port"),
        (["--ray", ""], "--ray needs an address"),  # "$RAY_HEAD" unset: ran on one machine
        (["--ray", "http://127.0.0.1:8265"], "not a URL"),  # the dashboard address Blender takes
        (["--plan", "--chunk-frames", "0"], "--chunk-frames must be at least 1"),
    ],
)
def test_cli_bad_cluster_options_fail_fast_and_write_nothing(
    library, shots_clip, tmp_path, args, message
):
    code, stderr = stylize_cli(library, shots_clip, tmp_path / "out", *args)
    assert code == 2 and message in stderr
    assert list(tmp_path.iterdir()) == []


def test_ray_auto_to_an_unreachable_head_fails_fast(library, shots_clip, tmp_path, monkeypatch):
    """--ray auto follows RAY_ADDRESS (or the cluster last started here); an unreachable one
    failed only when the test's timeout hit (Ray retries for minutes), not in seconds."""
    import time

    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    t0 = time.monotonic()
    code, stderr = stylize_cli(library, shots_clip, tmp_path / "out", "--ray", "auto")
    assert code == 2 and "cannot reach a Ray cluster at '127.0.0.1:1'" in stderr
    assert "RAY_ADDRESS" in stderr and time.monotonic() - t0 < 60
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def silent_port():
    """A port that takes connections and never answers: a stale RAY_ADDRESS or last-cluster
    file now held by another program, or a head whose GCS hangs."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept():
        with contextlib.suppress(OSError):
            while True:
                held.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for conn in held:
        conn.close()


@pytest.mark.parametrize("via_env", [True, False], ids=["auto", "address"])
def test_a_port_that_never_answers_fails_in_seconds(
    library, shots_clip, tmp_path, silent_port, via_env
):
    """The address took TCP connections, so Restyle's check passed, and ray.init then asked
    it for the cluster's id 20 times, ~36 s each: the run hung 12 minutes (here it would
    overrun the 90 s timeout). Restyle now asks the GCS itself, with a 5 s deadline."""
    import subprocess
    import sys
    import time

    address = f"127.0.0.1:{silent_port}"
    env = {**os.environ, "RAY_ADDRESS": address} if via_env else os.environ
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "restyle", "stylize", str(shots_clip), "-o",
         str(tmp_path / "out"), "-s", "starry-swirls", "--library", str(library.root),
         "--ray", "auto" if via_env else address],
        capture_output=True, text=True, timeout=90, env=env,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert f"cannot reach a Ray cluster at '{address}': it takes connections but no Ray " in (
        proc.stderr
    )
    assert "start the head there (ray start --head) or check --ray and RAY_ADDRESS" in proc.stderr
    assert ("RAY_ADDRESS, else the cluster last started here" in proc.stderr) == via_env
    assert time.monotonic() - t0 < 60
    assert list(tmp_path.iterdir()) == []


def test_ray_init_gives_up_on_a_head_that_stops_answering_after_the_check(silent_port):
    """A head that answered Restyle's check and then stopped (its GCS killed, the machine
    gone) made ray.init wait 20 tries of ~36 s; it now tries once (~36 s; 5 s here), then says so.
    Ray's setting for that is set only while ray.init runs."""
    import subprocess
    import sys

    from restyle.core.ray_runner import GCS_WAIT_ENV

    script = f"""
import os, time
from restyle.core import ray_runner
from restyle.core.errors import RestyleError
ray_runner.check_gcs_answers = lambda address: None  # answered, then stopped
t0 = time.monotonic()
try:
    ray_runner.connect("127.0.0.1:{silent_port}")
except RestyleError as exc:
    print(exc)
print(round(time.monotonic() - t0), os.environ.get({GCS_WAIT_ENV!r}))
"""
    env = {k: v for k, v in os.environ.items() if k != GCS_WAIT_ENV}
    # Each try is Ray's own connect timeout (py_gcs_connect_timeout_s, ~30 s here): 5 s keeps
    # one try quick, and 20 tries (~120 s) still overrun the 90 s below.
    env["RAY_py_gcs_connect_timeout_s"] = "5"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=150, env=env
    )
    said, measured = proc.stdout.strip().splitlines()[-2:]
    seconds, leaked = measured.split()
    assert said.startswith(f"cannot reach a Ray cluster at '127.0.0.1:{silent_port}': ")
    assert said.endswith("start the head there (ray start --head) or check --ray and RAY_ADDRESS")
    assert int(seconds) < 90 and leaked == "None"


def test_a_users_own_ray_gcs_wait_is_kept(monkeypatch):
    from restyle.core.ray_runner import GCS_WAIT_ENV, _env_unless_set

    monkeypatch.delenv(GCS_WAIT_ENV, raising=False)
    with _env_unless_set(GCS_WAIT_ENV, "1"):
        assert os.environ[GCS_WAIT_ENV] == "1"
    assert GCS_WAIT_ENV not in os.environ
    monkeypatch.setenv(GCS_WAIT_ENV, "30")
    with _env_unless_set(GCS_WAIT_ENV, "1"):
        assert os.environ[GCS_WAIT_ENV] == "30"
    assert os.environ[GCS_WAIT_ENV] == "30"


def test_cli_ray_run_muxes_a_movie_like_a_local_run(cluster, library, shots_clip, tmp_path):
    common = [str(shots_clip), "-s", "starry-swirls", "--temporal", "0", "--backend", "onnx"]
    code, local = restyle_cli(library, "stylize", *common, "-o", str(tmp_path / "local.mkv"))
    assert code == 0
    code, ours = restyle_cli(
        library,
        "stylize",
        *common,
        "-o",
        str(tmp_path / "ray.mkv"),
        "--ray",
        cluster.address,
        "--chunk-frames",
        "8",
    )
    assert code == 0 and ours["written"] == 30 and not ours["cancelled"]
    a = list(decode_range(tmp_path / "local.mkv", 0, 29))
    b = list(decode_range(tmp_path / "ray.mkv", 0, 29))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))  # FFV1 is lossless
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local.mkv", "ray.mkv"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_submission_through_the_dashboard_lands_like_a_local_run(library, shots_clip, tmp_path):
    """What Blender's "Run on: Ray cluster" does: no Ray on the client, only HTTP."""
    import sys

    from ray.cluster_utils import Cluster

    from restyle.core.job import StyleJob
    from restyle.core.progress import Progress
    from restyle.core.ray_submit import RaySubmission

    port = free_port()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 2,
            "include_dashboard": True,
            "dashboard_port": port,
            # The module's other cluster holds Ray's default agent port: this one needs its own.
            "dashboard_agent_listen_port": free_port(),
        },
    )
    try:
        job = StyleJob(
            shots_clip,
            tmp_path / "out",
            "starry-swirls",
            library=library,
            temporal=0.0,
            backend="onnx",
        )
        job.validate()
        seen: list[Progress] = []
        result = RaySubmission(job, f"127.0.0.1:{port}", python=sys.executable).run(seen.append)
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert result.written == 30 and not result.cancelled
    assert [p.name for p in result.frame_files] == [f"{i:06d}.png" for i in range(30)]
    assert seen and seen[-1].done == 30
    local = style_job(library, shots_clip, tmp_path / "local", temporal=0.0).run()
    for a, b in zip(local.frame_files, result.frame_files, strict=True):
        assert np.array_equal(next(iter(decode_range(a, 0, 0))), next(iter(decode_range(b, 0, 0))))


def test_submission_to_a_dead_dashboard_says_so(library, shots_clip, tmp_path):
    from restyle.core.errors import RestyleError
    from restyle.core.job import StyleJob
    from restyle.core.ray_submit import RaySubmission

    job = StyleJob(shots_clip, tmp_path / "out", "starry-swirls", library=library)
    with pytest.raises(RestyleError, match="cannot reach the Ray dashboard"):
        RaySubmission(job, f"127.0.0.1:{free_port()}").run()
    assert list(tmp_path.iterdir()) == []


def test_a_matte_runs_on_the_cluster_as_on_one_machine(cluster, matte_library, tmp_path):
    from test_matte import pan_clip

    from restyle.core.mappings.matte_job import MatteJob
    from restyle.core.ray_runner import run_on_ray
    from restyle.core.writers import open_writer

    frames = pan_clip(8)
    clip = tmp_path / "pan.mkv"
    with open_writer(clip, fmt="ffv1", fps=24, size=frames[0].shape[1::-1]) as writer:
        for i, frame in enumerate(frames):
            writer.write(i, frame)
    options = {"library": matte_library, "temporal": 0.0, "backend": "onnx"}
    local = MatteJob(clip, tmp_path / "local", **options).run()
    plan = plan_chunks(0, 7, [], max_frames=3, warmup=1)
    result = run_on_ray(MatteJob(clip, tmp_path / "ray", **options), cluster.address, plan=plan)
    assert result.written == 8
    for a in local.frame_files:
        ours = next(iter(decode_range(tmp_path / "ray" / a.name, 0, 0)))
        assert ours.shape[2] == 4 and np.array_equal(next(iter(decode_range(a, 0, 0))), ours)


def test_a_background_clip_runs_on_from_chunk_to_chunk(
    cluster, matte_library, tmp_path, monkeypatch
):
    """Each chunk's job starts at its own first frame, and laid the --replace clip's first
    frame there: from the second chunk on the background differed from one machine's.
    Source, output and background given relative to the driver's working folder are read
    there by every task too (a task's own working folder is Ray's, not the driver's)."""
    from test_matte import pan_clip

    from restyle.core.mappings.matte_job import MatteJob
    from restyle.core.ray_runner import run_on_ray
    from restyle.core.writers import open_writer

    from clips import make_index_clip

    frames = pan_clip(8)
    clip = tmp_path / "pan.mkv"
    with open_writer(clip, fmt="ffv1", fps=24, size=frames[0].shape[1::-1]) as writer:
        for i, frame in enumerate(frames):
            writer.write(i, frame)
    background = make_index_clip(tmp_path / "bg.mkv", 8, (160, 96), codec="ffv1")
    options = {"library": matte_library, "temporal": 0.0, "backend": "onnx", "start": 1}
    options["replace"] = str(background)
    local = MatteJob(clip, tmp_path / "local", **options).run()
    plan = plan_chunks(1, 7, [], max_frames=3, warmup=0)
    monkeypatch.chdir(tmp_path)
    options["replace"] = "bg.mkv"
    result = run_on_ray(MatteJob("pan.mkv", "ray", **options), cluster.address, plan=plan)
    assert result.written == 7
    for a in local.frame_files:
        ours = next(iter(decode_range(tmp_path / "ray" / a.name, 0, 0)))
        assert np.array_equal(next(iter(decode_range(a, 0, 0))), ours), a.name


def test_a_keyframe_matte_is_refused_before_anything(library, shots_clip, tmp_path):
    from restyle.core.errors import RestyleError
    from restyle.core.mappings.matte_job import MatteJob
    from restyle.core.ray_runner import run_on_ray

    painted = MatteJob(shots_clip, tmp_path / "m", library=library, keyframes={3: "mask.png"})
    with pytest.raises(RestyleError, match="learned from keyframes"):
        run_on_ray(painted, "127.0.0.1:1")
    assert list(tmp_path.iterdir()) == []


def test_stabilisation_plans_the_camera_path_once_then_warps_in_chunks(
    cluster, tmp_path, monkeypatch
):
    from restyle.core.mappings import stabilize_job
    from restyle.core.mappings.stabilize_job import StabilizeJob
    from restyle.core.ray_runner import run_on_ray

    from clips import encode_clip, pan_frames

    rng = np.random.default_rng(3)
    shaky = [np.roll(f, tuple(rng.integers(-3, 4, 2)), axis=(0, 1)) for f in pan_frames(24)]
    clip = encode_clip(tmp_path / "shaky.mkv", shaky, codec="ffv1")
    local = StabilizeJob(clip, tmp_path / "local").run()
    first = StabilizeJob(clip, tmp_path / "ray")
    result = run_on_ray(first, cluster.address, max_frames=7)
    assert result.written == 24
    made_by = result.backend
    assert first.camera is None  # kept, a rerun with another range warped by this path
    for a in local.frame_files:
        ours = next(iter(decode_range(tmp_path / "ray" / a.name, 0, 0)))
        assert np.array_equal(next(iter(decode_range(a, 0, 0))), ours)
    # A rerun into the finished output tracked the range again and styled every chunk again
    # (its staging folders were gone) only to keep none of it: now it does neither.
    tracked = []
    monkeypatch.setattr(stabilize_job, "track_camera", lambda *a, **k: tracked.append(1))
    again = StabilizeJob(clip, tmp_path / "ray")
    result = run_on_ray(again, cluster.address, max_frames=7)
    assert (result.written, result.reused, tracked) == (0, 24, [])
    assert result.backend == made_by  # no chunk ran: the engine the folder's manifest kept
    assert (again.kept_area, again.cuts) == (first.kept_area, first.cuts)


def test_a_ray_run_in_chunks_keeps_the_sound_in_sync(cluster, tmp_path):
    """Chunks of at most 12 frames; the sound of the whole range, in sync (test_audio's
    clip and checks; on this module's cluster rather than one of its own)."""
    from test_audio import FRAMES, assert_sound_of_range, make_clip

    from restyle.core.cli import _written_sound  # what its --json record says
    from restyle.core.mappings.stabilize_job import StabilizeJob
    from restyle.core.ray_runner import run_on_ray

    source = make_clip(tmp_path / "source.mp4", clicks=(14, 30, 41))
    job = StabilizeJob(source, tmp_path / "steady.mp4", start=10)
    result = run_on_ray(job, cluster.address, max_frames=12)
    assert result.written == FRAMES - 10 and result.warnings == []
    assert_sound_of_range(tmp_path / "steady.mp4", source, 10, FRAMES - 1)
    assert _written_sound(result, "h264") == {"codec": "aac", "seconds": 1.583}  # 38 frames


def test_a_second_ray_stabilisation_into_the_same_output_is_refused_before_tracking(
    tmp_path, monkeypatch
):
    """'restyle stabilize --ray' tracked the whole range before taking the output's lock, so
    a second run into the same output was refused only after it; it now takes the lock
    first, as a one-machine run does (no cluster needed to see it: the lock comes first)."""
    from restyle.core.errors import RestyleError
    from restyle.core.mappings import stabilize_job
    from restyle.core.mappings.stabilize_job import StabilizeJob
    from restyle.core.ray_runner import frames_folder, run_on_ray
    from restyle.core.writers import OutputLock

    from clips import encode_clip, pan_frames

    clip = encode_clip(tmp_path / "shaky.mkv", pan_frames(8), codec="ffv1")
    tracked = []
    monkeypatch.setattr(stabilize_job, "track_camera", lambda *a, **k: tracked.append(1))
    for output in (tmp_path / "steady", tmp_path / "steady.mp4"):
        job = StabilizeJob(clip, output)
        folder = frames_folder(job)
        folder.mkdir()
        with OutputLock(folder), pytest.raises(RestyleError, match="being written by another"):
            run_on_ray(job, "127.0.0.1:1")
        assert not tracked and not list(folder.iterdir())


def test_a_ray_run_writes_the_asked_format_and_overwrites_like_one_machine(cluster, tmp_path):
    """--ray wrote PNG frames whatever --format said (jpg, tif), and refused --overwrite
    with 'holds frames made with other settings; ... use --overwrite'. Now the frames are in
    the asked format, and --overwrite replaces the older ones as new ones land, then deletes
    the older settings' frames outside the range, as a one-machine run does."""
    import json

    from restyle.core.job import MANIFEST
    from restyle.core.mappings.stabilize_job import StabilizeJob
    from restyle.core.ray_runner import STAGING, run_on_ray

    from clips import encode_clip, pan_frames

    rng = np.random.default_rng(5)
    shaky = [np.roll(f, tuple(rng.integers(-3, 4, 2)), axis=(0, 1)) for f in pan_frames(12)]
    clip = encode_clip(tmp_path / "shaky.mkv", shaky, codec="ffv1")
    out = tmp_path / "ray"
    first = run_on_ray(StabilizeJob(clip, out, format="tif"), cluster.address, max_frames=4)
    assert first.written == 12 and sorted(p.name for p in out.glob("0*")) == [
        f"{i:06d}.tif" for i in range(12)
    ]
    again = StabilizeJob(clip, out, format="tif", end=7, crop=0.2, overwrite=True)
    result = run_on_ray(again, cluster.address, max_frames=3)
    assert (result.written, result.reused, result.cancelled) == (8, 0, False)
    local = StabilizeJob(clip, tmp_path / "local", format="tif", end=7, crop=0.2).run()
    assert sorted(p.name for p in out.glob("0*")) == [f.name for f in local.frame_files]
    for a in local.frame_files:
        ours = next(iter(decode_range(out / a.name, 0, 0)))
        assert np.array_equal(next(iter(decode_range(a, 0, 0))), ours), a.name
    manifest = json.loads((out / MANIFEST).read_text())
    assert (manifest["stale"], manifest["format"]) == ([], "tif")  # the record said png
    assert not (out / STAGING).exists()


def test_an_overwrite_cancelled_mid_run_keeps_the_older_frames_it_did_not_replace(tmp_path):
    """A cancelled --overwrite run: the frames its finished chunks replaced are current,
    the older ones it did not reach stay, marked stale (never reused, replaced later)."""
    from restyle.core.job import _Manifest
    from restyle.core.ray_runner import (
        Landing,
        _finished,
        _record_replaced,
        chunk_output_folder,
        link_owned_frames,
    )

    out = tmp_path / "out"
    out.mkdir()
    for i in range(6):
        (out / f"{i:06d}.png").write_bytes(b"old")
    _Manifest(out, "old", {}).save()
    manifest = _Manifest(out, "new", {})
    assert len(manifest.stale) == 6
    plan = plan_chunks(0, 5, [], max_frames=3, warmup=0)
    landing = Landing(out, ".png", frozenset(manifest.stale))
    staging = chunk_output_folder(out, plan.chunks[0])
    staging.mkdir(parents=True)
    for i in range(3):
        (staging / f"{i:06d}.png").write_bytes(b"new")
    for _ in range(2):  # a retried task links again: nothing changes
        link_owned_frames(staging, landing.of(plan.chunks[0]), plan.chunks[0])
    landing = _record_replaced(manifest, landing, plan, finished=False)
    assert _finished(landing, plan) == {0, 1, 2}
    assert [(out / f"{i:06d}.png").read_bytes() for i in range(6)] == [b"new"] * 3 + [b"old"] * 3
    assert sorted(_Manifest(out, "new", {}).stale) == [f"{i:06d}.png" for i in range(3, 6)]


def test_a_ray_stabilisation_cancelled_while_tracking_is_a_cancelled_run(cluster, tmp_path):
    """Ctrl-C while the driver tracked ended --ray with 'restyle: error: cancelled while
    tracking' (exit 2); it is a cancelled run, as on one machine: nothing written, no folder."""
    from restyle.core.mappings.stabilize_job import StabilizeJob
    from restyle.core.progress import CancelToken
    from restyle.core.ray_runner import run_on_ray

    from clips import encode_clip, pan_frames

    clip = encode_clip(tmp_path / "shaky.mkv", pan_frames(8), codec="ffv1")
    cancel = CancelToken()
    cancel.cancel()
    job = StabilizeJob(clip, tmp_path / "out")
    result = run_on_ray(job, cluster.address, cancel=cancel)
    assert result.cancelled and result.written == 0 and not (tmp_path / "out").exists()


def json_kinds(record: dict) -> dict:
    """Each key's kind of value: null, empty, or its JSON type (what a pipeline script reads)."""
    return {
        k: "null" if v is None else "empty" if v in ("", [], {}) else type(v).__name__
        for k, v in record.items()
    }


@pytest.mark.parametrize("command", ["stylize", "matte", "stabilize"])
def test_a_ray_runs_json_has_a_single_machine_runs_keys(cluster, request, tmp_path, command):
    """Pipeline scripts parse --json: a Ray run gives the keys a single-machine run gives, with
    values of the same kind (the engine's explanation came back empty; stabilise's kept_area
    empty and its cuts null, and its summary left out the frame area kept)."""
    import subprocess
    import sys

    from clips import encode_clip, pan_frames

    library = request.getfixturevalue("matte_library" if command == "matte" else "library")
    rng = np.random.default_rng(3)
    shaky = [np.roll(f, tuple(rng.integers(-3, 4, 2)), axis=(0, 1)) for f in pan_frames(10)]
    clip = str(encode_clip(tmp_path / "shaky.mkv", shaky, codec="ffv1"))
    options = {
        "stylize": ["-s", "starry-swirls", "--temporal", "0", "--backend", "onnx"],
        "matte": ["--temporal", "0", "--backend", "onnx"],
        "stabilize": [],
    }[command]
    ray_options = ["--ray", cluster.address, "--chunk-frames", "4"]
    code, local = restyle_cli(library, command, clip, "-o", str(tmp_path / "local"), *options)
    assert code == 0
    code, ours = restyle_cli(
        library, command, clip, "-o", str(tmp_path / "ray"), *options, *ray_options
    )
    assert code == 0 and ours["written"] == 10
    # a matte's Ray driver builds no network (its nodes do): its setup list may be empty
    assert isinstance(ours["setup"], list) and isinstance(local["setup"], list)
    ours_kinds, local_kinds = json_kinds(ours), json_kinds(local)
    if command == "matte":  # stylize's and stabilize's Ray setup is said as the local run's
        ours_kinds.pop("setup"), local_kinds.pop("setup")
    assert ours_kinds == local_kinds
    if command == "stabilize":  # the path is planned once, over the whole range, as here
        assert (ours["kept_area"], ours["cuts"]) == (local["kept_area"], local["cuts"])
        text = subprocess.run(
            [sys.executable, "-m", "restyle", command, clip, "-o", str(tmp_path / "text")]
            + ray_options,
            capture_output=True,
            text=True,
            timeout=600,
        ).stdout
        assert f"{min(local['kept_area']):.0%} of the frame area kept" in text


def stages_shown(library, *args) -> list[str]:
    """The stages Blender shows for a run of ``restyle ARGS --json`` (each progress event on
    its stderr, read as Run on: Ray reads the node's log), each once, in order."""
    import subprocess
    import sys

    from restyle.core.ray_submit import progress_from_logs

    proc = subprocess.run(
        [sys.executable, "-m", "restyle", *args, "--library", str(library.root), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    events = [progress_from_logs(line) for line in proc.stderr.splitlines()]
    stages = [p.stage for p in events if p is not None]
    return [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]]


@pytest.mark.parametrize("command", ["stylize", "stabilize"])
def test_a_ray_runs_progress_has_a_single_machine_runs_stages(cluster, library, tmp_path, command):
    """The driver called its frames' progress "ray" (a stabiliser's: "track", then "ray"),
    which Blender's sidebar draws as an empty bar saying "Ray…"; it now says the job's own
    stage, as a single-machine run does."""
    from clips import encode_clip, pan_frames

    clip = str(encode_clip(tmp_path / "pan.mkv", pan_frames(10), codec="ffv1"))
    options = ["-s", "starry-swirls", "--temporal", "0"] if command == "stylize" else []
    local = stages_shown(library, command, clip, "-o", str(tmp_path / "local"), *options)
    ray_options = ["--ray", cluster.address, "--chunk-frames", "4"]
    ours = stages_shown(library, command, clip, "-o", str(tmp_path / "ray"), *options, *ray_options)
    # a local stylize says 'setup' (building the network) first (398d4c0); on Ray the driver
    # says it too, building the network for its precision check (auto asked)
    assert local == (["setup", "stylize"] if command == "stylize" else ["track", "stabilize"])
    assert ours == local


def test_a_cancelled_ray_run_names_no_engine_it_does_not_know(
    cluster, library, shots_clip, tmp_path, capsys
):
    """Cancelled before any chunk reported its engine, the summary said 'auto on auto' (the
    words asked for, printed as what ran); it now leaves the engine out."""
    import argparse

    from restyle.core.cli import EXIT_CANCELLED, _report_run
    from restyle.core.progress import CancelToken
    from restyle.core.ray_runner import run_on_ray

    cancel = CancelToken()
    cancel.cancel()
    job = style_job(library, shots_clip, tmp_path / "ray", temporal=0.0, backend="auto")
    result = run_on_ray(job, cluster.address, cancel=cancel)
    assert result.cancelled and (result.backend, result.device) == ("", "")
    args = argparse.Namespace(json=False, quiet=False)
    assert _report_run(args, result, "png", "styled", {}) == EXIT_CANCELLED
    summary = capsys.readouterr().out
    assert "cancelled after" in summary and "auto" not in summary and " on " not in summary


def test_a_lost_node_leaves_the_json_on_stdout_alone(library, tmp_path):
    """Ray's driver prints a retried chunk's error ('(raylet) Task _style_chunk failed ...
    retries remaining') on stdout, whatever log_to_driver says, which broke a script's
    json.loads of --json; it goes to stderr now, beside the progress events."""
    import json
    import subprocess
    import sys

    from ray.cluster_utils import Cluster

    from restyle.core.ray_runner import STAGING

    from clips import encode_clip, pan_frames

    # Frames large enough that a chunk outlasts the node's removal (at 160x96 a chunk of 20
    # could finish first on an idle CPU, and then nothing was lost or retried).
    clip = encode_clip(tmp_path / "pan.mkv", pan_frames(40, (480, 288)), codec="ffv1")
    out = tmp_path / "ray"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    doomed = cluster.add_node(num_cpus=1)
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "restyle", "stylize", str(clip), "-o", str(out),
             "-s", "starry-swirls", "--backend", "onnx", "--library", str(library.root),
             "--ray", cluster.address, "--chunk-frames", "20", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        # Both nodes busy with a chunk each (every frame of each chunk still to come but 2):
        while (
            proc.poll() is None
            and sum(
                len(list(folder.glob("[0-9]*.png"))) >= 2 for folder in (out / STAGING).glob("*")
            )
            < 2
        ):
            threading.Event().wait(0.02)
        cluster.remove_node(doomed)
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        cluster.shutdown()
    assert proc.returncode == 0, stderr
    assert json.loads(stdout)["written"] == 40, stdout
    assert "retries remaining" in stderr  # a chunk really was lost and retried


def test_an_image_strips_files_are_submitted_as_their_folder(tmp_path, monkeypatch):
    """Blender's Ray submission of an image strip (a list of files) put
    "[PosixPath('...'), ...]" on the command line as INPUT; the whole sequence is now its
    folder, another list is refused before anything is submitted; paths are absolute."""
    import cv2

    from restyle.core.errors import RestyleError
    from restyle.core.job import StyleJob
    from restyle.core.ray_submit import RaySubmission, stylize_command

    shot = tmp_path / "shot"
    shot.mkdir()
    files = []
    for i in range(4):
        files.append(shot / f"frame_{i:04d}.png")
        cv2.imwrite(str(files[-1]), np.full((32, 48, 3), 40 * i, np.uint8))
    monkeypatch.chdir(tmp_path)
    job = StyleJob(files, "styled", "comic-ink", lookahead=False)
    command = stylize_command(job)
    assert command[4:7] == [str(shot), "-o", str(tmp_path / "styled")]
    assert "--no-lookahead" in command
    with pytest.raises(RestyleError, match="not all of .*shot's sequence"):
        RaySubmission(StyleJob(files[1:3], "styled", "comic-ink"), "127.0.0.1:1")


def test_a_ray_run_of_absolute_paths_needs_no_working_folder(cluster, tmp_path, monkeypatch):
    """The driver asked for its working folder (for the tasks) whatever the paths: a farm
    script connected to Ray, whose temporary working folder was then deleted, failed with
    FileNotFoundError. Ray itself cannot start from one: said in one line, before it."""
    from restyle.core.errors import RestyleError
    from restyle.core.mappings.stabilize_job import StabilizeJob
    from restyle.core.ray_runner import connect, run_on_ray

    from clips import encode_clip, pan_frames

    clip = encode_clip(tmp_path / "pan.mkv", pan_frames(6), codec="ffv1")
    job = StabilizeJob(clip, tmp_path / "steady")
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    ray.shutdown()
    with pytest.raises(RestyleError, match="Ray cannot start from a working folder that was"):
        run_on_ray(job, cluster.address, max_frames=3)
    assert not (tmp_path / "steady").exists()
    monkeypatch.chdir(tmp_path)
    connect(cluster.address)
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    result = run_on_ray(job, cluster.address, max_frames=3)
    assert (result.written, result.cancelled) == (6, False)


def test_a_chunk_reads_no_image_header_the_driver_read(library, tmp_path, monkeypatch):
    """Every Ray task probed the whole source again: an image sequence's every file opened
    once per chunk (a film's 130,000 frames in each of its 540 chunks). A task is given the
    driver's probe; one without it (an older driver) still probes for itself."""
    from types import SimpleNamespace

    import cv2

    from restyle.core import media
    from restyle.core.job import StyleJob
    from restyle.core.ray_runner import Landing, _style_chunk, job_fields

    shot = tmp_path / "shot"
    shot.mkdir()
    for i in range(6):
        cv2.imwrite(str(shot / f"f_{i:04d}.png"), np.full((24, 32, 3), 30 * i, np.uint8))
    out = tmp_path / "out"
    out.mkdir()
    job = style_job(library, shot, out, temporal=0.0)
    info = job.validate().info
    opened = []
    header = media._image_header
    monkeypatch.setattr(media, "_image_header", lambda path: opened.append(path) or header(path))
    fields = job_fields(job)
    job_type = fields.pop("job_type")
    board = SimpleNamespace(report=SimpleNamespace(remote=lambda *args: None))
    first, second = plan_chunks(0, 5, [], max_frames=3, warmup=0).chunks
    _style_chunk(job_type, dict(fields), first, Landing(out, ".png"), board, info=info)
    assert opened == []
    _style_chunk(job_type, dict(fields), second, Landing(out, ".png"), board)
    assert len(opened) == 5  # every image after the first
    assert sorted(p.name for p in out.glob("*.png")) == [f"{i:06d}.png" for i in range(6)]
    assert job_type is StyleJob
