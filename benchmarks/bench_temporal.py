"""Temporal coherence on real footage with independent motion: issue 12's goals 1-4.

Clips: OpenCV's sample clips from Debian's `opencv-doc` (scripts/real_footage.py): `vtest`
(people walking past a fixed camera) and `megamind` (an animated film excerpt). Each clip is
resized to the working height, styled frame by frame in this process, then passed through
`TemporalBlender`: the causal blend at its default strength and the one-frame lookahead blend
at its default weights, in the same run (--strengths, --lookahead and --lookahead-flow sweep
them; --cost-of names the variants whose end-to-end cost is measured). Reported per clip
and size:

1. Flicker: warping error (Lai et al. 2018) of the source itself, of the frame-by-frame and
   of the coherent output, judged by Farnebäck flow (independent of the DIS flow the method
   uses) and by DIS; "removed" = (frame-by-frame - source) / (coherent - source), goal >= 3.
2. No smearing: sharpness (mean Laplacian variance) coherent / frame-by-frame (goal >= 0.9),
   mean PSNR of coherent against frame-by-frame frames (goal >= 30 dB), and the PSNR on the
   pixels the judge sees uncovered (disoccluded: behind moving things, where a trail would
   show).
3. Any style: --style (built-in id, picture path, trained name), --backend onnx|torch, --sizes.
4. Cost: coherence seconds per frame (prepare + apply, one thread) over the frame-by-frame
   styling seconds per frame (network + pre/post, no decode/encode), an upper bound; and the
   end-to-end one: CPU time (and wall time) of the real pipeline (`run_pipeline`, frames in
   memory, nothing written) with coherence over without it, alternating, median of --rounds
   (goal <= 10 %; the CPU-time ratio, as wall time on a shared CPU follows the other load).
   Coherent runs find the shot cuts while streaming, as jobs do (--cuts-cost: each costed
   variant also without, in the same rounds). --cost-io FORMAT runs them as a job does:
   decoded from a lossless movie, written as FORMAT, at the job's batch size.

Why some flicker cannot be blended away (--equivariance): the network's output for the frame
shifted by d pixels against its output shifted by d. A network with stride-2 downsamplings
draws its texture on a grid; content moving by anything but whole grid steps gets new texture.

The most any blend can do (--bound): on the pixels still in every frame, the best linear
temporal filter of the frame-by-frame frames (7 taps fitted to them, one set or one per
spatial band) at a given flicker reduction: its deviation and sharpness against frame by frame.

A table of every row with the goals met (markdown) ends the output. Trained styles live in a
library: --library PATH (e.g. after `restyle train ... -n NAME`), --style NAME.

    .venv/bin/python benchmarks/bench_temporal.py [--frames 48] [--sizes 360,720:16,1080:16]
        [--strengths 0.45,0.5] [--lookahead 0.3:0.2,0.35:0.2] [--lookahead-flow inverse,dis]
        [--rounds 2] [--cost-of NAMES] [--cuts-cost]
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))

from real_footage import real_clip  # noqa: E402

CLIPS = {"vtest": 0, "megamind": 1}  # first frame used: Megamind.avi opens on a black frame


def load_clip(name: str, count: int, height: int, start: int = 0) -> list[np.ndarray]:
    """``count`` RGB frames of a real clip, resized to ``height`` (even width, same aspect)."""
    from restyle.core.media import decode_range

    frames = list(decode_range(real_clip(name), start, start + count - 1))
    h, w = frames[0].shape[:2]
    width = 2 * round(w * height / h / 2)
    interp = cv2.INTER_AREA if height < h else cv2.INTER_CUBIC
    return [cv2.resize(f[..., :3], (width, height), interpolation=interp) for f in frames]


def style_frames(stylizer, frames: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    """Frame-by-frame styled frames and the median seconds per frame (after one warm-up)."""
    stylizer.stylize(frames[0])
    out, seconds = [], []
    for frame in frames:
        t0 = time.perf_counter()
        out.append(stylizer.stylize(frame))
        seconds.append(time.perf_counter() - t0)
    return out, float(np.median(seconds))


def blend(blender, sources, styled) -> tuple[list[np.ndarray], float]:
    """Coherent frames and the median seconds per frame of prepare + apply (with lookahead,
    each frame's apply also gets the next frame's guide and styled frame)."""
    guides, seconds, previous = [], [], None
    for source in sources:
        t0 = time.perf_counter()
        guides.append(blender.prepare(previous, source))
        seconds.append(time.perf_counter() - t0)
        previous = source
    out = []
    for t, frame in enumerate(styled):
        following = (guides[t + 1], styled[t + 1]) if t + 1 < len(styled) else (None, None)
        t0 = time.perf_counter()
        out.append(blender.apply(guides[t], frame, *following))
        seconds[t] += time.perf_counter() - t0
    return out, float(np.median(seconds[1:]))


def blender_variants(strengths: str | None, lookahead: str | None, flows: str) -> dict:
    """Named TemporalBlender settings: causal strengths ("0.5") and lookahead weight pairs
    ("0.2:0.12", previous:next) for each lookahead flow."""
    from restyle.core.temporal import STRENGTH

    variants = {}
    for value in (strengths or str(STRENGTH)).split(","):
        variants[f"causal {float(value)}"] = {"strength": float(value), "lookahead": False}
    for pair in (lookahead or "").split(",") if lookahead else []:
        previous, _, following = pair.partition(":")
        for flow in flows.split(","):
            weights = (float(previous), float(following))
            variants[f"lookahead {previous}:{following} {flow}"] = {
                "lookahead": True,
                "lookahead_weights": weights,
                "lookahead_flow": flow,
            }
    return variants


NO_SHOT_CUTS = " without shot cuts"
SHOT_CUTS_PAIRED = " finding shot cuts (paired with the run without, per round)"


def shot_frames(sources, marked: bool):
    """The pipeline's items: (index, frame), and with ``marked`` a None before every cut
    ``core.shots`` finds, found while streaming as a coherent job does."""
    from restyle.core.shots import mark_cuts

    if not marked:
        yield from enumerate(sources)
        return
    for index, (frame, cut) in enumerate(mark_cuts(sources)):
        if cut:
            yield None
        yield index, frame


class MovieIO:
    """Frames as a job gets and leaves them: decoded from a lossless movie of ``sources``
    (written once) and written with the job's writer (``fmt``: png, h264, ...) into a
    fresh folder each run, on the job's batch size."""

    def __init__(self, sources, fmt: str) -> None:
        from restyle.core.writers import open_writer

        self.folder = Path(tempfile.mkdtemp(prefix="restyle-io-"))
        self.movie, self.fmt, self.count = self.folder / "source.mkv", fmt, len(sources)
        self.size = (sources[0].shape[1], sources[0].shape[0])
        writer = open_writer(self.movie, fmt="ffv1", fps=25, size=self.size)
        for index, frame in enumerate(sources):
            writer.write(index, frame)
        writer.close()
        self.runs = 0

    def frames(self):
        from restyle.core.media import decode_range

        yield from decode_range(self.movie, 0, self.count - 1)

    def writer(self):
        from restyle.core.writers import open_writer

        self.runs += 1
        output = self.folder / f"out{self.runs}"
        return open_writer(output, fmt=self.fmt, fps=25, size=self.size)

    def close(self) -> None:
        """Delete the source movie and every run's output (outside the timed runs)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def end_to_end_cost(
    stylizer, sources, rounds: int, variants: dict, cuts_cost: bool = False, io=None
) -> dict:
    """Per variant, extra CPU time and extra wall time of the real pipeline with coherence
    over without it (medians of ``rounds`` alternating runs; none with no rounds). On a CPU
    shared with other busy processes the wall-time ratio is noisy; the pipeline keeps both
    cores busy, so the CPU-time ratio is the cost in throughput. Coherent runs find the
    shot cuts while streaming, as jobs do; ``cuts_cost`` also runs each variant without.
    ``io`` (a ``MovieIO``): decode and write as a job does, at the job's batch size;
    without it frames come from memory, nothing is written, one frame per network call."""
    from restyle.core.engines import preferred_batch
    from restyle.core.pipeline import run_pipeline
    from restyle.core.temporal import TemporalBlender

    def run(temporal, marked: bool = True) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        if io is None:
            frames = shot_frames(sources, marked and temporal is not None)
            run_pipeline(frames, stylizer, lambda i, f: None, len(sources), temporal=temporal)
        else:
            frames = shot_frames(io.frames(), marked and temporal is not None)
            writer, batch = io.writer(), preferred_batch(stylizer.engine)
            run_pipeline(
                frames, stylizer, writer.write, io.count, temporal=temporal, batch_size=batch
            )
            writer.close()
        return time.process_time() - cpu, time.perf_counter() - wall

    runs = [(name, settings, True) for name, settings in variants.items()]
    if cuts_cost:
        runs += [(name + NO_SHOT_CUTS, settings, False) for name, settings in variants.items()]
    ratios: dict = {name: [] for name, _, _ in runs}
    baseline = []
    for _ in range(rounds):
        cpu0, wall0 = run(None)
        baseline.append(cpu0 / len(sources))
        for name, settings, marked in runs:
            cpu, wall = run(TemporalBlender(**settings), marked)
            ratios[name].append((cpu / cpu0 - 1.0, wall / wall0 - 1.0))
    if cuts_cost:  # the same round's runs with and without: the baseline's noise cancels
        for name in variants:
            pairs = zip(ratios[name], ratios[name + NO_SHOT_CUTS], strict=True)
            ratios[name + SHOT_CUTS_PAIRED] = [(a[0] - b[0], a[1] - b[1]) for a, b in pairs]
    if baseline:
        print(f"  without coherence: {np.median(baseline):.3f} CPU-s a frame (median)")
    return {name: cost_summary(values) for name, values in ratios.items() if values}


def cost_summary(values: list) -> tuple[float, float, float, float]:
    """Median CPU and wall ratios, then the CPU ratio's quartiles."""
    cpu, wall = np.array(values).T
    return (*(float(np.median(v)) for v in (cpu, wall)), *map(float, np.percentile(cpu, [25, 75])))


