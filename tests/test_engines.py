"""Engine choice by CPU features, OpenVINO against ONNX Runtime fp32, the precision check,
and the polite thread settings for a shared CPU. Small frames: each test takes seconds."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from restyle.core import engines
from restyle.core.engines import ModelFiles, choose_backend, create_engine, explain
from restyle.core.engines import cpu as cpu_features
from restyle.core.engines.precision import PRECISION_BAR_DB, psnr
from restyle.core.errors import RestyleError
from restyle.models.registry import ARCHS

openvino = pytest.importorskip("openvino")


def multistyle(library) -> ModelFiles:
    return ModelFiles(
        ARCHS["multistyle26"],
        library.builtin_file("multistyle26", ".onnx"),
        library.builtin_file("multistyle26", ".safetensors"),
    )


def smooth_frame(h: int = 64, w: int = 96, seed: int = 0) -> np.ndarray:
    """A photograph-like input (smooth colour fields plus fine texture), NCHW in [0,1]."""
    import cv2

    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.random((h // 8, w // 8, 3), np.float32), (w, h), cv2.INTER_CUBIC)
    img = np.clip(base + 0.05 * rng.standard_normal((h, w, 3)).astype(np.float32), 0, 1)
    return img.transpose(2, 0, 1)[None].copy()


def one_hot(index: int) -> np.ndarray:
    c = np.zeros((1, 26), np.float32)
    c[0, index] = 1.0
    return c


# -- choice by features --------------------------------------------------------------------
# Synthetic flag sets (Linux /proc/cpuinfo names) for the CPU classes the rules tell apart.
AVX2 = frozenset({"sse4_2", "avx", "avx2", "fma", "f16c"})
AVX512 = AVX2 | {"avx512f", "avx512bw", "avx512_vnni"}
AVX512_BF16 = AVX512 | {"avx512_bf16"}
AMX = AVX512_BF16 | {"amx_tile", "amx_bf16", "amx_int8"}
ARM = frozenset({"fp", "asimd", "fphp", "asimdhp"})
UNKNOWN = frozenset()  # macOS, Windows: no /proc/cpuinfo


def test_cpu_features_are_read_from_flags_not_vendor():
    assert cpu_features.native_bf16(frozenset({"avx512f", "amx_bf16"}))
    assert cpu_features.native_bf16(frozenset({"avx512_bf16"}))
    assert not cpu_features.native_bf16(frozenset({"avx512f", "avx512_vnni", "GenuineIntel"}))
    assert cpu_features.fast_int8(frozenset({"avx_vnni"}))
    assert cpu_features.feature_summary(frozenset()) == "unknown"
    assert cpu_features.feature_summary(AVX2 | {"AuthenticAMD"}) == "avx2 fma"
    for flags in (AVX2, ARM, UNKNOWN):
        assert not cpu_features.native_bf16(flags) and not cpu_features.fast_int8(flags)


@pytest.mark.parametrize(
    ("flags", "openvino_here", "torch_here", "fast", "expected"),
    [
        (AVX512, True, True, True, "onnx"),  # the fast graph: as fast, keeps more when shared
        (AVX512, True, True, False, "openvino"),
        (AVX512_BF16, True, True, True, "openvino"),
        (AMX, True, True, True, "openvino"),
        (AMX, False, True, True, "torch"),
        (AVX512, False, True, False, "onnx"),
        (AMX, False, False, True, "onnx"),
        (AVX2, True, True, True, "onnx"),  # OpenVINO f32: as fast idle, less kept when shared
        (AVX2, True, True, False, "openvino"),
        (AVX2, False, True, True, "onnx"),  # torch fp32 is slower
        (ARM, True, True, True, "onnx"),
        (UNKNOWN, True, True, True, "onnx"),  # unknown CPUs keep the path that works
    ],
)
def test_auto_picks_the_fastest_installed_engine(
    library, monkeypatch, flags, openvino_here, torch_here, fast, expected
):
    monkeypatch.setattr(engines, "openvino_available", lambda: openvino_here)
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: flags)
    monkeypatch.setattr(engines, "torch_available", lambda: torch_here)
    if not fast:
        monkeypatch.setattr(engines, "fast_graph", lambda _path: None)
    monkeypatch.delitem(sys.modules, "bpy", raising=False)
    choice = choose_backend(multistyle(library))
    assert choice.backend == expected
    assert choice.reason  # always says why


@pytest.mark.parametrize(
    ("flags", "expected"),
    [(AVX2, "onnx"), (AVX512, "onnx"), (AVX512_BF16, "openvino"), (AMX, "openvino")],
)
def test_inside_blender_auto_takes_openvino_for_bf16_only(library, monkeypatch, flags, expected):
    """Blender's process cannot host OpenVINO: it runs in a child there, for bf16 only."""
    monkeypatch.setattr(engines, "openvino_available", lambda: True)
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: flags)
    monkeypatch.setitem(sys.modules, "bpy", object())
    assert choose_backend(multistyle(library)).backend == expected


