"""Quality of styles learned from two keyframes, on real clips and looks Restyle never tuned to.

For every clip x look: the look is a fixed, non-neural OpenCV filter applied to every frame
(the ground truth); Restyle trains on two of those frames (the "painted keyframes") through
the same path as `restyle train`, styles the whole clip through the same path as
`restyle stylize` (ONNX Runtime, frame by frame), and the benchmark reports against the
ground truth:

- PSNR and SSIM on the keyframes and (mean, worst frame) on every *other* frame, beside the
  untouched source frames (identity);
- the warping error (Lai et al. 2018) of the learned style and of the filter applied frame by
  frame, and their ratio (above 1: the learned style flickers more than the filter);
- all of the above twice from the same trained style: the network alone (`--carry 0`) and with
  the painted keyframes carried onto the frames (core/carry.py, the default), with the share
  of held-out pixels that took the painting (confidence above 0.5);
- training time, iterations, why it stopped (and at which iteration), the best iteration and
  the validation curve (iteration@seconds:L1). `--case-budget megamind/grade=600` gives one
  case a longer budget, to watch the stopping rule end a run that has converged.
- with `--held-out-every S`, the held-out frames' PSNR along the run: every S seconds of the
  run's clock the trainer styles them with the weights it would return if stopped there
  (trainer.HeldOutWatch, in torch, the network alone; the checks' time is left out of the
  budget) and the benchmark scores them, so the curve shows whether the budget and the
  stopping rule sit where held-out quality stops rising.

Clips (scripts/real_footage.py, Debian's opencv-doc): `vtest` (people walking, fixed camera)
and `megamind` (animated film), centre-cropped to 16:9 and resized. `--quick` trains for 60 s
on a 24-frame clip for fast iteration; full runs take budget x clips x looks plus styling.

    .venv/bin/python benchmarks/bench_keyframes.py [--quick] [--budget 300] [--frames 48]
        [--size 640x360] [--clips vtest,megamind] [--looks stylize,pencil,detail,grade]
        [--case-budget CLIP/LOOK=SECONDS] [--set SETTING=VALUE] [--jobs N]
        [--held-out-every SECONDS]
        [--keep-styles DIR | --reuse-styles DIR]

`--keep-styles DIR` keeps each trained style; `--reuse-styles DIR` styles with those (no
training), so changes to carrying are compared on the same networks. `--set precision=fp32`
trains in float32 where the default ("auto") would train in bf16 (a CPU with native bf16).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))

from real_footage import FootageUnavailable, real_clip  # noqa: E402

from restyle.core.train.trainer import HeldOutCheck, HeldOutWatch, TrainConfig  # noqa: E402

# First source frame of each clip's stretch: inside one shot, with people moving.
CLIP_START = {"vtest": 100, "megamind": 30}


def _bgr_filter(function: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    def on_rgb(frame: np.ndarray) -> np.ndarray:
        out = function(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)

    return on_rgb


def _grade(bgr: np.ndarray, gains: tuple[float, float, float], lift: float) -> np.ndarray:
    graded = bgr.astype(np.float32) * np.float32(gains) + lift
    return np.clip(graded, 0, 255).astype(np.uint8)


def _teal_orange(bgr: np.ndarray) -> np.ndarray:
    """A colour grade: S-curve contrast, shadows pushed to teal, highlights to orange."""
    x = bgr.astype(np.float32) / 255
    luma = x @ np.float32([0.114, 0.587, 0.299])
    curved = x + 0.6 * (x - x**2) * (2 * x - 1)  # S-curve around mid-grey
    shadows = (1 - luma)[..., None] ** 2
    highlights = luma[..., None] ** 2
    toned = (
        curved
        + 0.10 * shadows * np.float32([0.6, 0.3, -0.5])
        + 0.10 * highlights * np.float32([-0.5, 0.1, 0.6])
    )
    return np.clip(toned * 255, 0, 255).astype(np.uint8)


LOOKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    # Edge-aware painterly flattening plus a warm grade.
    "stylize": _bgr_filter(
        lambda bgr: _grade(cv2.stylization(bgr, sigma_s=40, sigma_r=0.35), (0.85, 0.95, 1.12), 6)
    ),
    # Colour pencil sketch: fine strokes on white paper (the detailed, high-frequency look).
    "pencil": _bgr_filter(
        lambda bgr: cv2.pencilSketch(bgr, sigma_s=60, sigma_r=0.07, shade_factor=0.05)[1]
    ),
    # Local-contrast "detail enhance" plus a cool grade.
    "detail": _bgr_filter(
        lambda bgr: _grade(cv2.detailEnhance(bgr, sigma_s=10, sigma_r=0.15), (1.1, 1.0, 0.9), -4)
    ),
    # A pure colour grade (contrast curve, teal shadows, orange highlights).
    "grade": _bgr_filter(_teal_orange),
}


def load_clip(name: str, frames: int, size: tuple[int, int]) -> list[np.ndarray]:
    """``frames`` frames of a real clip, centre-cropped to the aspect of ``size`` and resized."""
    from restyle.core.media import decode_range

    start = CLIP_START[name]
    w, h = size
    out = []
    for frame in decode_range(real_clip(name), start, start + frames - 1):
        fh, fw = frame.shape[:2]
        crop_h = min(fh, round(fw * h / w))
        crop_w = min(fw, round(fh * w / h))
        y0, x0 = (fh - crop_h) // 2, (fw - crop_w) // 2
        crop = frame[y0 : y0 + crop_h, x0 : x0 + crop_w, :3]
        out.append(np.ascontiguousarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA)))
    return out


def write_png(path: Path, rgb: np.ndarray) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


@dataclass
class Scores:
    """One styling of the clip against the ground truth."""

    key_psnr: float
    held_psnr: float
    held_psnr_worst: float
    held_ssim: float
    warp_learned: float


@dataclass
class Case:
    clip: str
    look: str
    identity_psnr: float
    warp_truth: float
    train_s: float
    training: dict
    network: Scores  # the network alone (carry 0)
    carried: Scores  # painted keyframes carried (carry 1)
    carried_share: float  # held-out pixels whose carry confidence is above 0.5
    calibration: dict  # RMS errors (levels) on the keyframes: network, blended with the other
    # carried onto them at the tolerance chosen (low)
    style_cpu_s: tuple[float, float]  # CPU seconds to style the clip: network alone, carried
    # (iteration, seconds, best validation L1, best iteration, held-out PSNR mean, worst,
    # final) at every held-out check (--held-out-every): the network alone, styled in torch
    held_out_curve: list[tuple] = dataclasses.field(default_factory=list)


def score(styled, truth, sources, keys: list[int]) -> Scores:
    from restyle.core.metrics import psnr, ssim, warping_error

    held = [i for i in range(len(truth)) if i not in keys]
    held_psnr = [psnr(styled[i], truth[i]) for i in held]
    return Scores(
        key_psnr=statistics.fmean(psnr(styled[k], truth[k]) for k in keys),
        held_psnr=statistics.fmean(held_psnr),
        held_psnr_worst=min(held_psnr),
        held_ssim=statistics.fmean(ssim(styled[i], truth[i]) for i in held),
        warp_learned=warping_error(sources, styled),
    )


def style_clip(source_dir: Path, out: Path, library, frames: int, carry: float) -> list:
    """The whole clip styled as `restyle stylize` does (ONNX Runtime, frame by frame)."""
    from restyle.core.job import StyleJob
    from restyle.core.media import decode_range

    StyleJob(
        source_dir, out, "bench", temporal=0.0, backend="onnx", library=library, carry=carry
    ).run()
    return list(decode_range(out, 0, frames - 1))


def cpu_seconds() -> float:
    """This process's CPU time, every thread (the pipeline's and the engine's) included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def carried_share(folder: Path, sources: list, network: list, keys: list[int]) -> tuple:
    """(share of held-out pixels carried, the style's calibration) as the stylizer sees it:
    calibrated on the network's output for the keyframes; 0 when carrying is off."""
    from restyle.core.carry import KeyframeCarrier, read_keyframes

    keyframes = read_keyframes(folder, json.loads((folder / "style.json").read_text()))
    carrier = KeyframeCarrier(keyframes)
    carrier.calibrate(
        lambda source: network[keys[[k.source is source for k in keyframes].index(True)]]
    )
    held = [i for i in range(len(sources)) if i not in keys]
    if not carrier.active:
        return 0.0, carrier.calibration
    share = statistics.fmean(float(np.mean(carrier.carry(sources[i])[1] > 0.5)) for i in held)
    return share, carrier.calibration


