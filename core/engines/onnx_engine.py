"""ONNX Runtime engine: needs only onnxruntime and numpy, the lightest way to run a style.

Device ``auto`` tries the GPU providers this onnxruntime has, in order, and falls back to the
CPU with the reason in ``note`` ("CUDA not usable: missing cuDNN 9 ...; running on CPU");
an explicitly requested device that cannot start is an error that says why. On CUDA the
network runs in fp16 where it keeps the precision bar against fp32 (this machine's verdict,
``precision.checked_batch``).
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ...models.registry import ArchSpec
from ..errors import RestyleError, remedy, setting
from ..words import count
from .base import Closing
from .cpu import cpu_threads, cpu_workers
from .fast import fast_graph
from .precision import MachineCheck, Settles, machine_facts

# Preferred order; each maps the user's device word to an execution provider.
PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "dml": "DmlExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
LABELS = {"tensorrt": "TensorRT", "cuda": "CUDA", "coreml": "Core ML", "dml": "DirectML"}
AUTO_ORDER = ("cuda", "coreml", "dml", "cpu")  # TensorRT only when asked: long first build
INSTALL_HINTS = {
    "cuda": remedy("gpu_support"),  # each front end's way: pip, or the preferences' button
    "tensorrt": "install onnxruntime-gpu and TensorRT",
    "dml": "install onnxruntime-directml (Windows)",
    "coreml": "use a macOS build of onnxruntime",
}


# Device words other engines take, so --backend onnx --device mps names the engine to use.
OTHER_BACKENDS_DEVICES = {
    "mps": ("PyTorch", "torch"),
    "gpu": ("OpenVINO", "openvino"),
    "npu": ("OpenVINO", "openvino"),
}


def available_devices() -> list[str]:
    import onnxruntime as ort

    have = set(ort.get_available_providers())
    return [word for word, provider in PROVIDERS.items() if provider in have]


def providers_for(device: str, fp16: bool = True) -> list[str | tuple[str, dict]]:
    """Execution providers for a device word: auto, cpu, cuda, cuda:N, tensorrt, coreml, dml.
    TensorRT builds fp16 kernels unless ``fp16`` is False (a network that runs fp32 only)."""
    word, _, index = device.partition(":")
    available = available_devices()
    if word == "auto":
        word = next(w for w in AUTO_ORDER if w in available)
    if word not in PROVIDERS:
        ours = f"ONNX Runtime takes auto, {', '.join(PROVIDERS)}"
        other = OTHER_BACKENDS_DEVICES.get(word)
        if other:
            asked, backend = setting("device", device), setting("backend", other[1])
            raise RestyleError(f"{asked} is {other[0]}'s: use {backend} ({ours})")
        raise RestyleError(f"unknown device '{device}': {ours}")
    if word not in available:
        hint = INSTALL_HINTS.get(word, "")
        raise RestyleError(
            f"device '{device}' is not available in this onnxruntime "
            f"(available: {', '.join(available)}){'; ' + hint if hint else ''}"
        )
    options: dict = {"device_id": int(index)} if index and word in ("cuda", "tensorrt") else {}
    if word == "tensorrt":
        options = {
            **options,
            "trt_fp16_enable": fp16,
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(tensorrt_cache()),
        }
    chosen: list = [(PROVIDERS[word], options) if options else PROVIDERS[word]]
    if word == "tensorrt":
        cuda = {k: v for k, v in options.items() if k == "device_id"}
        chosen.append(("CUDAExecutionProvider", cuda) if cuda else "CUDAExecutionProvider")
    if word != "cpu":
        chosen.append("CPUExecutionProvider")
    return chosen


def cuda_device_name(index: int | str = 0) -> str:
    """The name of CUDA device ``index`` (numbered as ONNX Runtime's ``device_id``, after
    CUDA_VISIBLE_DEVICES) from the NVIDIA driver's own library, for this machine's verdicts
    (an fp16 verdict on one GPU model is not another's): no process, no network, a few
    milliseconds. "" where the driver cannot say."""
    import ctypes
    import sys

    try:
        cuda = ctypes.CDLL("nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1")
        device, name = ctypes.c_int(), ctypes.create_string_buffer(256)
        if cuda.cuInit(0) or cuda.cuDeviceGet(ctypes.byref(device), int(index)):
            return ""
        if cuda.cuDeviceGetName(name, len(name), device):
            return ""
    except (OSError, AttributeError, ValueError):
        return ""
    return name.value.decode("utf-8", "replace").strip()


# TensorRT's library, newest first, per platform (ONNX Runtime's provider loads one of them).
TENSORRT_LIBRARIES = {
    "linux": ("libnvinfer.so.10", "libnvinfer.so.8"),
    "win32": ("nvinfer_10.dll", "nvinfer.dll"),
}


def tensorrt_version() -> str:
    """TensorRT's version as its library reports it (``getInferLibVersion``: 100300 for
    10.3.0), for this machine's verdicts: TensorRT builds its own fp16 kernels. "" where no
    TensorRT library loads."""
    import ctypes
    import sys

    for library in TENSORRT_LIBRARIES.get(sys.platform, ()):
        try:
            return str(int(ctypes.CDLL(library).getInferLibVersion()))
        except (OSError, AttributeError):
            continue
    return ""


def tensorrt_cache() -> Path:
    """Where TensorRT keeps the engines it builds (minutes per network and frame size). Its
    default is the working directory, which inside Blender may be anywhere or read-only."""
    from ..styles import default_root

    folder = default_root() / "cache" / "tensorrt"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def why_not_started(word: str) -> str:
    """The reason a provider that onnxruntime lists did not start."""
    if word in ("cuda", "tensorrt"):
        from .gpu import why_no_cuda

        return why_no_cuda()
    return "the provider did not start (driver or OS too old?)"


def candidates(device: str) -> list[str]:
    """Device words to try in order: the one asked for, or auto's order ending with cpu."""
    if device.partition(":")[0] != "auto":
        return [device]
    return [w for w in AUTO_ORDER if w in available_devices()]