@pytest.mark.parametrize("inside", [True, False])
def test_auto_says_why_a_bf16_cpu_runs_an_fp32_only_network_in_fp32(library, monkeypatch, inside):
    """The style predictor keeps fp32 on a bf16 CPU: the reason names the network, not the CPU
    (it said 'no native bf16 on this CPU' on an AVX512-BF16 EPYC, 2026-12-02)."""
    model = ModelFiles(
        ARCHS["arbitrary_predictor"],
        library.builtin_file("arbitrary_predictor", ".onnx"),
        library.builtin_file("arbitrary_predictor", ".safetensors"),
    )
    monkeypatch.setattr(engines, "openvino_available", lambda: True)
    monkeypatch.setattr(engines, "fast_graph", lambda _path: _path)  # as if it had one
    if inside:
        monkeypatch.setitem(sys.modules, "bpy", object())
    else:
        monkeypatch.delitem(sys.modules, "bpy", raising=False)
    # the descriptor's words (ArchSpec.fp32_only), as an asked bf16 is refused with
    fp32_only = model.arch.fp32_only(model.config)
    assert fp32_only == "this network runs in fp32 only"
    for flags, why in ((AVX512_BF16, fp32_only), (AVX2, "no native bf16")):
        monkeypatch.setattr(cpu_features, "cpu_flags", lambda flags=flags: flags)
        choice = choose_backend(model)
        assert choice.backend == "onnx" and why in choice.reason
    if not inside:  # without a fast graph OpenVINO runs it (in f32), and says both
        monkeypatch.setattr(engines, "fast_graph", lambda _path: None)
        monkeypatch.setattr(cpu_features, "cpu_flags", lambda: AVX512_BF16)
        choice = choose_backend(model)
        assert choice.backend == "openvino"
        assert choice.reason == f"no fast graph for this network; {fp32_only}"


@pytest.mark.parametrize("flags", [AVX512_BF16, AMX])
def test_openvino_bf16_only_for_networks_with_a_fast_graph(library, monkeypatch, flags):
    """A trained style's network (no fast graph) had not compiled in OpenVINO bf16 after 7
    minutes (f32: 0.4 s; AVX512-BF16 EPYC, 2026-12-02): inside Blender auto does not take
    OpenVINO for it, outside it takes OpenVINO in f32 (the engine's own auto precision)."""
    monkeypatch.setattr(engines, "openvino_available", lambda: True)
    monkeypatch.setattr(engines, "torch_available", lambda: True)
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: flags)
    monkeypatch.setattr(engines, "fast_graph", lambda _path: None)
    monkeypatch.setitem(sys.modules, "bpy", object())
    choice = choose_backend(multistyle(library))
    assert choice.backend == "onnx" and "no fast graph" in choice.reason
    monkeypatch.delitem(sys.modules, "bpy")
    choice = choose_backend(multistyle(library))
    assert choice.backend == "openvino"
    # it runs f32 there: the reason says why, and credits no bf16 (it said 'the CPU has
    # native bf16' on an AVX512-BF16 EPYC for a trained style running fp32)
    assert "native bf16" not in choice.reason, choice.reason
    assert choice.reason == "no fast graph for this network, which OpenVINO runs in fp32"
    # without OpenVINO, not torch bf16 either (it had not run the network twice in 4 minutes)
    monkeypatch.setattr(engines, "openvino_available", lambda: False)
    assert choose_backend(multistyle(library)).backend == "onnx"


def test_openvino_auto_precision_is_fp32_on_a_plain_graph(library):
    model = multistyle(library)
    fast = create_engine(model, "openvino", "cpu", "auto")  # picks the fast graph
    from restyle.core.engines.openvino_engine import OpenVinoEngine

    assert OpenVinoEngine(model.onnx, model.arch, "cpu", "auto", graph="plain").precision == "fp32"
    caps = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    assert fast.precision == ("bf16" if "BF16" in caps else "fp32")


def test_auto_for_devices_only_one_engine_has(library, monkeypatch):
    from restyle.core.engines.onnx_engine import available_devices

    model = multistyle(library)
    monkeypatch.setattr(engines, "torch_available", lambda: True)
    cuda_engine = "onnx" if "cuda" in available_devices() else "torch"
    assert choose_backend(model, "cuda").backend == cuda_engine
    assert choose_backend(model, "mps").backend == "torch"
    assert choose_backend(model, "gpu").backend == "openvino"
    monkeypatch.setattr(engines, "openvino_available", lambda: False)
    with pytest.raises(RestyleError, match="needs OpenVINO"):
        choose_backend(model, "npu")