def cost_variants(variants: dict, names: str | None) -> dict:
    """The variants whose end-to-end cost is measured: the named ones, or the first causal
    and the first lookahead variant per flow."""
    if names:
        return {name: variants[name] for name in names.split(",")}
    chosen, kinds = {}, set()
    for name, settings in variants.items():
        kind = settings.get("lookahead_flow", "causal")
        if kind not in kinds:
            kinds.add(kind)
            chosen[name] = settings
    return chosen


def shift_equivariance(stylizer, frame: np.ndarray, shifts=(0.25, 0.5, 1, 2, 3, 4, 8)) -> dict:
    """PSNR of f(shift(x)) against shift(f(x)) per horizontal shift in pixels (16 px border
    left out), and of f(x + ±1 level of noise) against f(x)."""
    from restyle.core.metrics import psnr

    def shift(image, d):
        matrix = np.float32([[1, 0, d], [0, 1, 0]])
        size = (image.shape[1], image.shape[0])
        return cv2.warpAffine(
            image, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
        )

    inner = (slice(16, -16), slice(16, -16))
    styled = stylizer.stylize(frame)
    report = {
        d: psnr(stylizer.stylize(shift(frame, d))[inner], shift(styled, d)[inner]) for d in shifts
    }
    noise = np.random.default_rng(0).integers(-1, 2, frame.shape)
    noisy = np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    report["noise"] = psnr(stylizer.stylize(noisy), styled)
    return report


