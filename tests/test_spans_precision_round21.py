"""Round 21: span-guided styles run in fp32 on every engine.

The span search runs in fp32 inside the network (models/fewshot_spans.py SpanGuides.fp32),
but a half-precision engine rounds the graph's input before the guides read it: 8-bit
k/255 levels are not exact in fp16 or bf16, and the span maps moved (up to 0.06 on a
smooth 8-bit 640x360 frame). So a style whose arch_config has span guides reports no half
precision (models/registry.py ArchSpec.fp32_only): auto runs it in fp32 on a CPU with
native bf16 (OpenVINO, PyTorch), on CUDA and on TensorRT; an explicit bf16/fp16 request
runs fp32 and says so. Plain few-shot styles keep their half precision.

Since round 24 (tests/test_engines24.py) OpenVINO on the CPU runs them bf16 (auto, or bf16
asked) with the search and the input slices it reads held in f32
(openvino_engine.hold_span_search): every other engine and device keeps them fp32.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from restyle.core import engines  # noqa: E402
from restyle.core.engines import choose_backend, create_engine, explain, onnx_engine  # noqa: E402
from restyle.core.engines import cpu as cpu_features  # noqa: E402
from restyle.core.styles import StyleLibrary  # noqa: E402
from restyle.core.stylizer import StyleSettings, Stylizer  # noqa: E402
from restyle.models import registry  # noqa: E402
from restyle.models.fewshot_spans import SPAN_SETS, span_guides  # noqa: E402
from restyle.models.registry import ARCHS  # noqa: E402

AVX512_BF16 = frozenset({"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_bf16"})
SPANS_NOTE = "a style with span guides runs in fp32 only"


def _write_style(library: StyleLibrary, name: str, guides: str | None) -> None:
    from restyle.core.train.artifact import write_trained_style
    from restyle.core.train.trainer import TrainFigures, TrainResult
    from restyle.models.fewshot_spans import build_generator

    torch.manual_seed(0)
    generator = build_generator(width=4, blocks=1, **({"guides": guides} if guides else {}))
    state = {k: v.detach().numpy().copy() for k, v in generator.state_dict().items()}
    result = TrainResult(
        state, generator.arch_config, TrainFigures(1, 0.1, 0.1, None, 0.5, 1, "budget", "cpu")
    )
    write_trained_style(
        library.trained_folder(name),
        result,
        name=name,
        source="c.mp4",
        keyframes=[0],
        thumbnail=np.zeros((16, 16, 3), np.uint8),
    )


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> StyleLibrary:
    """Two tiny trained styles: 'Spans' (guides spans-8-32) and 'Plain' (multiscale)."""
    library = StyleLibrary(tmp_path_factory.mktemp("spans-precision"), bundled=None)
    _write_style(library, "Spans", "spans-8-32")
    _write_style(library, "Plain", None)
    return library


@pytest.fixture
def bf16_cpu(monkeypatch):
    """A CPU with native bf16 (AVX-512 BF16), as auto's probes see it; outside Blender."""
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: AVX512_BF16)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    monkeypatch.delitem(sys.modules, "bpy", raising=False)


def _stylizer(library, name: str, backend: str = "auto", precision: str = "auto") -> Stylizer:
    settings = StyleSettings(backend=backend, device="cpu", precision=precision, carry=0.0)
    return Stylizer(library.resolve(name), library, settings)


def _files(library, name: str):
    """The ModelFiles the stylizer makes for a style (its own code, no engine built)."""
    return Stylizer._model_files(SimpleNamespace(style=library.resolve(name)))


