"""Blender's words for counts, a single frame's time, a taken style name, and the console's
progress lines (the walkthrough, bpy 5.0.1: 'Restyle: 1 change(s)', '0.4 frames/s' for one
frame, 'pick another name', and 'track 24/24' printed twice at the end)."""

from __future__ import annotations

import shutil

import pytest
from test_error_words import a_trained_style
from vse import SIZE, add_movie, ext

from clips import make_index_clip

pytestmark = pytest.mark.blender


def test_a_stages_end_is_printed_once(restyle, capsys):
    """The stabilizer reports 'track' total/total after tracking and again while smoothing
    the path (another message, the same count); the console printed both."""
    runner, progress = ext("operators.runner"), ext("core.progress")
    worker = runner.Worker(job=None, echo=True)
    capsys.readouterr()
    for message in ("Tracking the camera", "Smoothing the camera path"):
        worker._progress(progress.Progress(24, 24, stage="track", message=message))
    for _ in range(2):
        worker._progress(progress.Progress(8, 8, stage=progress.TRAINING))
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "Restyle: track 24/24",
        "Restyle: train 8/8 s of the time budget",
    ], printed
    assert worker.events.qsize() == 4  # the sidebar still gets every report


def test_a_taken_style_name_names_replace_existing(scene, sequencer_area, tmp_path):
    import bpy

    clip = make_index_clip(tmp_path / "clip.mp4", 4, SIZE, fps=24, gop=4)
    movie = add_movie(scene, sequencer_area, clip, frame_start=1)
    library = ext("core.styles").StyleLibrary(ext("props").library_root(bpy.context))
    # a real style takes the name (an empty folder is no style: said to be a stray one)
    style = a_trained_style(library.trained_folder("Ocean"), "Ocean")
    try:
        with pytest.raises(RuntimeError) as error:
            bpy.ops.restyle.train_style(
                strip=movie.name, keyframes="2", styled=str(tmp_path), name="Ocean"
            )
    finally:
        shutil.rmtree(style)  # the session's library: no other test lists it
    said = str(error.value)
    assert "a style named 'Ocean' already exists; use another name or Replace Existing" in said
    assert "--" not in said and "overwrite" not in said, said
    # the words are the sidebar's control (the Train Style operator's option says the same)
    assert scene.restyle.bl_rna.properties["overwrite_style"].name == "Replace Existing"


def test_one_frame_says_its_time_not_a_rate(scene, sequencer_area, tmp_path):
    import bpy

    runner = ext("operators.runner")
    clip = make_index_clip(tmp_path / "clip.mp4", 4, SIZE, fps=24, gop=4)
    movie = add_movie(scene, sequencer_area, clip, frame_start=1)
    run = bpy.ops.restyle.apply_style
    assert run(strip=movie.name, style="comic-ink", frame_start=2, frame_end=2) == {"FINISHED"}
    summary = runner.RUN.summary
    assert ": frame 2, styled, " in summary and "frames/s" not in summary, summary
    assert run(strip=movie.name, style="comic-ink", frame_start=1, frame_end=4) == {"FINISHED"}
    assert "frames/s" in runner.RUN.summary, runner.RUN.summary  # more than one: the rate
