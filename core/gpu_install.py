"""What the preferences' optional installs ("Install GPU Support", "Install OpenVINO")
install, where, and how each checks its result: plain data and commands, no bpy (the add-on
preferences run them; tests check them without a GPU or a download).

Too large to bundle in the zips (CUDA and cuDNN are hundreds of MiB; OpenVINO 2 x 31.8-81.0
MiB for a gain only on CPUs with native bf16), so installed on request, pinned, from PyPI,
into a folder of the extension's own user folder, which goes first on ``sys.path`` (its
``onnxruntime``, the GPU build, wins over the bundled CPU build). Each is checked on one
frame against ONNX Runtime fp32 on the CPU before it is called ready (``PACKS``).
"""

from __future__ import annotations

import importlib
import json
import platform as _platform
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .engines import OPENVINO_FOLDER, OPENVINO_REQUIREMENT
from .engines.cpu import cpu_flags, native_bf16
from .errors import RestyleError

# onnxruntime-gpu 1.31 runs on CUDA 12 + cuDNN 9; NVIDIA publishes both on PyPI. onnx is
# for the fp16 conversion. Versions unverified on a GPU in this project so far.
ONNXRUNTIME_CUDA = (
    "onnxruntime-gpu==1.31.1",
    "onnx==1.23.2",
    "nvidia-cuda-runtime-cu12==12.9.79",
    "nvidia-cublas-cu12==12.9.1.4",
    "nvidia-cudnn-cu12==9.28.0.42",
    "nvidia-cufft-cu12==11.4.1.4",
    "nvidia-curand-cu12==10.3.10.19",
    "nvidia-cuda-nvrtc-cu12==12.9.86",
)
# Platforms (system, machine) where the plan applies; macOS needs nothing (Core ML is in
# the bundled onnxruntime). Intel GPUs run through OpenVINO (device gpu), which is not
# bundled: this plan does not install it, and ``plan_openvino`` only on a bf16 CPU.
CUDA_PLATFORMS = {("Linux", "x86_64"), ("Windows", "AMD64")}
FOLDER_NAME = "gpu-site-packages"
# OpenVINO alone: its other requirements are numpy (Blender's own; a second copy in the
# folder would shadow it) and openvino-telemetry, which Restyle hides as it imports OpenVINO
# (openvino_engine.import_openvino), so it would never run.
OPENVINO = (OPENVINO_REQUIREMENT,)


@dataclass(frozen=True)
class GpuPlan:
    """One install: what, where, the device the check runs on, and which pack it is."""

    title: str
    requirements: tuple[str, ...]
    folder: Path
    device: str
    pack: str = "gpu"

    def pip_command(self, python: str = sys.executable) -> list[str]:
        deps = ["--no-deps"] if PACKS[self.pack].no_deps else []
        return [
            python, "-m", "pip", "install", "--upgrade", "--only-binary=:all:",
            "--no-warn-script-location", *deps, "--target", str(self.folder), *self.requirements,
        ]  # fmt: skip

    def shell_command(self, python: str = sys.executable) -> str:
        """The same install as one line to paste into a terminal (online access off)."""
        return " ".join(f'"{a}"' if " " in a else a for a in self.pip_command(python))


# How an Intel GPU runs, in the no-NVIDIA message; the preferences say Install OpenVINO's
# button instead where they offer it (gpu_support.draw).
INTEL_GPU = (
    "an Intel GPU needs OpenVINO, which is not bundled: install openvino into Blender's "
    "Python, then device gpu"
)


def plan_gpu_support(
    user_folder: Path, system: str = "", machine: str = "", nvidia: bool | None = None
) -> GpuPlan:
    """The plan for this machine, or a RestyleError that says why there is none."""
    system = system or _platform.system()
    machine = machine or _platform.machine()
    if system == "Darwin":
        raise RestyleError("nothing to install on macOS: Core ML is bundled (device coreml)")
    if (system, machine) not in CUDA_PLATFORMS:
        raise RestyleError(f"no GPU build of ONNX Runtime for {system} {machine} on PyPI")
    if nvidia is None:
        from .engines.gpu import nvidia_driver_present

        nvidia = nvidia_driver_present()
    if not nvidia:
        raise RestyleError(f"no NVIDIA driver found: install the driver first ({INTEL_GPU})")
    return GpuPlan(
        "CUDA for ONNX Runtime", ONNXRUNTIME_CUDA, Path(user_folder) / FOLDER_NAME, "cuda"
    )


