"""Round 20's Blender leftovers (bpy 5.0.1, 5.3.0):

- a rerun that finds the styled strip showing its output brings its blend in line with a
  changed source blend, only where the strip still has the blend Restyle gave it, recorded
  on the strip (``output_strip.BLEND_GIVEN``, saved with the .blend): one set by hand stays,
  and so does an earlier Restyle's strip without the record (c4a74ba, reverted in 6f439ea,
  reset both), the summary saying so;
- an Apply that takes a shortcut (the strip already shows this output, or its movie was
  made before) leaves no summary once its strip is undone (f4bec1f did so for a job's);
- a styled strip never lands in a muted channel of the meta strip holding its source, and
  a muted channel outside the meta does not move it (``output_strip.closed_channels``);
- a worker still running when another .blend is opened (``forget_run_on_load``) reports
  into its own queue only: nothing of it reaches the loaded file's run state.
"""

# ruff: noqa: F811 (fixtures imported from other test files are the tests' arguments)

from __future__ import annotations

import threading

import numpy as np
import pytest
from test_blend_round19 import STYLE, _scene_with, _shown
from test_leftovers_round19 import last_output_shown, summary_shown
from test_meta_script import scripted_meta
from test_summary_round19 import saved, undone  # noqa: F401 (the fixture, imported)
from vse import SIZE, all_strips, ext, sequencer_override, top_strips

from clips import make_image_sequence

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]
OPTIONS = {"style": STYLE, "strength": 0.0, "temporal": 0.0}
# The record's name on a styled strip (``output_strip.BLEND_GIVEN``): saved in .blend files,
# so it is spelled out here; renamed, the strips saved before would lose their record.
GIVEN = "restyle_blend_given"


def _apply(scene, name: str, operator: str = "apply_style", new: int = 1):
    """Run ``operator`` on ``name``; ``new`` strips must be added (the one made returned).
    Returns (that strip or None, the run's summary)."""
    import bpy

    before = set(all_strips(scene).keys())
    run = getattr(bpy.ops.restyle, operator)
    assert run(strip=name, **(OPTIONS if operator == "apply_style" else {})) == {"FINISHED"}
    made = [s for s in all_strips(scene) if s.name not in before]
    summary = ext("operators.runner").RUN.summary
    assert len(made) == new, ([s.name for s in made], summary)
    return (made[0] if made else None), summary


def _blend(strip) -> tuple[str, float]:
    return strip.blend_type, round(strip.blend_alpha, 6)


# -- 1. the styled strip's blend on a rerun ---------------------------------------------------
@pytest.mark.parametrize(
    ("operator", "on"),
    [("apply_style", "source"), ("apply_style", "styled"), ("stabilize_strip", "source")],
)
def test_a_rerun_brings_restyles_blend_in_line_with_the_source(scene, tmp_path, operator, on):
    """Made at Alpha Over 100%, the source then set to Replace: the rerun sets the styled
    strip to Replace (the letterbox bars black, as the source's) and says so; again, with
    nothing changed, it says nothing of the blend."""
    _red, source = _scene_with(scene, tmp_path, "ALPHA_OVER", 1.0)
    styled, _ = _apply(scene, source.name, operator)
    assert _blend(styled) == ("ALPHA_OVER", 1.0)
    source.blend_type = "REPLACE"
    _, summary = _apply(scene, styled.name if on == "styled" else source.name, operator, new=0)
    assert summary.startswith(f"{styled.name} already shows this output"), summary
    assert _blend(styled) == ("REPLACE", 1.0)
    assert "its blend set to Replace at 100%" in summary, summary
    assert "is blended by" not in summary and "keeps its blend" not in summary, summary
    expected = _shown(scene, hidden=(styled,))
    bars = np.s_[:, :8]  # left of the letterboxed picture: black under Replace, not red
    assert expected[bars][..., 0].mean() < 50, expected[bars][..., 0].mean()
    assert np.abs(_shown(scene) - expected).mean() < 3
    _, summary = _apply(scene, source.name, operator, new=0)
    assert "blend" not in summary, summary
    assert dict(styled[GIVEN]) == {"type": "REPLACE", "alpha": 1.0}  # what it has now


