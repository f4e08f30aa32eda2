"""Inference engines behind one interface, and the one place that chooses between them."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import RestyleError, remedy, setting
from .base import Engine, ModelFiles, closed_on_error
from .choices import BACKENDS, words
from .cpu import cpu_bf16, cpu_threads, native_bf16, share_cpu_politely, span_held
from .fast import fast_graph

__all__ = [
    "Engine",
    "EngineChoice",
    "ModelFiles",
    "closed_on_error",
    "create_engine",
    "encode_workers",
    "explain",
    "preferred_batch",
    "torch_available",
]

share_cpu_politely()
# ONNX Runtime (1.29 on, Linux and macOS) reports usage to Microsoft by default and keeps a
# device id in the user's cache folder; Restyle contacts no host the user did not ask for
# (inside Blender, not past its online-access setting either). ONNX Runtime reads this once,
# as it loads, so it is set here, before any engine imports it; a user's own setting wins.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

# Every engine a user can ask for (the one table in choices.py); "auto" is ``choose_backend``.
BACKEND_WORDS = words(BACKENDS)
# Device words only OpenVINO runs on (Intel GPUs and NPUs).
OPENVINO_DEVICES = ("gpu", "npu")
# The OpenVINO Restyle is tested with (requirements/runtime.txt pins the same; the
# preferences' "Install OpenVINO" installs it).
OPENVINO_REQUIREMENT = "openvino==2026.4.1"
# Where that install goes, inside the extension's user folder (gpu_install.PACKS names it).
OPENVINO_FOLDER = "openvino-site-packages"
# The reason's words where fp32 was asked (``choose_backend``, ``create_engine``)
FP32_ASKED = "fp32 asked"
# fp16 asked with no GPU to run it: the CPU engines run fp32 (the run's summary warns)
FP16_NO_GPU = "no GPU for fp16"


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


# Whether the installed PyTorch loads, found once per process: [None] it loads (or the check
# could not tell), [reason] it does not. Set by ``start_torch_load_check`` (another Python:
# the preferences' box) or ``torch_load_error`` (an import here, after Train's failed).
_TORCH_LOAD: list[str | None] = []
_TORCH_TRIED_HERE: list[bool] = []  # torch_load_error imported it in this process
_TORCH_CHECK: list = []  # the check's thread while its answer is wanted (forget_torch_load)
_TORCH_LOCK = threading.Lock()
# How long the check waits for ``import torch`` (seconds): a cold disk takes tens of them.
TORCH_CHECK_TIMEOUT = 180.0
# The check's program: nice (it shares the CPU with Blender), the caller's sys.path, then
# the import; its last line says how it went (torch may print its own lines before).
_TORCH_SAID = "restyle-torch-load: "
_TORCH_CHECK_SCRIPT = f"""
import json, os, sys
if hasattr(os, "nice"):
    os.nice(10)
sys.path[:] = json.loads(sys.argv[1])
try:
    import torch
    said = None
except BaseException as exc:
    said = [type(exc).__name__, str(exc)]
