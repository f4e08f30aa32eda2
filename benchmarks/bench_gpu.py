"""The prepared GPU check (issue 11): one run that measures every GPU path Restyle has.

Made for a lent machine with little time on it (`scripts/gpu_check.sh` runs this there), and
dry-run on the CPU (`--device cpu`, tiny sizes) so it is known to work before device time is
spent. Every part runs in its own process with a hard time limit: a part that fails, hangs or
crashes the CUDA context is reported in the summary, and the parts after it still run. Each
part saves what it measured after every measurement, so a part stopped at its limit keeps
what it had.

Parts (in order):
- env: versions, the GPU, and what Restyle's own device selection says there (auto's choice,
  why ONNX Runtime's CUDA cannot start, the GPU-install plan and its one-frame check);
- media: the 1920x1080 H.264 clip made from real footage, and decode / encode rates alone;
- bare: the bare network's frames/s per engine, precision and batch, through the engine
  interface (numpy in and out, transfers included) and on device-resident input;
- precision: output of every GPU path against CPU fp32 (PSNR), on real frames, for a few
  built-in styles and a picture style;
- e2e: `StyleJob` end to end (decode -> style -> encode) at 1920x1080;
- train: few-shot training on CUDA on a 640x360 real clip with 2 keyframes, to the stopping
  rule or the budget, then the held-out PSNR of the learned style.

    python benchmarks/bench_gpu.py --out OUT [--device cuda|cpu] [--media DIR]
        [--builtin DIR] [--size 1920x1080] [--frames 240] [--train-budget 60] [--budget 360]

Writes OUT/gpu_check.json (everything) and OUT/gpu_check.md (the summary). Figures are only
what this run measured; conditions (GPU, driver, cores) are in the env part.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

PARTS = ("env", "media", "bare", "precision", "e2e", "train")
# Share of the total budget each part may use (a hard limit: the part's process is killed).
SHARES = {"env": 0.07, "media": 0.11, "bare": 0.15, "precision": 0.15, "e2e": 0.22, "train": 0.30}
STYLES = ("starry-swirls", "carnival-ribbons", "comic-ink")
# Where the keyframe benchmark's vtest stretch starts (benchmarks/bench_keyframes.py), so the
# training figures compare with the CPU figures in docs/performance/keyframes.md on the same
# frames and look.
TRAIN_START = 100
# The looks trained, each with the whole training budget: stylization, and the pencil sketch,
# issue 13's worst look on the CPU.
TRAIN_LOOKS = ("stylize", "pencil")
CPU_REFERENCE = (
    "vtest 640x360, 2 keyframes, 300 CPU-s on 2 cores: pencil sketch held-out 26.4 dB"
    " (the worst case; docs/performance/keyframes.md). The same code on this machine's CPU:"
    " run this part with --device cpu"
)


# -- helpers shared by the parts -----------------------------------------------------------
class Recorder:
    """One part's results, saved to its file after every measurement."""

    def __init__(self, path: Path, deadline: float) -> None:
        self.path, self.deadline, self.data = path, deadline, {}
        self.prefix = ""  # put before every key (a part that measures several cases)

    def left(self) -> float:
        return self.deadline - time.time()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=_jsonable))
        os.replace(tmp, self.path)

    def put(self, key: str, value: Any) -> None:
        self.data[self.prefix + key] = value
        self.save()

    def attempt(self, key: str, fn: Callable[[], Any], need_s: float = 1.0) -> Any:
        """Run one measurement; its failure is recorded and the part goes on."""
        if self.left() < need_s:
            self.put(key, {"skipped": f"less than {need_s:.0f} s of the part's budget left"})
            return None
        try:
            value = fn()
        except Exception as exc:  # recorded, not raised: the next measurement still runs
            print(f"--- {key} failed:", file=sys.stderr)
            traceback.print_exc()  # the whole story goes to the log
            self.put(key, {"error": _error_text(exc)})
            return None
        self.put(key, value)
        return value


def _error_text(exc: BaseException) -> str:
    """The exception's last line, on one line and short (exporters print whole graphs)."""
    last = traceback.format_exception_only(type(exc), exc)[-1]
    return " ".join(last.split())[:300]


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _db(value: float) -> float | str:
    return round(value, 2) if math.isfinite(value) else str(value)


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.partition("x")
    return int(w), int(h)


def _cuda(device: str) -> bool:
    return device.startswith("cuda")


def _library(cfg: dict):
    from restyle.core.styles import StyleLibrary

    return StyleLibrary(cfg["home"])


def _stylizer(cfg: dict, style: str, backend: str, device: str, precision: str):
    from restyle.core.stylizer import StyleSettings, Stylizer

    library = _library(cfg)
    settings = StyleSettings(backend=backend, device=device, precision=precision)
    stylizer = Stylizer(library.resolve(style), library, settings)
    stylizer.prepare([])
    return stylizer


