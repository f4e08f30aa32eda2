"""The stopping rule (core/train/stopping.py) on synthetic validation curves: it must not stop
a curve that is still improving under noise, and must stop one that has flattened."""

from __future__ import annotations

import numpy as np
import pytest

from restyle.core.train.stopping import PlateauRule


def verdicts(rule: PlateauRule, seconds: np.ndarray, values: np.ndarray) -> list[str]:
    return [rule.update(float(t), float(v)) for t, v in zip(seconds, values, strict=True)]


def noisy(curve: np.ndarray, amount: float, seed: int = 0) -> np.ndarray:
    """The curve times multiplicative noise of +-``amount``, with rare outliers: 30 % up
    (a bad step) or 15 % down (a lucky one, which a rule comparing single validations takes
    as the new bar and then waits for in vain)."""
    rng = np.random.default_rng(seed)
    noise = 1 + amount * rng.uniform(-1, 1, curve.size)
    draw = rng.random(curve.size)
    return curve * np.select([draw < 0.03, draw < 0.06], [1.3, 0.85], noise)


SECONDS = np.arange(1, 301) * 2.0  # a validation every 2 s for 600 s


@pytest.mark.parametrize("seed", range(8))
def test_a_noisy_but_improving_curve_never_plateaus(seed):
    # Falls 6 % per minute (0.5 dB a minute), with +-4 % noise per validation and outliers
    # 30 % up: single validations often look worse than the one before, yet it improves.
    curve = 0.05 * np.exp(-0.06 * SECONDS / 60)
    rule = PlateauRule(patience_s=60, min_improvement=0.01)
    assert "plateau" not in verdicts(rule, SECONDS, noisy(curve, 0.04, seed))


@pytest.mark.parametrize("seed", range(8))
def test_a_noisy_plateau_is_found_within_patience(seed):
    # Improves for 200 s, then flat (with the same noise): the plateau is reported after the
    # patience has run out, not before, and then once per patience window.
    curve = 0.02 + 0.03 * np.exp(-np.minimum(SECONDS, 200) / 40)
    rule = PlateauRule(patience_s=60, min_improvement=0.01)
    answers = verdicts(rule, SECONDS, noisy(curve, 0.04, seed))
    first = SECONDS[answers.index("plateau")]
    assert 200 < first <= 200 + 60 + 5 * 2 + 60  # within patience (+ smoothing lag)
    later = SECONDS[[a == "plateau" for a in answers]]
    assert np.all(np.diff(later) >= 60)


def test_a_single_validation_decides_nothing_with_smoothing():
    # One lucky validation (20 % lower) among flat ones is not an improvement: the median of
    # five ignores it, so the flat curve still plateaus on time.
    values = np.full(40, 0.05)
    values[10] = 0.04
    rule = PlateauRule(patience_s=30, min_improvement=0.01)
    answers = verdicts(rule, np.arange(40) * 2.0, values)
    assert answers.index("plateau") == 15  # 30 s after the first validation


def test_bad_rule_settings_are_refused():
    with pytest.raises(ValueError):
        PlateauRule(patience_s=0, min_improvement=0.01)
    with pytest.raises(ValueError):
        PlateauRule(patience_s=10, min_improvement=1.0)
