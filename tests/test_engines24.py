"""Round 24 (engines24).

A. A span style (keyframe styles' default guides since bfcda69) runs bf16 on OpenVINO's CPU
   plugin with its span search held in f32 (``openvino_engine.hold_span_search``): 57-66 dB
   against f32 on real frames, 1.27-1.37x as fast as f32; the whole graph in bf16 gave 10-31 dB.
   ``cpu.cpu_bf16`` allows it on the plain graph (OpenVINO's) only; every other engine and
   graph keeps span styles in fp32.
B. Blender's OpenVINO child (``ChildEngine``) answers whether this machine keeps a verdict
   that decides its bf16 check (``verdict_kept``), so the 'checking bf16' event is said only
   where the check will measure.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from restyle.core import engines
from restyle.core.engines.base import ModelFiles
from restyle.core.engines.cpu import cpu_bf16
from restyle.models.registry import ARCHS

pytestmark = pytest.mark.usefixtures("private_home")

FEWSHOT = ARCHS["fewshot"]
SPANS = {"width": 4, "blocks": 1, "guides": "spans-128-log"}


# -- A. the rule: bf16 for a span style on the plain graph only --------------------------------
def test_cpu_bf16_allows_a_span_style_on_the_plain_graph_only():
    from restyle.core.engines.cpu import span_held

    assert cpu_bf16(FEWSHOT, SPANS, graph="plain", native=True)  # False on 57188b6
    assert not cpu_bf16(FEWSHOT, SPANS, graph="weights", native=True)  # PyTorch: fp32
    assert not cpu_bf16(FEWSHOT, SPANS, graph="plain", native=False)  # no native bf16
    kept = dataclasses.replace(FEWSHOT, half_precision=False)  # a network kept in fp32
    assert not cpu_bf16(kept, SPANS, graph="plain", native=True)
    assert span_held(FEWSHOT, SPANS)
    assert not span_held(FEWSHOT, {"guides": "multiscale"}) and not span_held(kept, SPANS)


class Built:
    backend, device, precision = "openvino", "cpu", "auto"


@pytest.fixture
def bf16_cpu(monkeypatch, tmp_path):
    """A CPU with native bf16 and OpenVINO, outside Blender; the engine that would be built is
    recorded (backend, device, precision), not built. Returns (span style files, records)."""
    monkeypatch.setattr(engines, "native_bf16_cpu", lambda: True)
    monkeypatch.setattr(engines, "openvino_available", lambda: True)
    monkeypatch.setattr(engines, "inside_blender", lambda: False)
    monkeypatch.setattr(engines, "torch_cuda_usable", lambda: False)
    from restyle.core.engines import onnx_engine

    monkeypatch.setattr(onnx_engine, "available_devices", lambda: ["cpu"])
    made = []

    def build(model, backend, device, precision, lanes=None):
        made.append((backend, device, precision))
        return Built()

    monkeypatch.setattr(engines, "_build", build)
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"not read here")
    return ModelFiles(FEWSHOT, onnx, None, dict(SPANS)), made


def test_auto_takes_openvino_bf16_for_a_span_style(bf16_cpu):
    model, made = bf16_cpu
    engine = engines.create_engine(model)
    assert made[-1] == ("openvino", "auto", "auto")  # 57188b6: precision forced to fp32
    assert engine.reason == "the CPU has native bf16", engine.reason


def test_inside_blender_auto_takes_openvino_for_a_span_style(bf16_cpu, monkeypatch):
    """57188b6 chose ONNX Runtime fp32 in Blender: OpenVINO ran span styles in f32 there."""
    model, made = bf16_cpu
    monkeypatch.setattr(engines, "inside_blender", lambda: True)
    assert engines.choose_backend(model).backend == "openvino"


@pytest.mark.parametrize(
    ("backend", "device", "asked", "runs"),
    [
        ("openvino", "cpu", "bf16", "bf16"),  # 57188b6: fp32
        ("openvino", "cpu", "fp16", "fp32"),  # not measured: as before
        ("openvino", "gpu", "auto", "fp32"),  # an Intel GPU's fp16: as before
        ("onnx", "cpu", "auto", "fp32"),
        ("torch", "cpu", "bf16", "fp32"),
    ],
)
def test_only_openvino_on_the_cpu_lifts_a_span_style_s_fp32(bf16_cpu, backend, device, asked, runs):
    model, made = bf16_cpu
    engine = engines.create_engine(model, backend, device, asked)
    assert made[-1] == (backend, device, runs if runs == "fp32" else asked)
    if asked != "auto" and runs == "fp32":
        assert "span guides runs in fp32 only: running fp32" in engine.reason
    else:
        assert "running fp32" not in engine.reason


# -- A. on OpenVINO itself --------------------------------------------------------------------
def _span_style(folder):
    """A span style's ONNX file (exported as training saves it: its search named '/fp32/')
    and arch_config: random 4-wide weights."""
    torch = pytest.importorskip("torch")
    from restyle.core.train.artifact import write_trained_style
    from restyle.core.train.trainer import TrainFigures, TrainResult
    from restyle.models.fewshot_spans import SpanGenerator

    torch.manual_seed(0)
    generator = SpanGenerator(**SPANS)
    state = {k: v.detach().numpy().copy() for k, v in generator.state_dict().items()}
    figures = TrainFigures(1, 0.1, 0.1, None, 0.5, 1, "budget", "cpu")
    kept = dict(source="c.mp4", keyframes=[0], thumbnail=np.zeros((16, 16, 3), np.uint8))
    result = TrainResult(state, generator.arch_config, figures)
    write_trained_style(folder, result, name="S", **kept)
    return folder / "model.onnx", generator.arch_config


def _openvino_bf16():
    pytest.importorskip("openvino")
    from restyle.core.engines.openvino_engine import import_openvino

    core = import_openvino().Core()
    if "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        pytest.skip("OpenVINO reports no native BF16 on this CPU")
    return core


def _frame(h=64, w=96) -> np.ndarray:
    """An 8-bit picture (k/255 levels, which bf16 does not hold exactly) with edges."""
    rng = np.random.default_rng(2)
    blocks = rng.integers(0, 256, (3, h // 8, w // 8)).repeat(8, 1).repeat(8, 2)
    ramp = np.linspace(0, 255, w, dtype=np.float32)[None, None]
    return (np.round((blocks + ramp) / 2) / 255).astype(np.float32)[None]


def test_hold_span_search_keeps_the_search_in_f32_under_bf16(tmp_path):
    core = _openvino_bf16()
    from restyle.core.engines.openvino_engine import hold_span_search, span_search_precisions

    path, _ = _span_style(tmp_path / "s")
    model = core.read_model(str(path))
    output = model.outputs[0].get_any_name()
    assert hold_span_search(model) >= 1
    assert model.outputs[0].get_any_name() == output  # the styled frame stays output 0
    model.reshape({model.inputs[0].get_any_name(): [1, 3, 64, 96]})
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "bf16"})
    assert span_search_precisions(compiled) == {"f32"}


def test_a_span_style_runs_bf16_on_openvino_with_its_search_in_f32(tmp_path):
    """auto on a bf16 CPU: bf16 (57188b6: fp32), its compiled search f32, its frames within
    the 35 dB bar of f32's."""
    _openvino_bf16()
    from restyle.core.engines.openvino_engine import span_search_precisions
    from restyle.core.engines.precision import PRECISION_BAR_DB, psnr

    path, config = _span_style(tmp_path / "s")
    model = ModelFiles(FEWSHOT, path, None, config)
    engine = engines.create_engine(model, "openvino", "cpu", "auto")
    fp32 = engines.create_engine(model, "openvino", "cpu", "fp32")
    frame = _frame()
    out = engine.run(frame)
    assert engine.precision == "bf16" and engine.decided == "bf16", engines.explain(engine)
    pool = engine._compiled[next(k for k in engine._compiled if k[0] == "bf16")]
    request = pool.get()
    assert span_search_precisions(request.get_compiled_model()) == {"f32"}
    pool.put(request)
    assert psnr(out, fp32.run(frame)) >= PRECISION_BAR_DB
    engine.close()
    fp32.close()


