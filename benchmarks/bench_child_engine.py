"""OpenVINO (f32, or bf16 with ``--precision bf16``) in a child process (``core/engines/child.py``) against OpenVINO in-process, each
against ONNX Runtime's fast graph, in processes with and without Blender (``import bpy``).

Why: Blender's process is not a safe home for OpenVINO (Debian's Blender aborts; Blender's
builds serve OpenVINO their own TBB), so inside Blender it runs in a child process. This
prints what that costs (child against in-process: frames through shared memory, one request
at a time; the child's start-up) and what it gains over ONNX Runtime (what Blender runs by
default). Each measuring process holds ONNX Runtime and ONE OpenVINO engine (an idle
in-process OpenVINO beside its child slowed the child's rounds by up to 25 %) and alternates
them in rounds on the same real 1280x720 frames (OpenCV's ``vtest``), so its OpenVINO/ONNX
Runtime ratio is clean on a shared CPU; the four kinds of process run in ABCD-DCBA order so
a drifting load weighs on all alike. Medians throughout.

    nice -n 19 .venv/bin/python benchmarks/bench_child_engine.py [--rounds 5] [--frames 4]
        [--pairs 1] [--precision fp32|bf16|auto]

``auto`` is the engine's own choice (bf16 where OpenVINO reports native BF16, as ``auto``
runs it inside Blender); the precision each process ran is printed.
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
# Each measuring process: (OpenVINO where, Blender loaded first).
KINDS = (("here", False), ("child", False), ("here", True), ("child", True))
SIZE = (1280, 720)
STYLE = "starry-swirls"


def engines_here(library: str, where: str, precision: str) -> dict:
    """ONNX Runtime as Blender runs it, and OpenVINO here or in a child process."""
    sys.path.insert(0, str(HERE))
    from bench_engines import stylizer

    from restyle.core.engines.child import ChildEngine
    from restyle.core.engines.openvino_engine import OpenVinoEngine
    from restyle.core.styles import StyleLibrary

    lib = StyleLibrary(Path(library), bundled=None)
    found = {"onnx": stylizer(lib, STYLE, "onnx", "auto")}
    found["openvino"] = ov = stylizer(lib, STYLE, "openvino", precision)
    made = ov.engine  # after import bpy Restyle already makes the child; here, say which
    kind = ChildEngine if where == "child" else OpenVinoEngine
    ov.engine = kind(made.path, made.arch, "cpu", precision)
    getattr(made, "close", lambda: None)()
    return found


def child(
    library: str, where: str, load_bpy: bool, rounds: int, count: int, precision: str
) -> None:
    """Time the engines alternately here and print one JSON line of frames/s per round."""
    if load_bpy:
        import bpy  # noqa: F401  (Blender's libraries load first, as inside Blender)
    engines = engines_here(library, where, precision)
    from bench_engines import real_frames, timed_fps

    frames = real_frames("vtest", [100 + 50 * i for i in range(count)], SIZE)
    inputs = [engines["onnx"].preprocess(f)[None] for f in frames]
    for s in engines.values():
        s.infer(inputs[0])  # compile / warm up
    fps: dict[str, list[float]] = {b: [] for b in engines}
    for _ in range(rounds):
        for b, s in engines.items():
            fps[b].append(timed_fps(s, inputs))
    ov = engines["openvino"].engine
    startup = getattr(ov, "startup_s", None)
    ran = getattr(ov, "precision", "?")  # after the first batch's check against f32
    print(json.dumps({"fps": fps, "tbb": tbb_libraries(), "startup_s": startup, "ran": ran}))


def tbb_libraries() -> list[str]:
    """The TBB libraries this process loaded (Linux), to show whose copy OpenVINO ran on."""
    maps = Path(f"/proc/{os.getpid()}/maps")
    if not maps.exists():
        return []
    found = set(re.findall(r"\S*libtbb\.so\S*", maps.read_text()))
    return sorted(f"{Path(p).name} ({Path(p).parent.parent.name})" for p in found)


def measure(library: Path, kind: tuple[str, bool], rounds: int, count: int, precision: str) -> dict:
    where, load_bpy = kind
    args = [sys.executable, __file__, "--child", str(library), "--where", where]
    args += ["--precision", precision]
    args += ["--rounds", str(rounds), "--frames", str(count)] + (["--bpy"] if load_bpy else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"measuring process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def order(pairs: int) -> list[tuple[str, bool]]:
    """ABCD-DCBA, ``pairs`` times, so a load that drifts over the run weighs on all kinds."""
    return (list(KINDS) + list(reversed(KINDS))) * pairs


def name(kind: tuple[str, bool]) -> str:
    where, load_bpy = kind
    return ("in a child" if where == "child" else "in-process") + (", bpy" if load_bpy else "")


def report(kind: tuple[str, bool], result: dict) -> float:
    """Print one process's medians; returns its OpenVINO/ONNX Runtime ratio."""
    onnx, ov = (statistics.median(result["fps"][b]) for b in ("onnx", "openvino"))
    start = f"  start-up {result['startup_s']:.2f} s" if result["startup_s"] else ""
    print(
        f"  openvino {result.get('ran', '?'):4} {name(kind):17} {ov:4.2f} frames/s, "
        f"onnx {onnx:4.2f}: "
        f"{ov / onnx:4.2f}x{start};  tbb here: {', '.join(result['tbb'])}"
    )
    return ov / onnx


def summary(ratios: dict, startups: list[float]) -> None:
    med = {k: statistics.median(v) for k, v in ratios.items()}
    for kind in KINDS:
        print(f"  median openvino/onnx, {name(kind):17} {med[kind]:4.2f}x")
    for load_bpy in (False, True):
        over = med["child", load_bpy] / med["here", load_bpy]
        print(f"  child/in-process{', bpy' if load_bpy else ''}: {over:4.2f}x")
    print(f"  child start-up: median {statistics.median(startups):.2f} s, max {max(startups):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=1, help="ABCD-DCBA passes")
    parser.add_argument("--precision", default="fp32", help="OpenVINO's: fp32, bf16 or auto")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--where", default="here", help=argparse.SUPPRESS)
    parser.add_argument("--bpy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.where, args.bpy, args.rounds, args.frames, args.precision)
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
            "medians; each line is one measuring process"
        )
        ratios: dict = {kind: [] for kind in KINDS}
        startups = []
        for kind in order(args.pairs):
            result = measure(work, kind, args.rounds, args.frames, args.precision)
            ratios[kind].append(report(kind, result))
            startups += [result["startup_s"]] if result["startup_s"] else []
        summary(ratios, startups)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
