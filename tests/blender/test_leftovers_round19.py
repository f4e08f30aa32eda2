"""Round 19's Blender leftovers: Split at Cuts' summary was keyed to the active strip (the
left piece, or whatever strip was active when a script named another), so selecting another
piece hid it; the Output panel's Last output showed under any strip, beside no summary, and
a running job's strip beside the run before's folder; bpy 5.3.0's ``movie_strip_add``
segfaults headless with the Sequencer's region in the context (``compat.strip_add_context``)."""

# ruff: noqa: F811 (fixtures imported from other test files are the tests' arguments)

from __future__ import annotations

import pytest
from test_edit_tools import SHOT, clips  # noqa: F401 (the fixture, imported)
from test_panels import CheckedLayout, draw_all, labels
from vse import add_movie, all_strips, ext, sequencer_override, shown_frames

from clips import make_index_clip

pytestmark = pytest.mark.blender

STYLE = "comic-ink"


# The sub-panels that say how their own jobs and tools ended (since 53f91af and round 24:
# Matte's, Stabilize's, Split at Cuts', Export Keyframes'...), drawn open
SUB_PANELS = (
    ("keyframes", "RESTYLE_PT_keyframes"),
    ("background", "RESTYLE_PT_background"),
    ("edit", "RESTYLE_PT_edit"),
)


def drawn(context) -> list:
    """Every Restyle panel's calls, the sub-panels open (no Frame Range panel with no strip
    active)."""
    editor = ext("compat").sequencer_scene(context).sequence_editor
    calls = draw_all(context, () if editor.active_strip else ("RESTYLE_PT_range",))
    for module, name in SUB_PANELS:
        panel = getattr(ext(f"panels.{module}"), name)
        if panel.poll(context):
            panel.draw(type("Shim", (), {"layout": CheckedLayout(calls)})(), context)
    return calls


def said(context) -> tuple[str, list[str]]:
    """The sidebar's words (its wrapped labels joined) and its label icons."""
    calls = drawn(context)
    text = " ".join(labels(calls))
    return text, [c[1].get("icon") for c in calls if c[0] == "label"]


def summary_shown(context) -> bool:
    runner = ext("operators.runner")
    text, icons = said(context)
    first = runner.RUN.summary.split()[:4]
    return "CHECKMARK" in icons and " ".join(first) in text


def last_output_shown(context) -> bool:
    return any(t.startswith("Last output: ") for t in labels(drawn(context)))


@pytest.fixture
def no_summary_left():
    yield
    runner = ext("operators.runner")
    runner.RUN.end(runner.IDLE, "")
    runner.RUN.strip = ""


def test_split_at_cuts_summary_shows_with_every_piece(
    scene, clips, sequencer_area, no_summary_left
):
    """A script splits 'spliced.mp4' while another strip is active: the summary was that
    strip's ('Split at Cuts: 2 changes'), so none of the pieces showed it; run from the
    sidebar, the left piece alone did. It shows whichever strip is active now, naming the
    strip split and its pieces."""
    import bpy

    runner = ext("operators.runner")
    editor = scene.sequence_editor
    source = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    name = source.name
    other = add_movie(scene, sequencer_area, clips["shaky"], frame_start=1, channel=3)
    editor.active_strip = other
    with sequencer_override(scene, sequencer_area):
        assert bpy.ops.restyle.split_at_cuts(strip=name) == {"FINISHED"}
        pieces = sorted(
            (s for s in all_strips(scene) if s != other), key=lambda s: shown_frames(s)[0]
        )
        assert len(pieces) == 3, [(p.name, shown_frames(p)) for p in pieces]
        summary = runner.RUN.summary
        expected = (
            f"Split at Cuts: '{name}' split at frames {SHOT + 1}, {2 * SHOT + 1} into 3 "
            f"strips, '{pieces[0].name}' to '{pieces[2].name}'"
        )
        assert summary == expected, summary
        for strip in [*pieces, other]:
            editor.active_strip = strip
            assert summary_shown(bpy.context), (strip.name, summary)

        # nothing more to split: said of the strip and the frames looked at
        editor.active_strip = pieces[1]
        assert bpy.ops.restyle.split_at_cuts(strip=pieces[0].name) == {"FINISHED"}
        summary = runner.RUN.summary
        assert summary == f"Split at Cuts: no cut found in '{name}' over frames 1-{SHOT}"
        assert summary_shown(bpy.context), summary


