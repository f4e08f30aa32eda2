"""Round 23 (issue 10): OpenVINO runs the 26-style network's first convolution (9x9, 3 channels
in) on three stacked copies of the image, each one row lower, with a 3x9 kernel dilated by
three rows (``stack_image_rows``): the same function as the plain network (float rounding),
in the fast graph OpenVINO compiles, within the bf16 bar for every built-in style; ONNX
Runtime's graph is unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from test_fastgraph import SAME_DB, conditions, frames

from restyle.core.engines.fast import FAST_TAG, fast_graph
from restyle.core.engines.onnx_engine import OnnxEngine
from restyle.core.engines.precision import GRAPH_REWRITES, PRECISION_BAR_DB, probe_images, psnr
from restyle.models.registry import ARCHS

ov = pytest.importorskip("openvino")

from restyle.core.engines.openvino_engine import (  # noqa: E402
    OpenVinoEngine,
    stack_image_rows,
    stacked_rows,
)


def test_stacked_rows_is_the_same_convolution():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    for co, ci, k, rows in ((32, 3, 9, 3), (5, 2, 9, 9), (4, 3, 6, 2), (3, 1, 3, 3)):
        w = rng.standard_normal((co, ci, k, k)).astype(np.float32)
        x = torch.from_numpy(rng.standard_normal((2, ci, 20, 17)).astype(np.float32))
        copies, kernel = stacked_rows(w, rows)
        assert copies.shape == (rows * ci, ci, rows, 1)
        assert kernel.shape == (co, rows * ci, k // rows, k)
        assert set(np.unique(copies)) == {0.0, 1.0}
        got = F.conv2d(
            F.conv2d(x, torch.from_numpy(copies)), torch.from_numpy(kernel), dilation=(rows, 1)
        )
        assert float((got - F.conv2d(x, torch.from_numpy(w))).abs().max()) < 1e-4
    with pytest.raises(ValueError, match="does not split"):
        stacked_rows(np.zeros((4, 3, 9, 9), np.float32), 2)


def _convolutions(model) -> list[tuple[list[int], list[int]]]:
    """(kernel shape, dilations) of each convolution of an OpenVINO model."""
    return [
        ([int(d) for d in op.input_value(1).get_shape()], list(op.get_attributes()["dilations"]))
        for op in model.get_ops()
        if op.get_type_name() == "Convolution"
    ]


def test_the_fast_graph_openvino_compiles_has_the_first_layer_on_stacked_rows(library):
    assert FAST_TAG == "fast2" and GRAPH_REWRITES >= 2  # the ONNX file is unchanged
    path = library.builtin_file("multistyle26", ".onnx")
    model = ov.Core().read_model(str(fast_graph(path)))
    assert ([32, 3, 9, 9], [1, 1]) in _convolutions(model)
    assert stack_image_rows(model) == 1
    convs = _convolutions(model)
    assert ([32, 3, 9, 9], [1, 1]) not in convs
    assert ([9, 3, 3, 1], [1, 1]) in convs and ([32, 9, 3, 9], [3, 1]) in convs
    engine = OpenVinoEngine(path, ARCHS["multistyle26"], "cpu", "fp32", graph="fast", streams=1)
    assert engine.graph == "fast" and ([32, 9, 3, 9], [3, 1]) in _convolutions(engine.model)
    # the transformer's first layer (3 to 8 channels) is left as it is
    other = ov.Core().read_model(
        str(fast_graph(library.builtin_file("arbitrary_transformer", ".onnx")))
    )
    assert stack_image_rows(other) == 0


def test_openvino_fp32_runs_the_plain_network(library):
    path = library.builtin_file("multistyle26", ".onnx")
    arch = ARCHS["multistyle26"]
    plain = OnnxEngine(path, arch, "cpu", graph="plain", workers=1)
    for h, w in ((8, 12), (36, 52), (100, 76)):  # 8 rows: the stack reads padding rows
        fast = OpenVinoEngine(path, arch, "cpu", "fp32", graph="fast", streams=1)
        x, c = frames(2, h, w, seed=h), conditions(2, 26, seed=w)
        want = np.concatenate([plain.run(x[i : i + 1], c[i : i + 1]) for i in range(2)])
        assert psnr(fast.run(x, c), want) >= SAME_DB


def test_openvino_bf16_keeps_the_bar_for_every_built_in_style(library):
    """bf16 against fp32 on the probe photo (a real picture), the rewrite in both, 26 styles."""
    from restyle.core.engines.cpu import native_bf16

    if not native_bf16():
        pytest.skip("this CPU has no native bf16")
    path = library.builtin_file("multistyle26", ".onnx")
    arch = ARCHS["multistyle26"]
    half = OpenVinoEngine(path, arch, "cpu", "bf16", graph="fast", streams=1)
    full = OpenVinoEngine(path, arch, "cpu", "fp32", graph="fast", streams=1)
    image = probe_images(arch.size_multiple)
    worst = float("inf")
    for style in range(26):
        c = np.zeros((1, 26), np.float32)
        c[0, style] = 1.0
        worst = min(worst, psnr(half._infer(image, c, "bf16"), full._infer(image, c, "fp32")))
    assert worst >= PRECISION_BAR_DB
