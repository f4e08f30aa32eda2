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
Then the same oracle on the moving pixels, each frame warped onto frame t along the judge's
own Farnebäck trajectories (trusted by its check over the filter's frames), and on the still
and moving pixels together: the whole judged frame's bound, at goal 1's excess removal.

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
    low (G3) spatial bands that sum to it (Gaussian sigmas in pixels). uint8 is scaled."""
    image = frame.astype(np.float32) / 255.0 if frame.dtype == np.uint8 else frame
    if not banded:
        return [image]
    g1 = cv2.GaussianBlur(image, (0, 0), 1.0)
    g3 = cv2.GaussianBlur(image, (0, 0), 3.0)
    return [image - g1, g1 - g3, g3]


GRAY = np.float32([0.299, 0.587, 0.114])


class Quadratics:
    """A filter's deviation, flicker and sharpness, each quadratic in its taps h, summed over
    frames: D = h'Ah - 2a'h + c against frame by frame, F = h'Bh between consecutive outputs,
    E = h'Ch the Laplacian energy; f0 and floor: frame by frame's and the source's flicker
    measured the same way, e0 frame by frame's Laplacian energy (goal 1 is on the excess)."""

    def __init__(self, n: int, window: tuple[int, int] | None = None) -> None:
        self.window = window  # the taps' frames, first and last relative to t (None: all)
        self.A, self.B, self.C = (np.zeros((n, n)) for _ in range(3))
        self.a = np.zeros(n)
        self.c = self.f0 = self.e0 = self.floor = 0.0
        self.frames = 0

    def add(self, x, x_prev, lap, y, y_prev, y_lap, source=None) -> None:
        """One frame: features (taps x values) now and one step back along the motion, their
        Laplacians, frame by frame's values now and one step back, its Laplacian, and the
        source's (now, one step back) for the floor."""
        size = x.shape[1]
        if size == 0:
            return  # no pixel of this class in this frame
        self.A += x @ x.T / size
        self.a += x @ y / size
        self.c += float(np.mean(y**2))
        step = x - x_prev
        self.B += step @ step.T / size
        self.f0 += float(np.mean((y - y_prev) ** 2))
        self.C += lap @ lap.T / lap.shape[1]
        self.e0 += float(np.mean(y_lap**2))
        if source is not None:
            self.floor += float(np.mean((source[0] - source[1]) ** 2))
        self.frames += 1

    def mean(self) -> Quadratics:
        """Per-frame means (call once, after the last ``add``)."""
        m = self.frames
        self.A, self.a, self.B, self.C = self.A / m, self.a / m, self.B / m, self.C / m
        self.c, self.f0, self.e0, self.floor = self.c / m, self.f0 / m, self.e0 / m, self.floor / m
        return self

    def solve(self, lam: float, mu: float) -> np.ndarray | None:
        """The taps minimising D + lam F - mu E (None where that is unbounded)."""
        values, vectors = np.linalg.eigh(self.A + lam * self.B - mu * self.C)
        if values[0] <= 1e-12:
            return None
        return vectors @ (vectors.T @ self.a / values)

    def measure(self, h) -> tuple[float, float, float]:
        """(deviation, flicker, Laplacian energy) of the taps h."""
        h = np.asarray(h)
        return (
            float(h @ self.A @ h - 2 * self.a @ h + self.c),
            float(h @ self.B @ h),
            float(h @ self.C @ h),
        )


def combined(parts, measures) -> tuple[float, float, float, float]:
    """(deviation, flicker reduction, sharpness, excess flicker removed) over pixel classes
    ``parts`` [(share, Quadratics)] whose taps measure ``measures`` [(D, F, E)]: means
    weighted by each class's share of the pixels; removed = (f0 - floor) / (F - floor)."""
    total = sum(share for share, _ in parts)

    def mean(values):
        return sum(share * v for (share, _), v in zip(parts, values, strict=True)) / total

    deviation, flicker, energy = (mean([m[i] for m in measures]) for i in range(3))
    f0, floor = mean([q.f0 for _, q in parts]), mean([q.floor for _, q in parts])
    e0 = mean([q.e0 for _, q in parts])
    removed = math.inf if flicker <= floor else (f0 - floor) / (flicker - floor)
    return deviation, f0 / flicker, energy / e0, removed


def frontier(parts) -> list[tuple[float, float, float, float]]:
    """KKT points of min D + lam F - mu E over pixel classes ``parts`` [(share, Quadratics)],
    each class with its own taps (an oracle that knows which pixels are which) and the same
    multipliers, on a grid: ``combined`` measures of each point."""
    scale = sum(s * q.c for s, q in parts) / sum(s * q.e0 for s, q in parts)
    points = []
    for lam in np.geomspace(1e-3, 1e3, 120):
        for mu in np.r_[0.0, np.geomspace(1e-3, 1e2, 50)]:
            taps = [q.solve(lam, mu * scale) for _, q in parts]
            if any(h is None for h in taps):
                break  # larger mu: not positive definite either
            points.append(
                combined(parts, [q.measure(h) for (_, q), h in zip(parts, taps, strict=True)])
            )
    return points


def best_at(points, targets, on: int = 1) -> dict:
    """Per flicker target r: the point of least deviation with reduction (``on`` = 1, raw
    F0 / F) or excess removed (``on`` = 3) >= r, and the least with sharpness >= 0.9."""
    report = {}
    for target in targets:
        reach = [p for p in points if p[on] >= target]
        sharp = [p for p in reach if p[2] >= 0.9]
        report[target] = (min(reach, default=None), min(sharp, default=None))
    return report


def most_removed_within(points, deviation: float = 1e-3) -> tuple:
    """The point that removes the most excess flicker within ``deviation`` (1e-3: 30 dB),
    and the one with sharpness >= 0.9 too (None where there is none)."""
    near = [p for p in points if p[0] <= deviation]
    sharp = [p for p in near if p[2] >= 0.9]
    return max(near, key=lambda p: p[3], default=None), max(sharp, key=lambda p: p[3], default=None)


def todays_taps(taps: int, bands: int, window: tuple[int, int] | None = None) -> np.ndarray:
    """The lookahead blend's weights as taps t-taps..t+taps (its recursion cut to ``taps``):
    y_t = sum_j s^j ((1 - s - b) x_t-j + b x_t-j+1), the same in every band; with
    ``window`` (first, last) only those frames' taps, scaled back to a gain of 1."""
    from restyle.core.temporal import LOOKAHEAD_WEIGHTS

    s, b = LOOKAHEAD_WEIGHTS
    ours = np.zeros(2 * taps + 1)
    for j in range(taps + 1):
        ours[taps - j] += (1 - s - b) * s**j
        ours[taps - j + 1] += b * s**j
    if window is not None:
        first, last = window
        ours = ours[taps + first : taps + last + 1]
        ours /= ours.sum()
    return np.tile(ours, bands)


def still_quadratics(frames, still, taps=3, banded=False, sources=None) -> Quadratics:
    """The quadratics of filters over ``still`` pixels (no flow: they stood still)."""
    offsets = range(-taps, taps + 1)
    values, laplacians, whole, whole_lap, source = [], [], [], [], []
    for index, frame in enumerate(frames):
        bands = _bands(frame, banded)
        values.append([b[still].ravel().astype(np.float64) for b in bands])
        laplacians.append(
            [cv2.Laplacian(b @ GRAY, cv2.CV_32F)[still].astype(np.float64) for b in bands]
        )
        whole.append(frame[still].ravel().astype(np.float64) / 255.0)
        lap = cv2.Laplacian(frame.astype(np.float32) @ GRAY / 255.0, cv2.CV_32F)
        whole_lap.append(lap[still].astype(np.float64))
        if sources is not None:
            source.append(sources[index][still].ravel().astype(np.float64) / 255.0)

    def features(series, t):
        return np.stack([series[t + k][b] for b in range(len(series[0])) for k in offsets])

    fit = Quadratics(len(values[0]) * len(offsets))
    for t in range(taps + 1, len(frames) - taps):
        fit.add(
            features(values, t),
            features(values, t - 1),
            features(laplacians, t),
            whole[t],
            whole[t - 1],
            whole_lap[t],
            (source[t], source[t - 1]) if source else None,
        )
    return fit.mean()


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
    fit = still_quadratics(frames, still, taps, banded)
    points = [p[:3] for p in frontier([(1.0, fit)])]
    report = {"still": float(still.mean()), "flicker": fit.f0, "targets": {}}
    for target, (least, sharp) in best_at(points, targets).items():
        report["targets"][target] = (least, sharp)
    ours = todays_taps(taps, 3 if banded else 1)
    report["ours"] = combined([(1.0, fit)], [fit.measure(ours)])[:3]
    return report


def judge_flows(sources) -> list[tuple]:
    """Per consecutive pair (t, t+1) of the source, the judge's Farnebäck flows t -> t+1 (on
    t) and t+1 -> t (on t+1) and where each passes the judge's own check (forward-backward
    consistent, off motion boundaries): what ``ClipJudge`` trusts."""
    from restyle.core.flow import FarnebackEstimator, consistency_mask, to_gray

    flow, grays = FarnebackEstimator().flow, [to_gray(s) for s in sources]
    pairs = []
    for a, b in zip(grays[:-1], grays[1:], strict=True):
        forward, backward = flow(a, b), flow(b, a)
        pairs.append(
            (
                forward,
                backward,
                consistency_mask(forward, backward),
                consistency_mask(backward, forward),
            )
        )
    return pairs


def trajectories(pairs, t: int, first: int, last: int) -> tuple[dict, dict]:
    """Where each pixel of frame t lies in frames t+first..t+last, chaining the judge's
    flows (each sampled bilinearly where the path has got to), and per frame reached
    whether every step from t to it was trusted by the judge (the four pixels around each
    point passed its check; outside the frame is not)."""
    from restyle.core.flow import pixel_grid_map

    height, width = pairs[0][0].shape[:2]
    grid = pixel_grid_map(height, width)
    positions, reached = {0: grid}, {0: np.ones((height, width), bool)}
    for step, stop in ((1, last), (-1, first)):
        at, j, trusted = grid, 0, reached[0]
        while j != stop:
            pair = pairs[t + j] if step == 1 else pairs[t + j - 1]
            flow, valid = (pair[0], pair[2]) if step == 1 else (pair[1], pair[3])
            ok = cv2.remap(valid.astype(np.float32), at, None, cv2.INTER_LINEAR)
            trusted = trusted & (ok >= 0.999)
            moved = cv2.remap(flow, at, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            at, j = at + moved, j + step
            positions[j], reached[j] = at, trusted
    return positions, reached


class Untouched:
    """Pixels with no trusted step back (uncovered, or the judge's flow failed there): the
    judge measures no flicker on them, so the oracle leaves them as frame by frame, at no
    deviation and their own Laplacian energy."""

    f0 = floor = 0.0

    def __init__(self) -> None:
        self.c = self.e0 = 0.0
        self.frames = 0

    def add(self, y, y_lap) -> None:
        if y.size:
            self.c += float(np.mean(y**2))
            self.e0 += float(np.mean(y_lap**2))
            self.frames += 1

    def mean(self) -> Untouched:
        self.c, self.e0 = self.c / self.frames, self.e0 / self.frames
        return self

    def solve(self, lam: float, mu: float) -> np.ndarray:
        return np.zeros(0)

    def measure(self, h) -> tuple[float, float, float]:
        return 0.0, 0.0, self.e0


def tracked_quadratics(
    frames, sources, pairs, exclude, taps=3, banded=False, stride=2, interpolation=cv2.INTER_LINEAR
) -> dict:
    """The quadratics of filters along the judge's trajectories on the pixels off
    ``exclude``, every ``stride``-th pixel each way, 8 px border left out, frames t in
    taps+1..n-taps-1 as for still pixels. Each pixel's taps span the frames t-a+1..t+b its
    trajectory is trusted over (a <= taps+1 steps back, one more than the taps for the
    flicker against z_t-1 on the same trajectory; b <= taps ahead); each frame is warped
    onto frame t along it (``interpolation``). One class per window (a, b), each with its
    share of the frame's pixels; a = 0 is ``Untouched``."""
    height, width = frames[0].shape[:2]
    inner = np.zeros((height, width), bool)
    inner[8:-8, 8:-8] = True
    inner &= ~exclude
    sample = np.zeros((height, width), bool)
    sample[::stride, ::stride] = True
    times = range(taps + 1, len(frames) - taps)
    classes: dict = {}
    for t in times:
        positions, reached = trajectories(pairs, t, -taps - 1, taps)
        back = sum(reached[-a].astype(np.int8) for a in range(1, taps + 2))
        ahead = sum(reached[b].astype(np.int8) for b in range(1, taps + 1))
        warped = {0: frames[t].astype(np.float32) / 255.0}
        for j, at in positions.items():
            if j:
                image = frames[t + j].astype(np.float32) / 255.0
                warped[j] = cv2.remap(
                    image, at, None, interpolation, borderMode=cv2.BORDER_REPLICATE
                )
        bands = {j: _bands(image, banded) for j, image in warped.items()}
        laps = {j: [cv2.Laplacian(b @ GRAY, cv2.CV_32F) for b in bs] for j, bs in bands.items()}
        y_lap = cv2.Laplacian(warped[0] @ GRAY, cv2.CV_32F)
        source_back = cv2.remap(
            sources[t - 1].astype(np.float32) / 255.0,
            positions[-1],
            None,
            interpolation,
            borderMode=cv2.BORDER_REPLICATE,
        )
        for a in range(taps + 2):
            for b in range(taps + 1) if a else (None,):
                window = inner & (back == a) & (True if b is None else ahead == b)
                key = (a, b)
                share, fit = classes.get(key, (0.0, None))
                classes[key] = (share + window.sum() / window.size / len(times), fit)
                mask = window & sample
                if not mask.any():
                    continue
                if b is None:
                    fit = fit or Untouched()
                    fit.add(warped[0][mask].ravel(), y_lap[mask])
                    classes[key] = (classes[key][0], fit)
                    continue
                offsets = range(1 - a, b + 1)

                def features(series, shift, mask=mask, offsets=offsets):
                    count = len(series[0])
                    return np.stack(
                        [series[k + shift][i][mask].ravel() for i in range(count) for k in offsets]
                    ).astype(np.float64)

                x = features(bands, 0)
                fit = fit or Quadratics(x.shape[0], (1 - a, b))
                fit.add(
                    x,
                    features(bands, -1),
                    features(laps, 0),
                    warped[0][mask].ravel().astype(np.float64),
                    warped[-1][mask].ravel().astype(np.float64),
                    y_lap[mask].astype(np.float64),
                    (
                        sources[t][mask].ravel().astype(np.float64) / 255.0,
                        source_back[mask].ravel().astype(np.float64),
                    ),
                )
                classes[key] = (classes[key][0], fit)
    return {key: (share, fit.mean()) for key, (share, fit) in classes.items() if fit}


def trajectory_bound(
    frames, sources, still, pairs, banded=False, targets=(2.5, 3.0), taps=3, **options
) -> dict:
    """The oracle filter on the moving pixels too: along the judge's own Farnebäck
    trajectories for the pixels not ``still`` in every frame (``tracked_quadratics``), on
    the still ones as ``linear_bound``; each class its own taps (one set or per band),
    fitted to the frames. Per excess-flicker target (goal 1's measure, the source's own
    flicker along the same paths as floor): the least deviation, and the least with
    sharpness >= 0.9, for the still pixels, the "tracked" ones (trusted over the whole
    window, t-taps-1..t+taps), all "moving" ones (any window, and the untouched) and the
    "whole" frame (still + moving, weighted by their shares; 8 px border left out)."""
    windows = tracked_quadratics(frames, sources, pairs, still, taps, banded, **options)
    full = (taps + 1, taps)
    parts = {"still": [], "tracked": [windows[full]] if full in windows else []}
    if still.any():
        still_fit = still_quadratics(frames, still, taps, banded, sources)
        parts["still"].append((float(still.mean()), still_fit))
    parts["moving"] = list(windows.values())
    parts["whole"] = parts["still"] + parts["moving"]
    bands = 3 if banded else 1
    report = {
        "shares": {
            "still": float(still.mean()),
            "tracked": parts["tracked"][0][0] if parts["tracked"] else 0.0,
            "shorter": sum(s for k, (s, _) in windows.items() if k[1] is not None and k != full),
            "untouched": sum(s for k, (s, _) in windows.items() if k[1] is None),
        }
    }
    for name, classes in parts.items():
        if not classes:
            continue  # no pixel of that class
        ours = [q.measure(todays_taps(taps, bands, getattr(q, "window", None))) for _, q in classes]
        total = sum(s for s, _ in classes)
        points = frontier(classes)
        report[name] = {
            "targets": best_at(points, targets, on=3),
            "30 dB": most_removed_within(points),
            "ours": combined(classes, ours),
            "flicker": tuple(
                sum(s * getattr(q, f) for s, q in classes) / total for f in ("f0", "floor")
            ),
        }
    return report


def _decibels(deviation: float) -> str:
    return f"{-10 * math.log10(deviation):.2f} dB"


def _point_text(point) -> str:
    deviation, raw, energy, removed = point
    return f"x{removed:.2f} (raw /{raw:.2f}), {_decibels(deviation)}, sharpness {energy:.3f}"


def print_trajectory_bound(report: dict, banded: bool) -> None:
    kind = "per band" if banded else "one set of taps"
    shares = ", ".join(f"{name} {100 * v:.1f} %" for name, v in report["shares"].items())
    print(
        f"  linear bound along the judge's trajectories, {kind} per class of pixels ({shares} "
        "of the frame; tracked: trusted from t-4 to t+3, shorter: fewer frames, untouched: "
        "no trusted step back; 8 px border left out):"
    )
    for name in ("still", "tracked", "moving", "whole"):
        if name not in report:
            continue
        part = report[name]
        f0, floor = part["flicker"]
        print(
            f"    {name}: frame-by-frame flicker {f0:.5f} (source {floor:.5f}); today's weights "
            f"as taps {_point_text(part['ours'])}"
        )
        for target, (least, sharp) in part["targets"].items():
            least_text = "none" if least is None else _point_text(least)
            sharp_text = "none found" if sharp is None else _point_text(sharp)
            print(f"      excess x{target}: least deviation {least_text}")
            print(f"        with sharpness >= 0.9: {sharp_text}")
        most, sharp = (("none" if p is None else _point_text(p)) for p in part["30 dB"])
        print(f"      at 30 dB or more: most removed {most}; with sharpness >= 0.9: {sharp}")


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
        "(taps fitted to the frames: an oracle) on the pixels still in every frame, then "
        "along the judge's trajectories on the moving ones and on both together",
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
                pairs = judge_flows(sources)
                for banded in (False, True):
                    report = trajectory_bound(plain, sources, still, pairs, banded, (2.5, 3.0))
                    print_trajectory_bound(report, banded)
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
