"""Speed avenues for the 26-style network measured against its fast graph, and why each was
dropped (issue 10): int8, a first instance norm folded into the first convolution, and the
contract path on pixel-unshuffled tensors.

For each variant: bare frames/s of one single-thread ONNX Runtime (or OpenVINO) session at
1280x720 on real frames, alternated with the fp32 fast graph in the same rounds (medians), and
the worst PSNR over all 26 built-in styles against the fp32 fast graph on two real frames
(640x360 from OpenCV's `vtest`, 640x352 from `Megamind`). The bar is 35 dB.

- ``int8``: ONNX Runtime static QDQ (per-channel s8 weights, u8 activations, min/max
  calibrated on three real frames x 26 styles): every convolution, the trunk (all but the
  9x9 first and the expand path), the residual convolutions only; and dynamic quantisation.
- ``openvino``: OpenVINO int8 by NNCF (``pip install nncf==3.4.0``; skipped without it):
  the MIXED preset, and the convolutions only.
- ``fold``: the first norm folded into the first convolution's weights and bias, with its
  statistics taken from that convolution at stride 4 or 8 (exact outputs on a subgrid), so
  the norm, ReLU and a layout pass of the full-resolution 32-channel tensor disappear.
- ``opencv``: OpenCV's own DNN module (already a dependency) on the plain network. Its ONNX
  importer takes neither dynamic shapes nor the style input, so each (style, size) is exported
  with the style's scale and shift as constants and the size fixed, one thread.
- ``unshuffle``: the contract path (9x9 3->32 conv, norm, ReLU, two 3x3 stride-2 convs) on
  pixel-unshuffled tensors, exact rewrites: the input unshuffled by 2 (a 5x5 12->128 conv at
  1/2 size, grouped norm, the first strided conv as a 2x2 conv with an edge-padded top row and
  left column, or as a 3x3 conv with a zero row and column), or by 4 (a 3x3 48->512 conv at
  1/4 size, then both strided convs as 2x2 convs at 1/4 size); and the first norm as
  GlobalAveragePool statistics with a per-channel Mul/Add (whether ONNX Runtime keeps its
  blocked layout).

    .venv/bin/python benchmarks/bench_avenues.py [--parts int8,openvino,fold,opencv,unshuffle]
        [--rounds 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bench_engines import real_frames  # noqa: E402 (benchmarks/ is the script's folder)

from restyle.core.engines.cpu import feature_summary
from restyle.core.engines.fast import fast_graph
from restyle.core.engines.precision import PRECISION_BAR_DB, psnr

Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]
STYLES = 26


def style(i: int) -> np.ndarray:
    v = np.zeros((1, STYLES), np.float32)
    v[0, i] = 1.0
    return v


def tensor(frame: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frame.transpose(2, 0, 1)[None], np.float32) / 255.0


def ort_runner(path: Path) -> Runner:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = 1, 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return lambda x, s: session.run(None, {"image": x, "style_weights": s})[0]


def ov_runner(model) -> Runner:
    import openvino as ov

    config = {"INFERENCE_PRECISION_HINT": "f32", "NUM_STREAMS": "1", "INFERENCE_NUM_THREADS": 1}
    compiled = ov.Core().compile_model(model, "CPU", config)
    return lambda x, s: compiled({"image": x, "style_weights": s})[0]


class Bench:
    def __init__(self, fast: Path, rounds: int) -> None:
        self.rounds = rounds
        self.hd = [tensor(f) for f in real_frames("vtest", [100, 300], (1280, 720))]
        small = real_frames("vtest", [200], (640, 360)) + real_frames("megamind", [60], (640, 352))
        self.small = [tensor(f) for f in small]
        calib = real_frames("vtest", [10, 500], (640, 360))
        self.calib = [tensor(f) for f in calib + real_frames("megamind", [30], (640, 352))]
        self.fp32 = ort_runner(fast)
        self.refs = {
            (i, s): self.fp32(x, style(s)) for i, x in enumerate(self.small) for s in range(STYLES)
        }

    def calibration(self) -> list[dict]:
        return [{"image": x, "style_weights": style(s)} for x in self.calib for s in range(STYLES)]

    def fps(self, run: Runner) -> float:
        run(self.hd[0], style(5))
        t0 = time.perf_counter()
        for x in self.hd:
            run(x, style(5))
        return len(self.hd) / (time.perf_counter() - t0)

    def report(self, name: str, run: Runner) -> None:
        ours, base = [], []
        for _ in range(self.rounds):
            ours.append(self.fps(run))
            base.append(self.fps(self.fp32))
        o, b = statistics.median(ours), statistics.median(base)
        worst = min(
            (psnr(run(x, style(s)), self.refs[i, s]), s)
            for i, x in enumerate(self.small)
            for s in range(STYLES)
        )
        verdict = "meets" if worst[0] >= PRECISION_BAR_DB else "MISSES"
        print(
            f"  {name:34} {o:5.2f} frames/s = {o / b:4.2f}x fp32 fast graph ({b:4.2f})   "
            f"worst {worst[0]:5.1f} dB (style {worst[1]}) {verdict} the bar",
            flush=True,
        )


# -- int8 in ONNX Runtime ------------------------------------------------------------------
def int8(bench: Bench, fast: Path, work: Path) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(bench.calibration())

        def get_next(self):
            return next(self.items, None)

    pre = work / "pre.onnx"
    quant_pre_process(str(fast), str(pre), skip_symbolic_shape=True)
    convs = [n.name for n in onnx.load(str(pre)).graph.node if n.op_type == "Conv"]
    # 0: 9x9 3->32 at full size; 1-2: strided; 3-14: residual; 15-17: expand (1/4 size).
    print("\n1. ONNX Runtime int8 (QDQ, per-channel s8 weights, u8 activations)")
    for name, keep in (("every convolution", range(18)), ("trunk (convs 1-14)", range(1, 15))):
        _static(bench, pre, work, name, [c for i, c in enumerate(convs) if i not in keep], Reader)
    _static(bench, pre, work, "residual convs only", convs[:3] + convs[15:], Reader)
    out = work / "dynamic.onnx"
    quantize_dynamic(str(pre), str(out), op_types_to_quantize=["Conv"], per_channel=True,
                     weight_type=QuantType.QUInt8, nodes_to_exclude=convs[:1])  # fmt: skip
    bench.report("dynamic (all but the first conv)", ort_runner(out))


def _static(bench: Bench, pre: Path, work: Path, name: str, exclude: list[str], reader) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    out = work / "static.onnx"
    quantize_static(
        str(pre),
        str(out),
        reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["Conv"],
        nodes_to_exclude=exclude,
    )
    bench.report(f"static, {name}", ort_runner(out))


# -- int8 in OpenVINO (NNCF) ---------------------------------------------------------------
def openvino_int8(bench: Bench, fast: Path) -> None:
    print("\n2. OpenVINO int8 (NNCF post-training quantisation), one stream of one thread")
    if not (importlib.util.find_spec("nncf") and importlib.util.find_spec("openvino")):
        print("  (skipped: pip install nncf==3.4.0, and openvino)")
        return
    import logging

    import nncf
    import openvino as ov

    nncf.set_log_level(logging.ERROR)
    model = ov.Core().read_model(str(fast))
    kinds = {op.get_type_name() for op in model.get_ordered_ops()}
    bench.report("OpenVINO f32 (same session settings)", ov_runner(model))
    data = nncf.Dataset(bench.calibration())
    mixed = nncf.IgnoredScope(types=["MatMul"])  # the style's scale and shift stay f32
    others = [k for k in kinds if k not in ("Convolution", "Parameter", "Constant", "Result")]
    for name, ignored in (
        ("MIXED preset", mixed),
        ("convolutions only", nncf.IgnoredScope(types=others)),
    ):
        q = nncf.quantize(
            model.clone(),
            data,
            subset_size=len(bench.calib) * STYLES,
            preset=nncf.QuantizationPreset.MIXED,
            ignored_scope=ignored,
        )
        bench.report(f"OpenVINO int8, {name}", ov_runner(q))


# -- the first norm folded into the first convolution --------------------------------------
def fold(bench: Bench, work: Path) -> None:
    from restyle.core.builtins import _example_inputs
    from restyle.models.export import export_onnx
    from restyle.models.registry import ARCHS

    net = _plain_net()
    inputs, outputs, axes = ARCHS["multistyle26"].onnx_io()
    print("\n3. first norm folded into the first convolution (statistics on a subgrid)")
    for stride in (4, 8):
        path = work / f"fold{stride}.onnx"
        module = folded_module(net, stride)
        export_onnx(module, _example_inputs("multistyle26"), path, inputs, outputs, axes)
        bench.report(f"stride-{stride} statistics", ort_runner(path))


def folded_module(net, stride: int):
    """The fast graph whose first norm uses statistics of the first convolution computed at
    ``stride`` (an estimate), folded into that convolution's weights (then computed per frame,
    which ONNX Runtime's blocked-layout kernels cannot take) and bias."""
    import torch
    import torch.nn.functional as F

    from restyle.models.fastgraph import FastMultiStyleNet

    class Folded(FastMultiStyleNet):
        def forward(self, image, s):
            layer, n = self.net.contract[0], self.net.contract[0].norm
            gamma, beta = (s[:1] @ n.gamma)[0], (s[:1] @ n.beta)[0]
            x = F.pad(image, (layer.pad,) * 4, mode="reflect")
            sub = F.conv2d(x, layer.w, stride=stride)
            mean = sub.mean((0, 2, 3))
            var = ((sub - mean[None, :, None, None]) ** 2).mean((0, 2, 3))
            scale = gamma * torch.rsqrt(var + n.eps)
            x = F.relu(F.conv2d(x, layer.w * scale[:, None, None, None], beta - mean * scale))
            for conv in self.net.contract[1:]:
                x = F.relu(self._layer(conv, x, s))
            for first, second in self.net.res:
                x = x + self._layer(second, F.relu(self._layer(first, x, s)), s)
            for i, (fast, plain) in enumerate(zip(self.expand, self.net.expand, strict=True)):
                g, b = (s[:1] @ plain.norm.gamma)[0], (s[:1] @ plain.norm.beta)[0]
                x = fast(x, g, b, plain.norm.eps)
                x = F.relu(x) if i < 2 else torch.sigmoid(x)
            return F.pixel_shuffle(x, 4)

    return Folded(net)


