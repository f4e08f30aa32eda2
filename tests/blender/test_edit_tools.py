"""``restyle.stabilize_strip``, ``restyle.split_at_cuts`` and ``restyle.snap_cuts`` in real
Blender, headless: strips land where the apply contract says, splits fall on the real shot
boundaries, edit points move onto them, each action is one undo step."""

from __future__ import annotations

import os
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from test_panels import CheckedLayout, labels
from vse import SIZE, add_movie, all_strips, ext, shown_frames, top_strips

from clips import encode_clip

pytestmark = pytest.mark.blender

SHOT = 12  # frames per shot of the spliced clip


def photo(name: str) -> np.ndarray:
    from skimage import data

    return getattr(data, name)()[..., :3]


def shaky(name: str, n: int, seed: int) -> list[np.ndarray]:
    """A photo seen through a shaking camera, at the scene's size."""
    rng = np.random.default_rng(seed)
    image = photo(name)
    zoom = max(SIZE[0] / image.shape[1], SIZE[1] / image.shape[0]) * 1.3
    frames = []
    for _ in range(n):
        m = np.float32([[zoom, 0, 0], [0, zoom, 0]])
        m[:, 2] = (SIZE[0] - image.shape[1] * zoom) / 2, (SIZE[1] - image.shape[0] * zoom) / 2
        m[:, 2] += rng.normal(0, 2.0, 2)
        frames.append(cv2.warpAffine(image, m, SIZE, flags=cv2.INTER_CUBIC))
    return frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edit-media")
    shots = shaky("astronaut", SHOT, 1) + shaky("coffee", SHOT, 2) + shaky("chelsea", SHOT, 3)
    return {
        "shaky": encode_clip(folder / "shaky.mp4", shaky("astronaut", 16, 4), gop=4),
        "spliced": encode_clip(folder / "spliced.mp4", shots, gop=4),
    }


@pytest.fixture
def saved(scene, tmp_path):
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    return tmp_path


def test_stabilize_strip_lands_above_the_source(scene, saved, clips, sequencer_area):
    import bpy

    source = add_movie(scene, sequencer_area, clips["shaky"], frame_start=3, channel=2)
    before = set(all_strips(scene).keys())
    result = bpy.ops.restyle.stabilize_strip(
        strip=source.name, mode="SIMILARITY", smoothness=0.7, crop=0.1
    )
    assert result == {"FINISHED"}
    (name,) = set(all_strips(scene).keys()) - before
    steady = all_strips(scene)[name]
    assert name == f"{source.name}.Stabilized" and steady.channel == 3
    assert shown_frames(steady) == shown_frames(source) == (3, 18)
    assert scene.sequence_editor.active_strip == steady
    folder = saved / "restyle"
    (out,) = folder.iterdir()
    frames = sorted(out.glob("*.png"))
    assert len(frames) == 16 and all(
        cv2.imread(str(f)).shape == (SIZE[1], SIZE[0], 3) for f in frames
    )
    # the frames core's job makes for the same settings (up to sub-pixel differences in the
    # path: the extension runs its own bundled OpenCV and SciPy)
    job = ext("core.mappings.stabilize_job").StabilizeJob(clips["shaky"], saved / "core", crop=0.1)
    core = job.run()
    for ours, theirs in zip(frames, core.frame_files, strict=True):
        diff = np.abs(cv2.imread(str(ours)).astype(float) - cv2.imread(str(theirs)))
        assert diff.mean() < 2.0, (ours.name, diff.mean())


def test_split_at_cuts_splits_on_the_real_boundaries(scene, clips, sequencer_area):
    import bpy

    source = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    name = scene.name
    bpy.ops.ed.undo_push(message="before split")
    assert bpy.ops.restyle.split_at_cuts("EXEC_DEFAULT", True, strip=source.name) == {"FINISHED"}
    pieces = sorted(shown_frames(s) for s in all_strips(bpy.data.scenes[name]))
    assert pieces == [(1, SHOT), (SHOT + 1, 2 * SHOT), (2 * SHOT + 1, 3 * SHOT)]
    bpy.ops.ed.undo()  # one undo step puts the one strip back
    assert [shown_frames(s) for s in all_strips(bpy.data.scenes[name])] == [(1, 3 * SHOT)]


