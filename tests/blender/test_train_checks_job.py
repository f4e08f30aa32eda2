"""Train checks on Blender's thread only what is cheap (review at 0f4aceb): its prepare ran
``keyframe_pairs``, which seeks and decodes every keyframe's frame while Blender waits, and
the job decoded them all again. Now the job alone decodes them, and refuses keyframes still
unpainted there: reported as Train's error, no style written."""

from __future__ import annotations

import pytest
from test_flow_train import exported, library, paint, pytestmark  # noqa: F401
from test_operators import media, saved  # noqa: F401  (fixtures)
from vse import ext


def spy_on_decoding(monkeypatch) -> list[bool]:
    """Whether a job was running (the worker's side of Train) at each frame decoded."""
    keyframes, runner = ext("core.train.keyframes"), ext("operators.runner")
    shown = keyframes.shown_frame
    running: list[bool] = []

    def spy(*args, **kwargs):
        running.append(runner.RUN.running)
        return shown(*args, **kwargs)

    monkeypatch.setattr(keyframes, "shown_frame", spy)
    return running


def test_train_decodes_frames_only_in_its_job(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
    monkeypatch,
):
    import bpy

    running = spy_on_decoding(monkeypatch)
    source, folder = exported(scene, sequencer_area, media["clip24"], [3, 6])
    paint(folder / "0003.png")
    paint(folder / "0006.png")
    name = f"Threaded {saved.name}"
    assert bpy.ops.restyle.train_style(strip=source.name, name=name, time_budget=0.01) == {
        "FINISHED"
    }
    assert running and all(running), running  # each frame decoded in the job, not before
    assert library().trained_folder(name).exists()


def test_an_unpainted_keyframe_is_refused_by_the_job(
    scene,
    saved,  # noqa: F811
    media,  # noqa: F811
    sequencer_area,
    monkeypatch,
):
    """The refusal reaches the user as Train's error (a RuntimeError in scripts, the
    sidebar's 'Failed: ...'); the trainer never ran and no style was written."""
    import bpy

    runner, trainer = ext("operators.runner"), ext("core.train.trainer")
    running = spy_on_decoding(monkeypatch)
    trained = []
    monkeypatch.setattr(trainer, "train_style", lambda *a, **k: trained.append(1))
    source, folder = exported(scene, sequencer_area, media["clip24"], [3, 6])
    paint(folder / "0006.png")
    name = f"Unpainted {saved.name}"
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.train_style(strip=source.name, name=name, time_budget=1.0)
    said = str(error.value)
    assert f"0003.png (keyframe 3) is still the unpainted frame in {folder}: nothing" in said
    assert running == [True, True]  # decoded in the job, not before it
    assert not trained and not library().trained_folder(name).exists()
    assert runner.RUN.status == runner.FAILED
    assert runner.RUN.summary.startswith("Failed: 0003.png (keyframe 3) is still the unpainted")