def trained_style(
    case_dir: Path,
    source_dir: Path,
    painted: dict,
    clip_name: str,
    look: str,
    config,
    styles,
    held_out: HeldOutWatch | None = None,
):
    """(library, style folder, training wall seconds): trained now, or the kept one when
    ``styles`` = ("reuse", DIR); ("keep", DIR) copies the fresh library to DIR/clip/look
    right after training (before styling), so later runs can re-style the same networks."""
    from restyle.core.styles import StyleLibrary
    from restyle.core.train.keyframes import train_from_keyframes

    mode, root = styles or (None, None)
    kept = Path(root) / clip_name / look / "library" if root else None
    if mode == "reuse":
        if not kept.is_dir():
            sys.exit(f"bench_keyframes: no kept style {kept}")
        shutil.copytree(kept, case_dir / "library")
        library = StyleLibrary(case_dir / "library", bundled=None)
        return library, library.trained_folder("bench"), 0.0
    library = StyleLibrary(case_dir / "library", bundled=None)
    started = time.perf_counter()
    folder = train_from_keyframes(
        source_dir, painted, "bench", library, config=config, held_out=held_out
    )
    train_s = time.perf_counter() - started
    if mode == "keep":
        shutil.copytree(case_dir / "library", kept, dirs_exist_ok=True)
    return library, folder, train_s