def _real_frames(cfg: dict, count: int) -> list[np.ndarray]:
    """Frames of the clip the media part made (real footage at the check's size)."""
    from restyle.core.media import decode_range, probe

    clip = Path(cfg["work"]) / "clip.mp4"
    if not clip.is_file():
        raise RuntimeError("no clip: the media part did not make it")
    info = probe(clip)
    picks = np.linspace(0, info.frame_count - 1, count).round().astype(int)
    return [next(iter(decode_range(clip, int(i), int(i), info=info))) for i in picks]


def _paths(device: str) -> list[tuple[str, str, str]]:
    """(backend, device, precision) of every path the device has, reference last."""
    if _cuda(device):
        return [("torch", device, p) for p in ("fp32", "fp16", "bf16")]
    return [("torch", "cpu", "fp32"), ("torch", "cpu", "bf16"), ("onnx", "cpu", "fp32")]


def _median_rate(run: Callable[[], None], frames: int, until: float, reps: int) -> dict:
    """frames/s of ``run`` (synchronous), median of up to ``reps`` timed calls after 2 warm-ups."""
    for _ in range(2):
        run()
    times = []
    while len(times) < reps and (len(times) < 2 or time.time() < until):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return {
        "fps": round(frames / median, 2),
        "ms_per_call": round(median * 1e3, 2),
        "calls": len(times),
    }


# -- part: env -----------------------------------------------------------------------------
def part_env(cfg: dict, rec: Recorder) -> None:
    rec.put("python", sys.version.split()[0])
    rec.put("cpu_cores", os.cpu_count())
    rec.attempt("numpy", lambda: np.__version__)
    rec.attempt("opencv", lambda: __import__("cv2").__version__)
    rec.attempt("av", _av_info)
    rec.attempt("onnxruntime", _ort_info)
    rec.attempt("torch", _torch_info)
    rec.attempt("nvidia_smi", _nvidia_smi)
    rec.attempt("restyle_selection", lambda: _selection(cfg))
    rec.attempt("onnx_cuda_engine", lambda: _ort_engine(cfg, "cuda"))
    rec.attempt("onnx_tensorrt_engine", lambda: _ort_engine(cfg, "tensorrt"))
    rec.attempt("gpu_install", lambda: _gpu_install(cfg), need_s=5)


def _av_info() -> dict:
    import av

    encoders = {}
    for name in ("libx264", "h264_nvenc", "hevc_nvenc", "h264_vaapi"):
        try:
            av.codec.Codec(name, "w")
            encoders[name] = True
        except Exception:
            encoders[name] = False
    return {"version": av.__version__, "encoders": encoders}


def _ort_info() -> dict:
    import onnxruntime as ort

    return {"version": ort.__version__, "providers": ort.get_available_providers()}


def _torch_info() -> dict:
    import torch

    info = {"version": torch.__version__, "cuda": torch.version.cuda}
    info["cuda_available"] = torch.cuda.is_available()
    if info["cuda_available"]:
        props = torch.cuda.get_device_properties(0)
        info.update(
            device=props.name,
            capability=f"{props.major}.{props.minor}",
            memory_gib=round(props.total_memory / 2**30, 1),
            multiprocessors=props.multi_processor_count,
            cudnn=torch.backends.cudnn.version(),
            tf32_convolutions=torch.backends.cudnn.allow_tf32,
        )
    return info