def test_a_span_style_whose_search_is_not_named_runs_fp32(tmp_path):
    """An export whose span nodes are not named '/fp32/' (before 39fd3ca): nothing to hold,
    so f32, and the note says why."""
    _openvino_bf16()
    import onnx

    from restyle.core.engines.openvino_engine import OpenVinoEngine

    path, config = _span_style(tmp_path / "s")
    graph = onnx.load(str(path))
    for node in graph.graph.node:
        node.name = node.name.replace("/fp32/", "/search/")
    onnx.save(graph, str(path))
    engine = OpenVinoEngine(path, FEWSHOT, "cpu", "auto", config=config)
    assert engine.precision == "fp32" and "cannot be held in f32" in engine.note


# -- B. the child engine says whether a kept verdict decides its check --------------------------
def test_the_child_answers_whether_a_verdict_is_kept():
    """The request's two sides without a process: the child asks its engine, the parent's
    ``verdict_kept`` asks the child (57188b6: ChildEngine had none, so job's event said
    'checking bf16' for every run in Blender)."""
    from restyle.core.engines import child
    from restyle.core.job import _precision_checking

    class Engine:  # the child's engine: a verdict kept for the style of ones only
        def verdict_kept(self, condition):
            return condition is not None and bool(condition[0, 0] == 1)

    style, other = np.ones((1, 26), np.float32), np.zeros((1, 26), np.float32)
    assert child._kept(Engine(), 4, style)[:3] == ("kept", 4, True)
    assert child._kept(Engine(), 5, other)[:3] == ("kept", 5, False)

    class Pipe:  # the parent's end of the child's pipes
        asked: list = []

        def request(self, kind, *arguments):
            self.asked.append(kind)
            return ("kept", 1, Engine().verdict_kept(arguments[0]), {"decided": None})

    parent = object.__new__(child.ChildEngine)
    parent._child, parent.precision = Pipe(), "bf16"
    assert parent.verdict_kept(style) and not parent.verdict_kept(other)
    assert _precision_checking(parent, style) == ""
    assert _precision_checking(parent, other).startswith("checking bf16 against fp32")
    parent.decided = "bf16"  # settled: nothing to check, nothing asked
    Pipe.asked.clear()
    assert not parent.verdict_kept(style) and Pipe.asked == []


def test_a_real_child_engine_reads_the_verdict_its_first_run_kept(tmp_path):
    """A span style in the child process: bf16 (its config reaches the child), no verdict
    before its first batch, the verdict kept after it: a second child engine finds it."""
    _openvino_bf16()
    from restyle.core.engines.child import ChildEngine

    path, config = _span_style(tmp_path / "s")
    first = ChildEngine(path, FEWSHOT, "cpu", "auto", config=config)
    try:
        assert first.precision == "bf16", first.note
        assert not first.verdict_kept(None)
        first.run(_frame())
        assert first.decided == "bf16"
        assert not first.verdict_kept(None)  # settled: no check left
    finally:
        first.close()
    second = ChildEngine(path, FEWSHOT, "cpu", "auto", config=config)
    try:
        assert second.verdict_kept(None)
    finally:
        second.close()
