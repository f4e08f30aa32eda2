"""Round 23 (tidy): one rule for "run bf16 on this CPU" (``core/engines/cpu.py`` ``cpu_bf16``),
which ``choose_backend``, the OpenVINO engine and the PyTorch engine all ask."""

from __future__ import annotations

import json

import pytest

from restyle.core.engines import ModelFiles, cpu
from restyle.core.styles import META_FILE, ONNX_FILE, WEIGHTS_FILE
from restyle.models.registry import ARCHS

MULTISCALE = {"guides": "multiscale", "width": 4}
SPANS = {"guides": "spans", "width": 4}


# (network, its arch_config, graph) -> bf16 on a CPU with native bf16
RULE = [
    ("multistyle26", None, "fast", True),  # built-ins: their fast graph, measured
    ("multistyle26", None, "plain", False),  # an old library's graph, kept f32
    ("multistyle26", None, "weights", True),  # PyTorch's module (293 vs 557 ms at 720p)
    ("arbitrary_transformer", None, "fast", True),
    ("arbitrary_transformer", None, "plain", False),
    ("fewshot", MULTISCALE, "plain", True),  # trained styles: their plain graph
    ("fewshot", MULTISCALE, "weights", True),
    ("fewshot", SPANS, "plain", True),  # span styles: OpenVINO holds the search in f32 (53ea7ad)
    ("fewshot", SPANS, "weights", False),  # PyTorch: fp32 only
    ("arbitrary_predictor", None, "fast", False),  # half precision off for the network
    ("arbitrary_predictor", None, "weights", False),
    ("selfie_segmentation", None, "plain", False),
]


@pytest.mark.parametrize(("name", "config", "graph", "bf16"), RULE)
def test_the_one_rule(name, config, graph, bf16):
    arch = ARCHS[name]
    assert cpu.cpu_bf16(arch, config, graph=graph, native=True) is bf16
    assert cpu.cpu_bf16(arch, config, graph=graph, native=False) is False  # no native bf16


