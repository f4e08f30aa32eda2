"""What "Install GPU support" installs, where, and how it checks the result: plain data and
commands, no bpy (the add-on preferences run them; tests check them without a GPU).

Too large to bundle in the zips (CUDA and cuDNN are hundreds of MiB), so installed on
request, pinned, from PyPI, into the extension's own user folder, which goes first on
``sys.path`` so that its ``onnxruntime`` (the GPU build) wins over the bundled CPU build.
Verified by running one frame on the GPU in a fresh Python before it is called ready.
"""

from __future__ import annotations

import json
import platform as _platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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
# the bundled onnxruntime), Intel GPUs run through the bundled OpenVINO.
CUDA_PLATFORMS = {("Linux", "x86_64"), ("Windows", "AMD64")}
FOLDER_NAME = "gpu-site-packages"


@dataclass(frozen=True)
class GpuPlan:
    """One install: what, where, and the device the check runs on."""

    title: str
    requirements: tuple[str, ...]
    folder: Path
    device: str

    def pip_command(self, python: str = sys.executable) -> list[str]:
        return [
            python, "-m", "pip", "install", "--upgrade", "--only-binary=:all:",
            "--no-warn-script-location", "--target", str(self.folder), *self.requirements,
        ]  # fmt: skip

    def shell_command(self, python: str = sys.executable) -> str:
        """The same install as one line to paste into a terminal (online access off)."""
        return " ".join(f'"{a}"' if " " in a else a for a in self.pip_command(python))


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
        raise RestyleError(
            "no NVIDIA driver found: install the driver first (Intel GPUs run through the "
            "bundled OpenVINO, device gpu)"
        )
    return GpuPlan(
        "CUDA for ONNX Runtime", ONNXRUNTIME_CUDA, Path(user_folder) / FOLDER_NAME, "cuda"
    )


def activate(folder: Path) -> bool:
    """Put an installed GPU folder first on sys.path; only effective before onnxruntime loads."""
    folder = Path(folder)
    if not folder.is_dir() or str(folder) in sys.path:
        return False
    sys.path.insert(0, str(folder))
    return "onnxruntime" not in sys.modules


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
    """(ok, message) after running one frame on ``plan.device`` in a fresh Python."""
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
