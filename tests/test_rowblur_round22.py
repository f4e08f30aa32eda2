"""Round 22: trained styles' guide blur without a per-channel 1xK row convolution.

The few-shot guides blur each colour channel with a separable Gaussian (models/fewshot.py
``_separable``). Its row pass was a depthwise 1x19 convolution, which OpenVINO 2026.4.1's CPU
plugin never finished compiling in bf16 (30+ minutes) and torch 2.13's oneDNN never finished
building; the 19x1 column pass built in under a second. The row pass now runs as the column
convolution on the transposed frame (the same sums), styles trained before it get it from
their weights (the torch engine) and from OpenVINO's rewrite of their old ONNX export
(``openvino_engine.columns_for_rows``), and auto takes bf16 for trained styles on CPUs with
native bf16 (span-guided styles stay fp32: ArchSpec.fp32_only).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

import torch.nn.functional as F  # noqa: E402
from test_spans_precision_round21 import (  # noqa: E402
    AVX512_BF16,
    SPANS_NOTE,
    _files,
    _smooth_8bit_frame,
    _stylizer,
    _write_style,
    bf16_cpu,  # noqa: F401 (fixture)
)

from restyle.core import engines  # noqa: E402
from restyle.core.engines import choose_backend, explain  # noqa: E402
from restyle.core.engines import cpu as cpu_features  # noqa: E402
from restyle.core.engines.precision import PRECISION_BAR_DB, psnr  # noqa: E402
from restyle.core.styles import StyleLibrary  # noqa: E402
from restyle.models import fewshot  # noqa: E402
from restyle.models.export import export_onnx  # noqa: E402
from restyle.models.fewshot_spans import build_generator  # noqa: E402
from restyle.models.registry import ARCHS  # noqa: E402

AXES = {"image": {0: "n", 2: "h", 3: "w"}, "stylized": {0: "n", 2: "h", 3: "w"}}


def row_blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``_separable`` as it was before round 22: the row pass a 1xK depthwise convolution."""
    r, groups = kernel.shape[-1] // 2, kernel.shape[0]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), kernel, groups=groups)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), kernel.transpose(2, 3), groups=groups)


def _net(guides: str = "multiscale", seed: int = 0):
    torch.manual_seed(seed)
    return build_generator(width=8, blocks=1, guides=guides).eval()


def _export(net, path, old: bool = False) -> None:
    """The network's ONNX file, as exported now or (``old``) before round 22."""
    with pytest.MonkeyPatch.context() as patch:
        if old:
            patch.setattr(fewshot, "_separable", row_blur)
        export_onnx(net, (torch.rand(1, 3, 64, 64),), path, ["image"], ["stylized"], AXES)


def _bf16_here() -> bool:
    openvino = pytest.importorskip("openvino")
    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


# -- equivalence ---------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(37, 53), (96, 160), (1, 1), (5, 40)])
def test_the_column_form_equals_the_row_convolution(size):
    torch.manual_seed(1)
    x = torch.rand(2, 3, *size)
    kernel = fewshot._gaussian(fewshot.Guides.SIGMA).expand(3, 1, 1, -1).contiguous()
    old, new = row_blur(x, kernel), fewshot._separable(x, kernel)
    assert new.shape == old.shape
    assert float((new - old).abs().max()) <= 1e-6
    assert psnr(new.numpy(), old.numpy()) >= 90.0


@pytest.mark.parametrize("guides", ["blur-gradients", "multiscale", "spans-8-32"])
def test_a_style_trained_before_runs_the_same_function(monkeypatch, guides):
    """A saved style's weights built by today's code give what the old code gave: the blur's
    kernel is not among the weights (a non-persistent buffer)."""
    net = _net(guides)
    assert not any("gauss" in key for key in net.state_dict())
    x = torch.from_numpy(_smooth_8bit_frame(72, 120))
    with torch.no_grad():
        new = net(x).numpy()
        monkeypatch.setattr(fewshot, "_separable", row_blur)
        old = net(x).numpy()
    assert float(np.abs(new - old).max()) <= 1e-5
    assert psnr(new, old) >= 90.0