# -- the contract path on pixel-unshuffled tensors --------------------------------------------
def unshuffle(bench: Bench, work: Path) -> None:
    from restyle.core.builtins import _example_inputs
    from restyle.models.export import export_onnx
    from restyle.models.registry import ARCHS

    net = _plain_net()
    inputs, outputs, axes = ARCHS["multistyle26"].onnx_io()
    print("\n5. contract path on pixel-unshuffled tensors (exact), one thread")
    for name, module in (
        ("by 2, 2x2 strided conv, edge pad", unshuffled_module(net, 2, 2)),
        ("by 2, 3x3 strided conv (zero row)", unshuffled_module(net, 2, 3)),
        ("by 4, two 2x2 strided convs at 1/4", unshuffled_module(net, 4, 2)),
        ("first norm as pool + Mul/Add", pooled_norm_module(net)),
    ):
        path = work / "unshuffle.onnx"
        export_onnx(module, _example_inputs("multistyle26"), path, inputs, outputs, axes)
        bench.report(name, ort_runner(path))


def _valid_coarse_weight(w, b: int):
    """A stride-1 conv (pad k//2) of the fine tensor reflect-padded then unshuffled by b, as
    an unpadded conv between unshuffled tensors (channel = c * b² + row phase * b + column)."""
    import torch

    co, ci, k, _ = w.shape
    p = k // 2
    size = (b - 1 + 2 * p) // b + 1
    out = torch.zeros(co * b * b, ci * b * b, size, size)
    for a in range(b):
        for dy in range(-p, p + 1):
            q, r = divmod(a + dy + p, b)
            for a2 in range(b):
                for dx in range(-p, p + 1):
                    q2, s = divmod(a2 + dx + p, b)
                    out[a * b + a2 :: b * b, r * b + s :: b * b, q, q2] += w[:, :, dy + p, dx + p]
    return out


