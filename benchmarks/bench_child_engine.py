"""OpenVINO f32 in a child process (``core/engines/child.py``) against OpenVINO in-process and
ONNX Runtime's fast graph, measured in processes with and without Blender (``import bpy``).

Why: Blender's process is not a safe home for OpenVINO (Debian's Blender aborts; Blender's
builds serve OpenVINO their own TBB), so inside Blender it runs in a child process. This
prints what that costs: child/in-process (frames through shared memory, one request at a
time) and the child's start-up, and what it gains over ONNX Runtime (what Blender runs by
default today). Each measuring process alternates its engines in rounds on the same real
1280x720 frames (OpenCV's ``vtest``), so ratios inside one process are clean on a shared
CPU; processes run in ABBA order (without bpy, with, with, without), so a drifting load
weighs on both kinds. Medians throughout.

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
ENGINES = ("onnx", "openvino", "openvino-child")
SIZE = (1280, 720)
STYLE = "starry-swirls"


def engines_here(library: str) -> dict:
    """The three engines on one style: ONNX Runtime as Blender runs it, OpenVINO f32 here
    and OpenVINO f32 in a child process."""
    sys.path.insert(0, str(HERE))
    from bench_engines import stylizer

    from restyle.core.engines.child import ChildEngine
    from restyle.core.styles import StyleLibrary

    lib = StyleLibrary(Path(library), bundled=None)
    found = {"onnx": stylizer(lib, STYLE, "onnx", "auto")}
    found["openvino"] = stylizer(lib, STYLE, "openvino", "fp32")
    found["openvino-child"] = moved = stylizer(lib, STYLE, "openvino", "fp32")
    moved.engine = ChildEngine(moved.engine.path, moved.engine.arch, "cpu", "fp32")
    return found


def child(library: str, load_bpy: bool, rounds: int, count: int) -> None:
    """Time the engines alternately here and print one JSON line of frames/s per round."""
    if load_bpy:
        import bpy  # noqa: F401  (Blender's libraries load first, as inside Blender)
    engines = engines_here(library)
    from bench_engines import real_frames, timed_fps

    frames = real_frames("vtest", [100 + 50 * i for i in range(count)], SIZE)
    inputs = [engines["onnx"].preprocess(f)[None] for f in frames]
    for s in engines.values():
        s.infer(inputs[0])  # compile / warm up
    fps: dict[str, list[float]] = {b: [] for b in engines}
    for _ in range(rounds):
        for b, s in engines.items():
            fps[b].append(timed_fps(s, inputs))
    startup = engines["openvino-child"].engine.startup_s
    print(json.dumps({"fps": fps, "tbb": tbb_libraries(), "startup_s": startup}))


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


def report(name: str, result: dict) -> dict[str, float]:
    """Print one process's medians; returns its ratios."""
    onnx, here, moved = (statistics.median(result["fps"][b]) for b in ENGINES)
    ratios = {"child/in-process": moved / here, "child/onnx": moved / onnx, "ov/onnx": here / onnx}
    print(
        f"  {name:17} onnx {onnx:4.2f}  openvino {here:4.2f}  in a child {moved:4.2f} frames/s;"
        f"  child/in-process {ratios['child/in-process']:4.2f}x  child/onnx "
        f"{ratios['child/onnx']:4.2f}x  start-up {result['startup_s']:.2f} s;"
        f"  tbb here: {', '.join(result['tbb'])}"
    )
    return ratios | {"startup_s": result["startup_s"]}


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
        rows: dict[bool, list[dict]] = {False: [], True: []}
        for load_bpy in abba(args.pairs):
            name = "after import bpy" if load_bpy else "without bpy"
            rows[load_bpy].append(report(name, measure(work, load_bpy, args.rounds, args.frames)))
        for load_bpy, name in ((False, "without bpy"), (True, "after import bpy")):
            keys = rows[load_bpy][0].keys()
            line = ", ".join(
                f"{k} {statistics.median(r[k] for r in rows[load_bpy]):.2f}" for k in keys
            )
            print(f"  median {name}: {line}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
