"""The held-out watch (trainer.HeldOutWatch): frames the run never trains on, styled by the
weights it would return if it stopped there, handed to a benchmark as the run goes. It must
report the right frames with the right weights, and never change the run it watches.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_train import (  # noqa: E402
    HELD_OUT,
    KEYFRAMES,
    SMALL,
    generator_from,
    invert,
    moving_clip,
    stylize,
)

from restyle.core.errors import RestyleError  # noqa: E402
from restyle.core.train.trainer import (  # noqa: E402
    HeldOutCheck,
    HeldOutWatch,
    train_style,
)

# A constant rate, so a run capped at fewer iterations takes the very same steps.
STEADY = replace(SMALL, max_iterations=60, val_every=10, lr_anneal=False, lr=5e-3)


@pytest.fixture(scope="module")
def clip() -> list[np.ndarray]:
    return moving_clip()


@pytest.fixture(scope="module")
def pairs(clip) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(clip[i], invert(clip[i])) for i in KEYFRAMES]


def styled_by(result, frames: list[np.ndarray]) -> list[np.ndarray]:
    generator = generator_from(result)
    return [np.round(stylize(generator, frame).clip(0, 1) * 255) for frame in frames]


def assert_styled_as(check: HeldOutCheck, expected: list[np.ndarray]) -> None:
    assert len(check.styled) == len(expected)
    for got, want in zip(check.styled, expected, strict=True):
        assert got.dtype == np.uint8 and got.shape == want.shape
        assert np.abs(got.astype(float) - want).max() <= 1


def watched_run(pairs, frames, config=STEADY, every_s=1e-9, on_check=None):
    checks: list[HeldOutCheck] = []

    def record(check: HeldOutCheck) -> None:
        checks.append(check)
        if on_check is not None:
            on_check(check)

    watch = HeldOutWatch(frames=frames, on_check=record, every_s=every_s)
    return train_style(pairs, config=config, held_out=watch), checks


def test_every_check_holds_the_held_out_frames_styled_by_the_best_weights_so_far(clip, pairs):
    frames = [clip[i] for i in HELD_OUT]
    result, checks = watched_run(pairs, frames)
    figures = result.figures
    # One check at every validation (every_s is tiny), then one with the returned weights.
    assert [c.iteration for c in checks] == [10, 20, 30, 40, 50, 60, 60]
    assert [c.final for c in checks] == [False] * 6 + [True]
    assert_styled_as(checks[-1], styled_by(result, frames))
    assert (checks[-1].val_l1, checks[-1].best_iteration) == (
        figures.val_l1,
        figures.best_iteration,
    )
    # Each check on the way: the best weights up to then, as a run stopped there would
    # return (at this rate the validation L1 rises at 40 and 60: not the current weights).
    references = {}
    for index, check in enumerate(checks[:-1]):
        best_iteration, _, best_val = min(figures.val_history[: index + 1], key=lambda e: e[2])
        assert (check.best_iteration, check.val_l1) == (best_iteration, best_val)
        if best_iteration not in references:
            config = replace(STEADY, max_iterations=best_iteration)
            references[best_iteration] = styled_by(train_style(pairs, config=config), frames)
        assert_styled_as(check, references[best_iteration])
    seconds = [c.seconds for c in checks]
    assert seconds == sorted(seconds) and seconds[-1] == pytest.approx(figures.seconds, abs=0.01)


def test_a_watched_run_learns_and_stops_as_an_unwatched_one(clip, pairs):
    watched, checks = watched_run(pairs, [clip[i] for i in HELD_OUT])
    unwatched = train_style(pairs, config=STEADY)
    assert checks
    for name, value in unwatched.state_dict.items():
        np.testing.assert_array_equal(value, watched.state_dict[name])
    strip = [(i, v) for i, _, v in unwatched.figures.val_history]
    assert strip == [(i, v) for i, _, v in watched.figures.val_history]
    assert watched.figures.stopped_because == unwatched.figures.stopped_because


def burn(seconds: float) -> None:
    """This process's CPU busy for ``seconds``, as styling many frames would keep it."""
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_the_checks_time_is_left_out_of_the_runs_clock(clip, pairs):
    budget, every_s, burnt = 1.0, 0.15, 0.4
    config = replace(SMALL, max_iterations=None, time_budget_s=budget, val_every=5)
    result, checks = watched_run(
        pairs, [clip[4]], config=config, every_s=every_s, on_check=lambda _: burn(burnt)
    )
    figures = result.figures
    spent = burnt * len(checks)
    # The checks took more CPU than the whole budget, and still the run had all of it.
    assert spent > 1.5 * budget, len(checks)
    assert figures.stopped_because == "time_budget"
    assert budget <= figures.seconds < budget + 0.5
    # A check at the first validation every_s after the last one, on the run's clock. A
    # check's seconds are rounded to 0.01 (HeldOutCheck): two may read that much closer.
    during = [c.seconds for c in checks if not c.final]
    rounding = 0.01 + 1e-9
    assert during[0] >= every_s - rounding
    assert all(b - a >= every_s - rounding for a, b in zip(during, during[1:], strict=False))


@pytest.mark.parametrize(
    "frames, every_s, words",
    [
        ([np.zeros((64, 96, 4), np.uint8)], 1.0, "Held-out frame 0 has not the training"),
        ([np.zeros((64, 96, 3), np.float32)], 1.0, "Held-out frame 0 is not an 8-bit"),
        ([np.zeros((64, 96, 3), np.uint8)], 0.0, "every_s must be positive"),
    ],
)
def test_a_bad_watch_is_refused_before_training(pairs, frames, every_s, words):
    checks = []
    watch = HeldOutWatch(frames=frames, on_check=checks.append, every_s=every_s)
    with pytest.raises(RestyleError, match=words):
        train_style(pairs, config=STEADY, held_out=watch)
    assert not checks
