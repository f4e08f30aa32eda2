"""Trained styles in bf16 on the CPU after the row-blur rewrite (dc51b71): build time, speed
and precision against fp32, OpenVINO and torch, on real frames.

Trains small styles on one keyframe of a real clip (``bench_keyframes.LOOKS`` painted on it),
writes them as trained styles (ONNX + weights), and also writes each style's ONNX the way
styles trained before dc51b71 were exported (the 1xK row blur), to time OpenVINO's rewrite of
old exports (``openvino_engine.columns_for_rows``). Then, per size, per engine: the first call
(compile/build + one frame), the median of ``--rounds`` frame times, and the PSNR of bf16
against fp32 on held-out frames of the clip (not the keyframe).

    nice -n 19 .venv/bin/python benchmarks/bench_rowblur.py --budget 20 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_keyframes import LOOKS, load_clip  # noqa: E402

from restyle.core.engines.precision import psnr  # noqa: E402
from restyle.core.train.trainer import TrainConfig  # noqa: E402


def old_export(folder: Path, arch_config: dict, path: Path) -> None:
    """The style's ONNX as exported before dc51b71: the guides' row blur a 1xK convolution."""
    import torch
    import torch.nn.functional as F
    from safetensors.torch import load_file

    from restyle.models import fewshot
    from restyle.models.export import export_onnx
    from restyle.models.fewshot_spans import build_generator

    def row_blur(x, kernel):
        r, groups = kernel.shape[-1] // 2, kernel.shape[0]
        x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), kernel, groups=groups)
        column = kernel.transpose(2, 3)
        return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), column, groups=groups)

    net = build_generator(**arch_config)
    net.load_state_dict(load_file(str(folder / "weights.safetensors")))
    net.eval()
    new, fewshot._separable = fewshot._separable, row_blur
    try:
        axes = {"image": {0: "n", 2: "h", 3: "w"}, "stylized": {0: "n", 2: "h", 3: "w"}}
        example = torch.rand(1, arch_config["in_channels"], 64, 64)
        export_onnx(net, (example,), path, ["image"], ["stylized"], axes)
    finally:
        fewshot._separable = new


def train(library_root: Path, clip: str, look: str, budget: float, spans: bool):
    from restyle.core.train.artifact import write_trained_style
    from restyle.core.train.trainer import train_style

    frames = load_clip(clip, 1, (640, 360))
    pair = (frames[0], LOOKS[look](frames[0]))
    config = TrainConfig(time_budget_s=budget, clock="cpu", generator_spans=spans)
    result = train_style([pair], config=config)
    name = f"{clip}-{look}{'-spans' if spans else ''}"
    folder = write_trained_style(
        library_root / name, result, name=name, source=clip, keyframes=[0], thumbnail=pair[1]
    )
    return name, folder, dict(result.arch_config)


def timed(engines: dict, frames: np.ndarray, rounds: int) -> dict:
    """Per precision: (first call s, median s a frame, outputs of every frame). The rounds
    alternate the engines (the order flipped every round), so load drift hits both."""
    first, times, outs = {}, {p: [] for p in engines}, {}
    for precision, engine in engines.items():
        started = time.perf_counter()
        engine.run(frames[:1])  # compile (OpenVINO) or build the kernels (torch), one frame
        first[precision] = time.perf_counter() - started
    order = list(engines)
    for i in range(rounds):
        frame = frames[i % len(frames) : i % len(frames) + 1]
        for precision in order if i % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            engines[precision].run(frame)
            times[precision].append(time.perf_counter() - started)
    for precision, engine in engines.items():
        outs[precision] = np.concatenate(
            [engine.run(frames[i : i + 1]) for i in range(len(frames))]
        )
    return {p: (first[p], statistics.median(times[p]), outs[p]) for p in engines}


def engines_for(kind: str, onnx: Path, weights: Path, config: dict, precision: str):
    from restyle.core.engines.openvino_engine import OpenVinoEngine
    from restyle.core.engines.torch_engine import TorchEngine
    from restyle.models.registry import ARCHS

    arch = ARCHS["fewshot"]
    if kind == "torch":
        engine = TorchEngine(arch, weights, "cpu", precision, config=config)
    elif kind == "onnx":
        from restyle.core.engines.onnx_engine import OnnxEngine

        engine = OnnxEngine(onnx, arch, "cpu", precision=precision)
    else:
        engine = OpenVinoEngine(onnx, arch, "cpu", precision, graph="plain")
    engine.checked = True  # timed as it runs after the first-batch check: no fp32 run beside
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=40.0, help="training CPU-seconds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--held", type=int, default=4, help="held-out frames for the PSNR")
    parser.add_argument(
        "--cases",
        default="vtest:pencil,megamind:detail,vtest:pencil:spans",
        help="clip:look[:spans] (spans: a span-guided style)",
    )
    parser.add_argument("--engines", default="openvino,torch,onnx")
    parser.add_argument("--sizes", default="640x360,1280x720")
    parser.add_argument(
        "--no-old", dest="old", action="store_false", help="skip the pre-dc51b71 exports"
    )
    parser.add_argument(
        "--keep", type=Path, help="keep the trained styles in this folder; reused when there"
    )
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_rowblur."))
    print(f"load average at start: {os.getloadavg()}")
    try:
        run(args, root)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"load average at end: {os.getloadavg()}")


def run(args, root: Path) -> None:
    styles = []
    for case in args.cases.split(","):
        clip, look, *spans = case.split(":")
        folder = root / f"{clip}-{look}{'-spans' if spans else ''}"
        if (folder / "style.json").is_file():
            config = json.loads((folder / "style.json").read_text())["arch_config"]
            styles.append((clip, folder.name, folder, config))
            continue
        started = time.process_time()
        styles.append((clip, *train(root, clip, look, args.budget, spans == ["spans"])))
        print(f"trained {styles[-1][1]}: {time.process_time() - started:.0f} CPU-s")
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    for clip, name, folder, config in styles:
        old = folder / "old.onnx"
        old_export(folder, config, old)
        for w, h in sizes:
            # held-out frames: the clip's frames after the keyframe
            frames = load_clip(clip, args.held + 1, (w, h))[1:]
            batch = np.stack(frames).astype(np.float32).transpose(0, 3, 1, 2) / 255.0
            for kind in args.engines.split(","):
                graphs = ((folder / "model.onnx", "new export"), (old, "old export"))
                graphs = graphs if args.old else graphs[:1]
                if kind == "torch":
                    graphs = ((None, "weights"),)
                elif kind == "onnx":
                    graphs = graphs[:1]
                for onnx, graph in graphs:
                    precisions = ("fp32",) if kind == "onnx" else ("fp32", "bf16")
                    weights = folder / "weights.safetensors"
                    engines = {p: engines_for(kind, onnx, weights, config, p) for p in precisions}
                    results = timed(engines, batch, args.rounds)
                    outs = {}
                    for precision, (first, median, outs[precision]) in results.items():
                        print(
                            f"{name} {w}x{h} {kind} {graph} {precision} (ran "
                            f"{engines[precision].precision}): first call {first:.2f} s, median "
                            f"{median * 1000:.0f} ms a frame, load {os.getloadavg()[0]:.1f}"
                        )
                        engines[precision].close()
                    if kind == "onnx":
                        continue
                    dbs = [psnr(b, f) for b, f in zip(outs["bf16"], outs["fp32"], strict=True)]
                    print(
                        f"{name} {w}x{h} {kind} {graph}: bf16 vs fp32 PSNR min "
                        f"{min(dbs):.1f} dB, mean {statistics.fmean(dbs):.1f} dB "
                        f"({len(dbs)} held-out frames)"
                    )


if __name__ == "__main__":
    main()