def plan_openvino(user_folder: Path, flags: frozenset[str] | None = None) -> GpuPlan:
    """The OpenVINO plan where it helps (a CPU with native bf16: ``auto`` inside Blender
    takes OpenVINO only there), or a RestyleError that says why it is not offered."""
    flags = cpu_flags() if flags is None else flags
    if not flags:
        raise RestyleError(
            "OpenVINO is offered only where the CPU reports native bf16, and this system "
            "does not report its CPU's features: the bundled engine runs"
        )
    if not native_bf16(flags):
        raise RestyleError("this CPU has no native bf16: the bundled engine is as fast")
    return GpuPlan(
        "OpenVINO bf16 on the CPU", OPENVINO, Path(user_folder) / PACKS["openvino"].folder, "cpu",
        "openvino",
    )  # fmt: skip


def activate(folder: Path, module: str = "onnxruntime") -> bool:
    """Put an installed folder first on sys.path; only effective before ``module`` loads."""
    folder = Path(folder)
    if not folder.is_dir() or str(folder) in sys.path:
        return False
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    return module not in sys.modules


# Runs in a fresh Python with only the GPU folder added: one 256x256 frame on the device and
# on the CPU, the same network; prints one JSON line.
VERIFY_SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
model, device = sys.argv[2], sys.argv[3]
import numpy as np, onnxruntime as ort
if hasattr(ort, "preload_dlls"):
    try: ort.preload_dlls()
    except Exception: pass
provider = {"cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}[device]
x = np.random.default_rng(0).random((1, 3, 256, 256), np.float32)
def run(providers):
    s = ort.InferenceSession(model, providers=providers)
    feeds = {i.name: (x if len(i.shape) == 4 else np.eye(1, i.shape[1], dtype=np.float32))
             for i in s.get_inputs()}
    return s.get_providers()[0], s.run(None, feeds)[0]
active, out = run([provider, "CPUExecutionProvider"])
if active != provider:
    print(json.dumps({"ok": False, "why": f"{provider} did not start (onnxruntime "
                      f"{ort.__version__} used {active})"})); sys.exit(0)
_, ref = run(["CPUExecutionProvider"])
mse = float(np.mean((np.clip(out, 0, 1) - np.clip(ref, 0, 1)) ** 2))
psnr = 99.0 if mse == 0 else 10 * np.log10(1 / mse)
print(json.dumps({"ok": bool(psnr >= 35), "why": f"{psnr:.1f} dB against the CPU",
                  "onnxruntime": ort.__version__}))
"""


def verify(plan: GpuPlan, model: Path, python: str = sys.executable, timeout: float = 300):
    """(ok, message) after running one frame with what ``plan`` installed (``PACKS``)."""
    if plan.pack != "gpu":
        return PACKS[plan.pack].verify(plan, model)
    cmd = [python, "-c", VERIFY_SCRIPT, str(plan.folder), str(model), plan.device]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"the check did not finish in {timeout:.0f} s"
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return False, f"the check failed: {last}"
    record = json.loads(lines[-1])
    return bool(record["ok"]), record["why"]


def verify_openvino(plan: GpuPlan, model: Path) -> tuple[bool, str]:
    """(ok, message) after one 128x128 frame through OpenVINO's child process, the way
    Blender runs it, with ``plan.folder`` searched first, against ONNX Runtime fp32."""
    import numpy as np

    from ..models.registry import ARCHS
    from .engines.child import ChildEngine
    from .engines.onnx_engine import OnnxEngine
    from .engines.precision import PRECISION_BAR_DB, psnr

    arch = ARCHS["multistyle26"]
    frame = np.random.default_rng(0).random((1, 3, 128, 128), np.float32)
    style = np.eye(1, 26, 3, dtype=np.float32)
    try:
        engine = ChildEngine(model, arch, "cpu", "auto", path_first=(str(plan.folder),))
    except RestyleError as exc:
        return False, str(exc)
    try:
        out = engine.run(frame, style)
    except RestyleError as exc:
        return False, str(exc)
    finally:
        engine.close()
    with OnnxEngine(model, arch, "cpu", precision="fp32") as reference_engine:
        reference = reference_engine.run(frame, style)
    db = psnr(out, reference)
    why = f"OpenVINO {engine.precision} in a child process: {db:.1f} dB against ONNX Runtime fp32"
    return db >= PRECISION_BAR_DB, why


@dataclass(frozen=True)
class Pack:
    """An optional install the preferences offer: its plan, folder, check and wording."""

    title: str
    folder: str
    module: str  # what the folder must provide first (activation is moot once it loaded)
    plan: Callable[[Path], GpuPlan]
    verify: Callable[[GpuPlan, Path], tuple[bool, str]]
    checking: str  # the progress line while the one-frame check runs
    no_deps: bool = False


PACKS = {
    "gpu": Pack(
        "GPU Support", FOLDER_NAME, "onnxruntime", plan_gpu_support, verify,
        "running one frame on the GPU",
    ),
    "openvino": Pack(
        "OpenVINO", OPENVINO_FOLDER, "openvino", plan_openvino, verify_openvino,
        "running one frame through OpenVINO's child process", no_deps=True,
    ),
}  # fmt: skip