def auto_note() -> str:
    """Said when auto runs on the CPU although an NVIDIA GPU is present; its fix marked
    (``errors.remedy``): the front end that shows the note words it (``JobResult.engine_said``)."""
    from .gpu import nvidia_driver_present

    if "cuda" not in available_devices() and nvidia_driver_present():
        return "NVIDIA GPU found, but this onnxruntime has no CUDA: " + INSTALL_HINTS["cuda"]
    return ""


class OnnxEngine(Settles, Closing):
    """One ONNX Runtime session, tuned for streaming frames of a fixed size; fp16 settled
    once (``precision.Settles``)."""

    backend = "onnx"

    def __init__(
        self,
        path: Path,
        arch: ArchSpec,
        device: str = "auto",
        threads: int | None = None,
        precision: str = "auto",
        workers: int | None = None,
        graph: str = "auto",
    ) -> None:
        if not Path(path).is_file():
            raise RestyleError(f"model file not found: {path}")
        if precision not in ("auto", "fp32", "fp16"):
            raise RestyleError(f"precision '{precision}' is not one ONNX Runtime runs: fp32, fp16")
        self.arch = arch
        self.path = Path(path)
        self.threads = threads or cpu_threads()
        self.workers = 1
        self.graph = "plain"
        self._pool: queue.SimpleQueue | None = None
        self._executor: ThreadPoolExecutor | None = None  # started by the first batch
        self._executor_lock = threading.Lock()
        notes = []
        for word in candidates(device):
            if word == "cpu":
                session, active = self._cpu_sessions(workers, graph), "cpu"
                break
            session = self._session(providers_for(word, precision != "fp32"), fp16=False)
            active = _device_of(session)
            if active == word.partition(":")[0]:
                break
            label = LABELS.get(word.partition(":")[0], word)
            why = why_not_started(word.partition(":")[0])
            if device.partition(":")[0] != "auto":
                cpu, auto = setting("device", "cpu"), setting("device", "auto")
                raise RestyleError(f"{label} could not start: {why}; use {cpu} (or {auto})")
            notes.append(f"{label} not usable: {why}")
        else:  # every GPU provider listed failed, and this onnxruntime has no CPU provider
            raise RestyleError("ONNX Runtime could not start on any device")
        self.session = session
        self.device = active
        if notes:
            notes.append("running on CPU")
        elif device == "auto" and active == "cpu":
            notes.append(auto_note())
        if active == "cpu":
            notes.append(self.cpu_plan())
        self._unsettled("fp32")  # fp16: ``enable_fp16`` below
        precision = self._pick_precision(precision)
        self._fp32_session = None
        self.note = "; ".join(n for n in notes if n)
        if precision == "fp16":
            self.enable_fp16(device)

    @property
    def preferred_batch(self) -> int:
        """Frames per call that keep every worker busy (the pipeline batches this many)."""
        return self.workers if self.device == "cpu" else 4

    @property
    def lanes(self) -> int:
        """Calls this engine serves at once from different threads: one per CPU worker. The
        pipeline runs that many inference threads, so a worker done with its frame starts the
        next batch's instead of waiting for the other at the end of each batch."""
        return self.workers if self._pool is not None else 1

    def cpu_plan(self) -> str:
        """What runs on the CPU, for the run summary: the graph and the workers."""
        per = max(1, self.threads // self.workers)
        graph = "fast graph" if self.graph == "fast" else "plain graph"
        return f"{graph}, {count(self.workers, 'worker')} x {count(per, 'thread')}"

    def _cpu_sessions(self, workers: int | None, graph: str):
        """Worker sessions on the CPU, each on its own frames of a batch.

        One session per core pair of threads beats one session with every thread: ONNX
        Runtime's intra-op threads meet at a barrier after each operator, so a core taken by
        another program stalls them all, and its serial operators (instance norm, padding,
        layout reorders) leave the other core idle (2 cores: 1.2x idle, see
        docs/performance/engines.md). The fast graph (``fast_graph``) is used where one was
        made from this very file.
        """
        if graph not in ("auto", "fast", "plain"):
            raise RestyleError(f"unknown graph '{graph}': use auto, fast or plain")
        fast = fast_graph(self.path) if graph != "plain" else None
        if graph == "fast" and fast is None:
            raise RestyleError(f"no fast graph for {self.path.name}: run 'restyle setup'")
        if fast is not None:
            self.graph = "fast"
        self.workers = max(1, workers or cpu_workers(self.threads))
        per = max(1, self.threads // self.workers)
        sessions = [
            self._session(["CPUExecutionProvider"], fp16=False, threads=per, path=fast)
            for _ in range(self.workers)
        ]
        self._pool = queue.SimpleQueue()
        for session in sessions:
            self._pool.put(session)
        return sessions[0]

    def enable_fp16(self, device: str = "cpu") -> None:
        """Run fp16 (TensorRT: its own fp16; else an fp16 copy of the network), checked
        against this fp32 session on the first batch. One session runs it: the CPU's
        worker pool (CPU fp16 is only the tests' stand-in for CUDA) would bypass it."""
        self._fp32_session = self.session
        self._pool, self.workers = None, 1
        if self.device == "tensorrt":  # fp16 inside TensorRT; the reference runs on CUDA
            index = device.partition(":")[2]
            self._fp32_session = self._session(
                providers_for("cuda" + (":" + index if index else "")), fp16=False
            )
        else:
            same = self.device if device.partition(":")[0] == "auto" else device
            self.session = self._session(providers_for(same), fp16=True)
        self._unsettled("fp16")

    def _pick_precision(self, precision: str) -> str:
        """fp16 on CUDA and TensorRT (checked on the first batch), fp32 elsewhere."""
        if precision == "fp16" and self.device not in ("cuda", "tensorrt"):
            raise RestyleError("fp16 in ONNX Runtime needs a CUDA or TensorRT device")
        if self.device == "tensorrt":  # the provider was started with trt_fp16_enable...
            return "fp32" if precision == "fp32" else "fp16"  # ...unless fp32 was asked
        if precision == "auto":
            return (
                "fp16"
                if self.device in ("cuda", "tensorrt") and self.arch.half_precision
                else "fp32"
            )
        return precision

    def _session(
        self, providers: list, fp16: bool, threads: int | None = None, path: Path | None = None
    ):
        import onnxruntime as ort

        if any("CUDA" in str(p) or "Tensorrt" in str(p) for p in providers):
            from .gpu import preload_onnxruntime_cuda

            preload_onnxruntime_cuda()
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.intra_op_num_threads = threads or self.threads
        opts.inter_op_num_threads = 1
        # Spinning threads would steal the cores that decode and encode run on.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # The memory pattern stays on: without it a session took 226 MiB less at 720p and its
        # second run no second wave of page faults, but kept less beside two busy loops
        # (0.33-0.39 against 0.47-0.67, docs/performance/engines.md).
        opts.log_severity_level = 3
        model = fp16_model(self.path) if fp16 else str(path or self.path)
        try:
            return ort.InferenceSession(model, opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise RestyleError(f"could not load model {self.path.name}: {exc}") from exc

    def _feeds(self, images: np.ndarray, condition: np.ndarray | None) -> dict:
        feeds = {self.arch.input_name: np.ascontiguousarray(images, dtype=np.float32)}
        if self.arch.condition:
            if condition is None:
                raise ValueError(f"{self.arch.name} needs a {self.arch.condition} input")
            feeds[self.arch.condition] = np.ascontiguousarray(condition, dtype=np.float32)
        return feeds

    def run(self, images: np.ndarray, condition: np.ndarray | None = None) -> np.ndarray:
        self._check_open()
        if self._pool is not None:
            return self._run_workers(images, condition)
        feeds = self._feeds(images, condition)
        if self.decided is None:  # fp16's first batch against fp32 (``Settles._settle``)
            out = self._settle(
                images,
                condition,
                lambda x, c: self.session.run(None, self._feeds(x, c))[0],
                lambda x, c: self._fp32_session.run(None, self._feeds(x, c))[0],
                self._switch,
            )
            if out is not None:
                return out
        return self.session.run(None, feeds)[0]

    def _switch(self, kept: bool) -> None:
        if not kept:
            self.session = self._fp32_session
        self._fp32_session = None

    def _machine(self) -> MachineCheck | None:
        """This machine's verdicts for this network on this device (``verdicts``)."""
        if self.verdicts is None:
            return None
        import onnxruntime

        provider = self.session.get_providers()[0]
        device, runtime = f"{self.device} {provider}", onnxruntime.__version__
        if provider in ("CUDAExecutionProvider", "TensorrtExecutionProvider"):
            index = self.session.get_provider_options().get(provider, {}).get("device_id", 0)
            device = f"{device} {cuda_device_name(index) or 'unnamed GPU'}"
        if provider == "TensorrtExecutionProvider":  # TensorRT builds its own kernels
            runtime = f"{runtime} tensorrt {tensorrt_version() or 'unknown'}"
        return MachineCheck(
            self.verdicts,
            machine_facts("onnx", self.precision, device, self.path, runtime),
            self.arch.size_multiple,
        )

    def _run_workers(self, images: np.ndarray, condition: np.ndarray | None) -> np.ndarray:
        """Each frame of the batch on whichever worker session is free (a slowed core does
        fewer frames instead of holding the others at a barrier). Frame by frame also
        because the fast graph takes the style from its batch's first condition row."""
        assert self._pool is not None

        def one(i: int) -> np.ndarray:
            session = self._pool.get()
            try:
                cond = None if condition is None else condition[i : i + 1]
                return session.run(None, self._feeds(images[i : i + 1], cond))[0]
            finally:
                self._pool.put(session)

        if len(images) == 1 or self.workers == 1:
            return np.concatenate([one(i) for i in range(len(images))])
        return np.concatenate(list(self._workers().map(one, range(len(images)))))

    def _workers(self) -> ThreadPoolExecutor:
        """The worker threads, started by the first batch of several frames (an engine that
        fails in its constructor, or runs one frame at a time, starts none)."""
        with self._executor_lock:
            self._check_open()
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="restyle-onnx")
            return self._executor

    def _release(self) -> None:
        """Ends the worker threads (after any batch in flight) and drops every session."""
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self.session = self._fp32_session = self._pool = None


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _device_of(session) -> str:
    active = session.get_providers()[0]
    return next(w for w, p in PROVIDERS.items() if p == active)


# Nodes of a submodule held as ``fp32`` (models/fewshot_spans.py's span search: distances
# far past fp16's 65504) stay float32 in the fp16 copy. A change here or to ``fp16_model``
# changes the network run: bump precision.GRAPH_REWRITES.
FP32_SCOPE = "/fp32/"


def fp16_model(path: Path) -> bytes:
    """The network with fp16 weights and maths, fp32 inputs and outputs (for CUDA), but
    for the nodes named in FP32_SCOPE."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    nodes = model.graph.node
    keep = [node.name for node in nodes if FP32_SCOPE in node.name]
    # The converter casts every float tensor it has a type for to fp16 and back around a
    # kept node, so a tensor passed from one kept node to another would still be rounded
    # to fp16 (a row's distances overflow): drop those tensors' types, keeping the ones
    # that cross between kept and converted nodes (where the casts belong).
    kept_out = {name for node in nodes if FP32_SCOPE in node.name for name in node.output}
    read = {name for node in nodes if FP32_SCOPE not in node.name for name in node.input}
    inner = kept_out - read - {output.name for output in model.graph.output}
    types = [info for info in model.graph.value_info if info.name not in inner]
    del model.graph.value_info[:]
    model.graph.value_info.extend(types)
    model = convert_float_to_float16(
        model, keep_io_types=True, node_block_list=keep, disable_shape_infer=True
    )
    return model.SerializeToString()
