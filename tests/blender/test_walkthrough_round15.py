"""Round 15's Blender walkthrough: Apply again with the same settings stacked a duplicate
strip ('….001' on the next channel, the same folder); the console's training progress said
'train 3/10, 1.1 frames/s' of seconds of budget; the sidebar's bar stayed empty at the Ray
movie mux's stage 'encode' ("encoding the movie…")."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from vse import add_movie, all_strips, ext

from clips import make_index_clip

pytestmark = pytest.mark.blender


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_index_clip(tmp_path_factory.mktemp("again") / "again.mp4", 4)


def test_applying_again_selects_the_strip_that_shows_it(scene, clip, sequencer_area, tmp_path):
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "again.blend"))
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    apply = bpy.ops.restyle.apply_style
    args = {"strip": source.name, "frame_start": 1, "frame_end": 4, "style": "comic-ink"}
    assert apply(**args) == {"FINISHED"}
    (first,) = [s for s in all_strips(scene) if s != source]
    name, channel = first.name, first.channel
    source.select, scene.sequence_editor.active_strip = True, source
    first.select = False
    assert apply(**args) == {"FINISHED"}
    assert sorted(s.name for s in all_strips(scene)) == sorted([source.name, name])
    shown = scene.sequence_editor.active_strip
    assert shown.name == name and shown.select and shown.channel == channel
    assert not source.select
    summary = ext("operators.runner").RUN.summary
    assert "already shows this output" in summary, summary
    # A changed setting is another output: a strip of its own, as before
    assert apply(**args, strength=0.5) == {"FINISHED"}
    assert len(all_strips(scene)) == 3


def test_training_progress_counts_seconds_of_budget(restyle, capsys):
    runner = ext("operators.runner")
    progress = ext("core.progress")
    worker = runner.Worker(job=None, echo=True)
    worker._progress(progress.Progress(3, 10, fps=1.1, stage=progress.TRAINING))
    said = capsys.readouterr().out
    assert "Restyle: train 3/10 s of the time budget" in said, said
    assert "frames/s" not in said


def test_the_bar_fills_while_encoding(restyle):
    runner = ext("operators.runner")
    bars = []

    class Layout:  # what draw_progress asks of the sidebar's layout
        def column(self, **_):
            return self

        def label(self, **_):
            pass

        def operator(self, *_, **__):
            pass

        def progress(self, **bar):
            bars.append((bar["factor"], bar["text"]))

    runner.RUN.progress = ext("core.progress").Progress(3, 12, stage="encode")
    try:
        ext("panels.sequencer").draw_progress(Layout())
    finally:
        runner.RUN.progress = None
    assert bars == [(0.25, "3 / 12")], bars


MEGAMIND = Path.home() / ".cache/restyle/footage/Megamind.avi"


@pytest.mark.skipif(not MEGAMIND.is_file(), reason="no Megamind.avi in the footage cache")
def test_split_at_cuts_numbers_source_frames_as_the_command_line(
    scene, sequencer_area, capsys, tmp_path
):
    """Megamind.avi's strip holds its first picture over a one-frame lead-in: Split at Cuts
    said 'source frame 2' where `restyle shots` says the cut is at 1."""
    from restyle.core.cli import main

    assert main(["shots", str(MEGAMIND), "--end", "12", "--json"]) == 0
    cuts = json.loads(capsys.readouterr().out)["cuts"]
    assert cuts, "Megamind.avi's first frames hold a cut"
    source = add_movie(scene, sequencer_area, MEGAMIND, frame_start=1)
    operator = ext("operators.cut_tools").RESTYLE_OT_split_at_cuts
    given = SimpleNamespace(is_property_set=lambda name: True)  # a script gave both
    asked = SimpleNamespace(strip=source.name, frame_start=1, frame_end=13, properties=given)
    plan = operator.make_plan(asked, scene)
    assert plan and plan[0].source_frame == cuts[0], (plan, cuts)


def test_the_time_budget_counts_from_the_click(restyle, clip, tmp_path):
    """Train's budget covered only the training loop: setting up (reading the frames,
    torch, the patches) came on top (10 s took 37.7 s at load 12-16). Clicked 10 s ago with
    a 10 s budget, nothing is left: one step, then the style is saved. (Starting still comes
    on top where it outlasts the budget: PyTorch's import and the set-up, 15 s at load 10.)"""
    import time

    import cv2

    from clips import index_frame

    pytest.importorskip("torch", reason="training needs PyTorch (this Blender's venv has none)")
    painted = tmp_path / "0.png"
    cv2.imwrite(str(painted), 255 - index_frame(0, (160, 96))[..., ::-1])
    train = ext("operators.train_style")
    job = train.TrainJob(
        source=clip,
        keyframes={0: painted},
        name="budget",
        library_root=tmp_path / "library",
        time_budget=10.0,
        overwrite=False,
        preview=train.PreviewSlot(),
        clicked=time.perf_counter() - 10.0,
    )
    folder = Path(job.run())
    training = json.loads((folder / "style.json").read_text())["training"]
    # the loop's clock is the click's: no budget left, so no 10 s of its own
    assert training["iterations"] == 1, training
    assert training["seconds"] >= 10.0 and training["stopped_because"] == "time_budget"


TREE = Path.home() / ".cache/restyle/footage/tree.avi"


@pytest.mark.skipif(not TREE.is_file(), reason="no tree.avi in the footage cache")
def test_a_held_picture_is_styled_once(scene, sequencer_area, tmp_path, capfd):
    """tree.avi states 15 fps but shows a new picture every ~6 frames: Apply said
    '40 styled, 0 reused' for 7 pictures (32 s). Each picture is styled once now."""
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "tree.blend"))
    scene.render.fps = 15
    source = add_movie(scene, sequencer_area, TREE, frame_start=1)
    args = {"strip": source.name, "frame_start": 1, "frame_end": 13, "style": "comic-ink"}
    assert bpy.ops.restyle.apply_style(**args) == {"FINISHED"}
    summary = ext("operators.runner").RUN.summary
    counts = re.search(r"(\d+) styled, (\d+) repeated, 0 reused", summary)
    assert counts, summary
    styled, repeated = int(counts[1]), int(counts[2])
    assert styled + repeated == 13 and styled <= 3, summary  # 13 styled before
    said = capfd.readouterr()
    assert "sync is approximate" not in said.out + said.err + summary  # tree.avi: no sound