def _strided_coarse_weight(w, b: int, size: int):
    """A 3x3 stride-2 conv (pad 1) from a b-unshuffled tensor to a b/2-unshuffled one of the
    same coarse size: coarse taps -1 .. size-2 (size 2: the top/left pad only)."""
    import torch

    co, ci = w.shape[:2]
    bo = b // 2
    out = torch.zeros(co * bo * bo, ci * b * b, size, size)
    for a in range(bo):
        for dy in (-1, 0, 1):
            q, r = divmod(2 * a + dy, b)
            for a2 in range(bo):
                for dx in (-1, 0, 1):
                    q2, s = divmod(2 * a2 + dx, b)
                    tap = w[:, :, dy + 1, dx + 1]
                    out[a * bo + a2 :: bo * bo, r * b + s :: b * b, q + 1, q2 + 1] += tap
    return out


def _pad_top_left(x, channels: int, b: int):
    """One coarse row above and column left holding the fine reflection's values."""
    import torch

    from restyle.models.fastgraph import _border_sources

    n, _, h, w = x.shape
    x6 = x.reshape(n, channels, b, b, h, w)
    top = _border_sources(b, 1)[0]
    row = torch.stack([x6[:, :, ph, :, r, :] for r, ph in top], 2)[:, :, :, :, None]
    x6 = torch.cat([row, x6], 4)
    col = torch.stack([x6[:, :, :, ph, :, c] for c, ph in top], 3)[..., None]
    return torch.cat([col, x6], 5).reshape(n, channels * b * b, h + 1, w + 1)


