"""Why a GPU cannot be used: the one place that probes drivers and libraries.

ONNX Runtime falls back to the CPU silently when its CUDA provider cannot start, and torch
only says "not available". Users need the reason ("no NVIDIA driver", "cuDNN 9 missing"), so
the engines ask here, by loading the libraries the providers need, before they fall back.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

# What ONNX Runtime's CUDA provider (1.2x/1.3x: CUDA 12, cuDNN 9) loads, per platform.
CUDA_LIBRARIES = {
    "linux": (
        ("an NVIDIA driver", "libcuda.so.1"),
        ("the CUDA 12 runtime", "libcudart.so.12"),
        ("cuBLAS 12", "libcublasLt.so.12"),
        ("cuDNN 9", "libcudnn.so.9"),
    ),
    "win32": (
        ("an NVIDIA driver", "nvcuda.dll"),
        ("the CUDA 12 runtime", "cudart64_12.dll"),
        ("cuBLAS 12", "cublasLt64_12.dll"),
        ("cuDNN 9", "cudnn64_9.dll"),
    ),
}


def _loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
        return True
    except OSError:
        return False


def missing_cuda_parts(loads: Callable[[str], bool] | None = None, platform: str = "") -> list[str]:
    """What of the CUDA stack cannot be loaded, e.g. ['cuDNN 9 (libcudnn.so.9)']."""
    loads = loads or _loads
    wanted = CUDA_LIBRARIES.get(platform or sys.platform, ())
    return [f"{what} ({lib})" for what, lib in wanted if not loads(lib)]


def nvidia_driver_present(loads: Callable[[str], bool] | None = None, platform: str = "") -> bool:
    loads = loads or _loads
    wanted = CUDA_LIBRARIES.get(platform or sys.platform, ())
    return bool(wanted) and loads(wanted[0][1])


def preload_onnxruntime_cuda() -> None:
    """Let onnxruntime-gpu load the CUDA/cuDNN libraries pip installed beside it (>= 1.21)."""
    try:
        import onnxruntime as ort

        preload = getattr(ort, "preload_dlls", None)
        if preload is not None:
            preload()
    except Exception:  # a best effort: the probe below says what is still missing
        pass


def why_no_cuda(loads: Callable[[str], bool] | None = None, platform: str = "") -> str:
    """A short reason CUDA cannot start, e.g. 'no NVIDIA driver (libcuda.so.1 not found)'."""
    missing = missing_cuda_parts(loads, platform)
    if not missing:
        return "the CUDA libraries load, but the provider did not start (driver too old?)"
    if missing[0].startswith("an NVIDIA driver"):
        return f"no NVIDIA driver ({missing[0].split('(')[1].rstrip(')')} not found)"
    return "missing " + ", ".join(missing)