def test_the_rule_reads_this_cpu_by_default(monkeypatch):
    arch = ARCHS["multistyle26"]
    monkeypatch.setattr(cpu, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert cpu.cpu_bf16(arch, graph="fast")
    monkeypatch.setattr(cpu, "cpu_flags", lambda: frozenset({"avx512f", "avx512_vnni"}))
    assert not cpu.cpu_bf16(arch, graph="fast")
    with pytest.raises(ValueError, match="unknown graph 'onnx'"):
        cpu.cpu_bf16(arch, graph="onnx", native=True)


def test_the_registry_has_no_second_cpu_bf16_switch():
    """``ArchSpec.cpu_bf16`` was true for every network since dc51b71; the PyTorch engine's
    branches reading it could not run: it went, and the rule reads the registry's facts."""
    assert not any(hasattr(arch, "cpu_bf16") for arch in ARCHS.values())


def _tiny(home) -> ModelFiles:
    """The trained style 'Tiny' (conftest ``tiny_style``) as the stylizer hands it over."""
    folder = home / "styles" / "tiny"
    config = json.loads((folder / META_FILE).read_text())["arch_config"]
    return ModelFiles(ARCHS["fewshot"], folder / ONNX_FILE, folder / WEIGHTS_FILE, config)


class _Asked:
    """Records the rule's questions and answers with ``answer``."""

    def __init__(self, answer: bool) -> None:
        self.answer, self.calls = answer, []

    def __call__(self, arch, config=None, *, graph, native=None):
        self.calls.append((arch.name, config, graph, native))
        return self.answer and bool(native)


def test_choose_backend_asks_the_rule(tiny_style, monkeypatch):
    from restyle.core import engines

    model = _tiny(tiny_style)
    monkeypatch.setattr(engines, "native_bf16_cpu", lambda: True)
    monkeypatch.setattr(engines, "openvino_available", lambda: True)
    monkeypatch.setattr(engines, "inside_blender", lambda: False)
    asked = _Asked(True)
    monkeypatch.setattr(engines, "cpu_bf16", asked)
    choice = engines.choose_backend(model, "cpu")
    assert choice == engines.EngineChoice("openvino", "the CPU has native bf16")
    graphs = {call[2] for call in asked.calls}
    assert graphs == {"weights", "plain"}  # a trained style: no fast graph
    assert all(call[0] == "fewshot" and call[3] is True for call in asked.calls)
    monkeypatch.setattr(engines, "cpu_bf16", _Asked(False))  # the rule says fp32: so does auto
    assert "bf16" not in engines.choose_backend(model, "cpu").reason.replace("no native", "")


def test_openvino_auto_asks_the_rule(tiny_style, monkeypatch):
    openvino = pytest.importorskip("openvino")
    from restyle.core.engines import openvino_engine

    caps = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    onnx = tiny_style / "styles" / "tiny" / "model.onnx"
    for answer in (True, False):
        asked = _Asked(answer)
        monkeypatch.setattr(openvino_engine, "cpu_bf16", asked)
        engine = openvino_engine.OpenVinoEngine(onnx, ARCHS["fewshot"], "cpu", "auto")
        try:
            assert asked.calls == [("fewshot", None, "plain", "BF16" in caps)]
            bf16 = answer and "BF16" in caps
            assert engine.precision == ("bf16" if bf16 else "fp32")
        finally:
            engine.close()


def test_torch_auto_asks_the_rule(tiny_style, monkeypatch):
    torch = pytest.importorskip("torch")
    from restyle.core.engines import torch_engine

    model = _tiny(tiny_style)
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    for answer in (True, False):
        asked = _Asked(answer)
        monkeypatch.setattr(torch_engine, "cpu_bf16", asked)
        engine = torch_engine.TorchEngine(model.arch, model.weights, "cpu", "auto", model.config)
        try:
            assert asked.calls == [("fewshot", model.config, "weights", native)]  # with its style
            assert engine.precision == ("bf16" if answer and native else "fp32")
        finally:
            engine.close()


# -- one frame at a time from one thread: one lane of every thread --------------------------
@pytest.fixture
def lanes_asked(monkeypatch) -> list:
    """The ``lanes`` each engine the stylizer makes was asked for (None: the engine's own)."""
    from restyle.core import stylizer as stylizer_module

    asked, create = [], stylizer_module.create_engine

    def create_engine(*args, **kwargs):
        asked.append(kwargs.get("lanes"))
        return create(*args, **kwargs)

    monkeypatch.setattr(stylizer_module, "create_engine", create_engine)
    return asked


def test_a_contact_sheet_asks_for_one_lane(library, lanes_asked):
    import numpy as np

    from restyle.core.contact_sheet import contact_sheet
    from restyle.core.stylizer import StyleSettings

    frame = np.full((48, 64, 3), 120, np.uint8)
    settings = StyleSettings(backend="onnx", device="cpu")
    sheet = contact_sheet(frame, library, tile_width=32, settings=settings)
    assert sheet.ndim == 3 and lanes_asked == [1]


def test_an_installs_check_asks_for_one_lane(tiny_style, lanes_asked):
    from restyle.core import style_install

    folder = tiny_style / "styles" / "tiny"
    meta = json.loads((folder / META_FILE).read_text())
    style_install._run_one_frame(folder, meta, folder)
    assert lanes_asked == [1]


def test_the_pipeline_keeps_the_engines_own_lanes(tiny_style, lanes_asked):
    from restyle.core import style_install
    from restyle.core.styles import StyleInfo
    from restyle.core.stylizer import StyleSettings, Stylizer

    folder = tiny_style / "styles" / "tiny"
    meta = json.loads((folder / META_FILE).read_text())
    info = StyleInfo("tiny", "Tiny", "trained", folder=folder, meta=meta)
    settings = StyleSettings(backend="onnx", device="cpu")
    with Stylizer(info, style_install._NoLibrary(), settings) as stylizer:
        assert stylizer.engine.lanes == min(2, cpu.cpu_threads())
    assert lanes_asked == [None]


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_one_lane_is_one_stream_or_worker_of_every_thread(tiny_style, backend):
    import numpy as np

    from restyle.core import engines

    if backend == "openvino":
        pytest.importorskip("openvino")
    if cpu.cpu_threads() != 2:
        pytest.skip("the figures below are a 2-core machine's")
    model = _tiny(tiny_style)
    word = "worker" if backend == "onnx" else "stream"
    one = engines.create_engine(model, backend, "cpu", "fp32", lanes=1)
    own = engines.create_engine(model, backend, "cpu", "fp32")
    try:
        assert one.lanes == 1 and f"1 {word} x 2 threads" in one.note, one.note
        assert own.lanes == 2 and f"2 {word}s x 1 thread" in own.note, own.note
        frame = np.full((1, 3, 32, 32), 0.5, np.float32)
        assert np.array_equal(one.run(frame), own.run(frame))
    finally:
        one.close()
        own.close()