def test_a_rerun_on_a_blend_it_cannot_repeat_covers_and_says_so(scene, tmp_path):
    """Made at Replace, the source then set to Add 80%: the styled strip covers it at Alpha
    Over 100% (dde0b23's rule), with the note."""
    _red, source = _scene_with(scene, tmp_path, "REPLACE", 1.0, fit="STRETCH")
    styled, _ = _apply(scene, source.name)
    source.blend_type, source.blend_alpha = "ADD", 0.8
    _, summary = _apply(scene, source.name, new=0)
    assert _blend(styled) == ("ALPHA_OVER", 1.0)
    assert "its blend set to Alpha Over at 100%" in summary, summary
    note = f"'{source.name}' is blended by Add at 80%, which '{styled.name}' cannot repeat"
    assert note in summary, summary


def test_a_blend_set_by_hand_is_kept(scene, tmp_path):
    """The reviewer's case (6f439ea): the styled strip set to 50% by hand over an Alpha Over
    100% source; a same-settings rerun keeps it and says nothing of it. The source then set
    to Replace: still kept, and the summary says so (not 'set to Replace')."""
    _red, source = _scene_with(scene, tmp_path, "ALPHA_OVER", 1.0)
    styled, _ = _apply(scene, source.name)
    styled.blend_alpha = 0.5
    _, summary = _apply(scene, source.name, new=0)
    assert _blend(styled) == ("ALPHA_OVER", 0.5)
    assert "blend" not in summary, summary
    source.blend_type = "REPLACE"
    _, summary = _apply(scene, source.name, new=0)
    assert _blend(styled) == ("ALPHA_OVER", 0.5)
    assert "blend set" not in summary, summary
    assert (
        f"'{styled.name}' keeps its blend, Alpha Over at 50% (set by hand); for "
        f"'{source.name}' blended by Replace at 100% Restyle now gives Replace at 100%"
    ) in summary, summary


def test_an_earlier_restyles_strip_is_left_as_it_is(scene, tmp_path):
    """A styled strip made before the record (none on it): there is no telling Restyle's
    blend from one set by hand, so it is left, and the summary says why."""
    _red, source = _scene_with(scene, tmp_path, "ALPHA_OVER", 1.0)
    styled, _ = _apply(scene, source.name)
    if GIVEN in styled:
        del styled[GIVEN]
    source.blend_type = "REPLACE"
    _, summary = _apply(scene, source.name, new=0)
    assert _blend(styled) == ("ALPHA_OVER", 1.0)
    assert GIVEN not in styled
    assert "blend set" not in summary, summary
    assert f"'{styled.name}' keeps its blend, Alpha Over at 100% (unchanged: an earlier" in (
        summary
    ), summary


# -- 3. muted channels in and around a meta strip ---------------------------------------------
def test_the_styled_strip_skips_a_muted_channel_inside_its_meta(scene, tmp_path):
    """Source in a meta (channel 1 inside): the meta's channel 2 muted, the styled strip
    goes to its channel 3, inside the meta, and shows; the top level's channel 2 muted as
    well (the meta sits in 5) changes nothing inside it."""
    files = make_image_sequence(tmp_path / "pictures", 4, SIZE, name="{:04d}.png")
    source, meta = scripted_meta(scene, files, first=1, meta_at=1)
    meta.channel = 5
    assert source.parent_meta() == meta and source.channel == 1
    closed = ext("operators.output_strip").closed_channels
    meta.channels[2].mute = True
    scene.sequence_editor.channels[2].mute = True
    scene.sequence_editor.channels[3].mute = True
    styled, _ = _apply(scene, source.name)
    assert styled.parent_meta() == meta and styled.channel == 3, styled.channel
    assert closed(ext("compat").strips(meta)) == {2}  # the meta's own channels, not the top level's
    shown = _shown(scene)
    assert shown.mean() > 20  # not black: the styled strip shows
    assert np.abs(shown - _shown(scene, hidden=(source,))).max() <= 2  # it is what shows


