"""Do engines outlive their job? Runs StyleJob on small frames N times in one process (as
Blender does when a user applies styles again and again) and prints, after each run, the
threads alive (threading and /proc/self/task), the engine threads among them, and RSS; once
without and once with gc.collect() between runs. Prints numbers; asserts nothing.

    nice -n 19 .venv/bin/python benchmarks/measure_engine_lifetime.py --runs 6 --backend onnx
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def child_processes() -> int:
    return len(Path(f"/proc/self/task/{os.getpid()}/children").read_text().split())


def engine_threads() -> int:
    return sum(t.name.startswith("restyle-") for t in threading.enumerate())


def run_many(source: Path, library, runs: int, collect: bool, backend: str) -> None:
    from restyle.core.job import StyleJob

    print(f"\n{backend}, {runs} runs, gc.collect() between runs: {collect}")
    print("run  py-threads  os-threads  restyle-threads  rss-MiB  children")
    for i in range(runs):
        out = Path(tempfile.mkdtemp()) / "out"
        StyleJob(source, out, "comic-ink", library=library, backend=backend, temporal=0.0).run()
        if collect:
            gc.collect()
        print(
            f"{i + 1:3d}  {threading.active_count():10d}  {os_threads():10d}  "
            f"{engine_threads():15d}  {rss_mib():7.1f}  {child_processes():8d}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--backend", default="onnx")
    parser.add_argument("--size", default="320x192")
    parser.add_argument("--frames", type=int, default=4)
    args = parser.parse_args()
    from restyle.core.builtins import install_builtins
    from restyle.core.styles import StyleLibrary

    from clips import make_pan_clip

    root = Path(tempfile.mkdtemp())
    library = StyleLibrary(root / "library", bundled=None)
    install_builtins(library.builtin_dir)
    width, height = (int(v) for v in args.size.split("x"))
    source = make_pan_clip(root / "pan.mp4", args.frames, (width, height), dx_per_frame=2.0)
    print(f"start: {threading.active_count()} threads, rss {rss_mib():.1f} MiB")
    run_many(source, library, args.runs, False, args.backend)
    gc.collect()
    print(f"after one gc.collect(): {engine_threads()} restyle threads, rss {rss_mib():.1f} MiB")
    run_many(source, library, args.runs, True, args.backend)
    others = sorted(t.name for t in threading.enumerate() if t is not threading.main_thread())
    print(f"threads left at the end: {others or 'none'}")


if __name__ == "__main__":
    main()
