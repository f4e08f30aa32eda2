"""The person-matte network in the style library: converted once from the mediapipe wheel
(PyPI) into safetensors + our own ONNX export, beside the built-in styles.

Conversion needs torch (for the export) and pip (to fetch the wheel); running a matte needs
only ONNX Runtime, like the styles.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import RestyleError

# network variant → file stem in a builtin folder
MATTE_MODELS = {"general": "selfie_segmentation", "landscape": "selfie_segmentation_landscape"}


def matte_files(library, variant: str, suffix: str = ".onnx") -> Path | None:
    """The converted file for ``variant``, from the user library or the bundled set."""
    return library.builtin_file(MATTE_MODELS[variant], suffix)


def matte_ready(library) -> bool:
    return all(matte_files(library, v) for v in MATTE_MODELS)


def install_matte(
    dest: Path, *, force: bool = False, log: Callable[[str], None] = lambda _m: None
) -> Path:
    """Write both selfie segmentation variants (safetensors + ONNX) into ``dest``."""
    from ..engines import torch_available

    dest = Path(dest)
    if not force and all((dest / f"{stem}.onnx").is_file() for stem in MATTE_MODELS.values()):
        log(f"matte network already installed in {dest}")
        return dest
    if not torch_available():
        raise RestyleError(
            "converting the matte network needs PyTorch once: pip install torch==2.13.0"
        )
    from ..writers import check_writable, give_default_permissions

    check_writable(dest)  # 'cannot write to DIR', not the scratch folder's name
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".matte-", dir=dest))
    try:
        from ...models.selfie_weights import fetch_wheel

        log("fetching mediapipe==0.10.21 from PyPI (its weights only)")
        wheel = fetch_wheel(work / "wheel")
        for variant, stem in MATTE_MODELS.items():
            log(f"converting {stem}")
            _convert(wheel, variant, work / stem)
        give_default_permissions(work)  # mkstemp's and safetensors' 0600
        for stem in MATTE_MODELS.values():
            for suffix in (".safetensors", ".onnx"):
                os.replace(work / f"{stem}{suffix}", dest / f"{stem}{suffix}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def _convert(wheel: Path, variant: str, stem: Path) -> None:
    import torch
    from safetensors.numpy import save_file

    from ...models.export import export_onnx
    from ...models.registry import ARCHS
    from ...models.selfie_weights import VARIANTS, read_tflite, selfie_state

    state = selfie_state(read_tflite(wheel, variant))
    save_file(state, str(stem.with_suffix(".safetensors")))
    spec = ARCHS["selfie_segmentation"]
    module = spec.build()
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    _, height, width = VARIANTS[variant]
    # TensorFlow-style padding is fixed by the input size: only the batch is dynamic.
    axes = {spec.input_name: {0: "n"}, spec.output_name: {0: "n"}}
    example = (torch.rand(1, 3, height, width),)
    export_onnx(
        module, example, stem.with_suffix(".onnx"), [spec.input_name], [spec.output_name], axes
    )