def test_explain_says_what_ran_and_why(library):
    engine = create_engine(multistyle(library), "auto", "cpu")
    text = explain(engine)
    assert text.startswith(f"{engine.backend} ") and " on cpu (" in text


# -- OpenVINO ------------------------------------------------------------------------------
def test_openvino_matches_onnx_runtime_fp32(library):
    model = multistyle(library)
    ref = create_engine(model, "onnx", "cpu")
    ov = create_engine(model, "openvino", "cpu", "fp32")
    assert (ov.backend, ov.device, ov.precision) == ("openvino", "cpu", "fp32")
    for h, w in ((64, 96), (48, 64)):  # a new size compiles a new shape
        x = smooth_frame(h, w)
        out = ov.run(x, one_hot(3))
        assert out.shape == (1, 3, h, w)
        assert psnr(out, ref.run(x, one_hot(3))) > 50.0


def test_openvino_runs_the_fast_graph_frame_by_frame(library):
    """Each frame of a batch with its own style (the fast graph takes its style from its
    batch's first row, so frames never share a call)."""
    from restyle.core.engines.onnx_engine import OnnxEngine

    model = multistyle(library)
    ov = create_engine(model, "openvino", "cpu", "fp32")
    assert ov.graph == "fast" and "fast graph" in ov.note
    plain = OnnxEngine(model.onnx, model.arch, "cpu", graph="plain", workers=1)
    x = np.concatenate([smooth_frame(seed=i) for i in range(3)])
    c = np.concatenate([one_hot(i) for i in (1, 9, 20)])
    want = np.concatenate([plain.run(x[i : i + 1], c[i : i + 1]) for i in range(3)])
    assert psnr(ov.run(x, c), want) > 60.0


def test_openvino_reduced_precision_is_checked_once(library):
    if "BF16" not in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        pytest.skip("no bf16 in OpenVINO on this CPU (it runs fp32: tested below)")
    ov = create_engine(multistyle(library), "openvino", "cpu", "bf16")
    x = smooth_frame()
    ov.run(x, one_hot(5))
    assert ov.checked and "bf16 checked:" in ov.note
    assert ov.precision == "bf16"  # the 26-style network keeps the bar in bf16


def test_openvino_falls_back_to_fp32_below_the_bar(library, monkeypatch):
    from restyle.core.engines import openvino_engine, precision

    # On every CPU: bf16 kept as asked, and the first batch's check made to miss the bar (a
    # CPU without bf16 runs f32 under the hint, which no bar can tell from f32; the check's
    # rule is precision.checked_batch's, shared by the engines).
    monkeypatch.setattr(openvino_engine, "runnable_precision", lambda p, caps: (p, ""))
    monkeypatch.setattr(precision, "judged_psnr", lambda out, ref, images: 20.0)
    ov = create_engine(multistyle(library), "openvino", "cpu", "bf16")
    ref = create_engine(multistyle(library), "onnx", "cpu")
    x = smooth_frame()
    out = ov.run(x, one_hot(7))
    assert ov.precision == "fp32" and "running fp32" in ov.note
    assert psnr(out, ref.run(x, one_hot(7))) > 50.0  # the returned frame is the fp32 one


def test_openvino_never_claims_a_precision_the_device_lacks():
    from restyle.core.engines.openvino_engine import runnable_precision

    avx2_only = ["FP32", "INT8", "BIN", "EXPORT_IMPORT"]
    assert runnable_precision("bf16", avx2_only)[0] == "fp32"
    assert "no native bf16: running fp32" in runnable_precision("bf16", avx2_only)[1]
    assert runnable_precision("fp16", avx2_only)[0] == "fp32"
    assert runnable_precision("bf16", avx2_only + ["BF16"]) == ("bf16", "")
    assert runnable_precision("fp16", ["FP32", "FP16"]) == ("fp16", "")
    assert runnable_precision("fp32", avx2_only) == ("fp32", "")