def _nvidia_smi() -> str:
    query = "name,driver_version,clocks.sm,clocks.mem,power.draw,temperature.gpu,memory.used"
    out = subprocess.run(
        ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    return out.stdout.strip() or out.stderr.strip()


def _said(found):
    """An engine's note or choice (a dict's strings too) in the command line's words: a fix
    or a setting it names is marked (``errors.remedy``), no control character in the JSON."""
    from restyle.core.errors import COMMAND_LINE, say

    if isinstance(found, dict):
        return {k: _said(v) for k, v in found.items()}
    return say(found, COMMAND_LINE) if isinstance(found, str) else found


def _selection(cfg: dict) -> dict:
    """What Restyle itself decides on this machine (the sidebar's 'which device and why')."""
    from restyle.core.engines import ModelFiles, choose_backend, gpu, onnx_engine, torch_engine
    from restyle.models.registry import ARCHS

    library = _library(cfg)
    model = ModelFiles(
        ARCHS["multistyle26"],
        library.builtin_file("multistyle26", ".onnx"),
        library.builtin_file("multistyle26", ".safetensors"),
    )
    found = {
        "auto": _said(choose_backend(model, "auto").__dict__),
        "cuda": _said(choose_backend(model, "cuda").__dict__),
        "nvidia_driver_present": gpu.nvidia_driver_present(),
        "missing_cuda_parts": gpu.missing_cuda_parts(),
        "why_no_cuda": gpu.why_no_cuda(),
        "onnx_auto_note": _said(onnx_engine.auto_note()),
        "torch_auto_device": torch_engine.pick_device("auto"),
    }
    found["torch_auto_precision"] = torch_engine.auto_precision(found["torch_auto_device"], True)
    return found


def _ort_engine(cfg: dict, device: str) -> dict:
    """ONNX Runtime on the GPU: the error a user would see if it cannot start."""
    from restyle.core.engines import explain
    from restyle.core.errors import RestyleError

    try:
        stylizer = _stylizer(cfg, STYLES[0], "onnx", device, "auto")
    except RestyleError as exc:
        return {"started": False, "message": str(exc)}
    return {"started": True, "engine": _said(explain(stylizer.engine))}


def _gpu_install(cfg: dict) -> dict:
    """The Install GPU Support plan, and its one-frame check run against what is installed
    here (no download: nothing is reachable on the lent machine)."""
    from restyle.core.errors import RestyleError
    from restyle.core.gpu_install import plan_gpu_support, verify

    folder = Path(cfg["work"]) / "gpu-user"
    try:
        plan = plan_gpu_support(folder)
    except RestyleError as exc:
        return {"plan": None, "why": str(exc)}
    model = _library(cfg).builtin_file("multistyle26", ".onnx")
    ok, why = verify(plan, model, timeout=60)
    return {"plan": list(plan.requirements), "check_ok": ok, "check_says": why}


# -- part: media ---------------------------------------------------------------------------
def part_media(cfg: dict, rec: Recorder) -> None:
    work = Path(cfg["work"])
    rec.put("clip", _make_clip(cfg, work / "clip.mp4"))
    rec.put("train_frames", _make_train_frames(cfg, work / "train" / "source"))
    rec.attempt("decode", lambda: _decode_rate(work / "clip.mp4"))
    frames = _real_frames(cfg, 8)
    for fmt in ("h264", "png"):
        rec.attempt(f"encode_{fmt}", lambda fmt=fmt: _encode_rate(cfg, frames, fmt), need_s=5)
    rec.attempt("nvenc", lambda: _nvenc(frames), need_s=5)


def _source_frames(cfg: dict, name: str):
    from restyle.core.media import decode_range, probe

    path = Path(cfg["media"]) / name
    info = probe(path)
    return info, decode_range(path, 0, info.frame_count - 1, info=info)


def _fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre crop to the aspect of ``size``, then resize (as bench_keyframes.load_clip)."""
    import cv2

    w, h = size
    fh, fw = frame.shape[:2]
    crop_h, crop_w = min(fh, round(fw * h / w)), min(fw, round(fh * w / h))
    y0, x0 = (fh - crop_h) // 2, (fw - crop_w) // 2
    crop = frame[y0 : y0 + crop_h, x0 : x0 + crop_w, :3]
    interp = cv2.INTER_AREA if crop_w > w else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(crop, size, interpolation=interp))


def _make_clip(cfg: dict, path: Path) -> dict:
    """The check's H.264 clip at its size from the real footage (looped if too short)."""
    from restyle.core.writers import open_writer

    size, count = tuple(cfg["size"]), cfg["frames"]
    info, frames = _source_frames(cfg, cfg["clip_source"])
    source = [_fit(f, size) for _, f in zip(range(count), frames, strict=False)]
    t0 = time.perf_counter()
    with open_writer(path, fmt="h264", fps=30, size=size, crf=18, threads=os.cpu_count() or 1) as w:
        for i in range(count):
            w.write(i, source[i % len(source)])
    return {
        "path": path.name,
        "size": list(size),
        "frames": count,
        "from": f"{cfg['clip_source']} ({info.width}x{info.height}), {len(source)} distinct frames",
        "mib": round(path.stat().st_size / 2**20, 2),
        "made_in_s": round(time.perf_counter() - t0, 2),
    }


def _make_train_frames(cfg: dict, folder: Path) -> dict:
    import cv2

    size, count = tuple(cfg["train_size"]), cfg["train_frames"]
    info, frames = _source_frames(cfg, cfg["clip_source"])
    start = TRAIN_START if info.frame_count >= TRAIN_START + count else 0
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for index, frame in enumerate(frames):
        if index >= start + count:
            break
        if index >= start:
            path = folder / f"{index - start:04d}.png"
            cv2.imwrite(str(path), cv2.cvtColor(_fit(frame, size), cv2.COLOR_RGB2BGR))
            written += 1
    return {"size": list(size), "frames": written, "first_source_frame": start}


def _decode_rate(clip: Path) -> dict:
    from restyle.core.media import decode_range, probe

    info = probe(clip)
    t0 = time.perf_counter()
    n = sum(1 for _ in decode_range(clip, 0, info.frame_count - 1, info=info))
    seconds = time.perf_counter() - t0
    return {"frames": n, "fps": round(n / seconds, 1)}


def _encode_rate(cfg: dict, frames: list[np.ndarray], fmt: str) -> dict:
    """Encoding alone, with the workers and threads the pipeline gives it beside a GPU."""
    from restyle.core.writers import open_writer

    cores = os.cpu_count() or 1
    out = Path(cfg["work"]) / f"encode-{fmt}"
    shutil.rmtree(out, ignore_errors=True)
    h, w = frames[0].shape[:2]
    count = max(len(frames), min(cfg["frames"], 120))
    t0 = time.perf_counter()
    with open_writer(
        out / "movie.mp4" if fmt == "h264" else out,
        fmt=fmt,
        fps=30,
        size=(w, h),
        workers=max(2, cores),
        threads=cores,
    ) as writer:
        for i in range(count):
            writer.write(i, frames[i % len(frames)])
    seconds = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    return {"frames": count, "fps": round(count / seconds, 1), "workers": cores}


def _nvenc(frames: list[np.ndarray]) -> dict:
    """Whether PyAV's FFmpeg can use the GPU's encoder here (not used by Restyle yet)."""
    import av

    path = Path(tempfile.mkdtemp()) / "nvenc.mp4"
    h, w = frames[0].shape[:2]
    try:
        with av.open(str(path), "w") as container:
            stream = container.add_stream("h264_nvenc", rate=30)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            t0 = time.perf_counter()
            for i in range(60):
                image = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")
                for packet in stream.encode(image):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
            seconds = time.perf_counter() - t0
        return {"works": True, "fps": round(60 / seconds, 1)}
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


# -- part: bare ----------------------------------------------------------------------------
def part_bare(cfg: dict, rec: Recorder) -> None:
    frames = _real_frames(cfg, max(cfg["batches"]))
    paths = _paths(cfg["device"])
    per_path = rec.left() / (len(paths) + 2)
    for backend, device, precision in paths:
        key = f"{backend} {device} {precision}"
        rec.attempt(
            key,
            lambda b=backend, d=device, p=precision: _bare_path(cfg, frames, b, d, p, per_path),
            need_s=5,
        )
    if _cuda(cfg["device"]):
        rec.attempt(
            "picture transformer cuda fp16",
            lambda: _bare_path(
                cfg, frames, "torch", cfg["device"], "fp16", per_path, style="picture"
            ),
            need_s=5,
        )
    rec.attempt(
        "onnx cpu fp32 (CPU baseline)",
        lambda: _bare_path(cfg, frames, "onnx", "cpu", "fp32", per_path, batches=(1,)),
        need_s=10,
    )
    if _cuda(cfg["device"]):
        rec.attempt("transfers", lambda: _transfers(cfg, frames), need_s=3)


def _transfers(cfg: dict, frames: list[np.ndarray]) -> dict:
    """What the engine interface's copies cost per frame: float32 NCHW up (from ordinary and
    from pinned memory), float32 down, and uint8 HWC up (4x fewer bytes), each timed alone."""
    import torch

    device = cfg["device"]
    h, w = frames[0].shape[:2]
    batch = np.stack([f.transpose(2, 0, 1) for f in frames]).astype(np.float32) / 255
    pageable = torch.from_numpy(batch)
    pinned = pageable.pin_memory()
    on_device = pageable.to(device)
    as_bytes = torch.from_numpy(np.stack(frames))
    copies = {
        "up float32": lambda: pageable.to(device),
        "up float32 pinned": lambda: pinned.to(device, non_blocking=True),
        "down float32": lambda: on_device.cpu(),
        "up uint8": lambda: as_bytes.to(device),
    }
    result = {"frame": [h, w], "batch": len(frames)}
    for label, copy in copies.items():
        times = []
        for i in range(12):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            copy()
            torch.cuda.synchronize()
            if i >= 2:
                times.append(time.perf_counter() - t0)
        seconds = statistics.median(times)
        result[label] = {
            "ms_per_frame": round(seconds * 1e3 / len(frames), 3),
            "fps": round(len(frames) / seconds, 1),
        }
    return result


def _bare_path(
    cfg, frames, backend, device, precision, seconds, style=STYLES[0], batches=None
) -> dict:
    from restyle.core.engines import explain

    name = cfg["picture"] if style == "picture" else style
    stylizer = _stylizer(cfg, name, backend, device, precision)
    engine = stylizer.engine
    inputs = np.stack([stylizer.preprocess(f) for f in frames])
    result = {"input": list(inputs.shape[1:])}
    batches = batches or cfg["batches"]
    until_each = seconds / (len(batches) + (1 if backend == "torch" else 0))
    for batch in batches:
        x = inputs[np.arange(batch) % len(inputs)]
        until = time.time() + until_each
        result[f"batch {batch}"] = _median_rate(
            lambda x=x: stylizer.infer(x), batch, until, reps=10
        )
    if backend == "torch":
        batch = max(batches)
        x = inputs[np.arange(batch) % len(inputs)]
        result[f"batch {batch}, device-resident"] = _resident_rate(
            stylizer, x, time.time() + until_each
        )
    result["engine"] = _said(explain(engine))
    if _cuda(engine.device):
        import torch

        result["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
    return result


def _resident_rate(stylizer, x: np.ndarray, until: float) -> dict:
    """The network alone on input already on the device (no transfers), timed with CUDA
    events where there is a GPU: the ceiling the engine interface's copies leave room under."""
    import torch

    engine = stylizer.engine
    cond = np.repeat(stylizer.condition, len(x), axis=0)
    with torch.inference_mode():
        images = torch.from_numpy(x).to(engine.device, engine.dtype)
        images = images.contiguous(memory_format=engine.memory_format)
        c = torch.from_numpy(cond).to(engine.device, engine.dtype)
        times = []
        for i in range(40):
            if _cuda(engine.device):
                start, end = (
                    torch.cuda.Event(enable_timing=True),
                    torch.cuda.Event(enable_timing=True),
                )
                start.record()
                engine.module(images, c)
                end.record()
                end.synchronize()
                seconds = start.elapsed_time(end) / 1e3
            else:
                t0 = time.perf_counter()
                engine.module(images, c)
                seconds = time.perf_counter() - t0
            if i >= 2:  # warm-ups
                times.append(seconds)
            if len(times) >= 2 and time.time() > until:
                break
    median = statistics.median(times)
    return {
        "fps": round(len(x) / median, 2),
        "ms_per_call": round(median * 1e3, 2),
        "calls": len(times),
    }


# -- part: precision -----------------------------------------------------------------------
def part_precision(cfg: dict, rec: Recorder) -> None:
    frames = _real_frames(cfg, 2) + _megamind_frames(cfg, 1)
    rec.put("frames", [list(f.shape) for f in frames])
    styles = list(STYLES) + [cfg["picture"]]
    for style in styles:
        label = "picture" if style == cfg["picture"] else style
        rec.attempt(label, lambda s=style: _precision_style(cfg, frames, s), need_s=5)


def _megamind_frames(cfg: dict, count: int) -> list[np.ndarray]:
    """An animated film's frame too (flat colours, hard edges), at the check's size."""
    from restyle.core.media import decode_range, probe

    path = Path(cfg["media"]) / "Megamind.avi"
    if not path.is_file():
        return []
    info = probe(path)
    index = min(60, info.frame_count - 1)
    return [_fit(next(iter(decode_range(path, index, index, info=info))), tuple(cfg["size"]))]


def _precision_style(cfg: dict, frames: list[np.ndarray], style: str) -> dict:
    from restyle.core.engines import explain
    from restyle.core.engines.precision import psnr

    reference = _stylizer(cfg, style, "torch", "cpu", "fp32")
    refs = [reference.infer(reference.preprocess(f)[None]) for f in frames]
    result = {}
    for backend, device, precision in _paths(cfg["device"]) + [("onnx", "cpu", "fp32")]:
        key = f"{backend} {device} {precision}"
        if key in result:
            continue
        try:
            stylizer = _stylizer(cfg, style, backend, device, precision)
            dbs = [
                psnr(stylizer.infer(stylizer.preprocess(f)[None]), r)
                for f, r in zip(frames, refs, strict=True)
            ]
            result[key] = {
                "psnr_db": [_db(d) for d in dbs],
                "worst_db": _db(min(dbs)),
                "engine": _said(explain(stylizer.engine)),
            }
        except Exception as exc:
            result[key] = {"error": _error_text(exc)}
    return result


# -- part: e2e -----------------------------------------------------------------------------
def part_e2e(cfg: dict, rec: Recorder) -> None:
    """Whole jobs on the clip. Each run may use its share of the part's time; one still going
    then is cancelled, and its rate over the frames it finished is kept (marked cancelled)."""
    device, batch = cfg["device"], max(cfg["batches"])
    torch = dict(backend="torch", device=device)
    runs = [
        ("torch (auto precision), batch 4, H.264", dict(torch, batch_size=4, format="h264")),
        (
            f"torch (auto precision), batch {batch}, H.264",
            dict(torch, batch_size=batch, format="h264"),
        ),
        ("torch (auto precision), batch 4, PNG sequence", dict(torch, batch_size=4, format="png")),
        (
            "onnx cpu fp32, H.264 (CPU baseline, <= 16 frames)",
            dict(backend="onnx", device="cpu", format="h264", frames=16),
        ),
        (
            "defaults (auto engine and device, coherence 0.5), H.264, <= 120 frames",
            dict(format="h264", temporal=0.5, frames=120),
        ),
    ]
    warm = dict(torch, batch_size=4, format="h264", frames=9)
    rec.attempt("warm-up", lambda: _job(cfg, "warm", warm, rec.deadline - 3), need_s=10)
    for n, (label, options) in enumerate(runs):
        until = time.time() + 1.5 * rec.left() / (len(runs) - n)
        rec.attempt(
            label,
            lambda o=options, n=n, u=until: _job(cfg, f"run{n}", o, min(u, rec.deadline - 3)),
            need_s=10,
        )


def _job(cfg: dict, name: str, options: dict, cancel_at: float) -> dict:
    import threading

    from restyle.core.job import StyleJob
    from restyle.core.progress import CancelToken

    options = dict(options)
    frames = min(options.pop("frames", cfg["frames"]), cfg["frames"])
    fmt = options.pop("format")
    out = Path(cfg["work"]) / "e2e" / (f"{name}.mp4" if fmt == "h264" else name)
    options.setdefault("temporal", 0.0)
    job = StyleJob(
        Path(cfg["work"]) / "clip.mp4",
        out,
        STYLES[0],
        end=frames - 1,
        format=fmt,
        library=_library(cfg),
        overwrite=True,
        **options,
    )
    token = CancelToken()
    timer = threading.Timer(max(0.0, cancel_at - time.time()), token.cancel)
    timer.start()
    seen = {"done": 0, "at": time.perf_counter(), "start": time.perf_counter()}

    def progress(p) -> None:  # a cancelled movie keeps no frames: count them as they go
        seen.update(done=p.done, at=time.perf_counter())

    try:
        result = job.run(progress=progress, cancel=token)
    finally:
        timer.cancel()
    shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink(missing_ok=True)
    if result.cancelled:  # the rate over the frames styled before the cancel
        seconds = seen["at"] - seen["start"]
        return {
            "frames": seen["done"],
            "seconds": round(seconds, 2),
            "fps": round(seen["done"] / seconds, 2) if seconds > 0 else 0.0,
            "cancelled": f"at its share of the part's time, after {result.seconds:.1f} s",
            "engine": _said(result.engine_marked),
        }
    return {
        "frames": result.written,
        "seconds": round(result.seconds, 2),
        "fps": round(result.fps, 2),
        "cancelled": False,
        "engine": _said(result.engine_marked),
        "warnings": result.warnings,
    }


# -- part: train ---------------------------------------------------------------------------
def part_train(cfg: dict, rec: Recorder) -> None:
    """Few-shot training on each look in turn, each to the stopping rule or the budget."""
    from restyle.core.media import decode_range

    source_dir = Path(cfg["work"]) / "train" / "source"
    sources = list(decode_range(source_dir, 0, cfg["train_frames"] - 1))
    _keep_figures(rec)
    for look in cfg["train_looks"]:
        rec.prefix = f"{look} / "
        if rec.left() < cfg["train_budget"] * 0.5:
            rec.put("skipped", "less than half the training budget left")
            continue
        rec.attempt("run", lambda look=look: _train_look(cfg, rec, source_dir, sources, look))
    rec.prefix = ""


def _train_look(cfg: dict, rec: Recorder, source_dir: Path, sources: list, look: str) -> str:
    from restyle.core.styles import StyleLibrary
    from restyle.core.train.keyframes import train_from_keyframes
    from restyle.core.train.trainer import TrainConfig

    sys.path.insert(0, str(HERE))
    from bench_keyframes import LOOKS, write_png

    truth = [LOOKS[look](f) for f in sources]
    n = len(sources)
    keys = [n // 6, n * 5 // 6]
    case = Path(cfg["work"]) / "train" / look
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir(parents=True)
    painted = {}
    for k in keys:
        painted[k] = case / f"key{k}.png"
        write_png(painted[k], truth[k])
    rec.put(
        "setup",
        {
            "frames": n,
            "size": list(sources[0].shape[1::-1]),
            "keyframes": keys,
            "look": look,
            "cpu_reference": CPU_REFERENCE,
        },
    )
    library = StyleLibrary(case / "library", bundled=None)
    config = TrainConfig(
        time_budget_s=cfg["train_budget"], clock="wall", device=cfg["device"], seed=0
    )
    t0 = time.perf_counter()
    folder = train_from_keyframes(
        source_dir, painted, "gpucheck", library, config=config, progress=_progress_keeper(rec)
    )
    wall = time.perf_counter() - t0
    rec.put("written", {"wall_s_train_and_write": round(wall, 2), "style": str(folder.name)})
    rec.attempt(
        "quality",
        lambda: _held_out(cfg, library, case, source_dir, sources, truth, keys),
        need_s=5,
    )
    return "done"


def _keep_figures(rec: Recorder) -> None:
    """Record the trainer's figures the moment it returns, before the style is exported and
    written (the same path as `restyle train`), so a failure there still leaves them."""
    from restyle.core.train import trainer

    train_style = trainer.train_style

    def recorded(*args, **kwargs):
        result = train_style(*args, **kwargs)
        rec.put("figures", result.figures.as_dict())
        return result

    trainer.train_style = recorded


def _progress_keeper(rec: Recorder):
    """Keeps the latest training progress, so a run stopped or failing later still says how
    far it got."""
    last = [0.0]

    def keep(p) -> None:
        if time.time() - last[0] >= 2.0 or p.done >= p.total:
            last[0] = time.time()
            rec.put(
                "progress",
                {"elapsed_s": p.done, "iterations_per_s": round(p.fps, 1), "state": p.message},
            )

    return keep


def _held_out(cfg, library, case, source_dir, sources, truth, keys) -> dict:
    from restyle.core.job import StyleJob
    from restyle.core.media import decode_range
    from restyle.core.metrics import psnr, ssim

    out = case / "styled"
    result = StyleJob(
        source_dir,
        out,
        "gpucheck",
        temporal=0.0,
        backend="onnx",
        device="cpu",
        library=library,
        overwrite=True,
    ).run()
    styled = list(decode_range(out, 0, len(sources) - 1))
    held = [i for i in range(len(sources)) if i not in keys]
    return {
        "keyframe_psnr_db": round(statistics.fmean(psnr(styled[k], truth[k]) for k in keys), 2),
        "held_out_psnr_db": round(statistics.fmean(psnr(styled[i], truth[i]) for i in held), 2),
        "held_out_worst_db": round(min(psnr(styled[i], truth[i]) for i in held), 2),
        "held_out_ssim": round(statistics.fmean(ssim(styled[i], truth[i]) for i in held), 3),
        "identity_psnr_db": round(statistics.fmean(psnr(sources[i], truth[i]) for i in held), 2),
        "styled_by": _said(result.engine_marked),
    }


PART_FUNCTIONS = {
    "env": part_env,
    "media": part_media,
    "bare": part_bare,
    "precision": part_precision,
    "e2e": part_e2e,
    "train": part_train,
}


# -- the orchestrator ----------------------------------------------------------------------
def run_part(name: str, cfg: dict, result_file: Path, deadline: float) -> None:
    """In the part's own process: run it, saving as it goes; a failure is the exit code."""
    rec = Recorder(result_file, deadline)
    rec.save()
    if _cuda(cfg["device"]) and importlib.util.find_spec("torch") is not None:
        import torch

        torch.backends.cudnn.benchmark = True
    try:
        PART_FUNCTIONS[name](cfg, rec)
    except BaseException as exc:  # kept in the part's record; the traceback goes to the log
        rec.put("error", _error_text(exc))
        raise


def launch(name: str, cfg: dict, timeout: float, log) -> dict:
    """One part in a child process with a hard limit; whatever happens, a record comes back."""
    result_file = Path(cfg["work"]) / f"part-{name}.json"
    result_file.unlink(missing_ok=True)
    deadline = time.time() + timeout - min(10.0, timeout * 0.15)  # room to save and exit
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--run-part",
        name,
        "--config",
        json.dumps(cfg),
        "--result",
        str(result_file),
        "--deadline",
        str(deadline),
    ]
    t0 = time.perf_counter()
    log.write(f"\n===== part {name} (limit {timeout:.0f} s) =====\n")
    log.flush()
    status, error = "ok", ""
    try:
        env = {**os.environ, "RESTYLE_HOME": cfg["home"]}  # the private library, for this part
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, env=env)
        if proc.returncode != 0:
            status, error = "failed", f"exit code {proc.returncode}: {_last_error(cfg, name)}"
    except subprocess.TimeoutExpired:
        status, error = "timeout", f"stopped at its {timeout:.0f} s limit (what it had is kept)"
    data = {}
    try:
        data = json.loads(result_file.read_text())
    except (OSError, ValueError):
        pass
    if status == "failed" and isinstance(data.get("error"), str):
        error = f"exit code {proc.returncode}: {data['error']}"
    if status == "ok" and _has_errors(data):
        status = "partial"
    record = {
        "status": status,
        "seconds": round(time.perf_counter() - t0, 1),
        "limit_s": round(timeout),
        "data": data,
    }
    if error:
        record["error"] = error
    return record


def _last_error(cfg: dict, name: str) -> str:
    log = Path(cfg["out"]) / "gpu_check.log"
    try:
        lines = (
            log.read_text(errors="replace").split(f"===== part {name} ")[-1].strip().splitlines()
        )
    except OSError:
        return "no log"
    errors = [line for line in lines if re.match(r"[\w.]*(Error|Exception|Exit|Interrupt)\b", line)]
    return " ".join((errors[-1] if errors else lines[-1] if lines else "no output").split())[:300]


def _has_errors(data: Any) -> bool:
    if isinstance(data, dict):
        return bool({"error", "skipped"} & data.keys()) or any(
            _has_errors(v) for v in data.values()
        )
    return False


def summary_markdown(report: dict) -> str:
    lines = ["# Restyle GPU check", ""]
    meta = report["meta"]
    lines.append(
        f"Device asked for: `{meta['device']}`; started {meta['started']}; total {meta['seconds']:.0f} s of a {meta['budget_s']:.0f} s budget."
    )
    env = report["parts"].get("env", {}).get("data", {})
    torch_info = env.get("torch", {})
    if isinstance(torch_info, dict):
        lines.append(
            f"torch {torch_info.get('version')} (CUDA {torch_info.get('cuda')}), GPU: {torch_info.get('device', 'none')}; {env.get('cpu_cores')} CPU cores; nvidia-smi: {env.get('nvidia_smi', '-')}"
        )
    lines += ["", "| part | status | seconds (limit) | note |", "|---|---|---|---|"]
    for name, part in report["parts"].items():
        lines.append(
            f"| {name} | {part['status']} | {part['seconds']} ({part['limit_s']}) | {part.get('error', '')} |"
        )
    for name, part in report["parts"].items():
        lines += ["", f"## {name}", ""]
        lines += _flatten(part.get("data", {}))
    failures = [(n, p) for n, p in report["parts"].items() if p["status"] != "ok"]
    lines += ["", "## Failures and gaps", ""]
    if not failures:
        lines.append("none")
    for name, part in failures:
        data = {k: v for k, v in part.get("data", {}).items() if k != "error"}  # said above
        errors = _error_lines(data, name)
        lines.append(f"- {name}: {part['status']}; {part.get('error', '')}".rstrip("; "))
        lines += [f"  - {e}" for e in errors]
    return "\n".join(lines) + "\n"


def _flatten(data: Any, prefix: str = "") -> list[str]:
    if not isinstance(data, dict):
        return [f"- {prefix}: {data}"]
    lines = []
    for key, value in data.items():
        label = f"{prefix} / {key}" if prefix else str(key)
        if isinstance(value, dict) and not {"fps", "psnr_db", "error", "skipped"} & value.keys():
            lines += _flatten(value, label)
        else:
            lines.append(f"- {label}: {json.dumps(value, default=_jsonable)}")
    return lines


def _error_lines(data: Any, prefix: str) -> list[str]:
    if not isinstance(data, dict):
        return []
    found = []
    for key, value in data.items():
        if key in ("error", "skipped"):
            found.append(f"{prefix}: {key}: {value}")
        else:
            found += _error_lines(value, f"{prefix} / {key}")
    return found


def prepare_home(cfg: dict, builtin: Path | None) -> None:
    """A private style library; the carried built-ins go in it (no conversion on the device)."""
    home = Path(cfg["home"])
    home.mkdir(parents=True, exist_ok=True)
    if builtin is not None and builtin.is_dir():
        target = home / "builtin"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(builtin, target)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "gpu-check")
    parser.add_argument("--device", default="cuda", help="cuda (the check) or cpu (a dry run)")
    parser.add_argument("--media", type=Path, default=ROOT / ".gpucheck" / "media")
    parser.add_argument("--builtin", type=Path, default=None, help="converted built-ins to use")
    parser.add_argument("--clip-source", default="vtest.mp4", help="real footage in --media")
    parser.add_argument(
        "--picture", default=None, help="style picture (default: media/starry_night.jpg)"
    )
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--frames", type=int, default=240, help="frames of the end-to-end clip")
    parser.add_argument("--batches", default="1,4,8")
    parser.add_argument("--train-size", default="640x360")
    parser.add_argument("--train-frames", type=int, default=48)
    parser.add_argument("--train-budget", type=float, default=60.0, help="s of training (wall)")
    parser.add_argument("--train-looks", default=",".join(TRAIN_LOOKS), help="looks to train")
    parser.add_argument("--budget", type=float, default=360.0, help="s for all parts together")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--run-part", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def part_limits(
    parts: list[str], budget: float, train_budget: float, looks: int = 1
) -> dict[str, float]:
    """Each part's hard limit: its share of the budget; training gets its budget per look,
    plus room."""
    limits = {p: SHARES[p] * budget for p in parts}
    if "train" in limits:
        limits["train"] = max(limits["train"], looks * (train_budget * 1.15 + 15) + 15)
    return limits


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.run_part:
        run_part(args.run_part, json.loads(args.config), args.result, args.deadline)
        return 0
    parts = [p for p in args.parts.split(",") if p]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        sys.exit(f"bench_gpu: unknown part {unknown[0]!r} (parts: {', '.join(PARTS)})")
    if "media" not in parts and set(parts) & {"bare", "precision", "e2e", "train"}:
        parts.insert(0, "media")  # they run on the clip and frames it makes
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="restyle-gpu-"))
    cfg = {
        "device": args.device,
        "out": str(args.out),
        "work": str(work),
        "home": str(work / "home"),
        "media": str(args.media),
        "clip_source": args.clip_source,
        "picture": str(args.picture or args.media / "starry_night.jpg"),
        "size": list(_size(args.size)),
        "frames": args.frames,
        "batches": [int(b) for b in args.batches.split(",")],
        "train_size": list(_size(args.train_size)),
        "train_frames": args.train_frames,
        "train_budget": args.train_budget,
        "train_looks": [look for look in args.train_looks.split(",") if look],
    }
    prepare_home(cfg, args.builtin)
    started = time.time()
    report = {
        "meta": {
            "device": args.device,
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)),
            "budget_s": args.budget,
            "config": cfg,
        },
        "parts": {},
    }
    limits = part_limits(parts, args.budget, args.train_budget, len(cfg["train_looks"]))
    json_path, md_path = args.out / "gpu_check.json", args.out / "gpu_check.md"
    try:
        with open(args.out / "gpu_check.log", "a", encoding="utf-8") as log:
            for name in parts:
                limit = min(limits[name], sum(limits.values()) - (time.time() - started))
                if limit < 10:
                    report["parts"][name] = {
                        "status": "skipped",
                        "seconds": 0,
                        "limit_s": 0,
                        "error": "the total budget was spent",
                        "data": {},
                    }
                else:
                    report["parts"][name] = launch(name, cfg, limit, log)
                report["meta"]["seconds"] = time.time() - started
                json_path.write_text(json.dumps(report, indent=1, default=_jsonable))
                md_path.write_text(summary_markdown(report))
                print(
                    f"bench_gpu: {name}: {report['parts'][name]['status']} in {report['parts'][name]['seconds']} s",
                    flush=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(md_path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
