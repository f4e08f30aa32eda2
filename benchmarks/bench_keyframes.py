"""Quality of styles learned from keyframes, against ground truth made by a fixed filter.

Ground truth: every frame of a clip (camera moves over real photographs) styled by OpenCV's
non-neural `stylization` filter plus a warm colour grade. Restyle trains on 2 of those frames
(the "painted keyframes"), styles the whole clip, and the benchmark reports PSNR and SSIM on
all *other* frames, beside the identity baseline (source frame vs ground truth), plus the
training time and why training stopped.

    .venv/bin/python benchmarks/bench_keyframes.py [--size 640x360] [--frames 48] [--budget 300]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))

from sample_footage import make_sample_clip  # noqa: E402


def ground_truth(frame: np.ndarray) -> np.ndarray:
    """A fixed, non-neural look: edge-aware stylisation and a warm grade."""
    bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    styled = cv2.stylization(bgr, sigma_s=40, sigma_r=0.35)
    graded = styled.astype(np.float32) * np.float32([0.85, 0.95, 1.12]) + 6
    return cv2.cvtColor(np.clip(graded, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--budget", type=float, default=300.0, help="training time budget, s")
    parser.add_argument("--backend", default="onnx")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    from restyle.core.job import StyleJob
    from restyle.core.media import decode_range
    from restyle.core.metrics import psnr, ssim
    from restyle.core.styles import StyleLibrary
    from restyle.core.train.keyframes import train_from_keyframes
    from restyle.core.train.trainer import TrainConfig

    work = Path(tempfile.mkdtemp(prefix="restyle-keyframes-"))
    clip = work / "clip.mp4"
    make_sample_clip(clip, (w, h), frames_per_shot=args.frames, shots=1)
    sources = list(decode_range(clip, 0, args.frames - 1))
    truth = [ground_truth(f) for f in sources]
    keys = [args.frames // 6, args.frames * 5 // 6]
    painted = {}
    for k in keys:
        painted[k] = work / f"key{k}.png"
        cv2.imwrite(str(painted[k]), cv2.cvtColor(truth[k], cv2.COLOR_RGB2BGR))

    library = StyleLibrary(work / "library", bundled=None)
    t0 = time.perf_counter()
    folder = train_from_keyframes(
        clip, painted, "bench", library, config=TrainConfig(time_budget_s=args.budget, seed=0)
    )
    train_s = time.perf_counter() - t0
    meta = json.loads((folder / "style.json").read_text())["training"]
    result = StyleJob(
        clip, work / "out", "bench", temporal=0.0, backend=args.backend, library=library
    ).run()
    styled = list(decode_range(work / "out", 0, args.frames - 1))
    held_out = [i for i in range(args.frames) if i not in keys]
    med = statistics.median
    print(f"{args.size}, {args.frames} frames, keyframes {keys}, budget {args.budget:.0f} s")
    print(
        f"  training: {train_s:.0f} s, {meta.get('iterations')} iterations, "
        f"stopped: {meta.get('stopped_because')}, device {meta.get('device')}"
    )
    print(
        f"  identity (source vs truth)  PSNR {med(psnr(sources[i], truth[i]) for i in held_out):5.2f} dB"
        f"   SSIM {med(ssim(sources[i], truth[i]) for i in held_out):.3f}"
    )
    print(
        f"  trained style on held-out   PSNR {med(psnr(styled[i], truth[i]) for i in held_out):5.2f} dB"
        f"   SSIM {med(ssim(styled[i], truth[i]) for i in held_out):.3f}   (medians over "
        f"{len(held_out)} frames; styling ran at {result.fps:.1f} frames/s)"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