def test_openvino_bf16_on_this_cpu_is_what_it_computes(library):
    caps = list(openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    ov = create_engine(multistyle(library), "openvino", "cpu", "bf16")
    if "BF16" in caps:
        assert ov.precision == "bf16"
    else:
        assert ov.precision == "fp32" and "no native bf16" in ov.note


def test_openvino_device_errors_are_one_clear_line(library):
    with pytest.raises(RestyleError, match="not one OpenVINO runs on"):
        create_engine(multistyle(library), "openvino", "cuda")
    if "NPU" not in openvino.Core().available_devices:
        with pytest.raises(RestyleError, match="found no NPU"):
            create_engine(multistyle(library), "openvino", "npu")


def test_precision_bar():
    a = np.zeros((1, 3, 4, 4), np.float32)
    assert psnr(a, a) == float("inf")
    assert abs(psnr(a + 0.01, a) - 40.0) < 1e-6
    assert PRECISION_BAR_DB == 35.0


# -- shared CPU ----------------------------------------------------------------------------
def test_openmp_waits_passively_unless_the_user_says_otherwise():
    code = (
        "import os; import restyle.core.engines; "
        "print(os.environ['OMP_WAIT_POLICY'], os.environ['KMP_BLOCKTIME'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "KMP_BLOCKTIME")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["PASSIVE", "0"]
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["ACTIVE", "0"]


# -- encoding beside the engine ------------------------------------------------------------
def test_encoders_get_the_cores_a_gpu_engine_leaves(monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setattr(engines, "cpu_threads", lambda: 8)
    assert engines.encode_workers(SimpleNamespace(device="cpu")) == {"workers": 2, "threads": 1}
    assert engines.encode_workers(SimpleNamespace(device="cuda")) == {"workers": 8, "threads": 8}


def test_job_hands_the_encoder_threads_to_the_writer(
    library, index_clip_h264, tmp_path, monkeypatch
):
    import av

    from restyle.core import job as job_module
    from restyle.core.job import StyleJob

    seen = []

    def gpu_like(engine):
        seen.append(engine.device)
        return {"workers": 3, "threads": 2}

    monkeypatch.setattr(job_module, "encode_workers", gpu_like)
    from restyle.core import writers

    real_open, asked = writers.open_writer, {}

    def spy(*args, **kwargs):
        asked.update(kwargs)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(writers, "open_writer", spy)
    out = tmp_path / "out.mp4"
    result = StyleJob(
        index_clip_h264,
        out,
        "comic-ink",
        start=0,
        end=2,
        temporal=0.0,
        library=library,
        format="h264",
    ).run()
    assert seen == [result.device] and result.written == 3
    assert (asked["workers"], asked["threads"]) == (3, 2)
    with av.open(str(out)) as movie:
        assert sum(1 for _ in movie.decode(video=0)) == 3


# -- torch reduced precision ---------------------------------------------------------------
def test_torch_bf16_is_checked_and_dropped_below_the_bar(library, monkeypatch):
    pytest.importorskip("torch")
    from restyle.core.engines import precision

    model = multistyle(library)
    x = smooth_frame()
    ref = create_engine(model, "onnx", "cpu").run(x, one_hot(2))
    engine = create_engine(model, "torch", "cpu", "bf16")
    engine.run(x, one_hot(2))
    assert engine.precision == "bf16" and engine.note.startswith("bf16 checked:")
    monkeypatch.setattr(precision, "PRECISION_BAR_DB", 1000.0)  # the verdict kept above misses
    engine = create_engine(model, "torch", "cpu", "bf16")
    out = engine.run(x, one_hot(2))
    assert engine.precision == "fp32" and "running fp32" in engine.note
    assert psnr(out, ref) > 60.0
    assert psnr(engine.run(x, one_hot(2)), ref) > 60.0  # and stays fp32


def test_the_style_predictor_always_runs_fp32(library):
    """In bf16 its style vector cost picture styles 17 dB (32 dB against fp32)."""
    model = ModelFiles(
        ARCHS["arbitrary_predictor"],
        library.builtin_file("arbitrary_predictor", ".onnx"),
        library.builtin_file("arbitrary_predictor", ".safetensors"),
    )
    assert create_engine(model, "openvino", "cpu", "bf16").precision == "fp32"


def test_cpu_workers_are_lanes_that_do_not_spin(library, monkeypatch):
    """Two CPU worker sessions: the pipeline gets two inference lanes (no barrier at the end
    of each batch), and the workers, one thread each, yield their cores when idle."""
    from restyle.core.engines import onnx_engine
    from restyle.core.engines.onnx_engine import OnnxEngine

    monkeypatch.setattr(onnx_engine, "cpu_workers", lambda threads=None: 2)
    model = multistyle(library)
    with OnnxEngine(model.onnx, model.arch, "cpu") as engine:
        sessions = [engine._pool.get() for _ in range(engine.workers)]
        assert engine.lanes == 2 and len(sessions) == 2
        for session in sessions:
            options = session.get_session_options()
            assert options.intra_op_num_threads == 1
            assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
            engine._pool.put(session)
        frames = np.concatenate([smooth_frame(seed=s) for s in range(2)])
        assert engine.run(frames, np.repeat(one_hot(3), 2, 0)).shape == frames.shape
    with OnnxEngine(model.onnx, model.arch, "cpu", workers=1) as single:
        assert single.lanes == 1
