"""The steady variant of the built-in styles: bilinear instead of nearest upsampling.

The 26-style network draws its texture on the grid of its two nearest-neighbour 2x
upsamplings (and its two stride-2 layers): content moving by 1-3 px gets new texture
(``bench_temporal.py --equivariance``: 15-16 dB against 40 dB for 4 px), so footage with
independent motion flickers in a way no blend of past frames can steady. The same weights
with bilinear upsampling draw texture that follows sub-grid motion much better (22-24 dB at
1-3 px) and flicker far less frame by frame, at the price of a different look (README:
median 26 dB, worst 17 dB against the original output): so it is opt-in per job
(``--steady``), never a silent default. A fine-tune for shift equivariance was measured and
dropped (README).

``restyle setup --steady`` exports it beside the built-ins (seconds; no training): its own
ONNX file, and a small record naming the digest of the source weights. The torch engine
reads the source weights themselves. When the built-ins are converted again (other weights),
the record no longer matches and the variant is not used: the plain network runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..models.registry import ARCHS
from .engines.base import ModelFiles
from .errors import RestyleError

STEADY_NAME = "multistyle26-steady"
SOURCE_NAME = "multistyle26"
CONFIG = {"upsample": "bilinear"}


@functools.lru_cache(maxsize=8)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def file_digest(path: Path) -> str:
    stat = Path(path).stat()
    return _digest(str(path), stat.st_mtime_ns, stat.st_size)


def _record_path(folder: Path) -> Path:
    return Path(folder) / f"{STEADY_NAME}.json"


def steady_files(library) -> ModelFiles | None:
    """The steady variant when it was made from the library's current built-in weights;
    None when missing, incomplete or stale (then the plain network runs)."""
    source = library.builtin_file(SOURCE_NAME, ".safetensors")
    record, onnx = _record_path(library.builtin_dir), library.builtin_dir / f"{STEADY_NAME}.onnx"
    if source is None or not (record.is_file() and onnx.is_file()):
        return None
    try:
        meta = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("source") != file_digest(source) or meta.get("onnx") != file_digest(onnx):
        return None
    return ModelFiles(ARCHS[SOURCE_NAME], onnx, source, dict(meta.get("arch_config", CONFIG)))


def steady_key(library) -> str:
    """What a job's settings key records of the variant: its ONNX file's digest, or 'plain'."""
    files = steady_files(library)
    return file_digest(files.onnx) if files is not None and files.onnx else "plain"


def make_steady(library, log: Callable[[str], None] = lambda _m: None) -> Path:
    """Export the steady variant into the library's built-in folder (the record last, so an
    interrupted export leaves no current variant). Needs torch."""
    import torch
    from safetensors.torch import load_file

    from ..models.export import export_onnx

    source = library.builtin_file(SOURCE_NAME, ".safetensors")
    if source is None:
        raise RestyleError("the built-in styles are not converted yet: run 'restyle setup'")
    folder = library.builtin_dir
    folder.mkdir(parents=True, exist_ok=True)
    _record_path(folder).unlink(missing_ok=True)
    log("exporting the steady variant (bilinear upsampling)")
    spec = ARCHS[SOURCE_NAME]
    module = spec.build(**CONFIG)
    module.load_state_dict(load_file(str(source)))
    inputs, outputs, axes = spec.onnx_io()
    example = (torch.rand(1, 3, 64, 64), torch.rand(1, spec.condition_size))
    onnx = export_onnx(module, example, folder / f"{STEADY_NAME}.onnx", inputs, outputs, axes)
    record = {"source": file_digest(source), "onnx": file_digest(onnx), "arch_config": CONFIG}
    fd, tmp = tempfile.mkstemp(suffix=".json.part", dir=folder)
    with os.fdopen(fd, "w") as out:
        json.dump(record, out, indent=1)
    os.replace(tmp, _record_path(folder))
    return onnx