def test_split_inside_a_range_only(scene, clips, sequencer_area):
    import bpy

    source = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    assert bpy.ops.restyle.split_at_cuts(
        strip=source.name, frame_start=SHOT + 4, frame_end=3 * SHOT
    ) == {"FINISHED"}
    pieces = sorted(shown_frames(s) for s in all_strips(scene))
    assert pieces == [(1, 2 * SHOT), (2 * SHOT + 1, 3 * SHOT)]


def test_split_keyframes_go_with_the_part_that_shows_them(scene, saved, clips, sequencer_area):
    """Suggest Keyframes, then Split at Cuts: the keyframes of the later shots stayed with
    the first part, outside it, so Export refused them on every part."""
    import bpy

    source = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    settings = scene.restyle
    ext("operators.keyframes").add_keyframes(settings, source.name, [4, SHOT + 2, 3 * SHOT])
    assert bpy.ops.restyle.split_at_cuts(strip=source.name) == {"FINISHED"}
    parts = sorted(all_strips(scene), key=lambda s: shown_frames(s)[0])
    assert [settings.strip_keyframes(p.name) for p in parts] == [[4], [SHOT + 2], [3 * SHOT]]
    for part in parts:
        assert bpy.ops.restyle.export_keyframes(strip=part.name, load=False) == {"FINISHED"}


def _edit_point_past_the_cut(scene, clips, sequencer_area):
    """Two strips of the spliced clip meeting at frame 16, 3 frames after the real cut
    (frame 13: source frame 12)."""
    compat = ext("compat")
    left = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    right = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1, channel=2)
    compat.strip_set(left, "right_handle", SHOT + 4)
    compat.strip_set(right, "left_handle", SHOT + 4)
    right.channel = 1
    return left, right


def test_snap_cuts_moves_an_edit_point_onto_the_boundary(scene, clips, sequencer_area):
    import bpy

    compat = ext("compat")
    left, right = _edit_point_past_the_cut(scene, clips, sequencer_area)
    names = left.name, right.name
    assert bpy.ops.restyle.snap_cuts(distance=2) == {"FINISHED"}  # too far: nothing moves
    assert compat.handles(left)[1] == SHOT + 4
    assert bpy.ops.restyle.snap_cuts(distance=4) == {"FINISHED"}
    strips = all_strips(scene)
    assert compat.handles(strips[names[0]]) == (1, SHOT + 1)
    assert compat.handles(strips[names[1]]) == (SHOT + 1, 3 * SHOT + 1)


def test_a_snap_distance_out_of_range_is_refused_not_clamped(scene, clips, sequencer_area):
    """A script's distance past the slider's 1..48 was clamped (100 ran as 48 and moved the
    cut); it is refused, and no edit point moves."""
    import bpy

    compat = ext("compat")
    left, right = _edit_point_past_the_cut(scene, clips, sequencer_area)
    for distance in (100, 0):
        with pytest.raises(RuntimeError, match=rf"Distance {distance} is out of range 1\.\.48"):
            bpy.ops.restyle.snap_cuts(distance=distance)
        assert compat.handles(left)[1] == SHOT + 4


def test_snap_keyframes_go_with_the_strip_that_shows_them(scene, saved, clips, sequencer_area):
    """A snapped edit point left the keyframes between its old and new frame with the strip
    that no longer shows them, so Export refused them."""
    import bpy

    compat = ext("compat")
    add_keyframes = ext("operators.keyframes").add_keyframes
    settings = scene.restyle
    pairs = []
    for channel, edit in ((1, SHOT + 4), (3, SHOT - 2)):  # 3 frames after / before the cut
        left = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1, channel=channel)
        right = add_movie(
            scene, sequencer_area, clips["spliced"], frame_start=1, channel=channel + 1
        )
        compat.strip_set(left, "right_handle", edit)
        compat.strip_set(right, "left_handle", edit)
        right.channel = channel
        add_keyframes(settings, left.name, range(edit - 5, edit))
        add_keyframes(settings, right.name, range(edit, edit + 5))
        pairs.append((left.name, right.name))
    assert bpy.ops.restyle.snap_cuts(distance=4) == {"FINISHED"}
    cut = SHOT + 1
    for left, right in pairs:
        assert compat.handles(all_strips(scene)[left])[1] == cut
        assert all(k < cut for k in settings.strip_keyframes(left))
        assert all(k >= cut for k in settings.strip_keyframes(right))
        assert len(settings.strip_keyframes(left) + settings.strip_keyframes(right)) == 10
        for name in (left, right):
            assert bpy.ops.restyle.export_keyframes(strip=name, load=False) == {"FINISHED"}


