"""Round 21 on a CPU with native bf16 (AMD EPYC, AVX512-BF16): the first-batch precision
check and auto's words.

- A black first frame switched whole runs to fp32 ('bf16 gave 7.8 dB against fp32 (below 35
  dB): running fp32'): a flat frame's styled output is rounding noise blown up by instance
  normalisation, in fp32 as much as in bf16, so it says nothing of the precision. The check
  now judges the frames that show something, and waits for a batch with one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from restyle.core.engines.precision import FLAT_STD, judged_psnr, psnr, shown
from restyle.models.registry import ARCHS


def frames(*kinds: str, h: int = 24, w: int = 32) -> np.ndarray:
    """NCHW frames: 'black', 'grey' (flat) or 'photo' (varied)."""
    rng = np.random.default_rng(len(kinds))
    out = []
    for kind in kinds:
        if kind == "black":
            out.append(np.zeros((3, h, w), np.float32))
        elif kind == "grey":
            out.append(np.full((3, h, w), 0.5, np.float32))
        else:
            out.append(rng.random((3, h, w)).astype(np.float32))
    return np.stack(out)


def styled(images: np.ndarray, precision: str, bad: bool = False) -> np.ndarray:
    """A stand-in network: flat frames give noise that differs between precisions (as
    instance normalisation's blown-up rounding does), others a faithful picture (or, ``bad``,
    a bf16 one far off)."""
    out = 1.0 - images
    for i, flat in enumerate(~shown(images)):
        if flat:
            seed = 1 if precision == "fp32" else 2
            out[i] = np.random.default_rng(seed).random(images[i].shape, dtype=np.float32)
        elif precision != "fp32":
            out[i] = np.clip(out[i] + (0.3 if bad else 0.001), 0, 1)
    return out


# -- the rule -------------------------------------------------------------------------------


def test_flat_frames_are_not_judged_and_the_rest_are():
    black, photo = frames("black"), frames("photo")
    assert not shown(black).any() and shown(photo).all()
    assert not shown(black + FLAT_STD / 2).any()  # a black frame with codec noise under 1 level
    # the old rule on a black frame: the noise scored far below the bar
    assert psnr(styled(black, "bf16"), styled(black, "fp32")) < 35
    assert judged_psnr(styled(black, "bf16"), styled(black, "fp32"), black) is None
    mixed = frames("black", "photo", "grey")
    good = judged_psnr(styled(mixed, "bf16"), styled(mixed, "fp32"), mixed)
    assert good is not None and good > 50
    bad = judged_psnr(styled(mixed, "bf16", bad=True), styled(mixed, "fp32"), mixed)
    assert bad is not None and bad < 35
    nan = styled(black, "bf16")
    nan[0, 0, 0, 0] = np.nan  # a NaN is no rounding: it fails even on a flat frame
    assert judged_psnr(nan, styled(black, "fp32"), black) == -np.inf


# -- the engines ---------------------------------------------------------------------------


@pytest.fixture
def tiny_model(tiny_style) -> Path:
    return tiny_style / "styles" / "tiny" / "model.onnx"


def openvino_engine(tiny_model, monkeypatch, bad=False):
    pytest.importorskip("openvino")
    from restyle.core.engines.openvino_engine import OpenVinoEngine

    engine = OpenVinoEngine(tiny_model, ARCHS["fewshot"], "cpu", "fp32")
    engine.precision, engine.checked = "bf16", False  # as on a bf16 CPU, whatever this one is
    monkeypatch.setattr(engine, "_infer", lambda images, _c, p: styled(images, p, bad))
    return engine


def torch_engine(tiny_style, monkeypatch, bad=False):
    torch = pytest.importorskip("torch")
    from restyle.core.engines.torch_engine import TorchEngine

    folder = tiny_style / "styles" / "tiny"
    config = {"in_channels": 3, "width": 4, "blocks": 1}
    engine = TorchEngine(ARCHS["fewshot"], folder / "weights.safetensors", "cpu", "fp32", config)
    engine.precision, engine.dtype, engine.checked = "bf16", torch.bfloat16, False
    engine._fp32 = engine.module

    def infer(_module, dtype, _format, images, _condition):
        precision = "fp32" if dtype == torch.float32 else "bf16"
        return torch.from_numpy(styled(np.asarray(images), precision, bad))

    monkeypatch.setattr(engine, "_infer", infer)
    return engine


@pytest.mark.parametrize("make", [openvino_engine, torch_engine])
def test_a_black_first_frame_keeps_bf16_and_the_next_frame_checks_it(
    make, tiny_style, tiny_model, monkeypatch
):
    engine = make(tiny_style if make is torch_engine else tiny_model, monkeypatch)
    try:
        engine.run(frames("black"))
        assert engine.precision == "bf16" and not engine.checked, engine.note
        assert "running fp32" not in (engine.note or "")
        engine.run(frames("black", "photo"))  # a flat frame beside one that shows something
        assert engine.checked and engine.precision == "bf16", engine.note
        assert "bf16 checked" in engine.note
    finally:
        engine.close()


@pytest.mark.parametrize("make", [openvino_engine, torch_engine])
def test_a_bad_bf16_output_still_falls_back_to_fp32(make, tiny_style, tiny_model, monkeypatch):
    engine = make(tiny_style if make is torch_engine else tiny_model, monkeypatch, bad=True)
    try:
        out = engine.run(frames("black", "photo"))
        assert engine.checked and engine.precision == "fp32", engine.note
        assert "bf16 gave" in engine.note and "running fp32" in engine.note
        assert np.allclose(out, styled(frames("black", "photo"), "fp32"))  # fp32's output
    finally:
        engine.close()