def test_a_muted_channel_outside_the_meta_does_not_move_the_styled_strip(scene, tmp_path):
    """The top level's channels 2-4 muted: inside the meta (in channel 6), channel 2 is free
    and shown, so the styled strip goes there."""
    files = make_image_sequence(tmp_path / "pictures", 4, SIZE, name="{:04d}.png")
    source, meta = scripted_meta(scene, files, first=1, meta_at=1)
    meta.channel = 6
    for channel in (2, 3, 4):
        scene.sequence_editor.channels[channel].mute = True
    styled, _ = _apply(scene, source.name)
    assert styled.parent_meta() == meta and styled.channel == 2, styled.channel
    assert _shown(scene).mean() > 20


# -- 4. a worker still running when another file is opened ------------------------------------
def test_a_worker_reporting_after_a_file_is_opened_writes_nothing_into_its_state(scene, saved):
    """Opening a .blend cancels a running job (load_pre) and resets RUN (load_post,
    ``forget_run_on_load``) while the worker's thread may still be in its frame: what it
    reports after (progress, its result) goes to its own queue, never into the opened
    file's RUN, and nothing raises in the thread."""
    import bpy

    runner, progress = ext("operators.runner"), ext("core.progress")
    opened, seen = threading.Event(), {}
    raised: list = []

    class Job:
        def run(self, progress=None, cancel=None):
            assert opened.wait(60)
            seen["cancelled"] = cancel.cancelled
            progress(progress_class(1, 2, stage="stylize"))
            return "the old file's result"

    progress_class = progress.Progress
    worker = runner.Worker(Job(), echo=True)
    runner.RUN.begin("clip.mp4", "Comic Ink", 2, worker)
    previous = threading.excepthook
    threading.excepthook = raised.append
    try:
        worker.start()
        assert bpy.ops.wm.open_mainfile(filepath=bpy.data.filepath, load_ui=False) == {"FINISHED"}
        assert runner.RUN == runner.RunState(), runner.RUN  # reset, the worker still in run
        assert worker.is_alive()
        opened.set()
        worker.join(60)
    finally:
        threading.excepthook = previous
    assert not worker.is_alive() and not raised
    assert seen == {"cancelled": True}  # told to stop before it reported
    assert runner.RUN == runner.RunState(), runner.RUN
    assert worker.poll() == ("done", "the old file's result")  # its own queue held it
    assert worker.progress is not None and runner.RUN.progress is None


# -- 2. an undone shortcut Apply leaves no summary (these save a .blend: last) ----------------
def test_an_undone_apply_of_a_movie_made_before_leaves_no_summary(
    scene, saved, sequencer_area, tmp_path
):
    """The movie was made before with these settings: Apply makes its strip from it (no job
    runs); undone, the summary of that strip goes, as an undone job's does."""
    import bpy

    files = make_image_sequence(tmp_path / "pictures", 4, SIZE, name="{:04d}.png")
    source = top_strips(scene.sequence_editor).new_image("source", str(files[0]), 1, 1)
    for f in files[1:]:
        source.elements.append(f.name)
    args = {**OPTIONS, "output_format": "H264", "frame_start": 1, "frame_end": 4}
    assert bpy.ops.restyle.apply_style(strip=source.name, **args) == {"FINISHED"}
    top_strips(scene.sequence_editor).remove(scene.sequence_editor.active_strip)
    undone(scene, sequencer_area, source.name, bpy.ops.restyle.apply_style, **args)
    assert "0 styled, 4 reused" in ext("operators.runner").RUN.summary


