"""GPU provider and device selection, fallbacks and their messages, tested on the CPU by
mocking what is installed (no GPU here: the GPU paths themselves are unverified)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from restyle.core.engines import ModelFiles, create_engine, explain, gpu, onnx_engine, precision
from restyle.core.engines.precision import psnr
from restyle.core.errors import BLENDER, COMMAND_LINE, RestyleError, say
from restyle.core.styles import default_root
from restyle.models.registry import ARCHS

LINUX_LIBS = [lib for _what, lib in gpu.CUDA_LIBRARIES["linux"]]


def loader(*present: str):
    return lambda name: name in present


def multistyle(library) -> ModelFiles:
    return ModelFiles(
        ARCHS["multistyle26"],
        library.builtin_file("multistyle26", ".onnx"),
        library.builtin_file("multistyle26", ".safetensors"),
    )


def frame_and_style():
    rng = np.random.default_rng(1)
    x = rng.random((1, 3, 48, 64), np.float32)
    c = np.zeros((1, 26), np.float32)
    c[0, 4] = 1.0
    return x, c


@pytest.fixture
def cuda_listed(monkeypatch):
    """An onnxruntime that lists CUDA (as onnxruntime-gpu does) on a machine without a GPU."""
    monkeypatch.setattr(onnx_engine, "available_devices", lambda: ["cuda", "cpu"])
    monkeypatch.setattr(gpu, "_loads", loader("libcuda.so.1", "libcudart.so.12"))
    monkeypatch.setattr(gpu.sys, "platform", "linux")


def test_why_no_cuda_names_what_is_missing():
    assert gpu.why_no_cuda(loader(), "linux") == "no NVIDIA driver (libcuda.so.1 not found)"
    why = gpu.why_no_cuda(loader("libcuda.so.1", "libcudart.so.12", "libcublasLt.so.12"), "linux")
    assert why == "missing cuDNN 9 (libcudnn.so.9)"
    assert "driver too old" in gpu.why_no_cuda(loader(*LINUX_LIBS), "linux")
    assert gpu.why_no_cuda(loader(), "win32").endswith("(nvcuda.dll not found)")
    assert not gpu.nvidia_driver_present(loader(*LINUX_LIBS), "darwin")


def test_auto_falls_back_to_cpu_and_says_why(library, cuda_listed):
    engine = create_engine(multistyle(library), "onnx", "auto")
    assert engine.device == "cpu" and engine.precision == "fp32"
    assert engine.note.startswith(
        "CUDA not usable: missing cuBLAS 12 (libcublasLt.so.12), cuDNN 9 (libcudnn.so.9); "
        "running on CPU"
    )  # then what runs on the CPU (graph, workers)
    assert "running on CPU" in explain(engine)
    x, c = frame_and_style()
    assert engine.run(x, c).shape == (1, 3, 48, 64)


def test_cuda_asked_for_but_not_starting_is_an_error_that_says_why(library, cuda_listed):
    with pytest.raises(RestyleError, match=r"^CUDA could not start: missing cuBLAS 12"):
        create_engine(multistyle(library), "onnx", "cuda")


def test_cuda_missing_from_this_onnxruntime_names_the_fix(library, monkeypatch):
    monkeypatch.setattr(onnx_engine, "available_devices", lambda: ["cpu"])
    with pytest.raises(RestyleError, match="pip install onnxruntime-gpu"):  # Python's words
        create_engine(multistyle(library), "onnx", "cuda:1")


def test_auto_on_cpu_mentions_an_unused_nvidia_gpu(library, monkeypatch):
    monkeypatch.setattr(onnx_engine, "available_devices", lambda: ["cpu"])
    monkeypatch.setattr(gpu, "_loads", loader("libcuda.so.1"))
    monkeypatch.setattr(gpu.sys, "platform", "linux")
    engine = create_engine(multistyle(library), "onnx", "auto")
    assert engine.note.startswith("NVIDIA GPU found, but this onnxruntime has no CUDA")
    # The fix stays marked for the front end that shows the note to word (test_engine_notes)
    note = engine.note.split("; ")[0]
    assert say(note, COMMAND_LINE).endswith(
        "CUDA: pip install onnxruntime-gpu (ONNX Runtime with CUDA)"
    )
    assert say(note, BLENDER).endswith("CUDA: use Install GPU Support in the add-on preferences")


def test_tensorrt_providers_carry_index_fp16_and_cuda_fallback(monkeypatch):
    monkeypatch.setattr(onnx_engine, "available_devices", lambda: ["tensorrt", "cuda", "cpu"])
    trt, cuda, cpu = onnx_engine.providers_for("tensorrt:1")
    assert trt[0] == "TensorrtExecutionProvider"
    assert trt[1]["device_id"] == 1 and trt[1]["trt_fp16_enable"]
    # Built engines are kept in the style library's cache, not the working directory.
    cache = Path(trt[1]["trt_engine_cache_path"])
    assert cache.is_dir() and cache == default_root() / "cache" / "tensorrt"
    assert cuda == ("CUDAExecutionProvider", {"device_id": 1})
    assert cpu == "CPUExecutionProvider"
    assert onnx_engine.providers_for("auto")[0] == "CUDAExecutionProvider"  # TensorRT: asked


def test_fp16_is_checked_against_fp32_on_the_first_batch(library):
    """The CUDA fp16 path's conversion and check, run on ONNX Runtime's CPU provider."""
    engine = create_engine(multistyle(library), "onnx", "cpu")
    x, c = frame_and_style()
    reference = engine.run(x, c)
    engine.enable_fp16("cpu")
    out = engine.run(x, c)
    assert engine.precision == "fp16" and "; fp16 checked:" in engine.note
    assert 35.0 <= psnr(out, reference) < 200.0


def test_fp16_below_the_bar_falls_back_to_fp32(library, monkeypatch):
    monkeypatch.setattr(precision, "PRECISION_BAR_DB", 1000.0)
    engine = create_engine(multistyle(library), "onnx", "cpu")
    x, c = frame_and_style()
    reference = engine.run(x, c)
    engine.enable_fp16("cpu")
    out = engine.run(x, c)
    assert engine.precision == "fp32" and "running fp32" in engine.note
    np.testing.assert_array_equal(out, reference)


def test_fp16_on_the_cpu_provider_is_refused_with_a_reason(library):
    with pytest.raises(RestyleError, match="needs a CUDA or TensorRT device"):
        create_engine(multistyle(library), "onnx", "cpu", "fp16")


def test_torch_cuda_reasons(monkeypatch):
    torch = pytest.importorskip("torch")
    from restyle.core.engines import torch_engine

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(RestyleError, match="CPU-only build"):
        torch_engine.pick_device("cuda")
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    monkeypatch.setattr(gpu, "_loads", loader())
    assert torch_engine.why_no_torch_cuda() == "no NVIDIA driver found"
    monkeypatch.setattr(gpu, "_loads", loader(*LINUX_LIBS))
    monkeypatch.setattr(gpu.sys, "platform", "linux")
    assert "driver too old" in torch_engine.why_no_torch_cuda()
    assert torch_engine.auto_device_note("cpu").startswith("CUDA not usable:")
    assert torch_engine.auto_device_note("cuda") == ""


def test_psnr_of_a_non_finite_output_fails_the_bar():
    """fp16 overflow gives inf, then NaN; NaN compares false with the bar, so it must
    score -inf rather than pass the first-batch check."""
    reference = np.full((1, 3, 4, 4), 0.5, np.float32)
    for bad in (np.nan, np.inf):
        out = reference.copy()
        out[0, 1, 2, 3] = bad
        assert psnr(out, reference) == -np.inf


def _overflow_from(engine, monkeypatch, call: int) -> None:
    """Make the reduced-precision network give a NaN from its ``call``-th batch on (what an
    fp16 overflow in a norm's variance gives on a GPU)."""
    import torch

    infer, calls = engine._infer, [0]

    def overflowing(module, dtype, memory_format, images, condition):
        out = infer(module, dtype, memory_format, images, condition)
        if dtype != torch.float32:
            calls[0] += 1
            if calls[0] >= call:
                out = out.clone()
                out[..., 0, 0] = float("nan")
        return out

    monkeypatch.setattr(engine, "_infer", overflowing)


def test_a_nan_first_batch_fails_the_check_and_runs_fp32(library, monkeypatch):
    pytest.importorskip("torch")
    engine = create_engine(multistyle(library), "torch", "cpu", "bf16")
    _overflow_from(engine, monkeypatch, call=1)
    out = engine.run(*frame_and_style())
    # the probe picture (this machine's verdict, precision.py) is its first batch
    assert engine.precision == "fp32" and "-inf dB against fp32 on the probe picture" in engine.note
    assert "running fp32" in engine.note
    assert np.isfinite(out).all()


def test_a_later_overflowing_batch_switches_to_fp32_for_good(library, monkeypatch):
    pytest.importorskip("torch")
    x, c = frame_and_style()
    reference = create_engine(multistyle(library), "torch", "cpu", "fp32").run(x, c)
    engine = create_engine(multistyle(library), "torch", "cpu", "bf16")
    _overflow_from(engine, monkeypatch, call=3)  # 1: the probe picture (precision.py), 2: x
    first = engine.run(x, c)
    assert engine.precision == "bf16" and psnr(first, reference) >= 35.0
    second = engine.run(x, c)
    assert engine.precision == "fp32" and "overflowed on a later batch" in engine.note
    np.testing.assert_array_equal(second, reference)  # the same fp32 weights, not rounded ones
    np.testing.assert_array_equal(engine.run(x, c), reference)


def test_auto_takes_a_cuda_torch_when_onnxruntime_has_no_gpu(library, monkeypatch):
    """A CUDA build of torch beside the CPU onnxruntime (the add-on's torch install, or a
    data-centre image) runs on the GPU, not on the CPU."""
    torch = pytest.importorskip("torch")
    from restyle.core import engines

    monkeypatch.setattr(onnx_engine, "available_devices", lambda: ["cpu"])
    monkeypatch.setattr(gpu, "_loads", loader(*LINUX_LIBS))
    monkeypatch.setattr(gpu.sys, "platform", "linux")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    choice = engines.choose_backend(multistyle(library), "auto")
    assert choice == engines.EngineChoice(
        "torch", "PyTorch found a CUDA GPU (this onnxruntime has none)"
    )
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "CUDA" not in engines.choose_backend(multistyle(library), "auto").reason


def test_no_driver_means_torch_cuda_is_not_even_asked(library, monkeypatch):
    torch = pytest.importorskip("torch")
    from restyle.core import engines

    def must_not_be_called():
        raise AssertionError("torch.cuda asked without an NVIDIA driver")

    monkeypatch.setattr(gpu, "_loads", loader())
    monkeypatch.setattr(torch.cuda, "is_available", must_not_be_called)
    assert not engines.torch_cuda_usable()


def test_a_cuda_index_that_does_not_exist_is_refused_up_front(monkeypatch):
    torch = pytest.importorskip("torch")
    from restyle.core.engines import torch_engine

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert torch_engine.pick_device("cuda:0") == "cuda:0"
    with pytest.raises(RestyleError, match=r"'cuda:1' does not exist: this machine has cuda:0"):
        torch_engine.pick_device("cuda:1")
    with pytest.raises(RestyleError, match="does not exist"):
        torch_engine.pick_device("cuda:x")


@pytest.mark.parametrize(("word", "engine"), [("mps", "torch"), ("npu", "openvino")])
def test_another_engines_device_names_that_engine(word, engine):
    """--backend onnx --device mps said only 'unknown device'; it names the backend to use."""
    with pytest.raises(RestyleError, match=f"backend='{engine}'"):
        onnx_engine.providers_for(word)
    with pytest.raises(RestyleError, match="unknown device 'warp9'"):
        onnx_engine.providers_for("warp9")
