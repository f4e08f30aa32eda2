"""The steady variant of the built-in styles: made on request, found only while it is current.

``restyle setup --steady FOOTAGE...`` fine-tunes the 26-style network for shift equivariance
(``models/steady.py``) on frames of the given footage and writes ``multistyle26-steady``
(safetensors for torch, ONNX for ONNX Runtime) and a small JSON record beside the built-ins.
The record names the digest of the source weights it was made from: when the built-ins are
converted again (other weights), the variant is stale and is not used; the plain network
runs instead. Coherent jobs (temporal > 0) on built-in styles use the variant when it is
current (``StyleSettings.steady``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..models.registry import ARCHS
from .engines.base import ModelFiles
from .errors import RestyleError

STEADY_NAME = "multistyle26-steady"
SOURCE_NAME = "multistyle26"
FRAMES_PER_FILE = 12
FRAME_HEIGHT = 360


@functools.lru_cache(maxsize=8)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def file_digest(path: Path) -> str:
    stat = Path(path).stat()
    return _digest(str(path), stat.st_mtime_ns, stat.st_size)


def _record_path(folder: Path) -> Path:
    return Path(folder) / f"{STEADY_NAME}.json"


def steady_files(library) -> ModelFiles | None:
    """The steady variant's files when they were made from the library's current built-in
    weights; None when missing, incomplete or stale (then the plain network runs)."""
    source = library.builtin_file(SOURCE_NAME, ".safetensors")
    folder = library.builtin_dir
    record = _record_path(folder)
    onnx, weights = folder / f"{STEADY_NAME}.onnx", folder / f"{STEADY_NAME}.safetensors"
    if source is None or not (record.is_file() and onnx.is_file() and weights.is_file()):
        return None
    try:
        meta = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("source") != file_digest(source) or meta.get("weights") != file_digest(weights):
        return None
    return ModelFiles(ARCHS[SOURCE_NAME], onnx, weights, dict(meta.get("arch_config", {})))


def footage_frames(paths: Sequence[Path], height: int = FRAME_HEIGHT) -> list[np.ndarray]:
    """Up to FRAMES_PER_FILE frames spread over each movie, sequence or picture, resized to
    ``height`` (uint8 RGB)."""
    import cv2

    from .media import decode_range, probe

    frames = []
    for path in paths:
        info = probe(path)
        picks = np.unique(np.linspace(0, info.frame_count - 1, FRAMES_PER_FILE).astype(int))
        for index in picks:
            frame = next(iter(decode_range(path, int(index), int(index))))[..., :3]
            if frame.dtype == np.uint16:
                frame = (frame // 257).astype(np.uint8)
            h, w = frame.shape[:2]
            width = max(1, round(w * height / h))
            interp = cv2.INTER_AREA if height < h else cv2.INTER_CUBIC
            frames.append(
                np.ascontiguousarray(cv2.resize(frame, (width, height), interpolation=interp))
            )
    return frames


def make_steady(
    library,
    footage: Sequence[str | os.PathLike],
    settings=None,
    log: Callable[[str], None] = lambda _m: None,
) -> Path:
    """Fine-tune the built-in network on ``footage`` and write the steady variant into the
    library's built-in folder (record last, so a crash leaves no current variant)."""
    from safetensors.torch import load_file, save_file

    from ..models.export import export_onnx
    from ..models.steady import SteadySettings, finetune

    settings = settings or SteadySettings()
    paths = [Path(p) for p in footage]
    missing = [str(p) for p in paths if not p.exists()]
    if not paths or missing:
        raise RestyleError(f"no such footage: {', '.join(missing) or '(none given)'}")
    source = library.builtin_file(SOURCE_NAME, ".safetensors")
    if source is None:
        raise RestyleError("the built-in styles are not converted yet: run 'restyle setup'")
    frames = footage_frames(paths)
    if any(min(f.shape[:2]) < settings.patch + 4 for f in frames):
        raise RestyleError(f"footage frames must be at least {settings.patch + 4} px on a side")
    log(f"fine-tuning on {len(frames)} frames for {settings.steps} steps")
    state = finetune(load_file(str(source)), frames, settings, log)
    folder = library.builtin_dir
    folder.mkdir(parents=True, exist_ok=True)
    _record_path(folder).unlink(missing_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".steady-", dir=folder))
    try:
        _write_variant(work, state, settings, export_onnx, save_file)
        for suffix in (".onnx", ".safetensors"):
            os.replace(work / f"{STEADY_NAME}{suffix}", folder / f"{STEADY_NAME}{suffix}")
        record = {
            "source": file_digest(source),
            "weights": file_digest(folder / f"{STEADY_NAME}.safetensors"),
            "settings": settings.tag(),
            "frames": hashlib.sha256(b"".join(f.tobytes() for f in frames)).hexdigest()[:16],
            "arch_config": {"upsample": settings.upsample},
        }
        _record_path(work).write_text(json.dumps(record, indent=1))
        os.replace(_record_path(work), _record_path(folder))
    finally:
        for leftover in work.glob("*"):
            leftover.unlink()
        work.rmdir()
    return folder


def _write_variant(work: Path, state, settings, export_onnx, save_file) -> None:
    import torch

    spec = ARCHS[SOURCE_NAME]
    module = spec.build(upsample=settings.upsample)
    module.load_state_dict(state)
    save_file(
        {k: v.contiguous() for k, v in state.items()}, str(work / f"{STEADY_NAME}.safetensors")
    )
    inputs, outputs, axes = spec.onnx_io()
    example = (torch.rand(1, 3, 64, 64), torch.rand(1, spec.condition_size))
    export_onnx(module, example, work / f"{STEADY_NAME}.onnx", inputs, outputs, axes)
