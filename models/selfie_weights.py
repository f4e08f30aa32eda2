"""Take MediaPipe's selfie segmentation weights (Apache-2.0) out of the ``mediapipe==0.10.21``
wheel on PyPI and into our ``SelfieSegmentation`` module.

mediapipe is never installed or imported (it pins numpy < 2 and protobuf < 5): its wheel is
fetched once at set-up with ``pip download --no-deps`` (a zip), the two .tflite files are read
out of it, and their fp16 weights are converted to our layout. Set ``RESTYLE_MEDIAPIPE_WHEEL``
to a wheel already on disk to set up offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from ..core.errors import RestyleError
from .tflite import TFLiteModel

WHEEL_REQUIREMENT = "mediapipe==0.10.21"
WHEEL_ENV = "RESTYLE_MEDIAPIPE_WHEEL"
# variant → (file inside the wheel, network input height, width)
VARIANTS = {
    "general": ("mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite", 256, 256),
    "landscape": (
        "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
        144,
        256,
    ),
}


def fetch_wheel(folder: Path) -> Path:
    """The mediapipe wheel: ``$RESTYLE_MEDIAPIPE_WHEEL``, or downloaded into ``folder`` by pip."""
    given = os.environ.get(WHEEL_ENV)
    if given:
        if not Path(given).is_file():
            raise RestyleError(f"{WHEEL_ENV}={given} is not a file")
        return Path(given)
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    command += ["--only-binary=:all:", "--dest", str(folder), WHEEL_REQUIREMENT]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RestyleError(f"cannot run pip to fetch {WHEEL_REQUIREMENT}: {exc}") from None
    wheels = sorted(folder.glob("mediapipe-0.10.21-*.whl"))
    if done.returncode != 0 or not wheels:
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise RestyleError(
            f"cannot download {WHEEL_REQUIREMENT} from PyPI for the matte network "
            f"({reason[0]}); set {WHEEL_ENV} to a downloaded wheel"
        )
    return wheels[0]


def read_tflite(wheel: Path, variant: str) -> TFLiteModel:
    """One of the two selfie segmentation models, read out of the wheel (a zip)."""
    member = VARIANTS[variant][0]
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(member)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise RestyleError(f"{wheel.name} does not hold {member}: {exc}") from None
    return TFLiteModel(data)


def _torch_layout(kind: str, kernel: np.ndarray) -> np.ndarray:
    """TFLite kernels are [out, kh, kw, in] (depthwise: [1, kh, kw, channels])."""
    if kind == "CONV_2D":
        return kernel.transpose(0, 3, 1, 2)
    return kernel.transpose(3, 0, 1, 2)  # depthwise → [C, 1, kh, kw]; transpose → [in, out, ..]


def selfie_state(model: TFLiteModel) -> dict[str, np.ndarray]:
    """State dict for ``SelfieSegmentation``: the graph's convolutions in order, shape-checked."""
    from .selfie_segmentation import SelfieSegmentation

    expected = SelfieSegmentation().state_dict()
    names = [k[: -len(".weight")] for k in expected if k.endswith(".weight")]
    found = model.weighted_ops()
    if len(found) != len(names):
        raise RestyleError(
            f"the selfie segmentation model has {len(found)} convolutions, expected {len(names)}"
        )
    state = {}
    for name, (op, kernel, bias) in zip(names, found, strict=True):
        weight = np.ascontiguousarray(_torch_layout(op.kind, kernel), dtype=np.float32)
        if weight.shape != tuple(expected[f"{name}.weight"].shape):
            raise RestyleError(
                f"{name}: the model's {op.kind} kernel is {kernel.shape}, "
                f"expected {tuple(expected[f'{name}.weight'].shape)}"
            )
        state[f"{name}.weight"] = weight
        state[f"{name}.bias"] = np.ascontiguousarray(bias.reshape(-1), dtype=np.float32)
    return state