def test_a_refused_split_is_about_the_strip_it_names(scene, clips, sequencer_area, no_summary_left):
    """Refused, the summary is about the strip named (as Apply's refusal is), not the
    active one."""
    import bpy

    runner = ext("operators.runner")
    editor = scene.sequence_editor
    source = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    other = add_movie(scene, sequencer_area, clips["shaky"], frame_start=1, channel=3)
    source.lock = True
    editor.active_strip = other
    with pytest.raises(RuntimeError, match="is locked"):
        bpy.ops.restyle.split_at_cuts(strip=source.name)
    assert runner.RUN.status == runner.FAILED and runner.RUN.strip == source.name
    with sequencer_override(scene, sequencer_area):
        assert "Failed:" not in said(bpy.context)[0]
        editor.active_strip = source
        assert "Failed:" in said(bpy.context)[0]


def test_snap_cuts_summary_shows_with_the_strips_it_moved(
    scene, clips, sequencer_area, no_summary_left
):
    """Snap Cuts acts on every edit point; its summary was keyed to the strip active then
    (here one it did not touch), so selecting a strip it moved hid it."""
    import bpy

    compat = ext("compat")
    runner = ext("operators.runner")
    editor = scene.sequence_editor
    left = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    right = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1, channel=2)
    compat.strip_set(left, "right_handle", SHOT + 4)
    compat.strip_set(right, "left_handle", SHOT + 4)
    right.channel = 1
    other = add_movie(scene, sequencer_area, clips["shaky"], frame_start=1, channel=3)
    editor.active_strip = other
    assert bpy.ops.restyle.snap_cuts(distance=4) == {"FINISHED"}
    assert compat.handles(left)[1] == SHOT + 1, runner.RUN.summary
    with sequencer_override(scene, sequencer_area):
        for strip in (left, right, other):
            editor.active_strip = strip
            assert summary_shown(bpy.context), (strip.name, runner.RUN.summary)


def test_last_output_shows_with_the_summary_it_belongs_to(
    scene, saved, sequencer_area, tmp_path, no_summary_left
):
    """After a run, the Output panel's Last output showed whichever strip was active, while
    the summary above it went with another strip; and beside a running job's strip, the
    folder of the run before. It shows with the styled strip, its source and no strip
    active, as the summary does."""
    import bpy

    runner = ext("operators.runner")
    editor = scene.sequence_editor
    clip = make_index_clip(tmp_path / "clip.mp4", 6, fps=24, gop=3)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    other = add_movie(scene, sequencer_area, clip, frame_start=1, channel=3)
    assert bpy.ops.restyle.apply_style(
        strip=source.name, style=STYLE, strength=0.0, temporal=0.0, frame_start=1, frame_end=2
    ) == {"FINISHED"}, runner.RUN.summary
    styled = editor.active_strip
    assert styled not in (source, other) and runner.RUN.folder
    with sequencer_override(scene, sequencer_area):
        for active, shown in ((styled, True), (other, False), (source, True), (None, True)):
            editor.active_strip = active
            assert last_output_shown(bpy.context) == shown, active
            assert summary_shown(bpy.context) == shown, active
        editor.active_strip = other
        runner.RUN.status, runner.RUN.strip = runner.RUNNING, other.name  # its job runs
        try:
            assert not last_output_shown(bpy.context)
        finally:
            runner.RUN.status = runner.FINISHED


@pytest.fixture
def saved(scene, tmp_path):
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "round19.blend"))
    return tmp_path


def test_a_rate_adjusted_movie_is_added_and_styled_on_every_blender(
    scene, saved, sequencer_area, tmp_path, no_summary_left
):
    """A 10 fps movie added to the 24 fps scene with Adjust Playback Rate, the one way to
    make one play at its own rate: bpy 5.3.0 segfaulted (headless, the Sequencer's region in
    the context), so no test styled such a strip there. ``compat.strip_add_context`` adds it
    on every version; styled, the strip above spans the frames asked for."""
    import bpy

    compat = ext("compat")
    runner = ext("operators.runner")
    clip = make_index_clip(tmp_path / "ten.mp4", 20, fps=10, gop=4)
    with compat.strip_add_context(bpy.context, sequencer_area, scene):
        assert bpy.ops.sequencer.movie_strip_add(
            filepath=str(clip),
            frame_start=1,
            channel=1,
            sound=False,
            adjust_playback_rate=True,
            use_framerate=False,
            set_view_transform=False,
            **compat.strip_add_kwargs(),
        ) == {"FINISHED"}
    (source,) = all_strips(scene)
    assert shown_frames(source) == (1, 48)  # 20 pictures at 10 fps over 24 fps frames
    assert compat.movie_plays_at_own_rate(source, 20) is True
    assert bpy.ops.restyle.apply_style(
        strip=source.name, style=STYLE, strength=0.0, temporal=0.0, frame_start=3, frame_end=8
    ) == {"FINISHED"}, runner.RUN.summary
    styled = scene.sequence_editor.active_strip
    assert styled != source and styled.channel == 2 and shown_frames(styled) == (3, 8)
