"""Round 23 (issue 10): the fast graph fast3 runs the 26-style network's first convolution (9x9,
3 channels in) on three stacked copies of the image, each one row lower, with a 3x9 kernel
dilated by three rows: the same function as the plain network (float rounding), made by
setup, run by both engines, and within the bf16 bar for every built-in style."""

from __future__ import annotations

import numpy as np
import pytest
from test_fastgraph import SAME_DB, conditions, frames

from restyle.core.engines.fast import FAST_TAG, OLDER_TAGS, fast_graph, fast_path_for
from restyle.core.engines.onnx_engine import OnnxEngine
from restyle.core.engines.precision import GRAPH_REWRITES, PRECISION_BAR_DB, probe_images, psnr
from restyle.models.registry import ARCHS


def test_stacked_rows_is_the_same_convolution():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    from restyle.models.fastgraph import stacked_rows

    torch.manual_seed(0)
    for co, ci, k, rows in ((32, 3, 9, 3), (5, 2, 9, 9), (4, 3, 6, 2), (3, 1, 3, 3)):
        w = torch.randn(co, ci, k, k)
        x = torch.randn(2, ci, 20, 17)
        copies, kernel = stacked_rows(w, rows)
        assert copies.shape == (rows * ci, ci, rows, 1) and kernel.shape == (
            co,
            rows * ci,
            k // rows,
            k,
        )
        got = F.conv2d(F.conv2d(x, copies), kernel, dilation=(rows, 1))
        assert float((got - F.conv2d(x, w)).abs().max()) < 1e-4
    with pytest.raises(ValueError, match="does not split"):
        stacked_rows(torch.randn(4, 3, 9, 9), 2)


def _first_convolutions(path) -> list[tuple[list[int], list[int]]]:
    """(kernel shape, dilations) of the fast graph's convolutions whose input is 3 or 9
    channels of the image (the first layer)."""
    import onnx

    model = onnx.load(str(path))
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    out = []
    for node in model.graph.node:
        if node.op_type != "Conv" or node.input[1] not in weights:
            continue
        shape = weights[node.input[1]]
        dil = next((list(a.ints) for a in node.attribute if a.name == "dilations"), [1, 1])
        if shape[1] in (3, 9) and shape[0] in (9, 32) and max(shape[2:]) in (3, 9):
            out.append((shape, dil))
    return out


def test_setup_makes_fast3_with_the_stacked_first_convolution(library):
    assert FAST_TAG == "fast3" and OLDER_TAGS[0] == "fast2" and GRAPH_REWRITES >= 2
    plain = library.builtin_file("multistyle26", ".onnx")
    fast = fast_graph(plain)
    assert fast == fast_path_for(plain) and ".fast3-" in fast.name
    assert not fast_path_for(plain, "fast2").is_file()  # setup removed none, made only fast3
    convs = _first_convolutions(fast)
    assert ([9, 3, 3, 1], [1, 1]) in convs  # the copies
    assert ([32, 9, 3, 9], [3, 1]) in convs  # the regrouped kernel, dilated by three rows
    assert not any(shape == [32, 3, 9, 9] for shape, _ in convs)  # no 9x9 on 3 channels


def test_fast3_is_the_plain_network_in_onnx_runtime_at_odd_sizes(library):
    path = library.builtin_file("multistyle26", ".onnx")
    arch = ARCHS["multistyle26"]
    plain = OnnxEngine(path, arch, "cpu", graph="plain", workers=1)
    fast = OnnxEngine(path, arch, "cpu", graph="fast", workers=1)
    for h, w in ((8, 12), (20, 12), (100, 76)):  # 8 rows: the stack reads padding rows
        x, c = frames(2, h, w, seed=h), conditions(2, 26, seed=w)
        want = np.concatenate([plain.run(x[i : i + 1], c[i : i + 1]) for i in range(2)])
        got = np.concatenate([fast.run(x[i : i + 1], c[i : i + 1]) for i in range(2)])
        assert psnr(got, want) >= SAME_DB


def _openvino():
    pytest.importorskip("openvino")
    from restyle.core.engines.openvino_engine import OpenVinoEngine

    return OpenVinoEngine


def test_openvino_fp32_runs_fast3_as_the_plain_network(library):
    engine_cls = _openvino()
    path = library.builtin_file("multistyle26", ".onnx")
    arch = ARCHS["multistyle26"]
    fast = engine_cls(path, arch, "cpu", "fp32", graph="fast", streams=1)
    assert fast.graph == "fast" and fast_graph(path).name.split(".")[1].startswith("fast3")
    plain = OnnxEngine(path, arch, "cpu", graph="plain", workers=1)
    x, c = frames(2, 36, 52), conditions(2, 26)
    want = np.concatenate([plain.run(x[i : i + 1], c[i : i + 1]) for i in range(2)])
    assert psnr(fast.run(x, c), want) >= SAME_DB


def test_openvino_bf16_keeps_the_bar_for_every_built_in_style(library):
    """bf16 against fp32 on the probe photo (a real picture), fast3 in both, all 26 styles."""
    engine_cls = _openvino()
    from restyle.core.engines.cpu import native_bf16

    if not native_bf16():
        pytest.skip("this CPU has no native bf16")
    path = library.builtin_file("multistyle26", ".onnx")
    arch = ARCHS["multistyle26"]
    half = engine_cls(path, arch, "cpu", "bf16", graph="fast", streams=1)
    full = engine_cls(path, arch, "cpu", "fp32", graph="fast", streams=1)
    image = probe_images(arch.size_multiple)
    worst = float("inf")
    for style in range(26):
        c = np.zeros((1, 26), np.float32)
        c[0, style] = 1.0
        got = half._infer(image, c, "bf16")
        worst = min(worst, psnr(got, full._infer(image, c, "fp32")))
    assert worst >= PRECISION_BAR_DB