# -- OpenVINO: new exports have no row convolution; old ones are rewritten -----------------
def test_a_new_export_has_no_row_convolution_and_an_old_one_is_rewritten(tmp_path):
    openvino = pytest.importorskip("openvino")
    from restyle.core.engines.openvino_engine import columns_for_rows, row_convolution

    net = _net()
    _export(net, tmp_path / "new.onnx")
    _export(net, tmp_path / "old.onnx", old=True)
    core = openvino.Core()
    assert not row_convolution(core.read_model(str(tmp_path / "new.onnx")))
    old = core.read_model(str(tmp_path / "old.onnx"))
    assert row_convolution(old)  # what the guard and the rewrite look for
    reference = core.compile_model(old.clone(), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    assert columns_for_rows(old) == 1 and not row_convolution(old)
    assert columns_for_rows(old) == 0  # nothing left to rewrite
    rewritten = core.compile_model(old, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    x = _smooth_8bit_frame(72, 120)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    for compiled in (reference, rewritten):
        got = compiled.create_infer_request().infer({0: x})[0]
        assert float(np.abs(got - want).max()) <= 1e-4
        assert psnr(got, want) >= 90.0


BUILD_BF16 = textwrap.dedent(
    """
    import sys, time
    import openvino
    from restyle.core.engines.openvino_engine import columns_for_rows
    core = openvino.Core()
    model = core.read_model(sys.argv[1])
    columns_for_rows(model)
    model.reshape({0: [1, 3, 96, 160]})
    started = time.perf_counter()
    core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "bf16"})
    print(f"{time.perf_counter() - started:.2f}")
    """
)


@pytest.mark.parametrize("which", ["new", "old"])
def test_openvino_compiles_a_trained_style_in_bf16(tmp_path, which):
    """In a child with a time limit: the row convolution's compile never ended (30+ min)."""
    if not _bf16_here():
        pytest.skip("the CPU has no native bf16 (OpenVINO would compile f32)")
    path = tmp_path / f"{which}.onnx"
    _export(_net(), path, old=which == "old")
    done = subprocess.run(
        [sys.executable, "-c", BUILD_BF16, str(path)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.split()[-1]) < 120


def _old_style(library: StyleLibrary, name: str, guides: str) -> None:
    """A trained style as saved before round 22: its ONNX with the 1xK row convolution."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fewshot, "_separable", row_blur)
        _write_style(library, name, guides)
    openvino = pytest.importorskip("openvino")
    from restyle.core.engines.openvino_engine import row_convolution

    onnx = _files(library, name).onnx
    assert row_convolution(openvino.Core().read_model(str(onnx)))


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> StyleLibrary:
    """'Plain' (multiscale guides) and 'Spans' (spans-8-32) saved today, 'Old' (multiscale)
    saved before."""
    library = StyleLibrary(tmp_path_factory.mktemp("rowblur"), bundled=None)
    _write_style(library, "Plain", "multiscale")
    _write_style(library, "Spans", "spans-8-32")
    _old_style(library, "Old", "multiscale")
    return library


@pytest.mark.parametrize("name", ["Plain", "Old"])
def test_openvino_runs_a_trained_style_in_bf16_within_the_bar(library, name):
    if not _bf16_here():
        pytest.skip("the CPU has no native bf16")
    from restyle.core.engines.openvino_engine import OpenVinoEngine

    files = _files(library, name)
    x = _smooth_8bit_frame(96, 160)
    fp32 = OpenVinoEngine(files.onnx, files.arch, "cpu", "fp32")
    auto = OpenVinoEngine(files.onnx, files.arch, "cpu", "auto")  # auto takes bf16 now
    try:
        assert auto.precision == "bf16", auto.note
        assert "along rows" not in auto.note
        out = auto.run(x)  # the first batch is checked against f32
        assert auto.precision == "bf16", auto.note
        assert psnr(out, fp32.run(x)) >= PRECISION_BAR_DB
    finally:
        fp32.close()
        auto.close()


@pytest.mark.parametrize("precision", ["bf16", "auto"])
def test_the_guard_keeps_a_row_convolution_it_could_not_rewrite_in_fp32(
    library, monkeypatch, precision
):
    """Should the rewrite ever fail (it is tried, not trusted), bf16 is not compiled."""
    if not _bf16_here():
        pytest.skip("the CPU has no native bf16")
    from restyle.core.engines import openvino_engine

    def fails(_model):
        raise RuntimeError("a graph the rewrite does not know")

    monkeypatch.setattr(openvino_engine, "columns_for_rows", fails)
    files = _files(library, "Old")
    engine = openvino_engine.OpenVinoEngine(files.onnx, files.arch, "cpu", precision)
    try:
        assert engine.precision == "fp32"
        assert "a per-channel convolution along rows): running fp32" in engine.note
        assert ("bf16 asked, but" in engine.note) == (precision == "bf16")
    finally:
        engine.close()


# -- auto's choice -------------------------------------------------------------------------
def test_the_registry_lets_trained_styles_take_bf16_on_the_cpu():
    fewshot_spec = ARCHS["fewshot"]
    assert fewshot_spec.plain_bf16
    assert fewshot_spec.allows_half({"guides": "multiscale"})
    assert fewshot_spec.fp32_only({"guides": "spans"}) == SPANS_NOTE  # span styles: fp32
    # built-ins: bf16 on their fast graph only (a plain one is an old library's)
    assert not ARCHS["multistyle26"].plain_bf16 and not ARCHS["arbitrary_transformer"].plain_bf16


@pytest.mark.usefixtures("bf16_cpu")
@pytest.mark.parametrize("inside", [False, True])
@pytest.mark.parametrize("name", ["Plain", "Old"])
def test_auto_takes_openvino_bf16_for_a_trained_style(library, monkeypatch, inside, name):
    monkeypatch.setattr(engines, "openvino_available", lambda: True)
    if inside:
        monkeypatch.setitem(sys.modules, "bpy", object())
    choice = choose_backend(_files(library, name))
    assert choice.backend == "openvino", choice.reason
    assert "the CPU has native bf16" in choice.reason
    assert "no fast graph" not in choice.reason
    # a span style: OpenVINO bf16 too since round 24, its span search held in f32
    # (tests/test_engines24.py), inside Blender as well
    spans = choose_backend(_files(library, "Spans"))
    assert spans.backend == "openvino", spans.reason
    assert "the CPU has native bf16" in spans.reason


@pytest.mark.usefixtures("bf16_cpu")
def test_torch_runs_a_trained_style_in_bf16_but_auto_keeps_onnx_runtime(library, monkeypatch):
    """Without OpenVINO auto keeps ONNX Runtime fp32 (torch bf16 ran a trained style's network
    0.8-1.3x as fast, 2026-12-02); PyTorch, chosen, runs it in bf16 now."""
    monkeypatch.setattr(engines, "openvino_available", lambda: False)
    monkeypatch.setattr(engines, "torch_available", lambda: True)
    for name in ("Plain", "Spans"):
        assert choose_backend(_files(library, name)).backend == "onnx"
    with _stylizer(library, "Plain", "torch") as stylizer:
        assert stylizer.engine.precision == "bf16", explain(stylizer.engine)
    with _stylizer(library, "Spans", "torch") as stylizer:
        assert stylizer.engine.precision == "fp32", explain(stylizer.engine)


def test_a_cpu_without_bf16_keeps_trained_styles_in_fp32(library, monkeypatch):
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: AVX512_BF16 - {"avx512_bf16"})
    monkeypatch.setattr(engines, "openvino_available", lambda: False)
    monkeypatch.delitem(sys.modules, "bpy", raising=False)
    assert choose_backend(_files(library, "Plain")).backend == "onnx"