def test_locked_strips_are_left_alone(scene, clips, sequencer_area, capfd):
    """Locked against edits, a strip was still moved by Snap Cuts, and Split at Cuts showed
    Blender's raw 'RuntimeError: Error: Strip is locked.' once the plan was made."""
    import bpy

    compat = ext("compat")
    left = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    right = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1, channel=2)
    compat.strip_set(left, "right_handle", SHOT + 4)  # 3 frames after the real cut
    compat.strip_set(right, "left_handle", SHOT + 4)
    right.channel = 1
    lone = add_movie(scene, sequencer_area, clips["spliced"], frame_start=1, channel=3)
    left.lock = True
    scene.sequence_editor.channels[3].lock = True  # the whole channel, as the UI offers
    before = {s.name: compat.handles(s) for s in all_strips(scene)}

    capfd.readouterr()
    assert bpy.ops.restyle.snap_cuts(distance=4) == {"FINISHED"}
    printed = capfd.readouterr()
    report = [line for line in (printed.out + printed.err).splitlines() if "skipped" in line]
    assert len(report) == 1, report  # the report names every strip it left alone
    assert f"'{left.name}' (locked)" in report[0] and f"'{lone.name}' (locked)" in report[0]
    for strip in (left, lone):
        with pytest.raises(RuntimeError, match=rf"^Error: '{strip.name}' is locked"):
            bpy.ops.restyle.split_at_cuts(strip=strip.name)
    assert {s.name: compat.handles(s) for s in all_strips(scene)} == before
    left.lock = False
    assert bpy.ops.restyle.snap_cuts(distance=4) == {"FINISHED"}  # unlocked: it moves
    assert compat.handles(left)[1] == SHOT + 1


def test_snap_skips_strips_it_cannot_read(scene, clips, sequencer_area, tmp_path, capfd):
    """A missing file refused the whole timeline ('the movie of ... is missing'): the edit
    points it can read are snapped, the other left alone, and one line names it."""
    import shutil

    import bpy

    compat = ext("compat")
    gone = shutil.copy(clips["spliced"], tmp_path / "gone.mp4")
    pairs = []
    for channel, path in ((1, clips["spliced"]), (3, gone)):
        left = add_movie(scene, sequencer_area, path, frame_start=1, channel=channel)
        right = add_movie(scene, sequencer_area, path, frame_start=1, channel=channel + 1)
        compat.strip_set(left, "right_handle", SHOT + 4)  # 3 frames after the real cut
        compat.strip_set(right, "left_handle", SHOT + 4)
        right.channel = channel
        pairs.append((left.name, right.name))
    os.remove(gone)
    capfd.readouterr()
    assert bpy.ops.restyle.snap_cuts(distance=4) == {"FINISHED"}
    strips = all_strips(scene)
    assert compat.handles(strips[pairs[0][0]])[1] == SHOT + 1  # snapped
    assert [compat.handles(strips[n]) for n in pairs[1]] == [
        (1, SHOT + 4),
        (SHOT + 4, 3 * SHOT + 1),
    ]
    printed = capfd.readouterr()
    report = [line for line in (printed.out + printed.err).splitlines() if "skipped" in line]
    moved = f"the cut at frame {SHOT + 4} moved to {SHOT + 1} ('{pairs[0][0]}' | '{pairs[0][1]}');"
    assert len(report) == 1 and moved in report[0], report
    assert f"'{pairs[1][0]}' (the movie of '{pairs[1][0]}' is missing" in report[0]


def test_the_snap_dialog_wraps_a_long_skipped_reason(restyle):
    """A missing movie's full path ran past the 520 px Snap Cuts dialog and was cut off:
    its line is wrapped into label lines of at most DIALOG_CHARS, none of it lost."""
    cut_tools = ext("operators.cut_tools")
    path = "/media/projects/2026/documentary/interviews/day-two/camera-b/A003C012_260412.mov"
    reason = f"'Interview' (the movie of 'Interview' is missing: {path})"
    changes = [f"move the cut {n}" for n in range(14)]

    lines = cut_tools.dialog_lines(changes, [reason, "'Titles' (locked)"])

    assert [text for text, _icon in lines[:13]] == changes[:12] + ["… and 2 more"]
    skipped = lines[13:]
    assert [icon for _text, icon in skipped].count("ERROR") == 2
    assert (
        len(skipped) >= 3
        and skipped[0][1] == "ERROR"
        and skipped[-1]
        == (
            "Skipped 'Titles' (locked)",
            "ERROR",
        )
    )
    assert all(len(text) <= cut_tools.DIALOG_CHARS for text, _icon in lines)
    assert "".join(text for text, _icon in skipped[:-1]).replace(" ", "") == (
        f"Skipped {reason}".replace(" ", "")
    )
    dialog = SimpleNamespace(layout=CheckedLayout(calls := []), _plan=[], _skipped=[reason])
    cut_tools.RESTYLE_OT_snap_cuts.draw(dialog, None)  # the dialog shows those lines
    assert labels(calls) == ["0 changes:"] + [t for t, _i in cut_tools.dialog_lines([], [reason])]


