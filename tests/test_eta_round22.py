"""Run on: ``--json`` progress events say the ETA the bar shows (``eta_s``), and a Ray job's
progress read back from them keeps it, training's too. The events carried no ETA: a script
had to compute one, and Blender's bar for a training run on Ray showed none (its events give
``iterations_per_second`` while ``done``/``total`` count seconds of the budget)."""

from __future__ import annotations

import json

from restyle.core.cli import _JsonEvents
from restyle.core.progress import TRAINING, Progress
from restyle.core.ray_submit import progress_from_logs


def said(progress: Progress, capsys) -> tuple[dict, str]:
    capsys.readouterr()
    _JsonEvents()(progress)
    line = capsys.readouterr().err.strip()
    return json.loads(line), line


def test_events_say_the_seconds_left(capsys):
    event, _ = said(Progress(12, 48, fps=2.41, eta_s=14.937), capsys)
    assert event["eta_s"] == 14.9, event
    event, _ = said(Progress(0, 48), capsys)  # no rate yet: no estimate, not a made-up one
    assert "eta_s" not in event, event


def test_ray_progress_keeps_training_eta(capsys):
    event, line = said(Progress(30, 120, fps=3.5, eta_s=90.0, stage=TRAINING), capsys)
    back = progress_from_logs("node says hello\n" + line + "\n")
    assert back is not None and back.stage == TRAINING, back
    assert back.eta_s == 90.0 and back.fps == 3.5, back


def test_ray_progress_from_an_older_node(capsys):
    """An event without ``eta_s``: frames from their rate; training's seconds have none."""
    frames = '{"event": "progress", "stage": "stylize", "done": 10, "total": 30, "fps": 2.0}'
    assert progress_from_logs(frames + "\n").eta_s == 10.0
    trained = '{"event": "progress", "stage": "train", "done": 30, "total": 120, '
    trained += '"iterations_per_second": 3.5}'
    back = progress_from_logs(trained + "\n", stage=TRAINING)
    assert back.eta_s is None and back.fps == 3.5, back
    odd = frames[:-1] + ', "eta_s": "soon"}'  # not a number: the rate's estimate
    assert progress_from_logs(odd + "\n").eta_s == 10.0