def still_everywhere(sources) -> np.ndarray:
    """The pixels the blender carries unmoved at full confidence in every frame (no patch,
    confidence 1), 8 px border left out: there no flow is involved, only the filter."""
    from restyle.core.temporal import TemporalBlender

    blender, previous = TemporalBlender(lookahead=True), None
    height, width = sources[0].shape[:2]
    still = np.zeros((height, width), bool)
    still[8:-8, 8:-8] = True
    for index, source in enumerate(sources):
        guide = blender.prepare(previous, source)
        previous = source
        if index == 0:
            continue
        if guide.cut:  # a cut: nothing is carried across it
            still[:] = False
            break
        for p in guide.patches:
            still[p.y0 : p.y1, p.x0 : p.x1] = False
        still &= cv2.resize(guide.confidence, (width, height)) >= 1.0
    return still


def _bands(frame: np.ndarray, banded: bool) -> list[np.ndarray]:
    """The frame in [0, 1] (one band), or split into finest (I - G1), middle (G1 - G3) and
    low (G3) spatial bands that sum to it (Gaussian sigmas in pixels)."""
    image = frame.astype(np.float32) / 255.0
    if not banded:
        return [image]
    g1 = cv2.GaussianBlur(image, (0, 0), 1.0)
    g3 = cv2.GaussianBlur(image, (0, 0), 3.0)
    return [image - g1, g1 - g3, g3]


