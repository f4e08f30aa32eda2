"""The CPU fast path: exact fast graphs of the styling networks, found only beside the very
file they were made from, and worker sessions that split a batch frame by frame. Small
frames: each test takes seconds."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from restyle.core.engines import ModelFiles, create_engine, preferred_batch
from restyle.core.engines.fast import OLDER_TAGS, fast_graph, fast_path_for, stale_fast_graphs
from restyle.core.engines.onnx_engine import OnnxEngine
from restyle.core.engines.precision import psnr
from restyle.models.registry import ARCHS

# The fast graph is the same function: only float rounding may differ.
SAME_DB = 90.0

NETWORKS = (("multistyle26", 26), ("arbitrary_transformer", 100))


def frames(n: int, h: int = 64, w: int = 96, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        base = cv2.resize(rng.random((h // 8, w // 8, 3), np.float32), (w, h), cv2.INTER_CUBIC)
        noisy = base + 0.05 * rng.standard_normal((h, w, 3)).astype(np.float32)
        out.append(np.clip(noisy, 0, 1).transpose(2, 0, 1))
    return np.stack(out)


def conditions(n: int, size: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if size == 26:  # a different built-in style, and a mix, per frame
        c = np.zeros((n, size), np.float32)
        c[np.arange(n), rng.integers(0, size, n)] = 1.0
        c[-1] = rng.dirichlet(np.ones(size))
        return c
    return rng.standard_normal((n, size)).astype(np.float32)


def plain_per_frame(engine: OnnxEngine, x: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.concatenate([engine.run(x[i : i + 1], c[i : i + 1]) for i in range(len(x))])


@pytest.mark.parametrize(("name", "cond"), NETWORKS)
def test_fast_graph_is_the_same_function(library, name, cond):
    path = library.builtin_file(name, ".onnx")
    assert fast_graph(path) is not None, "setup makes the fast graph beside the plain one"
    plain = OnnxEngine(path, ARCHS[name], "cpu", graph="plain", workers=1)
    fast = OnnxEngine(path, ARCHS[name], "cpu", graph="fast", workers=2)
    assert (plain.graph, fast.graph) == ("plain", "fast")
    for h, w in ((64, 96), (36, 52)):  # sizes the engines pad to: multiples of 4
        x, c = frames(3, h, w), conditions(3, cond)
        want = plain_per_frame(plain, x, c)
        got = fast.run(x, c)  # three frames, three styles, on two workers
        assert got.shape == want.shape
        assert float(np.abs(got - want).max()) < 1e-4
        assert psnr(got, want) >= SAME_DB


def test_auto_runs_the_fast_graph_on_the_cpu_and_says_so(library):
    from restyle.core.engines import explain

    model = ModelFiles(ARCHS["multistyle26"], library.builtin_file("multistyle26", ".onnx"))
    engine = create_engine(model, "onnx", "cpu")
    assert engine.graph == "fast" and "fast graph" in explain(engine)
    assert preferred_batch(engine) == engine.workers >= 1


def test_a_changed_plain_file_never_runs_a_stale_fast_graph(library, tmp_path):
    """The fast file is named after the plain file's digest: a re-converted or re-trained
    network finds no fast graph and runs its own plain one."""
    src = library.builtin_file("multistyle26", ".onnx")
    plain = tmp_path / "multistyle26.onnx"
    shutil.copy(src, plain)
    shutil.copy(fast_graph(src), tmp_path / fast_graph(src).name)
    assert fast_graph(plain) is not None
    shutil.copy(library.builtin_file("arbitrary_transformer", ".onnx"), plain)  # changed
    assert fast_graph(plain) is None
    engine = OnnxEngine(plain, ARCHS["arbitrary_transformer"], "cpu")
    assert engine.graph == "plain"
    with pytest.raises(Exception, match="no fast graph"):
        OnnxEngine(plain, ARCHS["arbitrary_transformer"], "cpu", graph="fast")


def test_a_library_from_before_the_rewrite_runs_its_older_fast_graph(library, tmp_path):
    """A library converted before the fast graph's last rewrite keeps the older one (the
    same function) until setup makes the new one, which then removes it."""
    src = library.builtin_file("multistyle26", ".onnx")
    plain = tmp_path / "multistyle26.onnx"
    shutil.copy(src, plain)
    older = fast_path_for(plain, OLDER_TAGS[0])
    shutil.copy(fast_graph(src), older)  # stands in for the older rewrite's file
    assert fast_graph(plain) == older
    assert not fast_path_for(plain).is_file()  # what setup checks, so it converts again
    assert stale_fast_graphs(plain) == [older]  # and what its export removes
    engine = OnnxEngine(plain, ARCHS["multistyle26"], "cpu", workers=1)
    assert engine.graph == "fast"
    x, c = frames(1), conditions(1, 26)
    plain_engine = OnnxEngine(plain, ARCHS["multistyle26"], "cpu", graph="plain", workers=1)
    assert psnr(engine.run(x, c), plain_engine.run(x, c)) >= SAME_DB


def test_strided_convolutions_need_no_padded_copy():
    """A stride-2 convolution with zero padding and its first row and column recomputed
    from strips is the reflection-padded one, down to 2x2 inputs."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    from restyle.models.fastgraph import strided_reflect_conv

    torch.manual_seed(0)
    w = torch.randn(5, 3, 3, 3)
    for h, wd in ((2, 2), (4, 6), (10, 8)):
        x = torch.randn(2, 3, h, wd)
        want = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), w, stride=2)
        assert float((strided_reflect_conv(x, w) - want).abs().max()) < 1e-5


def test_networks_without_a_fast_graph_run_plain_on_workers(tmp_path):
    """Styles trained on keyframes (no norms) have no fast graph: the plain one, split over
    the workers, gives the frames a single session gives."""
    torch = pytest.importorskip("torch")
    from restyle.models.export import export_onnx
    from restyle.models.fewshot import FewShotGenerator

    torch.manual_seed(0)
    net = FewShotGenerator(width=4, blocks=1)
    spec = ARCHS["fewshot"]
    path = export_onnx(net, (torch.rand(1, 3, 32, 32),), tmp_path / "model.onnx", *spec.onnx_io())
    single = OnnxEngine(path, spec, "cpu", workers=1)
    split = OnnxEngine(path, spec, "cpu", workers=2)
    assert split.graph == single.graph == "plain"
    x = frames(3, 40, 56)
    np.testing.assert_allclose(split.run(x), single.run(x), atol=1e-6)


def test_fast_modules_match_torch_at_odd_sizes():
    """The pixel-unshuffled expand path and its border rows, checked in torch itself."""
    torch = pytest.importorskip("torch")
    from restyle.models.arbitrary import StyleTransformer
    from restyle.models.fastgraph import FastMultiStyleNet, FastStyleTransformer
    from restyle.models.multistyle import MultiStyleNet

    torch.manual_seed(0)
    multi = MultiStyleNet()
    with torch.no_grad():
        for p in multi.parameters():
            p.normal_(0.0, 0.3)
    arbitrary = StyleTransformer()
    for net, fast, cond in (
        (multi, FastMultiStyleNet(multi), torch.softmax(torch.randn(1, 26), 1)),
        (arbitrary, FastStyleTransformer(arbitrary), torch.randn(1, 100)),
    ):
        for h, w in ((8, 12), (20, 36)):
            x = torch.rand(1, 3, h, w)
            with torch.no_grad():
                assert float((net.eval()(x, cond) - fast.eval()(x, cond)).abs().max()) < 1e-4
