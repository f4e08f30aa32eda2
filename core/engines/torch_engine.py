"""PyTorch engine: cpu, cuda or mps, half precision where the network allows it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from ...models.registry import ArchSpec
from ..errors import RestyleError, remedy, setting
from .base import Closing
from .choices import TORCH_DEVICES  # the trainer and callers import it from here too
from .cpu import cpu_bf16
from .precision import MachineCheck, Settles, keep_miss, machine_facts


def pick_device(device: str) -> str:
    """The one torch device picker: the torch engine and keyframe training both use it."""
    import torch

    word, _, index = device.partition(":")
    if word == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if word == "cuda" and not torch.cuda.is_available():
        raise RestyleError(f"CUDA could not start in PyTorch: {why_no_torch_cuda()}")
    if word == "cuda" and index:
        _check_cuda_index(device, index, torch.cuda.device_count())
    if word == "mps" and not torch.backends.mps.is_available():
        raise RestyleError(f"device 'mps' cannot be used: {why_no_mps()}")
    if word not in TORCH_DEVICES:
        raise RestyleError(f"unknown torch device '{device}': use auto, cpu, cuda[:N] or mps")
    return device


def _check_cuda_index(device: str, index: str, count: int) -> None:
    """``cuda:N`` names a GPU that exists (torch's own error, 'invalid device ordinal', comes
    only at the first copy and names no fix)."""
    if not index.isdigit() or int(index) >= count:
        have = ", ".join(f"cuda:{i}" for i in range(count))
        raise RestyleError(f"device '{device}' does not exist: this machine has {have}")


def why_no_mps() -> str:
    """Why MPS (Apple's GPU) is unavailable, what this machine has and what to use (its
    settings marked: the RestyleError it goes into says them in each front end's words)."""
    import torch

    if sys.platform != "darwin":
        reason = "MPS is the GPU of Apple's Macs and runs only on macOS"
    elif not torch.backends.mps.is_built():
        reason = "this PyTorch was built without MPS"
    else:
        reason = "macOS found no GPU PyTorch can use (MPS needs macOS 12.3 or later)"
    cpu, auto = setting("device", "cpu"), setting("device", "auto")
    cudas = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if not torch.cuda.is_available() or not cudas:
        return f"{reason}; this machine has cpu only: use {cpu} or {auto}"
    have = ", ".join(["cpu", *cudas])
    return f"{reason}; this machine has {have}: use {setting('device', 'cuda')}, {cpu} or {auto}"


def why_no_torch_cuda() -> str:
    """Why torch.cuda is unavailable: a CPU-only build, no driver, or no device. The fix is
    marked (``errors.remedy``) for each front end to word (``errors.say``)."""
    import torch

    if torch.version.cuda is None:
        fix = remedy("gpu_support")
        return f"this PyTorch is a CPU-only build and this onnxruntime has no CUDA: {fix}"
    from .gpu import nvidia_driver_present

    if not nvidia_driver_present():
        return "no NVIDIA driver found"
    return f"the driver found no usable GPU for CUDA {torch.version.cuda} (driver too old?)"


def auto_device_note(picked: str) -> str:
    """Said when auto runs torch on the CPU although an NVIDIA driver is present; its fix
    marked as an error's is (``errors.remedy``), for the front end that shows the note."""
    from .gpu import nvidia_driver_present

    if picked == "cpu" and nvidia_driver_present():
        return f"CUDA not usable: {why_no_torch_cuda()}; running on CPU"
    return ""


PRECISIONS = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def auto_precision(
    device: str, half_ok: bool, arch: ArchSpec | None = None, config: dict | None = None
) -> str:
    """fp16 on CUDA; bf16 on CPUs with native bf16 (AVX-512 BF16, AMX) by the one rule
    (``cpu.cpu_bf16``, the module built from the weights: ``arch``'s facts where given, with
    the style's ``config``: a span-guided style runs fp32); else fp32.

    Measured on a 2-core AVX-512 BF16 CPU at 1280x720: the 26-style network took 293 ms a
    frame in bf16 against 557 ms in fp32 (ONNX Runtime fp32: ~380 ms), mean error 1/255.
    """
    import torch

    if not half_ok:
        return "fp32"
    if device.startswith("cuda"):
        return "fp16"
    if device == "cpu":
        native = (
            getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
            or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
        )
        if arch is None:
            return "bf16" if native else "fp32"
        return "bf16" if cpu_bf16(arch, config, graph="weights", native=native) else "fp32"
    return "fp32"


def load_state(weights: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    if not Path(weights).is_file():
        raise RestyleError(f"weights file not found: {weights}")
    return load_file(str(weights))


class TorchEngine(Settles, Closing):
    """Runs the torch module in inference mode; fp16 on CUDA when the network allows (its
    reduced precision settled once: ``precision.Settles``)."""

    backend = "torch"
    weights: Path | None = None

    def __init__(
        self,
        arch: ArchSpec,
        weights: Path,
        device: str = "auto",
        precision: str = "auto",
        config: dict[str, Any] | None = None,
    ) -> None:
        import torch

        from ..torch_tuning import tune_cpu_allocator

        tune_cpu_allocator()
        self.arch = arch
        self.weights = Path(weights)
        self.device = pick_device(device)
        self.note = auto_device_note(self.device) if device == "auto" else ""
        if precision == "auto":
            precision = auto_precision(self.device, arch.allows_half(config), arch, config)
        if precision not in PRECISIONS:
            raise RestyleError(
                f"unknown precision '{precision}': use auto, {', '.join(PRECISIONS)}"
            )
        module = arch.build(**(config or {}))
        module.load_state_dict(load_state(weights))
        module.eval()
        # Reduced precision is compared with fp32 at the first batch (this machine's verdict:
        # precision.checked_batch), then kept or dropped (``decided``).
        self._unsettled(precision)
        self._fp32 = None if self.decided else module.to(self.device)
        if not self.decided:
            import copy

            module = copy.deepcopy(module)
        self._use(module, precision)
        if self.device.startswith("cuda"):
            torch.backends.cudnn.benchmark = True

    def _use(self, module: Any, precision: str) -> None:
        import torch

        self.precision = precision
        self.dtype = getattr(torch, PRECISIONS[precision])
        # channels_last lets oneDNN/cuDNN pick their fastest convolution kernels.
        self.memory_format = torch.channels_last if precision != "fp32" else torch.contiguous_format
        self.module = module.to(self.device, dtype=self.dtype, memory_format=self.memory_format)

    def run(self, images: np.ndarray, condition: np.ndarray | None = None) -> np.ndarray:
        import torch

        self._check_open()
        if self.decided is None:
            out = self._run_checked(images, condition)
            if out is not None:
                return out
        y = self._infer(self.module, self.dtype, self.memory_format, images, condition)
        if self.precision != "fp32" and not bool(torch.isfinite(y).all()):
            return self._overflowed(images, condition)
        return _numpy(y)

    def _run_checked(self, images: np.ndarray, condition: np.ndarray | None):
        """The first batch against fp32 (``Settles._settle``); None: already settled."""
        import torch

        return self._settle(
            images,
            condition,
            lambda x, c: self._forward(self.module, self.dtype, self.memory_format, x, c),
            lambda x, c: self._forward(self._fp32, torch.float32, torch.contiguous_format, x, c),
            self._switch,
        )

    def _switch(self, kept: bool) -> None:
        if not kept:
            self._use(self._fp32, "fp32")
            self._fp32 = None
        else:
            self._fp32 = self._fp32.to("cpu")  # kept, off the GPU, for _overflowed

    def _machine(self) -> MachineCheck | None:
        """This machine's verdicts for this network (``verdicts``): its weights' digest."""
        if self.verdicts is None or self.weights is None:
            return None
        import torch

        facts = machine_facts("torch", self.precision, self.device, self.weights, torch.__version__)
        if self.device.startswith("cuda"):
            facts["device"] = f"{self.device} {torch.cuda.get_device_name(self.device)}"
        return MachineCheck(self.verdicts, facts, self.arch.size_multiple)

    def _release(self) -> None:
        """Drops the modules, so their weights leave the device's memory (PyTorch's CUDA
        cache keeps the blocks for the next engine; that is no leak)."""
        self.module = self._fp32 = None

    def _overflowed(self, images: np.ndarray, condition: np.ndarray | None) -> np.ndarray:
        """A later batch overflowed (fp16's range ends at 65504: a bright frame can push a
        norm's variance past it, giving inf, then NaN): that batch and the rest run fp32, and
        this machine's verdict for the network and style is kept as a miss (``verdicts``)."""
        import torch

        machine = self._machine()  # the reduced precision's verdict, before fp32 replaces it
        if machine is not None:  # a miss for good: later runs start in fp32, not overflow again
            keep_miss(machine, condition)
        self.note = _join(
            self.note, f"{self.precision} overflowed on a later batch (inf/NaN): running fp32"
        )
        self._use(self._fp32, "fp32")
        self._fp32, self.decided = None, "fp32"
        return self._forward(self.module, torch.float32, torch.contiguous_format, images, condition)

    def _forward(self, module, dtype, memory_format, images, condition) -> np.ndarray:
        return _numpy(self._infer(module, dtype, memory_format, images, condition))

    def _infer(self, module, dtype, memory_format, images, condition):
        """The network's output tensor, still on the device."""
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
            x = x.to(self.device, dtype=dtype, non_blocking=True)
            args = [x.contiguous(memory_format=memory_format)]
            if self.arch.condition:
                if condition is None:
                    raise ValueError(f"{self.arch.name} needs a {self.arch.condition} input")
                c = torch.from_numpy(np.ascontiguousarray(condition, dtype=np.float32))
                args.append(c.to(self.device, dtype=dtype))
            return module(*args)


def _numpy(y) -> np.ndarray:
    """A device tensor as float32 NCHW numpy (a copy, in the tensor's memory layout)."""
    return y.float().cpu().numpy()


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