def linear_bound(
    frames, still: np.ndarray, taps: int = 3, banded: bool = False, targets=(2.5, 3.0)
) -> dict:
    """How well ANY linear temporal filter of the frame-by-frame frames can do on ``still``
    pixels: z_t = sum over bands b and k in [-taps, taps] of h_bk y_b,t+k, the taps fitted to
    these very frames (an oracle: no causal limit, gains free, one set per spatial band with
    ``banded``). Deviation D = mean (z_t - y_t)^2, flicker F = mean (z_t - z_t-1)^2 (no flow:
    the pixels stood still), sharpness E = mean Laplacian(z_t)^2 over frame by frame's, all
    quadratic in h. KKT points of min D + lam F - mu E are searched on a multiplier grid; per
    flicker reduction r in ``targets`` (F <= F0 / r): the least D, and the least D with
    E >= 0.9. Also today's lookahead weights as taps (the IIR cut to ``taps``), for scale."""
    gray = np.float32([0.299, 0.587, 0.114])
    values, laplacians, whole, whole_lap = [], [], [], []
    for frame in frames:
        bands = _bands(frame, banded)
        values.append([b[still].ravel().astype(np.float64) for b in bands])
        laplacians.append(
            [cv2.Laplacian(b @ gray, cv2.CV_32F)[still].astype(np.float64) for b in bands]
        )
        whole.append(frame[still].ravel().astype(np.float64) / 255.0)
        lap = cv2.Laplacian(frame.astype(np.float32) @ gray / 255.0, cv2.CV_32F)
        whole_lap.append(lap[still].astype(np.float64))
    offsets = range(-taps, taps + 1)

    def features(series, t):
        return np.stack([series[t + k][b] for b in range(len(series[0])) for k in offsets])

    times = range(taps + 1, len(frames) - taps)
    n = len(values[0]) * len(offsets)
    A, B, C = (np.zeros((n, n)) for _ in range(3))
    a, c, c_lap, f0 = np.zeros(n), 0.0, 0.0, 0.0
    for t in times:
        x, x_prev, lap = features(values, t), features(values, t - 1), features(laplacians, t)
        size = x.shape[1]
        A += x @ x.T / size
        a += x @ whole[t] / size
        c += float(np.mean(whole[t] ** 2))
        B += (x - x_prev) @ (x - x_prev).T / size
        f0 += float(np.mean((whole[t] - whole[t - 1]) ** 2))
        C += lap @ lap.T / lap.shape[1]
        c_lap += float(np.mean(whole_lap[t] ** 2))
    m = len(times)
    A, a, c, B, f0, C, c_lap = A / m, a / m, c / m, B / m, f0 / m, C / m, c_lap / m

    def measure(h):
        return float(h @ A @ h - 2 * a @ h + c), f0 / float(h @ B @ h), float(h @ C @ h) / c_lap

    points = []
    for lam in np.geomspace(1e-3, 1e3, 120):
        for mu in np.r_[0.0, np.geomspace(1e-3, 1e2, 50)]:
            matrix = A + lam * B - (mu * c / c_lap) * C
            if np.linalg.eigvalsh(matrix)[0] <= 1e-12:
                break  # larger mu: not positive definite either
            points.append(measure(np.linalg.solve(matrix, a)))
    report = {"still": float(still.mean()), "flicker": f0, "targets": {}}
    for target in targets:
        reach = [p for p in points if p[1] >= target]
        sharp = [p for p in reach if p[2] >= 0.9]
        report["targets"][target] = (
            min(reach, default=None),
            min(sharp, default=None),
        )
    from restyle.core.temporal import LOOKAHEAD_WEIGHTS

    s, b = LOOKAHEAD_WEIGHTS
    ours = np.zeros(len(offsets))
    for j in range(taps + 1):  # y_t = sum_j s^j ((1 - s - b) x_t-j + b x_t-j+1)
        ours[taps - j] += (1 - s - b) * s**j
        ours[taps - j + 1] += b * s**j
    report["ours"] = measure(np.tile(ours, len(values[0])))
    return report