print("\\n{_TORCH_SAID}" + json.dumps(said), flush=True)
"""


def torch_load_error() -> str | None:
    """Why an installed PyTorch does not import, in a few words ('ValueError: libcublasLt.so.*
    [0-9] not found in the system path', its sys.path list cut), or None: it loads, or is not
    installed (``torch_available`` says which). Imports it here, once per process (a broken
    install stays broken until reinstalled: ``forget_torch_load``): only for paths that
    import it anyway (Train's failure said, ``runner.torch_does_not_load``), never a draw;
    those ask ``start_torch_load_check``, which tries it in another Python. A reason that
    check found is kept; its 'it loads' is tried again here, where it failed."""
    if "torch" in sys.modules:
        return None
    with _TORCH_LOCK:
        if _TORCH_LOAD and (_TORCH_LOAD[0] is not None or _TORCH_TRIED_HERE):
            return _TORCH_LOAD[0]
    reason = None
    if torch_available():
        try:
            import torch  # noqa: F401
        except Exception as exc:  # any failure of a broken install: said, not raised
            reason = short_reason(exc)
    with _TORCH_LOCK:
        _TORCH_LOAD[:], _TORCH_TRIED_HERE[:], _TORCH_CHECK[:] = [reason], [True], []
    return reason


def torch_load_check(path: list[str] | None = None, timeout: float = TORCH_CHECK_TIMEOUT):
    """Why the installed PyTorch does not load, tried in another Python (this one's
    executable as ``child.child_python`` finds it, never a Blender binary; isolated:
    ``-I``) whose sys.path is ``path`` (this process's by default, so the extension's torch
    folder and wheels are found as here), or None: it loads, it is not installed, or the
    check could not tell (no interpreter, ``timeout`` passed).
    Nothing is imported here: the import costs seconds and hundreds of MB."""
    import json
    import subprocess

    from .child import child_python

    if not torch_available():
        return None
    try:  # never Blender's own binary (an old Blender's sys.executable): a Preferences draw
        python = child_python()  # would start Blender itself
    except RestyleError:
        return None
    if not os.path.exists(python):
        return None
    path = list(sys.path if path is None else path)
    try:
        done = subprocess.run(
            [python, "-I", "-c", _TORCH_CHECK_SCRIPT, json.dumps(path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # Windows: no console
        )
    except (OSError, subprocess.SubprocessError):
        return None
    said = [line for line in done.stdout.splitlines() if line.startswith(_TORCH_SAID)]
    if said:
        try:
            words = json.loads(said[-1][len(_TORCH_SAID) :])
        except ValueError:
            return None
        return short_words(*words) if words else None
    crash = _CRASHES.get(-done.returncode)  # it would take Blender with it
    if crash:  # not a kill from outside (out of memory, the user): that tells nothing
        return f"importing it crashed Python ({crash})"
    return None  # the check's Python failed before the import: nothing known of torch


# The signals a crashing import dies of, by number where this system has them.
_CRASHES = {
    int(getattr(signal, name)): name
    for name in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGABRT", "SIGFPE")
    if hasattr(signal, name)
}


def start_torch_load_check() -> threading.Thread | None:
    """Find whether the installed PyTorch loads (``torch_load_check``) on a thread, once per
    process, for ``torch_load_known``; returns that thread while it runs (join it to wait),
    or None: the answer is known, torch is imported already, or it is not installed."""
    with _TORCH_LOCK:
        if _TORCH_LOAD or "torch" in sys.modules:
            return None
        if _TORCH_CHECK:
            return _TORCH_CHECK[0] if _TORCH_CHECK[0].is_alive() else None
    if not torch_available():
        return None
    path = list(sys.path)

    def check() -> None:
        reason = torch_load_check(path)
        with _TORCH_LOCK:
            if _TORCH_CHECK and _TORCH_CHECK[0] is thread and not _TORCH_LOAD:
                _TORCH_LOAD.append(reason)  # unless forgotten meanwhile (reinstalled)

    thread = threading.Thread(target=check, name="restyle-torch-load-check", daemon=True)
    with _TORCH_LOCK:
        _TORCH_CHECK[:] = [thread]
    thread.start()
    return thread


def torch_load_checking() -> bool:
    """Whether ``start_torch_load_check``'s check is under way (its answer not known yet)."""
    with _TORCH_LOCK:
        return bool(_TORCH_CHECK and _TORCH_CHECK[0].is_alive() and not _TORCH_LOAD)


def torch_load_known() -> str | None:
    """The reason PyTorch does not load if a check or an import found it, else None:
    nothing imported, nothing started."""
    with _TORCH_LOCK:
        return _TORCH_LOAD[0] if _TORCH_LOAD and "torch" not in sys.modules else None


def forget_torch_load() -> None:
    """Look again at the next check (PyTorch was installed again); a check under way is
    not waited for, its answer dropped."""
    with _TORCH_LOCK:
        _TORCH_LOAD.clear()
        _TORCH_TRIED_HERE.clear()
        _TORCH_CHECK.clear()


def short_reason(exc: BaseException, limit: int = 100) -> str:
    """``exc`` as 'Type: first line', a path list it ends with ([...]) cut, at most ``limit``
    characters."""
    return short_words(type(exc).__name__, str(exc), limit)


def short_words(kind: str, message: str, limit: int = 100) -> str:
    """``short_reason`` of an exception known by its type's name and message."""
    lines = message.strip().splitlines()
    text = re.sub(r"\s*\[\s*['\"].*$", "", lines[0] if lines else "")
    said = f"{kind}: {text}" if text else kind
    return said if len(said) <= limit else said[: limit - 1].rstrip() + "…"


def openvino_available() -> bool:
    return importlib.util.find_spec("openvino") is not None


def openvino_origin() -> str:
    """Where OpenVINO comes from, for the run summary: "from the add-on's install" when
    the preferences installed it (into ``OPENVINO_FOLDER``), else ''."""
    spec = importlib.util.find_spec("openvino")
    origin = Path(spec.origin) if spec is not None and spec.origin else None
    return "from the add-on's install" if origin and OPENVINO_FOLDER in origin.parts else ""


def torch_cuda_usable() -> bool:
    """Whether PyTorch runs on an NVIDIA GPU here. Torch is imported only where a driver
    loads, so machines without one do not pay for the import."""
    from .gpu import nvidia_driver_present

    if not (nvidia_driver_present() and torch_available()):
        return False
    import torch

    return torch.cuda.is_available()


def native_bf16_cpu() -> bool:
    """Kept for callers of the old name: whether the CPU computes bf16 natively."""
    return native_bf16()


@dataclass(frozen=True)
class EngineChoice:
    """Which engine ``auto`` picked, and why (shown in --json and the Blender summary)."""

    backend: str
    reason: str


def inside_blender() -> bool:
    """Whether this process loaded Blender, which is no safe home for OpenVINO: Debian's
    Blender 4.3.2 aborts as OpenVINO starts (its jemalloc malloc; plain Python with jemalloc
    preloaded aborts the same), and Blender's builds serve OpenVINO their own libtbb.so.12
    (on bpy 4.5-5.2 that ran, ``tests/test_engine_child_bpy.py``). So OpenVINO runs in a
    child process there (``child.py``), picked by ``auto`` only where bf16 makes it worth it."""
    return "bpy" in sys.modules


def choose_backend(
    model: ModelFiles, device: str = "auto", precision: str = "auto"
) -> EngineChoice:
    """The fastest engine installed here that can run ``model`` on ``device``.

    A GPU that ONNX Runtime finds comes first, then a CUDA GPU PyTorch finds (a torch
    CUDA build with the CPU onnxruntime). On the CPU: OpenVINO bf16 where installed and the
    CPU has native bf16 (AMX: 4.1x plain ONNX Runtime fp32; AVX512-BF16 EPYC: 1.9x ONNX
    Runtime's fast graph; trained styles too, on their plain graph), or in f32 for a built-in
    without its fast graph (AVX-512: 1.4x); inside Blender, for bf16 only and in a child
    process (see ``inside_blender``).
    Else, where OpenVINO is missing, PyTorch bf16 on CPUs with native bf16 (1.3x ONNX Runtime
    there); else ONNX Runtime fp32, on the fast graph where there is one (``fast.py``: as
    fast as OpenVINO f32, and it keeps more of a shared CPU). Chosen by these measured
    rules, not by timing each machine at first use. ``precision``: the one asked, for the
    reason's words only (fp32 asked is said, not the CPU's bf16 it does not use).
    """
    has_onnx = model.onnx is not None and model.onnx.is_file()
    has_weights = model.weights is not None and model.weights.is_file()
    word = device.partition(":")[0]
    if word in OPENVINO_DEVICES:
        if has_onnx and openvino_available():
            # the line names engine and device (``explain``): what set them, once
            return EngineChoice("openvino", f"set by {setting('device', word)}")
        raise RestyleError(f"device '{word}' needs OpenVINO: pip install {OPENVINO_REQUIREMENT}")
    # Only devices PyTorch has fall back to it: tensorrt, coreml and dml are ONNX Runtime's,
    # and a missing one should say so, not "unknown torch device" (issue 9, item 12).
    if word in ("cuda", "mps") and has_weights and torch_available():
        from .onnx_engine import available_devices

        if word == "mps" or word not in available_devices():
            return EngineChoice("torch", f"this onnxruntime has no '{word}'; PyTorch has")
    if word not in ("auto", "cpu"):
        return EngineChoice("onnx" if has_onnx else "torch", f"set by {setting('device', word)}")
    if word == "auto" and has_onnx:
        from .onnx_engine import available_devices

        gpu = next((d for d in available_devices() if d != "cpu"), None)
        if gpu is not None:
            return EngineChoice("onnx", f"ONNX Runtime found a GPU ({gpu})")
    if word == "auto" and has_weights and torch_cuda_usable():
        return EngineChoice("torch", "PyTorch found a CUDA GPU (this onnxruntime has none)")
    native = native_bf16_cpu()
    # bf16 on some graph of this network (PyTorch's module: any that allows half precision)
    bf16 = cpu_bf16(model.arch, model.config, graph="weights", native=native)
    fast = has_onnx and fast_graph(model.onnx) is not None
    # bf16 on the graph OpenVINO takes: a fast graph, or a plain one the network's descriptor
    # says runs it (trained styles, ArchSpec.plain_bf16: none has a fast graph; a span
    # style's search held in f32); the rule the engine applies (``cpu.cpu_bf16``)
    ready = cpu_bf16(model.arch, model.config, graph="fast" if fast else "plain", native=native)
    half = bf16 or ready  # some engine here runs this network in bf16
    # why fp32: the CPU has no bf16, the network's descriptor keeps it (or this style) in fp32
    # (the style predictor, the matte; span styles but on OpenVINO), OpenVINO is not
    # installed (it said 'no native bf16 on this CPU' there, on a bf16 CPU), or OpenVINO
    # would run it in f32 (no fast graph, below)
    if not native:
        fp32_why = "no native bf16 on this CPU"
    elif not half:
        fp32_why = model.arch.fp32_only(model.config)  # the descriptor's words, one source
    elif precision == "fp32":
        fp32_why = FP32_ASKED  # the CPU's bf16 is not used: said, not credited
    elif precision == "fp16":  # the CPU's bf16 is not what was asked either: not credited
        fp32_why = FP16_NO_GPU
    elif not openvino_available():
        fp32_why = (
            f"the CPU has native bf16, but OpenVINO is not installed: {remedy('openvino')} "
            "to run this in bf16"
        )
    else:
        fp32_why = "no fast graph for this network, which OpenVINO runs in fp32"
    # why the engine bf16 would run on was taken: the CPU's bf16, or fp32 asked (the same
    # engine, its bf16 unused: the line said 'the CPU has native bf16' for fp32 asked)
    asked_other = precision in ("fp32", "fp16")  # fp16 on the CPU: fp32 runs (runnable_precision)
    bf16_why = fp32_why if asked_other and half else "the CPU has native bf16"
    # OpenVINO bf16 on a fast graph (built-ins, picture styles) or a trained style's plain one
    # (its guides' row blur, which had not compiled in bf16 after 30 minutes, became a column
    # blur, dc51b71; the engine rewrites older exports); a built-in's plain graph runs f32
    # (``OpenVinoEngine``), and inside Blender OpenVINO is not taken for it.
    if has_onnx and openvino_available() and inside_blender() and ready:
        # the line says engine, precision, device and child process (``explain``): each
        # once, so here only where OpenVINO came from and why auto took it
        why = "; ".join(filter(None, (openvino_origin(), bf16_why)))
        return EngineChoice("openvino", why)
    if has_onnx and openvino_available() and not inside_blender() and (bf16 or not fast):
        # the line already says engine, precision and device (``explain``): only the why here,
        # and bf16's only where bf16 runs (``ready``): elsewhere OpenVINO runs f32
        if ready:
            why = bf16_why
        elif bf16:
            why = fp32_why  # 'no fast graph for this network, which OpenVINO runs in fp32'
        elif native:  # a network or style kept in fp32
            why = f"no fast graph for this network; {fp32_why}"
        else:
            why = "no fast graph for this network"
        return EngineChoice("openvino", why)
    # torch bf16 on a fast graph's network only: a trained style's ran 0.8-1.3x ONNX Runtime
    # fp32 in torch bf16 (640x360, 1280x720, AVX512-BF16 EPYC, load 13-21, 2026-12-02), so
    # without OpenVINO it keeps ONNX Runtime fp32 (``--backend torch``: bf16)
    if bf16 and fast and has_weights and torch_available() and not openvino_available():
        return EngineChoice("torch", f"{bf16_why}, OpenVINO missing")
    if has_onnx and inside_blender() and openvino_available():
        # the graph and workers are the engine's note (cpu_plan): said once, as they ran
        why = f"{fp32_why}, and OpenVINO keeps less of a shared CPU"
        return EngineChoice("onnx", f"chosen by auto: {why}")
    if fast:
        # Measured on AVX-512 without bf16: as fast as OpenVINO f32 idle, and it keeps more of
        # a shared CPU (one worker per core: 0.38-0.49 of idle speed loaded, OpenVINO 0.31-0.36);
        # on AVX2 only (2026-12-01): OpenVINO f32 0.95-1.02x idle, less kept beside busy loops.
        return EngineChoice("onnx", f"chosen by auto: {fp32_why}")
    if has_onnx:
        return EngineChoice("onnx", "no faster engine installed")
    return EngineChoice("torch", "no ONNX file for this model")


def auto_backend(model: ModelFiles, device: str = "auto") -> str:
    return choose_backend(model, device).backend


def create_engine(
    model: ModelFiles,
    backend: str = "auto",
    device: str = "auto",
    precision: str = "auto",
    *,
    asked: str | None = None,
    lanes: int | None = None,
) -> Engine:
    """``auto`` picks with ``choose_backend``; the other words force an engine.

    The engine's ``reason`` says why it runs: auto's choice, or the setting that chose it
    (``errors.setting``'s mark: each front end says its own control), and fp32 where it
    was asked. ``asked``: the precision the user asked where the engine is built at
    another (a resumed folder held to the precision its frames were made with:
    ``stylizer.held_engine``), for those words; default ``precision``. ``lanes``: calls the
    caller makes at once on the CPU, default the engine's own (the pipeline's: two of one
    thread on two); a caller styling one frame at a time from one thread (a contact sheet,
    an install's check) asks for 1: one OpenVINO stream or ONNX Runtime worker of every
    thread, 1.21x and 1.60x as fast on one 720p frame (2 cores, 2026-12-02), where two
    would leave a core idle.
    """
    if backend not in BACKEND_WORDS:
        raise RestyleError(f"unknown backend '{backend}': use {', '.join(BACKEND_WORDS)}")
    asked = precision if asked is None else asked
    reason = f"set by {setting('backend', backend)}"
    if backend == "auto":
        choice = choose_backend(model, device, asked)
        backend, reason = choice.backend, choice.reason
    if asked == "fp32" and precision == "fp32" and FP32_ASKED not in reason:
        reason = f"{reason}; {FP32_ASKED}"  # a backend or device set, a GPU, the CPU's rules
    fp32_only = model.arch.fp32_only(model.config)
    if fp32_only and _span_held(model, backend, device, precision):
        fp32_only = ""  # OpenVINO on the CPU holds the span search in f32 (``cpu.span_held``)
    if fp32_only and precision in ("bf16", "fp16"):
        reason = f"{reason}; {precision} asked, but {fp32_only}: running fp32"
    if fp32_only and precision in ("auto", "bf16", "fp16"):
        precision = "fp32"  # reduced precision is unsafe for this network or style
    engine = _build(model, backend, device, precision, lanes)
    engine.reason = reason
    if hasattr(engine, "verdicts"):  # a reduced precision: this machine's verdict decides it
        from .precision import machine_verdicts  # numpy: not on the command line's start

        engine.verdicts = machine_verdicts()
    return engine


def _span_held(model: ModelFiles, backend: str, device: str, precision: str) -> bool:
    """Whether this run may take bf16 for a span style (``cpu.span_held``): OpenVINO on the
    CPU, auto or bf16 asked (fp16 is not measured so)."""
    on_cpu = device.partition(":")[0] in ("auto", "cpu")
    wanted = precision in ("auto", "bf16")
    return backend == "openvino" and on_cpu and wanted and span_held(model.arch, model.config)


def _build(
    model: ModelFiles, backend: str, device: str, precision: str, lanes: int | None = None
) -> Engine:
    if backend in ("onnx", "openvino") and (model.onnx is None or not model.onnx.is_file()):
        raise RestyleError(f"no ONNX file for {model.arch.name}: run 'restyle setup'")
    if backend == "onnx":
        from .onnx_engine import OnnxEngine

        if precision == "bf16":
            torch, openvino = setting("backend", "torch"), setting("backend", "openvino")
            raise RestyleError(f"precision 'bf16' needs {torch} or {openvino}")
        return OnnxEngine(model.onnx, model.arch, device, precision=precision, workers=lanes)
    if backend == "openvino":
        if not openvino_available():
            raise RestyleError(
                f"the openvino backend needs OpenVINO: pip install {OPENVINO_REQUIREMENT}"
            )
        if inside_blender():
            from .child import ChildEngine

            return ChildEngine(
                model.onnx, model.arch, device, precision, streams=lanes, config=model.config
            )
        from .openvino_engine import OpenVinoEngine

        return OpenVinoEngine(
            model.onnx, model.arch, device, precision, streams=lanes, config=model.config
        )
    if not torch_available():
        raise RestyleError("the torch backend needs PyTorch: pip install torch==2.13.0")
    from .torch_engine import TorchEngine

    if model.weights is None or not model.weights.is_file():
        raise RestyleError(f"no weights for {model.arch.name}: run 'restyle setup'")
    return TorchEngine(model.arch, model.weights, device, precision, config=model.config)


def encode_workers(engine: Engine) -> dict[str, int]:
    """Writer threads: beside a CPU engine the cores are the engine's (one x264 thread, two
    image writers); a GPU engine, or a mapping with no network (``light = True``: the
    stabiliser's warp), leaves them to encoding, which then sets the pace."""
    if engine.device == "cpu" and not getattr(engine, "light", False):
        return {"workers": 2, "threads": 1}
    cores = cpu_threads()
    return {"workers": max(2, cores), "threads": cores}


def preferred_batch(engine: Engine) -> int:
    """Frames the pipeline hands the engine per call: what the engine asks for (ONNX Runtime
    on the CPU: one per worker), else one on the CPU and four on a GPU."""
    asked = getattr(engine, "preferred_batch", None)
    return int(asked) if asked else (1 if engine.device == "cpu" else 4)


def explain(engine: Engine) -> str:
    """One line saying what ran and why, e.g. 'openvino bf16 on cpu, in a child process (...)'."""
    precision = getattr(engine, "precision", "fp32")
    why = "; ".join(w for w in (getattr(engine, "reason", ""), getattr(engine, "note", "")) if w)
    where = getattr(engine, "process", "")
    head = f"{engine.backend} {precision} on {engine.device}" + (f", {where}" if where else "")
    return head + (f" ({why})" if why else "")