def unshuffled_module(net, b: int, size: int):
    """The pre-fast2 fast graph (padded strided convs) with its contract path unshuffled."""
    import torch
    import torch.nn.functional as F

    from restyle.models.fastgraph import FastMultiStyleNet, grouped_norm, pad_coarse

    class Unshuffled(FastMultiStyleNet):
        def __init__(self) -> None:
            super().__init__(net)
            c0, c1, c2 = net.contract
            self.register_buffer("w0", _valid_coarse_weight(c0.w.detach(), b))
            self.register_buffer("w1", _strided_coarse_weight(c1.w.detach(), b, size))
            self.register_buffer("w2", _strided_coarse_weight(c2.w.detach(), 2, size))

        def _pad(self, x, bx):
            if size == 3:
                return pad_coarse(x, 32, bx, 1)
            if bx == 2:  # the reflected fine row 1 is coarse row 0's phase 1: the edge
                return F.pad(x, (1, 0, 1, 0), mode="replicate")
            return _pad_top_left(x, 32, bx)

        def _gb(self, layer, s):
            return (s[:1] @ layer.norm.gamma)[0], (s[:1] @ layer.norm.beta)[0], layer.norm.eps

        def forward(self, image, s):
            c0, c1, c2 = net.contract
            x = F.pixel_unshuffle(F.pad(image, (4, 4, 4, 4), mode="reflect"), b)
            x = F.relu(grouped_norm(F.conv2d(x, self.w0), 32, *self._gb(c0, s)))
            x = F.relu(grouped_norm(F.conv2d(self._pad(x, b), self.w1), 32, *self._gb(c1, s)))
            if b == 2:
                x = F.relu(self._layer(c2, x, s))
            else:
                x = F.conv2d(self._pad(x, 2), self.w2)
                g, be, eps = self._gb(c2, s)
                x = F.relu(F.instance_norm(x, weight=g, bias=be, eps=eps))
            for first, second in net.res:
                x = x + self._layer(second, F.relu(self._layer(first, x, s)), s)
            for i, (fast, plain) in enumerate(zip(self.expand, net.expand, strict=True)):
                x = fast(x, *self._gb(plain, s))
                x = F.relu(x) if i < 2 else torch.sigmoid(x)
            return F.pixel_shuffle(x, 4)

    return Unshuffled()