def test_bad_input_changes_nothing(scene, clips, sequencer_area):
    import bpy

    add_movie(scene, sequencer_area, clips["spliced"], frame_start=1)
    span = ext("compat").effect_span(1, 10)
    colour = top_strips(scene.sequence_editor).new_effect("colour", "COLOR", 2, **span)
    names = sorted(all_strips(scene).keys())
    with pytest.raises(RuntimeError, match="color strip"):
        bpy.ops.restyle.split_at_cuts(strip=colour.name)
    with pytest.raises(RuntimeError, match="color strip"):
        bpy.ops.restyle.stabilize_strip(strip=colour.name)
    with pytest.raises(RuntimeError, match="no strip named"):
        bpy.ops.restyle.split_at_cuts(strip="nope")
    assert sorted(all_strips(scene).keys()) == names


def test_stabilize_to_a_movie_is_reused(scene, saved, clips, sequencer_area):
    """H.264 output: one movie strip over exactly the range; the same settings again land the
    same movie without making it again."""
    import bpy

    source = add_movie(scene, sequencer_area, clips["shaky"], frame_start=1)
    args = {"strip": source.name, "frame_start": 2, "frame_end": 9, "output_format": "H264"}
    assert bpy.ops.restyle.stabilize_strip(**args) == {"FINISHED"}
    steady = scene.sequence_editor.active_strip
    assert steady.type == "MOVIE" and shown_frames(steady) == (2, 9) and steady.channel == 2
    movie = bpy.path.abspath(steady.filepath)
    stamp = os.stat(movie).st_mtime_ns
    # a strip that already shows this output would only be selected (9db7ae8)
    ext("compat").strips(scene.sequence_editor).remove(steady)
    assert bpy.ops.restyle.stabilize_strip(**args) == {"FINISHED"}
    again = scene.sequence_editor.active_strip
    assert again.channel == 2 and bpy.path.abspath(again.filepath) == movie
    assert os.stat(movie).st_mtime_ns == stamp
    assert "0 stabilized, 8 reused" in ext("operators.runner").RUN.summary


def test_stabilised_strip_can_be_styled(scene, saved, clips, sequencer_area):
    """Stabilise first, then style the steadied strip: the documented order works in one go."""
    import bpy

    source = add_movie(scene, sequencer_area, clips["shaky"], frame_start=1)
    assert bpy.ops.restyle.stabilize_strip(strip=source.name, frame_start=1, frame_end=6) == {
        "FINISHED"
    }
    steady = scene.sequence_editor.active_strip
    assert bpy.ops.restyle.apply_style(strip=steady.name, style="starry-swirls") == {"FINISHED"}
    styled = scene.sequence_editor.active_strip
    assert styled.name == f"{steady.name}.Starry Swirls" and styled.channel == steady.channel + 1
    assert shown_frames(styled) == shown_frames(steady) == (1, 6)


def test_panel_draws_every_action(scene, clips, sequencer_area):
    """The sub-panel's calls are real UILayout calls on registered operators and properties
    (the checking layout of test_panels), with and without an active strip."""
    import bpy
    from test_panels import CheckedLayout
    from vse import sequencer_override

    panel = ext("panels.edit").RESTYLE_PT_edit
    for active in (False, True):
        if active:
            add_movie(scene, sequencer_area, clips["shaky"], frame_start=1)
        calls: list = []
        with sequencer_override(scene, sequencer_area):
            context = bpy.context
            assert panel.poll(context)
            shim = type("Shim", (), {})()
            shim.layout = CheckedLayout(calls)
            panel.draw(shim, context)
        operators = {
            c[1].get("operator") for c in calls if c[0] in ("operator", "operator_menu_enum")
        }
        expected = {"restyle.snap_cuts"} | (
            {"restyle.stabilize_strip", "restyle.split_at_cuts"} if active else set()
        )
        assert operators == expected
