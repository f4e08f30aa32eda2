"""Black, flat and fading frames through the style networks, before and after
``stylizer.flat_weight`` (walkthrough: a black frame came out as a bright pink-and-green grid).

"Before" is the same network output finished with ``flat_contrast=0`` (the weight off: the
previous code path, exactly); "after" with the default. Prints, for every built-in style and
a picture style (OpenCV's starry_night.jpg): the output's mean/std on a black 720x528 frame,
on flat grey 12/255 and on a flat dark colour; the output mean along a fade of a real vtest
frame (360x264) x1.0 -> x0.02 over 30 frames (a few styles); the PSNR of real frames (vtest, Megamind,
tree) after vs before; and the CPU-ms ``signal_contrast`` costs on a 720p frame.

    RESTYLE_HOME=$(mktemp -d) nice -n 19 .venv/bin/python benchmarks/bench_flat_frames.py
        [--styles all|comic-ink,ink-wash] [--fade-styles comic-ink,amber-watercolour,ink-wash]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from real_footage import real_clip, real_picture  # noqa: E402

from restyle.core.media import decode_range  # noqa: E402
from restyle.core.styles import BUILTIN_STYLES, StyleLibrary  # noqa: E402
from restyle.core.stylizer import StyleSettings, Stylizer, signal_contrast  # noqa: E402

SIZE = (720, 528)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def before_after(st: Stylizer, frames: list[np.ndarray]) -> tuple[list, list]:
    """Each frame styled with the weight off (before) and on (after), one network run."""
    outputs = st.infer(np.stack([st.preprocess(f) for f in frames]))
    after_settings = st.settings
    st.settings = dataclasses.replace(after_settings, flat_contrast=0.0)
    before = [st.postprocess(o, f) for o, f in zip(outputs, frames, strict=True)]
    st.settings = after_settings
    after = [st.postprocess(o, f) for o, f in zip(outputs, frames, strict=True)]
    return before, after


def fade(frame: np.ndarray, count: int = 30) -> list[np.ndarray]:
    levels = [1.0 - 0.98 * i / (count - 1) for i in range(count)]
    return [np.clip(frame * k + 0.5, 0, 255).astype(np.uint8) for k in levels]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--styles", default="all")
    ap.add_argument("--fade-styles", default="comic-ink,amber-watercolour,ink-wash")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    library = StyleLibrary(os.environ.get("RESTYLE_HOME"))
    names = [s for s, _ in BUILTIN_STYLES] if args.styles == "all" else args.styles.split(",")
    picture = str(real_picture("starry-night"))
    builtin = Stylizer(library.resolve(names[0]), library, StyleSettings())
    painted = Stylizer(library.resolve(picture), library, StyleSettings())
    painted.prepare([])  # the picture's style vector alone

    def stylizer(name: str) -> Stylizer:
        if name == picture:
            return painted
        builtin.condition = np.asarray([library.resolve(name).weights], np.float32)
        return builtin

    flats = {
        "black": np.zeros((SIZE[1], SIZE[0], 3), np.uint8),
        "grey12": np.full((SIZE[1], SIZE[0], 3), 12, np.uint8),
        "navy": np.full((SIZE[1], SIZE[0], 3), (20, 30, 70), np.uint8),
    }
    print("\nflat frames: output mean/std before -> after (source: black 0, grey12 12, navy 40)")
    worst = 0.0
    for name in [*names, picture]:
        before, after = before_after(stylizer(name), list(flats.values()))
        cells = [
            f"{k} {b.mean():5.1f}/{b.std():4.1f} -> {a.mean():5.1f}/{a.std():4.1f}"
            for k, b, a in zip(flats, before, after, strict=True)
        ]
        worst = max(
            worst,
            *(np.abs(a.astype(int) - f).max() for a, f in zip(after, flats.values(), strict=True)),
        )
        print(f"  {Path(name).stem:22s} " + " | ".join(cells))
    print(f"  worst level off the source after: {worst}")

    vtest = [cv2.resize(f[..., :3], SIZE, interpolation=cv2.INTER_AREA)
             for f in decode_range(real_clip("vtest"), 100, 100)][0]  # fmt: skip
    half = cv2.resize(vtest, (SIZE[0] // 2, SIZE[1] // 2), interpolation=cv2.INTER_AREA)
    steps = fade(half.astype(np.float32))
    print(
        "\nfade of vtest frame 100 (360x264), x1.0 -> x0.02 over 30 frames: output mean before | after"
    )
    print("  source " + " ".join(f"{f.mean():.0f}" for f in steps))
    for name in [*args.fade_styles.split(","), picture]:
        before, after = before_after(stylizer(name), steps)
        print(f"  {Path(name).stem}")
        print("    before " + " ".join(f"{o.mean():.0f}" for o in before))
        print("    after  " + " ".join(f"{o.mean():.0f}" for o in after))

    print("\nreal frames: PSNR after vs before (inf = bit-identical)")
    real = []
    for clip, index in (("vtest", 300), ("megamind", 1), ("megamind", 200), ("tree", 30)):
        frame = next(iter(decode_range(real_clip(clip), index, index)))[..., :3]
        real.append((f"{clip}[{index}]", np.ascontiguousarray(frame)))
    for name in [*names, picture]:
        before, after = before_after(stylizer(name), [f for _, f in real[:1]])
        rest = [before_after(stylizer(name), [f]) for _, f in real[1:]]
        values = [psnr(after[0], before[0])] + [psnr(a[0], b[0]) for b, a in rest]
        print(f"  {Path(name).stem:22s} " + " ".join(f"{v:.1f}" for v in values))
    print(
        "  contrast (levels): " + ", ".join(f"{n} {signal_contrast(f) * 255:.1f}" for n, f in real)
    )

    frame = cv2.resize(vtest, (1280, 720), interpolation=cv2.INTER_CUBIC)
    times = []
    for _ in range(50):
        t0 = time.process_time()
        signal_contrast(frame)
        times.append(time.process_time() - t0)
    print(
        f"\nsignal_contrast on 1280x720: {statistics.median(times) * 1e3:.2f} CPU-ms (median of 50)"
    )
    print(f"load average {os.getloadavg()[0]:.1f}")
    builtin.close()
    painted.close()


if __name__ == "__main__":
    main()
