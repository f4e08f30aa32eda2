"""ONNX Runtime engine: needs only onnxruntime and numpy, the lightest way to run a style."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...models.registry import ArchSpec
from ..errors import RestyleError
from .cpu import cpu_threads

# Preferred order; each maps the user's device word to an execution provider.
PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "dml": "DmlExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
AUTO_ORDER = ("cuda", "coreml", "dml", "cpu")  # TensorRT only when asked: long first build


def available_devices() -> list[str]:
    import onnxruntime as ort

    have = set(ort.get_available_providers())
    return [word for word, provider in PROVIDERS.items() if provider in have]


def providers_for(device: str) -> list[str | tuple[str, dict]]:
    """Execution providers for a device word: auto, cpu, cuda, cuda:N, tensorrt, coreml, dml."""
    word, _, index = device.partition(":")
    available = available_devices()
    if word == "auto":
        word = next(w for w in AUTO_ORDER if w in available)
    if word not in PROVIDERS:
        raise RestyleError(f"unknown device '{device}': use auto, {', '.join(PROVIDERS)}")
    if word not in available:
        hint = {
            "cuda": "install onnxruntime-gpu instead of onnxruntime (PyPI)",
            "tensorrt": "install onnxruntime-gpu and TensorRT",
            "dml": "install onnxruntime-directml (Windows)",
            "coreml": "use a macOS build of onnxruntime",
        }.get(word, "")
        raise RestyleError(
            f"device '{device}' is not available in this onnxruntime "
            f"(available: {', '.join(available)}){'; ' + hint if hint else ''}"
        )
    options: dict = {"device_id": int(index)} if index and word in ("cuda", "tensorrt") else {}
    chosen: list = [(PROVIDERS[word], options) if options else PROVIDERS[word]]
    if word == "tensorrt":
        chosen.append(("CUDAExecutionProvider", options) if options else "CUDAExecutionProvider")
    if word != "cpu":
        chosen.append("CPUExecutionProvider")
    return chosen


class OnnxEngine:
    """One ONNX Runtime session, tuned for streaming frames of a fixed size."""

    backend = "onnx"

    def __init__(
        self, path: Path, arch: ArchSpec, device: str = "auto", threads: int | None = None
    ) -> None:
        import onnxruntime as ort

        if not Path(path).is_file():
            raise RestyleError(f"model file not found: {path}")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.intra_op_num_threads = threads or cpu_threads()
        opts.inter_op_num_threads = 1
        # Spinning threads would steal the cores that decode and encode run on.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        providers = providers_for(device)
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise RestyleError(f"could not load model {Path(path).name}: {exc}") from exc
        wanted = providers[0] if isinstance(providers[0], str) else providers[0][0]
        active = self.session.get_providers()[0]
        if active != wanted:
            raise RestyleError(
                f"onnxruntime could not start {wanted} (it fell back to {active}); "
                "check the GPU driver and CUDA/cuDNN libraries, or use --device cpu"
            )
        self.arch = arch
        self.device = next(w for w, p in PROVIDERS.items() if p == active)
        self.path = Path(path)

    def run(self, images: np.ndarray, condition: np.ndarray | None = None) -> np.ndarray:
        feeds = {self.arch.input_name: np.ascontiguousarray(images, dtype=np.float32)}
        if self.arch.condition:
            if condition is None:
                raise ValueError(f"{self.arch.name} needs a {self.arch.condition} input")
            feeds[self.arch.condition] = np.ascontiguousarray(condition, dtype=np.float32)
        return self.session.run(None, feeds)[0]