def test_an_undone_apply_that_found_its_strip_showing_leaves_no_summary(
    scene, saved, sequencer_area, tmp_path
):
    """Apply, then Apply again ('already shows this output: selected it'), then both undone:
    the strip is gone, and so is the second Apply's summary."""
    import bpy

    runner = ext("operators.runner")
    files = make_image_sequence(tmp_path / "pictures", 4, SIZE, name="{:04d}.png")
    source = top_strips(scene.sequence_editor).new_image("source", str(files[0]), 1, 1)
    for f in files[1:]:
        source.elements.append(f.name)
    name, source_name = scene.name, source.name
    args = {**OPTIONS, "frame_start": 1, "frame_end": 4}
    bpy.ops.ed.undo_push(message="before")
    before = sorted(all_strips(scene).keys())
    apply = bpy.ops.restyle.apply_style
    assert apply("EXEC_DEFAULT", True, strip=source_name, **args) == {"FINISHED"}
    assert apply("EXEC_DEFAULT", True, strip=source_name, **args) == {"FINISHED"}
    assert "already shows this output" in runner.RUN.summary, runner.RUN.summary
    scene = bpy.data.scenes[name]
    with sequencer_override(scene, sequencer_area):
        scene.sequence_editor.active_strip = all_strips(scene)[source_name]
        assert summary_shown(bpy.context) and last_output_shown(bpy.context)
    bpy.ops.ed.undo()  # the selection the shortcut made: the strip still shows the output
    scene = bpy.data.scenes[name]
    with sequencer_override(scene, sequencer_area):
        scene.sequence_editor.active_strip = all_strips(scene)[source_name]
        assert summary_shown(bpy.context), runner.RUN.summary
    bpy.ops.ed.undo()  # the strip the first Apply made
    scene = bpy.data.scenes[name]
    assert sorted(all_strips(scene).keys()) == before
    with sequencer_override(scene, sequencer_area):
        for active in (all_strips(scene)[source_name], None):
            scene.sequence_editor.active_strip = active
            assert not summary_shown(bpy.context), (active, runner.RUN.summary)
            assert not last_output_shown(bpy.context), active


def test_the_given_blend_survives_save_and_reload(scene, saved):
    """The record is saved with the .blend: reopened, a rerun still tells Restyle's blend
    (followed) from one set by hand (kept)."""
    import bpy

    compat = ext("compat")
    name = scene.name
    _red, source = _scene_with(scene, saved, "ALPHA_OVER", 1.0)
    styled, _ = _apply(scene, source.name)
    ours, source_name = styled.name, source.name
    other = _second_source(scene, saved)
    theirs, _ = _apply(scene, other.name)
    theirs.blend_alpha = 0.5  # by hand
    theirs_name, other_name = theirs.name, other.name
    assert bpy.ops.wm.save_mainfile() == {"FINISHED"}
    assert bpy.ops.wm.open_mainfile(filepath=bpy.data.filepath, load_ui=False) == {"FINISHED"}
    scene = bpy.data.scenes[name]
    compat.set_sequencer_scene(bpy.context, scene)
    strips = all_strips(scene)
    for source_of in (source_name, other_name):
        strips[source_of].blend_type = "REPLACE"
    _, summary = _apply(scene, source_name, new=0)
    assert _blend(all_strips(scene)[ours]) == ("REPLACE", 1.0), summary
    _, summary = _apply(scene, other_name, new=0)
    assert _blend(all_strips(scene)[theirs_name]) == ("ALPHA_OVER", 0.5), summary
    assert "(set by hand)" in summary, summary
    assert dict(all_strips(scene)[ours][GIVEN]) == {"type": "REPLACE", "alpha": 1.0}
    assert ext("operators.output_strip").BLEND_GIVEN == GIVEN


def _second_source(scene, folder):
    """A second source (other pictures, frames 1-4 in channel 5) beside ``_scene_with``'s."""
    files = make_image_sequence(folder / "second", 4, (48, 48), name="{:04d}.png")
    strips = top_strips(scene.sequence_editor)
    source = strips.new_image("second", str(files[0]), 5, 1, fit_method="FIT")
    for f in files[1:]:
        source.elements.append(f.name)
    return source