def held_out_watch(
    sources: list, truth: list, keys: list[int], every_s: float | None, curve: list
) -> HeldOutWatch | None:
    """A watch that scores the held-out frames at every check into ``curve`` (None: none)."""
    from restyle.core.metrics import psnr

    if not every_s:
        return None
    held = [i for i in range(len(sources)) if i not in keys]

    def scored(check: HeldOutCheck) -> None:
        values = [psnr(s, truth[i]) for s, i in zip(check.styled, held, strict=True)]
        curve.append(
            (
                check.iteration,
                check.seconds,
                check.val_l1,
                check.best_iteration,
                statistics.fmean(values),
                min(values),
                check.final,
            )
        )

    return HeldOutWatch(frames=[sources[i] for i in held], on_check=scored, every_s=every_s)


def run_case(
    work: Path,
    clip_name: str,
    sources: list[np.ndarray],
    look: str,
    config: TrainConfig,
    styles: tuple[str, str] | None = None,
    held_out_every: float | None = None,
) -> Case:
    from restyle.core.metrics import psnr, warping_error

    frames = len(sources)
    source_dir = work / clip_name / "source"
    truth = [LOOKS[look](f) for f in sources]
    keys = [frames // 6, frames * 5 // 6]
    case_dir = work / clip_name / look
    case_dir.mkdir(parents=True)
    painted = {}
    for k in keys:
        painted[k] = case_dir / f"key{k}.png"
        write_png(painted[k], truth[k])

    curve: list[tuple] = []
    watch = held_out_watch(sources, truth, keys, held_out_every, curve)
    library, folder, train_s = trained_style(
        case_dir, source_dir, painted, clip_name, look, config, styles, watch
    )
    training = json.loads((folder / "style.json").read_text())["training"]
    t0 = cpu_seconds()
    network = style_clip(source_dir, case_dir / "network", library, frames, carry=0.0)
    t1 = cpu_seconds()
    carried = style_clip(source_dir, case_dir / "carried", library, frames, carry=1.0)
    t2 = cpu_seconds()
    share, calibration = carried_share(folder, sources, network, keys)

    held = [i for i in range(frames) if i not in keys]
    return Case(
        clip=clip_name,
        look=look,
        identity_psnr=statistics.fmean(psnr(sources[i], truth[i]) for i in held),
        warp_truth=warping_error(sources, truth),
        train_s=train_s,
        training=training,
        network=score(network, truth, sources, keys),
        carried=score(carried, truth, sources, keys),
        carried_share=share,
        calibration=calibration,
        style_cpu_s=(t1 - t0, t2 - t1),
        held_out_curve=curve,
    )


def curve_text(history: list, points: int = 10) -> str:
    """A few points of the learning curve, iteration@seconds:validation L1, last kept."""
    if not history:
        return "-"
    step = max(1, len(history) // points)
    picked = history[::step]
    if picked[-1] != history[-1]:
        picked.append(history[-1])
    return " ".join(f"{int(i)}@{t:.0f}s:{v:.4f}" for i, t, v in picked)


def scores_text(s: Scores, warp_truth: float) -> str:
    return (
        f"key {s.key_psnr:5.2f} dB | held-out {s.held_psnr:5.2f} dB (worst frame "
        f"{s.held_psnr_worst:5.2f}) SSIM {s.held_ssim:.3f} | warp {s.warp_learned:.5f} "
        f"(x{s.warp_learned / warp_truth:.2f} the filter's)"
    )


def print_case(case: Case) -> None:
    t = case.training
    print(
        f"{case.clip:9s} {case.look:8s} network alone: {scores_text(case.network, case.warp_truth)}"
        f"\n{'':18s} with carry:    {scores_text(case.carried, case.warp_truth)} | carried "
        f"{case.carried_share:.0%} of held-out pixels (keyframe RMS: network "
        f"{case.calibration['network_error']:.1f}, with the other carried "
        f"{case.calibration['carry_error']:.1f} levels at low "
        f"{case.calibration.get('low', 0):.1f}); styling {case.style_cpu_s[0]:.1f} -> "
        f"{case.style_cpu_s[1]:.1f} CPU-s\n{'':18s} identity "
        f"{case.identity_psnr:5.2f} dB, filter warp {case.warp_truth:.5f} | "
        f"train {case.train_s:.0f} s wall, {t['seconds']:.0f} of "
        f"{t['config']['time_budget_s']:.0f} s {t['config']['clock']}, "
        f"{t['iterations']} it, best {t['best_iteration']}, LR lowered at "
        f"{t.get('lr_dropped_at') or '-'}, stopped: {t['stopped_because']} "
        f"(iteration {t['iterations']}), {t.get('precision', 'fp32')} steps",
        flush=True,
    )
    print(f"{'':18s} validation curve {curve_text(t.get('val_history', []))}", flush=True)
    if case.held_out_curve:
        points = " ".join(
            f"{i}@{s:.0f}s:{mean:.2f}({worst:.2f})/L1 {val:.4f} best {best}{' final' * final}"
            for i, s, val, best, mean, worst, final in case.held_out_curve
        )
        print(
            f"{'':18s} held-out PSNR dB (worst frame) of the best weights so far, network "
            f"alone in torch: {points}",
            flush=True,
        )


def print_summary(cases: list[Case]) -> None:
    print("\nsummary over", len(cases), "clip x look cases")
    for which in ("network", "carried"):
        print(f" {'network alone (carry 0)' if which == 'network' else 'with carry (carry 1)'}")
        for label, key in (
            ("held-out PSNR (mean per case)", "held_psnr"),
            ("held-out SSIM", "held_ssim"),
            ("keyframe PSNR", "key_psnr"),
            ("worst held-out frame PSNR", "held_psnr_worst"),
        ):
            values = [getattr(getattr(c, which), key) for c in cases]
            w = min(range(len(cases)), key=values.__getitem__)
            print(
                f"  {label:30s} mean {statistics.fmean(values):6.3f}  worst {values[w]:6.3f} "
                f"({cases[w].clip}/{cases[w].look})"
            )
        ratios = [getattr(c, which).warp_learned / c.warp_truth for c in cases]
        print(
            f"  {'warping error / filter':30s} mean {statistics.fmean(ratios):6.3f}  worst "
            f"{max(ratios):6.3f}"
        )
    print(
        f"  {'training seconds':30s} mean {statistics.fmean(c.train_s for c in cases):6.1f}  "
        f"max {max(c.train_s for c in cases):6.1f}"
    )


def settings(pairs: list[str]) -> dict:
    """``["generator_depth=2", "beta1=0.5"]`` as TrainConfig keywords, typed like the defaults."""
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in defaults:
            sys.exit(f"bench_keyframes: no training setting {key!r}")
        default = defaults[key]
        if isinstance(default, bool):
            out[key] = value.lower() in ("1", "true", "yes")
        else:
            out[key] = type(default)(value) if default is not None else value
    return out


def case_budgets(pairs: list[str]) -> dict[tuple[str, str], float]:
    """``["megamind/grade=900"]`` as {("megamind", "grade"): 900.0}."""
    out = {}
    for pair in pairs:
        case, _, seconds = pair.partition("=")
        clip, _, look = case.partition("/")
        if clip not in CLIP_START or look not in LOOKS or not seconds:
            sys.exit(f"bench_keyframes: --case-budget wants CLIP/LOOK=SECONDS, not {pair!r}")
        out[clip, look] = float(seconds)
    return out


def case_config(
    config: TrainConfig, clip: str, look: str, budgets: dict[tuple[str, str], float]
) -> TrainConfig:
    if (clip, look) not in budgets:
        return config
    return dataclasses.replace(config, time_budget_s=budgets[clip, look])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 s budget, 24 frames")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--frames", type=int, default=None, help="default 48 (--quick: 24)")
    parser.add_argument("--budget", type=float, default=None, help="s; default 300 (--quick: 60)")
    parser.add_argument("--clips", default="vtest,megamind")
    parser.add_argument("--looks", default=",".join(LOOKS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="cases trained at once (processes)")
    parser.add_argument(
        "--case-budget",
        action="append",
        default=[],
        metavar="CLIP/LOOK=SECONDS",
        help="another budget for one case, e.g. megamind/grade=900 to watch the stopping "
        "rule end a run that has converged (repeatable)",
    )
    parser.add_argument(
        "--held-out-every",
        type=float,
        metavar="SECONDS",
        help="score the held-out frames every SECONDS of the run's clock as it trains "
        "(the network alone, the checks' time left out of the budget)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SETTING=VALUE",
        help="a TrainConfig setting other than the default, e.g. generator_depth=2 (repeatable)",
    )
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="count the budget in the trainer's CPU seconds (default: a shared machine's load "
        "does not shrink it) or in wall seconds",
    )
    parser.add_argument(
        "--keep-styles",
        metavar="DIR",
        help="keep each trained style in DIR/CLIP/LOOK (to re-style it with --reuse-styles)",
    )
    parser.add_argument(
        "--reuse-styles",
        metavar="DIR",
        help="do not train: style with the styles a --keep-styles run kept in DIR "
        "(same --frames and --size)",
    )
    args = parser.parse_args()
    if args.keep_styles and args.reuse_styles:
        sys.exit("bench_keyframes: --keep-styles or --reuse-styles, not both")
    styles = (
        ("keep", str(Path(args.keep_styles).resolve()))
        if args.keep_styles
        else ("reuse", str(Path(args.reuse_styles).resolve()))
        if args.reuse_styles
        else None
    )
    frames = args.frames or (24 if args.quick else 48)
    budget = args.budget or (60.0 if args.quick else 300.0)
    size = tuple(int(v) for v in args.size.split("x"))
    clips = [c for c in args.clips.split(",") if c]
    looks = [look for look in args.looks.split(",") if look]
    unknown = [look for look in looks if look not in LOOKS] + [
        c for c in clips if c not in CLIP_START
    ]
    if unknown:
        sys.exit(f"bench_keyframes: unknown clip or look {unknown[0]!r}")

    print(
        f"{size[0]}x{size[1]}, {frames} frames per clip, keyframes {frames // 6} and "
        f"{frames * 5 // 6}, training budget {budget:.0f} s ({args.clock} clock), "
        f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}; "
        "PSNR/SSIM: means over frames, against the filter's output",
        flush=True,
    )
    if args.set:
        print("settings other than the defaults:", ", ".join(args.set), flush=True)
    if args.case_budget:
        print("budgets other than the default:", ", ".join(args.case_budget), flush=True)
    work = Path(tempfile.mkdtemp(prefix="restyle-keyframes-"))
    config = TrainConfig(
        time_budget_s=budget, seed=args.seed, clock=args.clock, **settings(args.set)
    )
    budgets = case_budgets(args.case_budget)
    jobs = []
    cases = []
    try:
        for clip_name in clips:
            try:
                sources = load_clip(clip_name, frames, size)
            except FootageUnavailable as error:
                print(f"{clip_name}: skipped ({error})")
                continue
            source_dir = work / clip_name / "source"
            source_dir.mkdir(parents=True)
            for i, frame in enumerate(sources):
                write_png(source_dir / f"{i:04d}.png", frame)
            jobs += [
                (
                    work,
                    clip_name,
                    sources,
                    look,
                    case_config(config, clip_name, look, budgets),
                    styles,
                    args.held_out_every,
                )
                for look in looks
            ]
        # Spawned, not forked: a forked child inherits OpenCV's thread pool mid-state and hangs.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max(1, args.jobs), mp_context=context) as pool:
            for case in pool.map(run_case, *zip(*jobs, strict=True)) if jobs else ():
                print_case(case)
                cases.append(case)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if cases:
        print_summary(cases)


if __name__ == "__main__":
    main()