def print_bound(clip: str, report: dict, banded: bool) -> None:
    kind = "per band (finest, middle, low)" if banded else "one set of taps"
    print(
        f"  linear bound, {kind}, on the {100 * report['still']:.1f} % of pixels still in every "
        f"frame (frame-by-frame flicker there {report['flicker']:.5f}):"
    )
    d, r, e = report["ours"]
    print(
        f"    today's weights {d:.5f} deviation ({-10 * math.log10(d):.2f} dB) at /{r:.2f}, x{e:.3f}"
    )
    for target, (least, sharp) in report["targets"].items():
        text = (
            "none"
            if least is None
            else (
                f"{least[0]:.5f} ({-10 * math.log10(least[0]):.2f} dB), sharpness x{least[2]:.3f}"
            )
        )
        line = f"    flicker /{target}: least deviation {text}"
        if sharp is not None:
            line += f"; with sharpness >= 0.9: {-10 * math.log10(sharp[0]):.2f} dB, x{sharp[2]:.3f}"
        else:
            line += "; with sharpness >= 0.9: none found"
        print(line)


def sharpness(frames) -> float:
    """Mean over frames of the variance of the Laplacian of the luma."""
    return float(
        np.mean(
            [cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var() for f in frames]
        )
    )


def uncovered_masks(sources) -> list[np.ndarray]:
    """Per frame t >= 1, the pixels that frame t - 1 did not show (Farnebäck forward-backward
    check, dilated by 2 px): where a ghost trail would be."""
    from restyle.core.flow import FarnebackEstimator, consistency_mask, to_gray

    flow = FarnebackEstimator().flow
    masks = []
    for t in range(1, len(sources)):
        now, before = to_gray(sources[t]), to_gray(sources[t - 1])
        hidden = ~consistency_mask(flow(now, before), flow(before, now))
        masks.append(cv2.dilate(hidden.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
    return masks


def masked_psnr(a, b, masks) -> float:
    """PSNR over the masked pixels of frames 1.. of two sequences."""
    squared, count = 0.0, 0
    for x, y, mask in zip(a[1:], b[1:], masks, strict=True):
        diff = x[mask].astype(np.float64) - y[mask]
        squared += float((diff * diff).sum()) / 255.0**2
        count += diff.size
    return float("inf") if squared == 0 else float(10 * np.log10(count / squared))


def excess_removed(source: float, plain: float, coherent: float) -> float:
    """(plain - source) / (coherent - source); inf when the coherent output is steadier than
    the source itself (all the excess removed), NaN when frame by frame already is."""
    if plain <= source:
        return math.nan
    if coherent <= source:
        return math.inf
    return (plain - source) / (coherent - source)


def removed_text(removed: float) -> str:
    if math.isnan(removed):
        return "no excess"
    return "all" if math.isinf(removed) else f"x{removed:.2f}"


class ClipJudge:
    """Goals 1 and 2 for one clip: the source's flows and masks are computed once."""

    def __init__(self, sources, plain) -> None:
        from restyle.core.metrics import FlowJudge

        self.plain = plain
        self.judges = {flow: FlowJudge(sources, flow) for flow in ("farneback", "dis")}
        self.floor = {flow: j.warping_error(sources) for flow, j in self.judges.items()}
        self.flicker = {flow: j.warping_error(plain) for flow, j in self.judges.items()}
        self.sharpness = sharpness(plain)
        self.uncovered = uncovered_masks(sources)

    def __call__(self, coherent) -> dict:
        from restyle.core.metrics import psnr

        report = {}
        for flow, judge in self.judges.items():
            src, a, b = self.floor[flow], self.flicker[flow], judge.warping_error(coherent)
            report[flow] = (src, a, b, excess_removed(src, a, b))
        report["sharpness"] = sharpness(coherent) / self.sharpness
        pairs = zip(self.plain[1:], coherent[1:], strict=True)  # frame 0 is the same in both
        values = [psnr(x, y) for x, y in pairs]
        differing = [v for v in values if np.isfinite(v)]  # a cut restarts on its styled frame
        report["psnr"] = float(np.mean(differing)) if differing else float("inf")
        report["restarts"] = len(values) - len(differing)
        report["uncovered_psnr"] = masked_psnr(self.plain, coherent, self.uncovered)
        return report


GOALS = "1 removed >= x3 (Farneback), 2 sharpness >= 0.9 and PSNR >= 30 dB, 4 cost <= 10 %"


def goals_met(report: dict, e2e: float) -> str:
    """Which of goals 1, 2 and 4 this row meets (4 by the end-to-end CPU time, if measured)."""
    met = []
    if report["farneback"][3] >= 3.0 or math.isnan(report["farneback"][3]):
        met.append("1")
    if report["sharpness"] >= 0.9 and report["psnr"] >= 30.0:
        met.append("2")
    if not math.isnan(e2e) and e2e <= 0.10:
        met.append("4")
    return ",".join(met) or "none"


def table_row(name: str, report: dict, cost: float, e2e: float, e2e_wall: float) -> str:
    removed = " / ".join(removed_text(report[f][3]) for f in ("farneback", "dis"))
    e2e_text = "n/m" if math.isnan(e2e) else f"{100 * e2e:.1f} % / {100 * e2e_wall:.1f} %"
    return (
        f"| {name} | {removed} | {report['sharpness']:.3f} | {report['psnr']:.1f} dB | "
        f"{100 * cost:.1f} % | {e2e_text} | {goals_met(report, e2e)} |"
    )


def print_report(label: str, report: dict, cost: float) -> None:
    print(f"  {label}")
    for flow in ("farneback", "dis"):
        src, a, b, removed = report[flow]
        print(
            f"    warping error ({flow:9s}) source {src:.6f}  frame-by-frame {a:.6f}  "
            f"coherent {b:.6f}  excess removed {removed_text(removed)}"
        )
    print(
        f"    sharpness x{report['sharpness']:.3f}  PSNR vs frame-by-frame "
        f"{report['psnr']:.1f} dB (uncovered pixels {report['uncovered_psnr']:.1f} dB; "
        f"{report['restarts']} frames restarted on a cut, left out)  "
        f"cost {100 * cost:.1f}% of styling time"
    )


def open_library(path: str | None):
    """The given style library (trained styles), or a fresh one holding the built-ins."""
    from restyle.core.builtins import install_builtins
    from restyle.core.styles import StyleLibrary

    if path:
        return StyleLibrary(Path(path))
    library = StyleLibrary(Path(tempfile.mkdtemp(prefix="restyle-temporal-")), bundled=None)
    install_builtins(library.builtin_dir)
    return library


def make_stylizer(style: str, backend: str, library):
    from restyle.core.stylizer import StyleSettings, Stylizer

    stylizer = Stylizer(library.resolve(style), library, StyleSettings(backend=backend))
    stylizer.prepare([])  # a picture style: its style vector at full strength
    return stylizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48, help="frames per clip at 360p")
    parser.add_argument(
        "--sizes",
        default="360,720:16,1080:16",
        help="heights, each optionally :frames (default 360,720:16,1080:16: 720p and 1080p "
        "on the same frames; vtest's first 8 flicker most)",
    )
    parser.add_argument("--style", default="starry-swirls")
    parser.add_argument("--library", default=None, help="style library (trained styles)")
    parser.add_argument("--backend", default="onnx", choices=("onnx", "torch", "auto"))
    parser.add_argument("--clips", default=",".join(CLIPS))
    parser.add_argument(
        "--strengths",
        default=None,
        help="comma-separated coherence strengths (default: the default)",
    )
    parser.add_argument(
        "--lookahead",
        default="default",
        help="comma-separated lookahead weight pairs previous:next, e.g. 0.35:0.2 "
        "(default: the default weights; none: causal only)",
    )
    parser.add_argument(
        "--lookahead-flow", default="inverse", help="inverse, dis or both (comma-separated)"
    )
    parser.add_argument(
        "--cost-of",
        default=None,
        help="variants whose end-to-end cost is measured (names as printed; default: the "
        "first of each kind)",
    )
    parser.add_argument(
        "--equivariance",
        action="store_true",
        help="also measure the network's shift equivariance (360p frame of each clip)",
    )
    parser.add_argument(
        "--bound",
        action="store_true",
        help="also the best any linear temporal filter of the frame-by-frame frames can do "
        "on the pixels still in every frame (taps fitted to the frames: an oracle)",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="end-to-end cost rounds (0: not measured)"
    )
    parser.add_argument(
        "--cuts-cost",
        action="store_true",
        help="also measure each costed variant without finding shot cuts while streaming",
    )
    parser.add_argument(
        "--cost-io",
        default=None,
        metavar="FORMAT",
        help="end-to-end cost as a job runs: decoded from a lossless movie, written as "
        "FORMAT (png, h264, ...), the job's batch size (default: frames in memory, nothing "
        "written, one frame per network call)",
    )
    args = parser.parse_args()

    from restyle.core.temporal import LOOKAHEAD_WEIGHTS, STRENGTH, TemporalBlender

    library = open_library(args.library)
    stylizer = make_stylizer(args.style, args.backend, library)
    default = STRENGTH
    pairs = {"default": ":".join(map(str, LOOKAHEAD_WEIGHTS)), "none": None}
    variants = blender_variants(
        args.strengths, pairs.get(args.lookahead, args.lookahead), args.lookahead_flow
    )
    costed = cost_variants(variants, args.cost_of)
    print(
        f"style {args.style}, engine {stylizer.engine.backend}, coherence {default}, "
        f"lookahead weights {LOOKAHEAD_WEIGHTS} "
        "(shared 2-core CPU: costs are ratios of medians measured in the same run)"
    )
    if args.equivariance:
        for clip in args.clips.split(","):
            frame = load_clip(clip, 1, 360, CLIPS[clip] + 20)[0]
            report = shift_equivariance(stylizer, frame)
            noise = report.pop("noise")
            shifts = ", ".join(f"{d} px {v:.1f} dB" for d, v in report.items())
            print(f"{clip} 360p: f(shift x) vs shift f(x): {shifts}; ±1 level noise {noise:.1f} dB")
    rows = []
    for spec in args.sizes.split(","):
        height, _, count = spec.partition(":")
        count = int(count or args.frames)
        for clip in args.clips.split(","):
            sources = load_clip(clip, count, int(height), CLIPS[clip])
            plain, styling = style_frames(stylizer, sources)
            h, w = sources[0].shape[:2]
            print(f"{clip} {w}x{h}, {count} frames, styling {styling:.3f} s/frame")
            judge = ClipJudge(sources, plain)
            if args.bound:
                still = still_everywhere(sources)
                for banded in (False, True):
                    print_bound(clip, linear_bound(plain, still, banded=banded), banded)
            io = MovieIO(sources, args.cost_io) if args.cost_io else None
            e2e = end_to_end_cost(stylizer, sources, args.rounds, costed, args.cuts_cost, io)
            if io is not None:
                io.close()
            for label, settings in variants.items():
                coherent, cost = blend(TemporalBlender(**settings), sources, plain)
                report = judge(coherent)
                print_report(label, report, cost / styling)
                e2e_row = e2e.get(label, (math.nan, math.nan))[:2]
                for suffix in ("", NO_SHOT_CUTS, SHOT_CUTS_PAIRED):
                    if label + suffix in e2e:
                        cpu, wall, low, high = (100 * v for v in e2e[label + suffix])
                        print(
                            f"    end-to-end cost{suffix} {cpu:.1f}% of CPU time (quartiles "
                            f"{low:.1f}-{high:.1f}%; {wall:.1f}% of wall time)"
                        )
                name = f"{clip} {w}×{h}, {count}, {args.style}, {stylizer.engine.backend}"
                if len(variants) > 1:
                    name += f", {label}"
                rows.append(table_row(name, report, cost / styling, *e2e_row))
    print(f"\ngoals: {GOALS}")
    print(
        "| clip, size, frames, style, engine | removed (Farnebäck / DIS) | sharpness | PSNR "
        "| cost (upper bound) | cost end to end (CPU / wall) | goals met |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