def _smooth_8bit_frame(height: int = 48, width: int = 96, seed: int = 0) -> np.ndarray:
    """1 x 3 x H x W: smooth colour fields quantised to 8-bit k/255 levels (not exact in
    fp16 or bf16, as decoded footage is)."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.random((height // 8, width // 8, 3)).astype(np.float32)
    base = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    levels = np.clip(np.round(base * 255), 0, 255)
    return np.ascontiguousarray(levels.transpose(2, 0, 1)[None] / 255, dtype=np.float32)


def test_the_registry_names_the_span_ladders_and_keeps_them_in_fp32():
    assert registry.SPAN_GUIDES == tuple(SPAN_SETS)  # the registry's torch-free copy of the names
    fewshot = ARCHS["fewshot"]
    for guides in SPAN_SETS:
        assert fewshot.fp32_only({"guides": guides}) == SPANS_NOTE
        assert not fewshot.allows_half({"width": 4, "guides": guides})
    assert fewshot.allows_half({"width": 4, "guides": "multiscale"})
    assert fewshot.allows_half({"width": 4}) and fewshot.allows_half(None)
    assert not ARCHS["arbitrary_predictor"].allows_half({})
    assert ARCHS["multistyle26"].allows_half({"guides": "spans"})  # only fewshot's config


# -- (a) auto gives a span style fp32 on a CPU with native bf16 ----------------------------
@pytest.mark.parametrize("openvino_here", [True, False])
def test_auto_on_a_bf16_cpu_does_not_choose_an_engine_for_bf16(
    library, bf16_cpu, monkeypatch, openvino_here
):
    monkeypatch.setattr(engines, "openvino_available", lambda: openvino_here)
    choice = choose_backend(_files(library, "Spans"))
    if openvino_here:  # round 24: OpenVINO bf16, its span search held in f32
        assert (choice.backend, choice.reason) == ("openvino", "the CPU has native bf16")
    else:
        assert "bf16" not in choice.reason, choice.reason
        assert choice.backend == "onnx"
    if not openvino_here:  # a plain few-shot style too: torch bf16 is no faster than this
        assert choose_backend(_files(library, "Plain")).backend == "onnx"


# (OpenVINO, and auto that takes it: bf16 with the search held, tests/test_engines24.py)
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_auto_runs_a_span_style_in_fp32_on_a_bf16_cpu(library, bf16_cpu, backend):
    with _stylizer(library, "Spans", backend) as stylizer:
        assert stylizer.engine.precision == "fp32", explain(stylizer.engine)
        assert "bf16" not in explain(stylizer.engine)


# -- (b) a plain few-shot style: bf16 on the CPU since round 22 (its guides' row blur, which
# never built in bf16, runs as a column blur: tests/test_rowblur_round22.py), half precision
# on a GPU (below) -----------------------------------------------------------------------
def test_a_plain_style_runs_bf16_on_a_bf16_cpu(library, bf16_cpu, monkeypatch):
    with _stylizer(library, "Plain", "torch") as stylizer:
        assert stylizer.engine.precision == "bf16", explain(stylizer.engine)
    monkeypatch.setattr(engines, "openvino_available", lambda: False)
    for name in ("Plain", "Spans"):  # auto without OpenVINO: ONNX Runtime fp32
        with _stylizer(library, name) as stylizer:
            assert (stylizer.engine.backend, stylizer.engine.precision) == ("onnx", "fp32")


class _RecordedSessions:
    """OnnxEngine._session stand-in: records the providers asked for and opens the real
    session on the CPU provider (no GPU here), so CUDA/TensorRT precision logic runs."""

    def __init__(self, monkeypatch, device: str) -> None:
        self.calls: list[tuple[list, bool]] = []
        real = onnx_engine.OnnxEngine._session

        def session(engine, providers, fp16, threads=None, path=None):
            self.calls.append((providers, fp16))
            return real(engine, ["CPUExecutionProvider"], fp16, threads, path)

        monkeypatch.setattr(onnx_engine, "available_devices", lambda: [device, "cuda", "cpu"])
        monkeypatch.setattr(onnx_engine.OnnxEngine, "_session", session)
        monkeypatch.setattr(onnx_engine, "_device_of", lambda _session: device)

    def tensorrt_fp16(self) -> list[bool]:
        return [
            p[1]["trt_fp16_enable"]
            for providers, _ in self.calls
            for p in providers
            if isinstance(p, tuple) and p[0] == "TensorrtExecutionProvider"
        ]


@pytest.mark.parametrize("device", ["cuda", "tensorrt"])
def test_onnx_runtime_gpus_run_a_span_style_in_fp32_and_a_plain_one_in_fp16(
    library, monkeypatch, device
):
    """precision auto: CUDA ran the fp16 copy and TensorRT always built fp16 kernels
    (trt_fp16_enable), whatever the network. Now a span style runs fp32 on both (TensorRT
    started without fp16), a plain style fp16 as before."""
    sessions = _RecordedSessions(monkeypatch, device)
    spans = _files(library, "Spans")
    with create_engine(spans, "onnx", device) as engine:
        assert (engine.device, engine.precision) == (device, "fp32")
        assert not any(fp16 for _, fp16 in sessions.calls)  # no fp16 copy made
        assert sessions.tensorrt_fp16() == ([False] if device == "tensorrt" else [])
    sessions.calls.clear()
    with create_engine(_files(library, "Plain"), "onnx", device) as engine:
        assert (engine.device, engine.precision) == (device, "fp16")
        assert sessions.tensorrt_fp16() == ([True] if device == "tensorrt" else [])


# (OpenVINO bf16 runs bf16 with the search held: tests/test_engines24.py)
@pytest.mark.parametrize(
    ("backend", "precision"), [("openvino", "fp16"), ("torch", "bf16"), ("onnx", "fp16")]
)
def test_an_explicit_half_precision_runs_a_span_style_in_fp32_and_says_so(
    library, backend, precision
):
    if backend == "openvino" and not engines.openvino_available():
        pytest.skip("OpenVINO is not installed")
    with _stylizer(library, "Spans", backend, precision) as stylizer:
        assert stylizer.engine.precision == "fp32"
        said = explain(stylizer.engine)
        assert said.startswith(f"{backend} fp32 on cpu")
        assert f"{precision} asked, but {SPANS_NOTE}: running fp32" in said


# -- (c) 8-bit k/255 input: the span maps auto runs are the fp32 ones ----------------------
def test_on_8_bit_levels_auto_gives_the_fp32_span_maps(library, bf16_cpu):
    image = _smooth_8bit_frame()
    x = torch.from_numpy(image)
    spans = SPAN_SETS["spans-8-32"]
    want = span_guides(x, spans)
    # The case that matters: rounding the input to half moves these maps.
    for dtype in (torch.float16, torch.bfloat16):
        assert (span_guides(x.to(dtype).float(), spans) - want).abs().max() > 0.01

    with _stylizer(library, "Spans", "torch") as stylizer:  # the module auto runs
        engine = stylizer.engine
        with torch.inference_mode():
            got = engine.module.guides.fp32(x.to(engine.dtype)[:, :3])
        assert torch.equal(got.float(), want)

    reference = create_engine(_files(library, "Spans"), "onnx", "cpu", "fp32")
    with reference:
        styled = reference.run(image)
    for backend in ("auto", "openvino", "torch"):
        if backend == "openvino" and not engines.openvino_available():
            continue
        with _stylizer(library, "Spans", backend) as stylizer:
            out = stylizer.engine.run(image)
            precision = stylizer.engine.precision
        if precision == "bf16":  # OpenVINO since round 24: the search held in f32
            from restyle.core.engines.precision import PRECISION_BAR_DB, psnr

            assert psnr(out, styled) >= PRECISION_BAR_DB, backend
            continue
        assert np.abs(out - styled).max() <= 1e-4, (backend, np.abs(out - styled).max())
