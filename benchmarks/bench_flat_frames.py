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

``--letterbox``: letterboxed (2.39:1 in 16:9) and pillarboxed (4:3 in 16:9) 1280x720 frames
of vtest frame 300 instead (core/letterbox.py): the bars' mean/std with the crop off
(``letterbox=False``, the previous code path) and on, the PSNR of the active picture against
the picture styled directly, the time a frame takes off/on (alternated, medians), and what
``detect_bars`` costs on a 720p frame.
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

from restyle.core.contrast import signal_contrast  # noqa: E402
from restyle.core.letterbox import detect_bars  # noqa: E402
from restyle.core.media import decode_range  # noqa: E402
from restyle.core.styles import BUILTIN_STYLES, StyleLibrary  # noqa: E402
from restyle.core.stylizer import StyleSettings, Stylizer  # noqa: E402

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
    ap.add_argument("--letterbox", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    library = StyleLibrary(os.environ.get("RESTYLE_HOME"))
    if args.letterbox:
        letterbox(library, args.fade_styles.split(","), args.repeats)
        return
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


def boxed(picture: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, tuple]:
    """``picture`` centred in a black frame of ``size``; (frame, active y0, y1, x0, x1)."""
    (w, h), (ph, pw) = size, picture.shape[:2]
    top, left = (h - ph) // 2, (w - pw) // 2
    frame = np.zeros((h, w, 3), np.uint8)
    frame[top : top + ph, left : left + pw] = picture
    return frame, (top, top + ph, left, left + pw)


def letterbox(library: StyleLibrary, names: list[str], repeats: int) -> None:
    source = np.ascontiguousarray(next(iter(decode_range(real_clip("vtest"), 300, 300)))[..., :3])
    h, w = source.shape[:2]
    keep = round(w / 2.39)
    scope = source[(h - keep) // 2 : (h - keep) // 2 + keep]
    pictures = {
        "2.39:1 letterbox": cv2.resize(scope, (1280, 536), interpolation=cv2.INTER_AREA),
        "4:3 pillarbox": cv2.resize(source, (960, 720), interpolation=cv2.INTER_AREA),
    }
    frames = {k: boxed(p, (1280, 720)) for k, p in pictures.items()}
    picture = str(real_picture("starry-night"))
    print("\nbars: mean/std with the crop off -> on (worst level off the source on); PSNR of")
    print("the active picture on vs the picture styled alone")
    for name in [*names, picture]:
        settings = StyleSettings()
        with (
            Stylizer(library.resolve(name), library, dataclasses.replace(settings, letterbox=False)) as off,
            Stylizer(library.resolve(name), library, settings) as on,
        ):  # fmt: skip
            off.prepare([])
            on.prepare([])
            for kind, (frame, (y0, y1, x0, x1)) in frames.items():
                on.bars.reset()  # each kind its own shot: no hysteresis from the other
                mask = np.ones(frame.shape[:2], bool)
                mask[y0:y1, x0:x1] = False
                before, after = off.stylize(frame), on.stylize(frame)
                alone = on.stylize(pictures[kind])
                worst = int(np.abs(after[mask].astype(int) - frame[mask]).max())
                print(
                    f"  {Path(name).stem:18s} {kind:17s} {before[mask].mean():5.1f}/"
                    f"{before[mask].std():4.1f} -> {after[mask].mean():4.1f}/{after[mask].std():3.1f}"
                    f" (worst {worst}); PSNR {psnr(after[y0:y1, x0:x1], alone):.1f} dB"
                )
    print(f"\nseconds a 1280x720 frame (comic-ink, stylize(), median of {repeats}, alternated)")
    with (
        Stylizer(library.resolve("comic-ink"), library, StyleSettings(letterbox=False)) as off,
        Stylizer(library.resolve("comic-ink"), library, StyleSettings()) as on,
    ):
        for kind, (frame, _) in frames.items():
            spent: dict[str, list[float]] = {"off": [], "on": []}
            on.bars.reset()
            for _ in range(repeats):
                for label, st in (("off", off), ("on", on)):
                    t0 = time.perf_counter()
                    st.stylize(frame.copy())
                    spent[label].append(time.perf_counter() - t0)
            a, b = statistics.median(spent["off"]), statistics.median(spent["on"])
            print(f"  {kind:17s} off {a:.2f} s, on {b:.2f} s: x{a / b:.2f}")
    full = cv2.resize(source, (1280, 720), interpolation=cv2.INTER_CUBIC)
    for label, frame in (("no bars", full), ("letterboxed", frames["2.39:1 letterbox"][0])):
        times = []
        for _ in range(50):
            t0 = time.process_time()
            detect_bars(frame)
            times.append(time.process_time() - t0)
        print(
            f"detect_bars, 1280x720 {label}: {statistics.median(times) * 1e3:.2f} CPU-ms (median of 50)"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
