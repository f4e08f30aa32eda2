"""A training's time budget: its one range and its one refusal.

Light on purpose (no numpy, no torch, no engine): props.py reads ``TIME_BUDGET`` for the
Time Budget controls when the add-on registers, before anything trains.
"""

from __future__ import annotations

from ..errors import setting

# A training's time budget in seconds, the least and most: train's and matte's --time-budget,
# TrainConfig's time_budget_s, MatteJob's train_seconds and Blender's Time Budget (the
# sidebar's and Train Style's, whose 0 means the sidebar's). It trains one step at least.
TIME_BUDGET = (0.01, 24 * 3600.0)


def time_budget_refusal(seconds: float, key: str = "time_budget") -> str:
    """Why a time budget of ``seconds`` is refused ('{the setting} is out of range
    0.01..86400 (24 h)'), '' in range: the one rule of every front end. The setting is
    errors.SETTINGS' ``key``, each front end saying it in its words: --time-budget 0.0,
    time_budget_s=0.0 (MatteJob's key 'train_seconds': train_seconds=0.0), Time Budget 0.0."""
    # Blender's float properties are float32: its Time Budget's least, 0.01, arrives as
    # 0.0099999998, so the range is compared at a microsecond.
    if TIME_BUDGET[0] <= round(seconds, 6) <= TIME_BUDGET[1]:
        return ""
    named = setting(key, seconds)
    return f"{named} is out of range {TIME_BUDGET[0]:g}..{TIME_BUDGET[1]:g} (24 h)"
