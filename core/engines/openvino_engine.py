"""OpenVINO engine: runs our exported ONNX files directly, bf16 where the CPU has it.

OpenVINO compiles a network for one input shape; frames of a clip share one size, so the
engine compiles once per shape (static shapes run faster than dynamic ones) and reuses it.
Reduced precision (bf16 on CPUs with AMX or AVX-512 BF16) is checked against f32 once per
machine, network and style on the probe picture (``precision.checked_batch``; an engine made
without ``create_engine``: on its first batch that shows something) and dropped for f32 if it
misses the precision bar.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from pathlib import Path

import numpy as np

from ...models.registry import ArchSpec
from ..errors import RestyleError, setting
from ..words import count
from .base import Closing
from .cpu import cpu_bf16, cpu_threads, span_held
from .fast import fast_graph
from .onnx_engine import FP32_SCOPE
from .precision import MachineCheck, Settles, machine_facts

# User device word → OpenVINO device. "gpu"/"npu" are Intel GPUs and NPUs (unverified here).
DEVICES = {"cpu": "CPU", "gpu": "GPU", "npu": "NPU"}
# A change here, to ``columns_for_rows`` or to ``stack_image_rows`` changes the network run:
# bump precision.GRAPH_REWRITES.
PRECISIONS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}
# The OPTIMIZATION_CAPABILITIES entry a device reports when it computes that precision.
NATIVE_CAPABILITY = {"bf16": "BF16", "fp16": "FP16"}
# The most the compiled-network cache keeps (``compiled_cache``): one network compiled for one
# frame size is ~1.5 MB (the 26-style fast graph at 720p), so ~170 of them.
CACHE_LIMIT_MB = 256


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def import_openvino():
    """``openvino``, imported without its usage telemetry.

    ``import openvino`` sends an event to Intel unless the user opted out (the
    ``openvino-telemetry`` package; on Linux from a process forked off a background thread).
    Restyle contacts no host the user did not ask for, and forking Blender's process from a
    thread is unsafe (``import bpy`` beside it deadlocked). With that package hidden for this
    import, OpenVINO binds its own no-op stub; other code can still import the package.
    One thread at a time: another's import puts a half-made module in ``sys.modules``
    (two jobs in two threads: 'openvino has no attribute Core').
    """
    with _IMPORTING:
        if "openvino" in sys.modules:
            return sys.modules["openvino"]
        hide = "openvino_telemetry" not in sys.modules
        if hide:
            sys.modules["openvino_telemetry"] = None  # makes its import raise ImportError
        try:
            import openvino
        finally:
            if hide and sys.modules.get("openvino_telemetry", False) is None:
                del sys.modules["openvino_telemetry"]
        return openvino


_IMPORTING = threading.Lock()


def compiled_cache(limit_mb: float = CACHE_LIMIT_MB) -> Path | None:
    """Where OpenVINO keeps the networks it compiles for the CPU (its CACHE_DIR: one file per
    network and input shape; bf16 and f32 share it, the precision applied as it loads), so a
    later run of the same frame size loads it instead of compiling again. Loaded, it gives
    the pixels a fresh compile gives, bit for bit (both precisions, either one kept first:
    2026-12-03); a damaged file is compiled again and replaced (docs/performance/engines.md,
    round 25). The oldest files go past ``limit_mb``. None where the folder cannot be
    written: each run compiles."""
    from ..styles import default_root

    folder = default_root() / "cache" / "openvino"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    trim_cache(folder, limit_mb)
    return folder


def trim_cache(folder: Path, limit_mb: float) -> None:
    """Remove the oldest compiled networks in ``folder`` until it holds at most ``limit_mb``
    (one another process removes or holds open, on Windows, is left to it)."""
    sizes = {}
    for blob in folder.glob("*.blob"):
        with contextlib.suppress(OSError):
            stat = blob.stat()
            sizes[blob] = (stat.st_mtime, stat.st_size)
    total = sum(size for _, size in sizes.values())
    for blob in sorted(sizes, key=lambda b: sizes[b][0]):
        if total <= limit_mb * 2**20:
            return
        with contextlib.suppress(OSError):
            blob.unlink()
        total -= sizes[blob][1]


def cpu_streams(threads: int, asked: int | None = None) -> int:
    """CPU streams: as asked, else one per thread up to two (2 x 1 thread ran 1.18-1.56x one
    stream of 2 threads at 720p bf16 beside an encoder's load on a 2-core EPYC, 2026-12-02)."""
    if asked:
        return max(1, min(asked, threads))
    return max(1, min(2, threads))


def ov_device(device: str, have: list[str]) -> str:
    """OpenVINO's name for a device word: auto/cpu → CPU, gpu[:N] → GPU[.N], npu → NPU."""
    word, _, index = device.partition(":")
    if word == "auto":
        return "CPU"
    if word not in DEVICES:
        raise RestyleError(
            f"device '{device}' is not one OpenVINO runs on: use cpu, gpu[:N] (Intel) or npu"
        )
    name = DEVICES[word] + (f".{index}" if index else "")
    if not any(d == name or d.startswith(name + ".") or name.startswith(d) for d in have):
        raise RestyleError(
            f"OpenVINO found no {DEVICES[word]} here (found: {', '.join(have) or 'none'}); "
            f"use {setting('device', 'cpu')}"
        )
    return name


def auto_precision(capabilities: list[str], half_ok: bool, device: str) -> str:
    """bf16 where the CPU reports native BF16 (AMX, AVX-512 BF16), fp16 on GPUs, else fp32."""
    if not half_ok:
        return "fp32"
    if device == "CPU":
        return "bf16" if "BF16" in capabilities else "fp32"
    return "fp16" if "FP16" in capabilities else "fp32"


def runnable_precision(precision: str, capabilities: list[str]) -> tuple[str, str]:
    """The precision the device really runs, and why it differs from the one asked.

    OpenVINO takes a bf16 or f16 hint that the device cannot compute and silently runs f32
    (measured on an AVX2-only AMD EPYC: bit-identical output), so the engine would claim a
    precision it never used."""
    needed = NATIVE_CAPABILITY.get(precision)
    if needed is None or needed in capabilities:
        return precision, ""
    return "fp32", f"{precision} asked, but the device has no native {precision}: running fp32"


def _row_convolutions(model) -> list:
    """The per-channel (depthwise) convolutions along rows, kernel 1 x K, in ``model``."""
    found = []
    for op in model.get_ops():
        if op.get_type_name() != "GroupConvolution":
            continue
        shape = op.input_value(1).get_partial_shape()  # groups, out, in, kernel h, kernel w
        if shape.is_static and len(shape) == 5:
            _, _, per_group, kh, kw = (int(d) for d in shape.to_shape())
            if per_group == 1 and kh == 1 and kw > 1:
                found.append(op)
    return found


def row_convolution(model) -> bool:
    """Whether ``model`` holds a per-channel (depthwise) convolution along rows, kernel 1 x K,
    which OpenVINO's CPU plugin does not finish compiling in bf16: a trained style's Gaussian
    guide (models/fewshot.py ``_separable`` before dc51b71, 1 x 19) had not compiled after
    90 s alone and 30+ minutes in the style's network; the same kernel along columns (19 x 1)
    compiled in 0.8 s, the network without its guides in 0.5 s, in f32 all in 2.4 s (OpenVINO
    2026.4.1, AVX512-BF16 EPYC, 2026-12-02). ``columns_for_rows`` rewrites them away."""
    return bool(_row_convolutions(model))


def columns_for_rows(model) -> int:
    """Rewrites each row convolution of ``model`` (``row_convolution``) in place as the same
    convolution along columns of the transposed tensor, transposed back: the same sums, so
    the same output, and a graph OpenVINO compiles in bf16. Trained styles exported before
    dc51b71 carry their guides' row blur so in their ONNX files; returns how many it rewrote."""
    import openvino.opset13 as ops

    rows = _row_convolutions(model)
    for op in rows:
        attrs = op.get_attributes()
        swap = ops.constant(np.array([0, 1, 3, 2], np.int64))
        data = ops.transpose(op.input_value(0), swap)
        kernel = ops.transpose(op.input_value(1), np.array([0, 1, 2, 4, 3], np.int64))
        column = ops.group_convolution(
            data,
            kernel,
            list(attrs["strides"])[::-1],
            list(attrs["pads_begin"])[::-1],
            list(attrs["pads_end"])[::-1],
            list(attrs["dilations"])[::-1],
            attrs["auto_pad"],
        )
        out = ops.transpose(column, swap)
        out.set_friendly_name(op.get_friendly_name())
        for target in op.output(0).get_target_inputs():
            target.replace_source_output(out.output(0))
    if rows:
        model.validate_nodes_and_infer_types()
    return len(rows)


def stacked_rows(w: np.ndarray, rows: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A k x k convolution's kernel ``w`` (k a multiple of ``rows``) as two: a ``rows`` x 1
    one whose weights are 0 and 1, stacking ``rows`` copies of the input each one row lower
    (channel = row * ci + c), then a (k / rows) x k one to run dilated by ``rows`` rows."""
    co, ci, k, _ = w.shape
    if k % rows:
        raise ValueError(f"a {k}x{k} kernel does not split into {rows} rows")
    copies = np.zeros((rows * ci, ci, rows, 1), w.dtype)
    for j in range(rows):
        copies[j * ci : (j + 1) * ci, :, j, 0] = np.eye(ci, dtype=w.dtype)
    kernel = np.zeros((co, rows * ci, k // rows, k), w.dtype)
    for t in range(k // rows):
        for j in range(rows):
            kernel[:, j * ci : (j + 1) * ci, t] = w[:, :, rows * t + j]
    return copies, kernel


def _image_convolutions(model) -> list:
    """Unpadded stride-1 9 x 9 convolutions of 3 channels (an image) to 32, weights constant:
    the 26-style network's first layer."""
    found = []
    for op in model.get_ops():
        if op.get_type_name() != "Convolution":
            continue
        weights = op.input_value(1).get_node()
        attrs = op.get_attributes()
        if (
            weights.get_type_name() != "Constant"
            or weights.get_element_type().get_type_name() != "f32"
        ):
            continue
        plain = all(v == 1 for v in attrs["strides"]) and all(v == 1 for v in attrs["dilations"])
        unpadded = not any(attrs["pads_begin"]) and not any(attrs["pads_end"])
        if plain and unpadded and attrs["auto_pad"] in ("explicit", "notset", "valid"):
            if [int(d) for d in weights.get_output_shape(0)] == [32, 3, 9, 9]:
                found.append(op)
    return found


def stack_image_rows(model) -> int:
    """Rewrites in place each 9 x 9 convolution of an image's 3 channels to 32
    (``_image_convolutions``) as a 0/1 3 x 1 convolution stacking three copies of the image,
    each one row lower, and a 3 x 9 convolution of those 9 channels dilated by three rows:
    the same products, summed in another order. OpenVINO's bf16 kernel ran the 9 x 9 one at
    132 GFLOP/s and the stacked one at 179 (its 32-channel convolutions ~170-225; one thread,
    720p, AVX512-BF16 EPYC, 2026-12-02). In OpenVINO only: in ONNX Runtime fp32 the same
    rewrite (as a fast graph) ran 0.93-0.95x with two workers. Returns how many it rewrote."""
    import openvino.opset13 as ops

    convs = _image_convolutions(model)
    for op in convs:
        copies, kernel = stacked_rows(op.input_value(1).get_node().get_data().astype(np.float32))
        stack = ops.convolution(
            op.input_value(0), ops.constant(copies), [1, 1], [0, 0], [0, 0], [1, 1]
        )
        out = ops.convolution(stack, ops.constant(kernel), [1, 1], [0, 0], [0, 0], [3, 1])
        out.set_friendly_name(op.get_friendly_name())
        for target in op.output(0).get_target_inputs():
            target.replace_source_output(out.output(0))
    if convs:
        model.validate_nodes_and_infer_types()
    return len(convs)


def _span_maps(model) -> list:
    """The float tensors a span search (the nodes named in ``FP32_SCOPE``) hands to the rest
    of ``model``: outputs of its nodes read by a node that is neither in it nor feeds it."""
    scope = [op for op in model.get_ops() if FP32_SCOPE in op.get_friendly_name()]
    feeding = {op.get_name() for op in scope}  # unique names (Python's node objects are not)
    stack = list(scope)
    while stack:  # the search and everything it reads, up to the graph's input
        for value in stack.pop().input_values():
            node = value.get_node()
            if node.get_name() not in feeding:
                feeding.add(node.get_name())
                stack.append(node)
    maps = []
    for op in scope:
        for out in op.outputs():
            readers = [t.get_node() for t in out.get_target_inputs()]
            if out.get_element_type().is_real() and any(
                n.get_name() not in feeding for n in readers
            ):
                maps.append(out)
    return maps


def hold_span_search(model) -> int:
    """Keeps a span style's search (models/fewshot_spans.py, its nodes named in
    ``FP32_SCOPE``) in f32 under a bf16 ``INFERENCE_PRECISION_HINT``: its maps become extra
    outputs of ``model`` (after the styled frame, which stays output 0). OpenVINO's CPU plugin
    leaves in f32 every node between an output and the nearest convolution before it (the
    'graph tail', kept for accuracy), here the search and the input slices it reads, so the
    8-bit frame reaches it unrounded and its cumulative distances (~2e6 along a row, bf16
    steps of 8192 there) stay exact; the network's convolutions still run bf16. Marking the
    nodes ``disable_fp16_compression`` from Python left them bf16 (OpenVINO 2026.4.1).
    Returns how many maps it added (0: no search, or one not named so)."""
    maps = _span_maps(model)
    if maps:
        model.add_outputs(maps)
    return len(maps)


def span_search_precisions(compiled) -> set[str]:
    """The precisions OpenVINO runs a compiled span network's search in (its CumSum and
    GatherElements layers): {'f32'} where ``hold_span_search`` held it."""
    found = set()
    for op in compiled.get_runtime_model().get_ops():
        info = op.get_rt_info()
        if info["layerType"].astype(str) in ("CumSum", "GatherElements"):
            found.add(info["runtimePrecision"].astype(str))
    return found


class OpenVinoEngine(Settles, Closing):
    """One OpenVINO model, compiled per input shape, tuned to share the CPU politely; its
    reduced precision settled once (``precision.Settles``: ``decided``)."""

    backend = "openvino"

    def __init__(
        self,
        path: Path,
        arch: ArchSpec,
        device: str = "auto",
        precision: str = "auto",
        threads: int | None = None,
        graph: str = "auto",
        streams: int | None = None,
        config: dict | None = None,
    ) -> None:
        """``streams``: OpenVINO CPU streams sharing the threads (default ``cpu_streams``); a
        caller that hands one frame at a time from one thread (the child process) asks for one:
        a stream runs one frame on its share of the threads. ``config``: the style's
        ``arch_config``, for auto's precision (a span-guided style runs fp32)."""
        ov = import_openvino()
        if not Path(path).is_file():
            raise RestyleError(f"model file not found: {path}")
        self.core = ov.Core()
        self.ov_device = ov_device(device, self.core.available_devices)
        caps = list(self.core.get_property(self.ov_device, "OPTIMIZATION_CAPABILITIES"))
        fast = fast_graph(Path(path)) if graph != "plain" and self.ov_device == "CPU" else None
        if graph == "fast" and fast is None:
            raise RestyleError(f"no fast graph for {Path(path).name}: run 'restyle setup'")
        asked = precision
        if precision == "auto":
            # On the CPU, the one rule (``cpu.cpu_bf16``): bf16 on a fast graph (built-ins,
            # picture styles: measured; their plain graph is an old library's) or a network
            # whose plain graph runs it (ArchSpec.plain_bf16: trained styles, once their row
            # blur is rewritten below; a span style's search held in f32 below), where the
            # device reports native BF16.
            if self.ov_device == "CPU":
                graph_run = "plain" if fast is None else "fast"
                half_ok = cpu_bf16(arch, config, graph=graph_run, native="BF16" in caps)
            else:
                half_ok = arch.allows_half(config)
            precision = auto_precision(caps, half_ok, self.ov_device.split(".")[0])
        if precision not in PRECISIONS:
            raise RestyleError(f"unknown precision '{precision}': use auto, fp32, bf16 or fp16")
        precision, downgrade = runnable_precision(precision, caps)
        self.graph = "plain" if fast is None else "fast"
        try:
            self.model = self.core.read_model(str(fast or path))
        except Exception as exc:  # OpenVINO raises its own exception types
            raise RestyleError(f"could not load model {Path(path).name}: {exc}") from exc
        if self.ov_device == "CPU":
            try:  # a trained style exported before dc51b71: its row blur, as columns
                columns_for_rows(self.model)
            except Exception:  # noqa: BLE001 - OpenVINO's own types; the guard below holds
                pass
            try:  # the 26-style network's first layer, on stacked rows (faster in bf16)
                stack_image_rows(self.model)
            except Exception:  # noqa: BLE001 - OpenVINO's own types: the layer as it was
                pass
        if precision == "bf16" and self.ov_device == "CPU" and not hold_span_search(self.model):
            if span_held(arch, config):  # a span style whose search is not named so: f32
                precision = "fp32"
                unheld = (
                    f"{'bf16 asked, but ' if asked == 'bf16' else ''}this style's span search "
                    "cannot be held in f32 (an export before 39fd3ca): running fp32"
                )
                downgrade = "; ".join(n for n in (downgrade, unheld) if n)
        if precision == "bf16" and self.ov_device == "CPU" and row_convolution(self.model):
            precision = "fp32"  # only where the rewrite above failed: never seen
            stalls = (
                f"{'bf16 asked, but ' if asked == 'bf16' else ''}OpenVINO does not finish "
                "compiling this network in bf16 on the CPU (a per-channel convolution along "
                "rows): running fp32"
            )
            downgrade = "; ".join(n for n in (downgrade, stalls) if n)
        self.arch = arch
        self.path = Path(path)
        self.device = self.ov_device.split(".")[0].lower()
        self._unsettled(precision)  # ``decided``: fp32 now, a reduced one once checked
        self.threads = threads or cpu_threads()
        # Streams of one thread each, one frame per stream, each stream's request started
        # and waited for (start_async/wait) by its own pipeline lane: a stream slowed by the
        # decoder or encoder does not hold the other one at a barrier (2026-12-02, 720p bf16).
        self.workers = cpu_streams(self.threads, streams) if self.device == "cpu" else 1
        plan = self.cpu_plan() if self.device == "cpu" else ""
        self.note = "; ".join(n for n in (plan, downgrade) if n)
        self._compiled: dict[tuple, queue.SimpleQueue] = {}
        self._cache = compiled_cache() if self.ov_device == "CPU" else None  # GPU: not measured
        self._lock = threading.Lock()
        self._warming = threading.Lock()
        self._cold: set[int] = set()  # requests not run yet

    def _release(self) -> None:
        """Drops the compiled networks and their requests (their memory is OpenVINO's
        arenas, sized to the frames), the model and the Core."""
        with self._lock:
            self._compiled.clear()
            self.model = self.core = None

    def cpu_plan(self) -> str:
        graph = "fast graph" if self.graph == "fast" else "plain graph"
        per = max(1, self.threads // self.workers)
        return f"{graph}, {count(self.workers, 'stream')} x {count(per, 'thread')}"

    @property
    def lanes(self) -> int:
        """Calls this engine serves at once from different threads: one per stream (the
        pipeline runs that many inference threads, each handing one frame)."""
        return self.workers

    def config(self, precision: str) -> dict[str, str]:
        """Latency mode, the engine's streams, no core pinning (other programs share these
        cores); compiled networks kept for later runs (``compiled_cache``)."""
        cfg = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": PRECISIONS[precision],
        }
        if self.ov_device == "CPU":
            cfg |= {
                "NUM_STREAMS": str(self.workers),
                "INFERENCE_NUM_THREADS": str(self.threads),
                "ENABLE_CPU_PINNING": "NO",
            }
        if getattr(self, "_cache", None) is not None:
            cfg["CACHE_DIR"] = str(self._cache)
        return cfg

    def _requests(self, feeds: dict[str, np.ndarray], precision: str) -> queue.SimpleQueue:
        """Free infer requests (one per stream) for this shape and precision."""
        key = (precision,) + tuple((k, v.shape) for k, v in feeds.items())
        with self._lock:
            if key not in self._compiled:
                model = self.model.clone()
                model.reshape({name: list(v.shape) for name, v in feeds.items()})
                compiled = self.core.compile_model(model, self.ov_device, self.config(precision))
                pool: queue.SimpleQueue = queue.SimpleQueue()
                for _ in range(self.workers):
                    request = compiled.create_infer_request()
                    self._cold.add(id(request))
                    pool.put(request)
                self._compiled[key] = pool
            return self._compiled[key]

    def _infer_one(self, feeds: dict[str, np.ndarray], precision: str) -> np.ndarray:
        pool = self._requests(feeds, precision)
        request = pool.get()
        try:
            # Two requests' first calls at once hung in OpenVINO 2026.4.1 (5 of 5 two-lane
            # runs, both in start_async's input copy): a request's first call runs alone.
            if id(request) in self._cold:
                with self._warming:
                    request.start_async(feeds)
                    request.wait()
                    self._cold.discard(id(request))
            else:
                request.start_async(feeds)
                request.wait()
            return np.array(request.get_output_tensor(0).data, dtype=np.float32, copy=True)
        finally:
            pool.put(request)

    def _infer(self, images: np.ndarray, condition: np.ndarray | None, precision: str):
        """Frame by frame: the fast graph takes the style from its batch's first row."""

        def one(i: int) -> np.ndarray:
            feeds = {self.arch.input_name: np.ascontiguousarray(images[i : i + 1], np.float32)}
            if self.arch.condition:
                cond = condition[i : i + 1]
                feeds[self.arch.condition] = np.ascontiguousarray(cond, dtype=np.float32)
            return self._infer_one(feeds, precision)

        return np.concatenate([one(i) for i in range(len(images))])

    def run(self, images: np.ndarray, condition: np.ndarray | None = None) -> np.ndarray:
        self._check_open()
        if self.arch.condition and condition is None:
            raise ValueError(f"{self.arch.name} needs a {self.arch.condition} input")
        decided = self.decided  # each lane reads this one settled value, nothing else
        if decided is None:  # the first batch against f32 (``Settles._settle``), once
            out = self._settle(
                images,
                condition,
                lambda x, c: self._infer(x, c, self.precision),
                lambda x, c: self._infer(x, c, "fp32"),
                lambda kept: None,  # f32 needs nothing but ``decided``: each shape compiles
            )
            if out is not None:
                self._forget_the_check(images)
                return out
            decided = self.decided  # another lane checked while this one waited
        return self._infer(images, condition, decided)

    def _forget_the_check(self, images: np.ndarray) -> None:
        """Once the check has settled ``decided``: drop what it compiled that the frames do
        not run (the probe picture's shape, 144x192, in both precisions; the precision it
        dropped at the frames' shape), with their requests, so their memory is not held
        until the engine closes (and a GPU's engine build for each is not kept)."""
        if self.decided is None:  # flat frames, no verdict: the next batch checks
            return
        frame = (1, *images.shape[1:])
        with self._lock:
            for key in list(self._compiled):
                if key[0] != self.decided or dict(key[1:]).get(self.arch.input_name) != frame:
                    pool = self._compiled.pop(key)
                    while not pool.empty():
                        self._cold.discard(id(pool.get_nowait()))

    def _machine(self) -> MachineCheck | None:
        """This machine's verdicts for the network this engine compiles (``verdicts``)."""
        if self.verdicts is None:
            return None
        import openvino

        network = (fast_graph(self.path) if self.graph == "fast" else None) or self.path
        device = self.ov_device
        if device != "CPU":  # an Intel GPU or NPU: its model (the CPU's features are a fact)
            try:
                device = f"{device} {self.core.get_property(device, 'FULL_DEVICE_NAME')}"
            except Exception:  # noqa: BLE001 - OpenVINO's own types: the device word alone
                pass
        facts = machine_facts("openvino", self.precision, device, network, openvino.__version__)
        return MachineCheck(self.verdicts, facts, self.arch.size_multiple)
