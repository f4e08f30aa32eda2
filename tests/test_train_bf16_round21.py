"""Round 21: training in bf16 where the CPU computes bf16 natively (TrainConfig.precision).

"auto" picks bf16 by the CPU's instruction set (core/engines/cpu.py's flags, patched here),
fp32 elsewhere; a bf16 run learns, reports its precision, keeps float32 weights, and a fixed
seed still gives the same weights on the same CPU and threads.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_train import SMALL, invert, moving_clip  # noqa: E402

from restyle.core.engines import cpu as cpu_features  # noqa: E402
from restyle.core.errors import RestyleError  # noqa: E402
from restyle.core.train.trainer import TrainConfig, train_style, training_precision  # noqa: E402

AVX512_BF16 = frozenset({"avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"})
AMX = frozenset({"avx512f", "amx_tile", "amx_bf16"})
NO_BF16 = frozenset({"avx2", "fma", "avx512f", "avx512_vnni"})

# Short, reproducible runs on the test file's tiny frames.
SHORT = replace(SMALL, max_iterations=120, val_every=20)


@pytest.fixture(scope="module")
def pairs():
    clip = moving_clip()
    return [(clip[k], invert(clip[k])) for k in (0, 8)]


def _cpu(monkeypatch, flags: frozenset[str]) -> None:
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: flags)


def _same(first, second) -> bool:
    return all(np.array_equal(first.state_dict[k], second.state_dict[k]) for k in first.state_dict)


@pytest.mark.parametrize("flags", [AVX512_BF16, AMX], ids=["avx512_bf16", "amx"])
def test_auto_is_bf16_on_a_cpu_with_native_bf16(monkeypatch, flags):
    _cpu(monkeypatch, flags)
    assert TrainConfig().precision == "auto"
    assert training_precision("auto", "cpu") == "bf16"
    assert training_precision("fp32", "cpu") == "fp32"  # the way to turn it off
    assert training_precision("auto", "cuda") == "fp32"  # a GPU: not measured, unchanged


def test_auto_is_fp32_on_a_cpu_without(monkeypatch):
    _cpu(monkeypatch, NO_BF16)
    assert training_precision("auto", "cpu") == "fp32"
    assert training_precision("bf16", "cpu") == "bf16"  # asked for: emulated, but honoured


def test_other_precisions_are_refused():
    with pytest.raises(RestyleError, match="precision must be one of auto, fp32, bf16"):
        TrainConfig(precision="fp16")
    with pytest.raises(RestyleError, match="precision must be one of"):
        TrainConfig(precision=16)


def test_a_bf16_run_learns_in_float32_weights_and_says_so(monkeypatch, pairs):
    _cpu(monkeypatch, AVX512_BF16)
    result = train_style(pairs, config=SHORT)  # "auto"
    figures = result.figures
    assert figures.precision == "bf16" and figures.as_dict()["precision"] == "bf16"
    assert figures.iterations == SHORT.max_iterations
    curve = [value for _, _, value in figures.val_history]
    assert curve[-1] < 0.5 * curve[0], curve  # the loss falls
    assert figures.val_l1 < 0.15
    assert all(array.dtype == np.float32 for array in result.state_dict.values())
    # The bf16 arithmetic is what ran: the same seed in fp32 learns other weights.
    fp32 = train_style(pairs, config=replace(SHORT, precision="fp32"))
    assert fp32.figures.precision == "fp32"
    assert not _same(result, fp32)


def test_auto_without_native_bf16_is_exactly_fp32(monkeypatch, pairs):
    _cpu(monkeypatch, NO_BF16)
    config = replace(SHORT, max_iterations=30)
    auto = train_style(pairs, config=config)
    fp32 = train_style(pairs, config=replace(config, precision="fp32"))
    assert auto.figures.precision == fp32.figures.precision == "fp32"
    assert _same(auto, fp32)


def test_bf16_same_seed_same_weights(pairs):
    config = replace(SHORT, max_iterations=30, precision="bf16")
    first = train_style(pairs, config=config)
    second = train_style(pairs, config=config)
    assert first.figures.precision == "bf16"
    assert _same(first, second)
    curves = [[(i, v) for i, _, v in r.figures.val_history] for r in (first, second)]
    assert curves[0] == curves[1]


def test_bf16_with_the_critic(pairs):
    """The critic (off by default) runs under autocast too; its losses stay float32."""
    config = replace(SHORT, max_iterations=20, precision="bf16", adversarial_weight=0.05)
    result = train_style(pairs, config=config)
    assert result.figures.precision == "bf16" and np.isfinite(result.figures.val_l1)
    assert all(array.dtype == np.float32 for array in result.state_dict.values())
