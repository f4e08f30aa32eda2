"""OpenVINO f32 against ONNX Runtime's fast graph, each measured in a child process with and
without Blender (``import bpy``) loaded first.

Why: Blender and OpenVINO each ship libtbb.so.12, and a process that loaded Blender runs
OpenVINO on Blender's copy. This shows whether OpenVINO keeps its speed there. Each child
alternates the two engines in rounds on the same real 1280x720 frames (OpenCV's ``vtest``),
so the OpenVINO/ONNX Runtime ratio inside one process is clean on a shared CPU; the
children's ratios are then compared (children in ABBA order, so a drifting load weighs on
both kinds). ``onnx`` is the engine that runs inside Blender today (fast graph, one worker
session per core).

    nice -n 19 .venv/bin/python benchmarks/bench_child_engine.py [--rounds 5] [--frames 4]
        [--pairs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENGINES = (("onnx", "auto"), ("openvino", "fp32"))
SIZE = (1280, 720)


def child(library: str, load_bpy: bool, rounds: int, count: int) -> None:
    """Time both engines alternately here and print one JSON line of frames/s per round."""
    if load_bpy:
        import bpy  # noqa: F401  (Blender's libraries load first, as inside Blender)
    sys.path.insert(0, str(HERE))
    from bench_engines import real_frames, stylizer, timed_fps

    from restyle.core.styles import StyleLibrary

    lib = StyleLibrary(Path(library), bundled=None)
    frames = real_frames("vtest", [100 + 50 * i for i in range(count)], SIZE)
    engines = {b: stylizer(lib, "starry-swirls", b, p) for b, p in ENGINES}
    inputs = [engines["onnx"].preprocess(f)[None] for f in frames]
    for s in engines.values():
        s.infer(inputs[0])  # compile / warm up
    fps: dict[str, list[float]] = {b: [] for b in engines}
    for _ in range(rounds):
        for b, s in engines.items():
            fps[b].append(timed_fps(s, inputs))
    print(json.dumps({"fps": fps, "tbb": tbb_libraries()}))


def tbb_libraries() -> list[str]:
    """The TBB libraries this process loaded (Linux), to show whose copy OpenVINO ran on."""
    maps = Path(f"/proc/{os.getpid()}/maps")
    if not maps.exists():
        return []
    found = set(re.findall(r"\S*libtbb\.so\S*", maps.read_text()))
    return sorted(f"{Path(p).name} ({Path(p).parent.parent.name})" for p in found)


def measure(library: Path, load_bpy: bool, rounds: int, count: int) -> dict:
    args = [sys.executable, __file__, "--child", str(library), "--rounds", str(rounds)]
    args += ["--frames", str(count)] + (["--bpy"] if load_bpy else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def abba(pairs: int) -> list[bool]:
    """Whether each child loads bpy, in ABBA order, so a load that drifts over the run
    weighs on both kinds alike."""
    return [bool((i + (i // 2)) % 2) for i in range(2 * pairs)]


def report(name: str, result: dict) -> float:
    """Print one child's medians; returns its OpenVINO/ONNX Runtime ratio."""
    onnx, ov = (statistics.median(result["fps"][b]) for b, _ in ENGINES)
    print(
        f"  {name:18} onnx fast graph {onnx:5.2f} frames/s   openvino f32 {ov:5.2f}   "
        f"openvino/onnx {ov / onnx:4.2f}x   tbb: {', '.join(result['tbb'])}"
    )
    return ov / onnx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=2, help="child pairs, in ABBA order")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--bpy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.bpy, args.rounds, args.frames)
    from restyle.core.builtins import install_builtins
    from restyle.core.engines.cpu import cpu_threads, feature_summary

    work = Path(tempfile.mkdtemp(prefix="restyle-bench-child-"))
    try:
        install_builtins(work / "builtin")
        print(
            f"cores: {cpu_threads()}, CPU features: {feature_summary()}, load: "
            f"{os.getloadavg()[0]:.1f}; CPU shared: compare ratios, not frames/s"
        )
        print(
            f"{SIZE[0]}x{SIZE[1]} real frames, {args.rounds} rounds x {args.frames} frames, "
            "medians; each line is one child process"
        )
        ratios = {False: [], True: []}
        for load_bpy in abba(args.pairs):
            name = "after import bpy" if load_bpy else "without bpy"
            ratios[load_bpy].append(report(name, measure(work, load_bpy, args.rounds, args.frames)))
        alone, beside = (statistics.median(ratios[k]) for k in (False, True))
        print(f"  median openvino/onnx: without bpy {alone:4.2f}x, after import bpy {beside:4.2f}x")
        print(f"  openvino/onnx after bpy against without: {beside / alone:4.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
