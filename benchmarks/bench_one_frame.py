"""One frame at a time from one thread (a contact sheet's tiles, a preview, tiling's tiles):
the CPU engines' latency with the pipeline's layout (OpenVINO 2 streams x 1 thread, ONNX
Runtime 2 workers x 1 thread: a lone frame runs on one thread) against one stream or worker
of every thread.

Both layouts of one engine live in this process and run alternately (ABBA rounds), on the
same frame, after a warm-up (compilation and the precision check); medians of ``--repeats``
calls each. Timing runs: ``flock /work/notes/bench.lock nice -n 0``.

    .venv/bin/python benchmarks/bench_one_frame.py --models DIR [--size 1280x720]
        [--repeats 5] [--engines openvino,onnx]

``DIR``: a folder holding the built-ins' ONNX files and fast graphs (a library's builtin
folder, or the extension build's stage/models/builtin).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def frame(width: int, height: int) -> np.ndarray:
    """A real picture (OpenCV's ``vtest``, frame 30, scripts/real_footage.py), NCHW in [0, 1]."""
    import cv2

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from real_footage import real_clip

    capture = cv2.VideoCapture(str(real_clip("vtest")))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 30)
    ok, bgr = capture.read()
    capture.release()
    assert ok, "vtest did not decode"
    rgb = cv2.cvtColor(cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA), 4)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], np.float32) / 255.0


def engines(kind: str, onnx: Path, threads: int) -> dict:
    """Both layouts of one engine; OpenVINO's reduced precision settled on the probe picture
    by this machine's verdicts, as ``create_engine`` makes it."""
    from restyle.core.engines.onnx_engine import OnnxEngine
    from restyle.core.engines.openvino_engine import OpenVinoEngine
    from restyle.core.engines.precision import machine_verdicts
    from restyle.models.registry import ARCHS

    arch = ARCHS["multistyle26"]
    if kind == "openvino":
        made = {}
        for n in (2, 1):
            engine = OpenVinoEngine(onnx, arch, "cpu", "auto", threads=threads, streams=n)
            engine.verdicts = machine_verdicts()
            made[f"{n} stream x {threads // n} thread"] = engine
        return made
    return {
        f"{n} worker x {threads // n} thread": OnnxEngine(
            onnx, arch, "cpu", threads=threads, workers=n
        )
        for n in (2, 1)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--engines", default="openvino,onnx")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    onnx = args.models / "multistyle26.onnx"
    image = frame(width, height)
    style = np.zeros((1, 26), np.float32)
    style[0, 3] = 1.0
    print(f"one {width}x{height} frame, {args.threads} threads, load {os.getloadavg()}")
    for kind in args.engines.split(","):
        made = engines(kind, onnx, args.threads)
        for engine in made.values():  # compile, check the precision, warm the caches
            for _ in range(2):
                engine.run(image, style)
        names = list(made)
        seconds: dict[str, list[float]] = {name: [] for name in names}
        for r in range(args.repeats):
            for name in names if r % 2 == 0 else names[::-1]:  # ABBA
                start = time.perf_counter()
                made[name].run(image, style)
                seconds[name].append(time.perf_counter() - start)
        base = statistics.median(seconds[names[0]])
        for name in names:
            med = statistics.median(seconds[name])
            engine = made[name]
            runs = ", ".join(f"{s * 1000:.0f}" for s in seconds[name])
            print(
                f"{kind} {getattr(engine, 'precision', 'fp32')} {name}: median "
                f"{med * 1000:.0f} ms ({base / med:.2f}x the first) [{runs}] ({engine.note})"
            )
        for engine in made.values():
            engine.close()
    print(f"load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