def pooled_norm_module(net):
    """The first norm from GlobalAveragePool statistics (E[y²] - E[y]²) and Mul/Add."""
    import torch
    import torch.nn.functional as F

    from restyle.models.fastgraph import FastMultiStyleNet

    class Pooled(FastMultiStyleNet):
        def forward(self, image, s):
            c0 = net.contract[0]
            y = F.conv2d(F.pad(image, (4,) * 4, mode="reflect"), c0.w)
            mean = F.adaptive_avg_pool2d(y, 1)
            var = F.adaptive_avg_pool2d(y * y, 1) - mean * mean
            gamma, beta = (s[:1] @ c0.norm.gamma)[0], (s[:1] @ c0.norm.beta)[0]
            scale = gamma[None, :, None, None] * torch.rsqrt(var + c0.norm.eps)
            x = F.relu(y * scale + (beta[None, :, None, None] - mean * scale))
            for layer in net.contract[1:]:
                x = F.relu(self._layer(layer, x, s))
            for first, second in net.res:
                x = x + self._layer(second, F.relu(self._layer(first, x, s)), s)
            for i, (fast, plain) in enumerate(zip(self.expand, net.expand, strict=True)):
                g, b = (s[:1] @ plain.norm.gamma)[0], (s[:1] @ plain.norm.beta)[0]
                x = fast(x, g, b, plain.norm.eps)
                x = F.relu(x) if i < 2 else torch.sigmoid(x)
            return F.pixel_shuffle(x, 4)

    return Pooled(net)


# -- OpenCV DNN -------------------------------------------------------------------------------
def opencv_dnn(bench: Bench, work: Path) -> None:
    import cv2

    print("\n4. OpenCV DNN (plain network, style and size fixed per export, one thread)")
    cv2.setNumThreads(1)
    bench.report("OpenCV DNN", opencv_runner(_plain_net(), work))


def _plain_net():
    import torch

    from restyle.core.builtins import _states
    from restyle.models.registry import ARCHS

    net = ARCHS["multistyle26"].build()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in _states()["multistyle26"].items()})
    return net.eval()


def opencv_runner(net, work: Path) -> Runner:
    """Runs each (style, size) on its own exported network, exported on first use."""
    import cv2
    import torch

    nets: dict = {}

    class Fixed(torch.nn.Module):
        def __init__(self, weights: torch.Tensor) -> None:
            super().__init__()
            self.net, self.weights = net, weights

        def forward(self, image):
            return self.net(image, self.weights)

    def run(x: np.ndarray, s: np.ndarray) -> np.ndarray:
        key = (int(np.argmax(s)), x.shape)
        if key not in nets:
            path = work / f"opencv-{key[0]}-{x.shape[2]}x{x.shape[3]}.onnx"
            module = Fixed(torch.from_numpy(s)).eval()
            torch.onnx.export(module, (torch.from_numpy(x),), str(path), opset_version=17,
                              input_names=["image"], output_names=["out"], dynamo=False)  # fmt: skip
            nets[key] = cv2.dnn.readNetFromONNX(str(path))
        nets[key].setInput(x)
        return nets[key].forward()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="int8,openvino,fold,opencv,unshuffle")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from restyle.core.builtins import install_builtins
    from restyle.core.styles import StyleLibrary

    work = Path(tempfile.mkdtemp(prefix="restyle-bench-avenues-"))
    try:
        library = StyleLibrary(work / "library", bundled=None)
        install_builtins(library.builtin_dir)
        fast = fast_graph(library.builtin_file("multistyle26", ".onnx"))
        print(f"CPU features: {feature_summary()}; CPU shared: ratios within this run")
        bench = Bench(fast, args.rounds)
        parts = args.parts.split(",")
        if "int8" in parts:
            int8(bench, fast, work)
        if "openvino" in parts:
            openvino_int8(bench, fast)
        if "fold" in parts:
            fold(bench, work)
        if "opencv" in parts:
            opencv_dnn(bench, work)
        if "unshuffle" in parts:
            unshuffle(bench, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
