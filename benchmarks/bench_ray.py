"""Chunked runs on a real local Ray cluster: issue 16's figures.

The clip is real footage the project did not make: the first frames of OpenCV's `Megamind.avi`
(Debian's opencv-doc, scripts/real_footage.py: an animated film excerpt with moving characters
and real cuts), resized to --size. In one run it measures:

1. a single-machine run (`StyleJob.run`, coherence on): the reference and the per-frame time;
2. the same job with `--ray` on a cluster of 1 node, then of 2 nodes (1 CPU each), with a node
   killed mid-run in the 2-node case (--kill): wall time, frames written, and every frame
   against the single-machine run (PSNR; identical with coherence off);
3. seams: the warping error of the Ray output at chunk joins that are not cuts, against the
   median over all frame pairs (goal: within 1.2x);
4. a model of the time for a 90-minute film (129,600 frames at 24 fps) on N nodes, built from
   the measured per-frame time and per-chunk overhead (unverified beyond the nodes measured).

    .venv/bin/python benchmarks/bench_ray.py [--size 1280x720] [--frames 96] [--chunk 24]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))

from real_footage import real_clip  # noqa: E402

# Every node of the test cluster on 127.0.0.1: Ray uses loopback addresses when told that
# multi-host clusters are off, and no traffic leaves this machine.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
FILM_FRAMES = 90 * 60 * 24


def make_clip(folder: Path, size: tuple[int, int], frames: int) -> Path:
    from restyle.core.media import decode_range
    from restyle.core.writers import open_writer

    source = real_clip("megamind")
    path = folder / "megamind.mkv"
    with open_writer(path, fmt="ffv1", fps=24, size=size) as writer:
        for i, frame in enumerate(decode_range(source, 1, frames)):
            writer.write(i, cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    return path


def read_frames(folder: Path, count: int) -> list[np.ndarray]:
    return [cv2.imread(str(folder / f"{i:06d}.png"))[:, :, ::-1] for i in range(count)]


def start_cluster(nodes: int):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    workers = [cluster.add_node(num_cpus=1) for _ in range(nodes - 1)]
    cluster.wait_for_nodes()
    return cluster, workers


def ray_run(job, nodes: int, chunk: int, kill: bool) -> tuple[float, object, bool]:
    import ray

    from restyle.core.ray_runner import STAGING, run_on_ray

    cluster, workers = start_cluster(nodes)
    killed = threading.Event()

    def kill_mid_run() -> None:
        staging = Path(job.output) / STAGING
        while len(list(staging.glob("*/[0-9]*.png"))) < chunk // 2:
            time.sleep(0.1)
        cluster.remove_node(workers[-1])
        killed.set()

    if kill and workers:
        threading.Thread(target=kill_mid_run, daemon=True).start()
    try:
        t0 = time.perf_counter()
        result = run_on_ray(job, cluster.address, max_frames=chunk)
        return time.perf_counter() - t0, result, killed.is_set()
    finally:
        ray.shutdown()
        cluster.shutdown()


def seam_ratio(clip: Path, frames: list[np.ndarray], plan) -> tuple[float, float]:
    """Warping error at chunk joins (not cuts) over the median of all pairs (Farneback judge)."""
    from restyle.core.media import decode_range
    from restyle.core.metrics import pair_warping_error

    class Farneback:
        def flow(self, a, b):
            return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)

    source = list(decode_range(clip, 0, len(frames) - 1))
    cuts = set(plan.cuts)
    errors = {
        i: pair_warping_error(source[i - 1], source[i], frames[i - 1], frames[i], Farneback())
        for i in range(1, len(frames))
        if i not in cuts
    }
    joins = [errors[c.start] for c in plan.chunks if c.start in errors]
    median = statistics.median(errors.values())
    return (max(joins) / median if joins else float("nan")), median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--chunk", type=int, default=24, help="longest chunk in frames")
    parser.add_argument("--temporal", type=float, default=0.5)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))

    from restyle.core.job import StyleJob
    from restyle.core.metrics import psnr
    from restyle.core.plan import detect_plan

    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    clip = make_clip(work, size, args.frames)

    def job(name: str) -> StyleJob:
        return StyleJob(clip, work / name, "starry-swirls", temporal=args.temporal, backend="onnx")

    t0 = time.perf_counter()
    job("local").run()
    local_s = time.perf_counter() - t0
    reference = read_frames(work / "local", args.frames)
    plan = detect_plan(clip, 0, args.frames - 1, max_frames=args.chunk)
    print(
        f"clip: Megamind.avi frames 1..{args.frames} at {size[0]}x{size[1]}, cuts {plan.cuts}, "
        f"{len(plan.chunks)} chunks, {plan.computed_frames} frames computed"
    )
    print(f"single machine: {local_s:.1f} s ({args.frames / local_s:.2f} frames/s)")
    timings = {}
    for nodes, kill in ((1, False), (2, True)):
        seconds, result, killed = ray_run(job(f"ray{nodes}"), nodes, args.chunk, kill)
        timings[nodes] = seconds
        ours = read_frames(work / f"ray{nodes}", args.frames)
        scores = [psnr(a, b) for a, b in zip(reference, ours, strict=True)]
        finite = [s for s in scores if np.isfinite(s)]
        print(
            f"ray, {nodes} node(s){' (one killed mid-run)' if killed else ''}: {seconds:.1f} s "
            f"({args.frames / seconds:.2f} frames/s), {result.written} frames written; "
            f"vs single machine: {len(scores) - len(finite)} identical, "
            f"worst {min(scores):.1f} dB, median {statistics.median(scores):.1f} dB"
        )
        if nodes == 2:
            ratio, median = seam_ratio(clip, ours, plan)
            baseline, _ = seam_ratio(clip, reference, plan)
            print(
                f"seams: worst join warping error / median pair = {ratio:.2f} (median "
                f"{median:.5f}); the single-machine output at the same pairs: {baseline:.2f}"
            )
    per_frame = local_s / args.frames
    overhead = max(0.0, timings[1] - local_s * plan.computed_frames / args.frames) / len(
        plan.chunks
    )
    print(f"per-chunk overhead (1 node vs single machine): {overhead:.2f} s")
    for n in (1, 10, 100):
        chunks = FILM_FRAMES / 240
        hours = (FILM_FRAMES * per_frame * (1 + 8 / 240) + chunks * overhead) / n / 3600
        print(
            f"model: 90-min film on {n} such CPU node(s): {hours:.1f} h (unverified beyond 2 nodes)"
        )


if __name__ == "__main__":
    main()
