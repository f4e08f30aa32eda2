"""A training's time budget: its one range and its one refusal.

Light on purpose (no numpy, no torch, no engine): props.py reads ``TIME_BUDGET`` for the
Time Budget controls when the add-on registers, before anything trains.
"""

from __future__ import annotations

# A training's time budget in seconds, the least and most: train's and matte's --time-budget,
# TrainConfig's time_budget_s, MatteJob's train_seconds and Blender's Time Budget (the
# sidebar's and Train Style's, whose 0 means the sidebar's). It trains one step at least.
TIME_BUDGET = (0.01, 24 * 3600.0)


def time_budget_refusal(seconds: float, named: str) -> str:
    """Why a time budget of ``seconds`` is refused ('{named} is out of range 0.01..86400
    (24 h)'; ``named`` as the caller's front end says it), '' in range: the one rule of
    the command line's --time-budget, MatteJob's train_seconds and time_budget_s."""
    # Blender's float properties are float32: its Time Budget's least, 0.01, arrives as
    # 0.0099999998, so the range is compared at a microsecond.
    if TIME_BUDGET[0] <= round(seconds, 6) <= TIME_BUDGET[1]:
        return ""
    return f"{named} is out of range {TIME_BUDGET[0]:g}..{TIME_BUDGET[1]:g} (24 h)"
