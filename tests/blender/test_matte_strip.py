"""``restyle.matte_strip`` and ``restyle.replace_background`` in real Blender, headless.

Footage: a pan over scikit-image's astronaut (a real photo of a person), the frames carrying
a known motion (tests/test_matte.py). The matte strip must show, at each scene frame, the
matte of exactly the source frame shown there (alpha >= 0.9 on her, <= 0.1 on the
background), and a replaced background must show through where she is not.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from test_matte import BACKGROUND, HEIGHT, PERSON, WIDTH, boxes_in_frame, pan_clip
from vse import add_images, all_strips, ext, render, shown_frames

pytestmark = pytest.mark.blender

COUNT = 6


@pytest.fixture
def pan_strip(scene, tmp_path):
    import bpy

    scene.render.resolution_x, scene.render.resolution_y = WIDTH, HEIGHT
    folder = tmp_path / "pan"
    folder.mkdir()
    files = []
    for i, frame in enumerate(pan_clip(COUNT)):
        files.append(folder / f"{i:04d}.png")
        cv2.imwrite(str(files[-1]), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    return add_images(scene, files, frame_start=10, channel=2, name="pan")


def _matte_frames(strip) -> list[np.ndarray]:
    import bpy

    folder = Path(bpy.path.abspath(strip.directory))
    return [
        cv2.cvtColor(
            cv2.imread(str(folder / e.filename), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA
        )
        for e in strip.elements
    ]


def _matte(scene, source, first, last):
    import bpy

    before = set(all_strips(scene).keys())
    result = bpy.ops.restyle.matte_strip(strip=source.name, frame_start=first, frame_end=last)
    assert result == {"FINISHED"}
    (matte,) = [s for s in all_strips(scene) if s.name not in before]
    return matte


def test_matte_strip_covers_her_and_lines_up(scene, pan_strip):
    matte = _matte(scene, pan_strip, 11, 14)  # source frames 1..4
    assert matte.name == "pan.Matte" and matte.type == "IMAGE"
    assert matte.channel == 3 and shown_frames(matte) == (11, 14)
    assert matte.blend_type == "ALPHA_OVER"
    assert matte.directory.startswith("//restyle/")
    frames = pan_clip(COUNT)
    for t, rgba in zip(range(1, 5), _matte_frames(matte), strict=True):
        assert np.array_equal(rgba[..., :3], frames[t])  # scene frame 10+t shows source frame t
        alpha = rgba[..., 3] / 255.0
        for x0, y0, x1, y1 in boxes_in_frame(PERSON, t):
            assert alpha[y0:y1, x0:x1].mean() >= 0.9
        for x0, y0, x1, y1 in boxes_in_frame(BACKGROUND, t):
            assert alpha[y0:y1, x0:x1].mean() <= 0.1


def test_replace_background_with_a_colour_and_a_blur(scene, pan_strip):
    import bpy

    matte = _matte(scene, pan_strip, 10, 12)
    assert bpy.ops.restyle.replace_background(strip=matte.name, background="#00FF00") == {
        "FINISHED"
    }
    colour = next(s for s in all_strips(scene) if s.type == "COLOR")
    assert colour.channel < matte.channel and shown_frames(colour) == (10, 12)
    assert colour.channel > pan_strip.channel
    seen = render(scene, [11])[11]
    frame = pan_clip(2)[1]
    (x0, y0, x1, y1), *_ = boxes_in_frame(BACKGROUND, 1)
    assert np.abs(seen[y0:y1, x0:x1].astype(int) - (0, 255, 0)).mean() < 30
    (x0, y0, x1, y1), *_ = boxes_in_frame(PERSON, 1)
    assert np.abs(seen[y0:y1, x0:x1].astype(int) - frame[y0:y1, x0:x1]).mean() < 30

    assert bpy.ops.restyle.replace_background(strip=matte.name, background="BLUR") == {"FINISHED"}
    blur = next(s for s in all_strips(scene) if s.type == "GAUSSIAN_BLUR")
    assert blur.channel < matte.channel and blur.channel > pan_strip.channel
    # Only under the matte: a blur of the source itself spanned the whole source (10..15), so
    # every frame after the matte's range showed the clip blurred.
    assert shown_frames(blur) == (10, 12)
    after = render(scene, [14])[14].astype(int)
    assert np.abs(after - render(scene, [14], only=pan_strip)[14]).mean() < 1
    seen = render(scene, [11])[11].astype(int)
    plain = render(scene, [11], only=pan_strip)[11].astype(int)
    (x0, y0, x1, y1), *_ = boxes_in_frame(BACKGROUND, 1)
    assert np.abs(seen[y0:y1, x0:x1] - plain[y0:y1, x0:x1]).mean() > 3  # blurred there
    assert not [s for s in all_strips(scene) if s.type == "COLOR"]  # replaced, not stacked

    picture = Path(bpy.path.abspath("//sky.png"))
    cv2.imwrite(str(picture), np.full((60, 80, 3), (255, 0, 0), np.uint8))  # blue (BGR)
    assert bpy.ops.restyle.replace_background(strip=matte.name, background=str(picture)) == {
        "FINISHED"
    }
    (sky,) = [s for s in all_strips(scene) if s.name.startswith(f"{matte.name}.Background")]
    assert not [s for s in all_strips(scene) if s.type == "GAUSSIAN_BLUR"]
    assert sky.type == "IMAGE" and shown_frames(sky) == (10, 12) and sky.channel < matte.channel
    seen = render(scene, [11])[11]
    (x0, y0, x1, y1), *_ = boxes_in_frame(BACKGROUND, 1)
    assert np.abs(seen[y0:y1, x0:x1].astype(int) - (0, 0, 255)).mean() < 30

    # A strip of the user's as the background: ours go, the user's strip is never touched.
    assert bpy.ops.restyle.replace_background(strip=matte.name, background=pan_strip.name) == {
        "FINISHED"
    }
    assert sorted(s.name for s in all_strips(scene)) == sorted([pan_strip.name, matte.name])


def test_replacing_a_background_again_and_again_keeps_the_stack_in_place(scene, pan_strip):
    """Each new background went into the matte's channel and lifted the matte over it, so
    trying a colour, a blur, a colour... climbed the matte 4, 6, 8, 10 leaving empty channels
    behind; the new one now takes the place of the one it replaces."""
    import bpy

    matte = _matte(scene, pan_strip, 10, 11)
    name = matte.name
    for background in ("#00FF00", "BLUR", "#0000FF", "BLUR", "#FF0000"):
        assert bpy.ops.restyle.replace_background(strip=name, background=background) == {"FINISHED"}
        ours = [s for s in all_strips(scene) if s.get("restyle_background_of") == name]
        assert min(s.channel for s in ours) == 3  # right above the source, on channel 2
        assert max(s.channel for s in ours) < matte.channel <= 5
    assert [s.type for s in ours] == ["COLOR"]


def test_a_styled_matte_is_still_a_matte(scene, pan_strip, sequencer_area):
    """Apply on a matte strip keeps its alpha, but the styled strip lost the matte's mark:
    BLUR behind the styled person said its source 'is gone', and the Background panel
    offered Matte for it instead of Replace Background."""
    import bpy

    matte = _matte(scene, pan_strip, 10, 11)
    assert bpy.ops.restyle.apply_style(
        strip=matte.name, style="comic-ink", frame_start=10, frame_end=11, temporal=0.0
    ) == {"FINISHED"}
    person = scene.sequence_editor.active_strip
    assert person.get("restyle_matte_of") == pan_strip.name
    assert (person.blend_type, person.alpha_mode) == (matte.blend_type, matte.alpha_mode)
    assert bpy.ops.restyle.replace_background(strip=person.name, background="BLUR") == {"FINISHED"}
    blur = next(s for s in all_strips(scene) if s.type == "GAUSSIAN_BLUR")
    assert pan_strip.channel < blur.channel < person.channel and shown_frames(blur) == (10, 11)
    assert _panel_operators(scene, person, sequencer_area) == ["restyle.replace_background"]

    # A strip that was never matted: the reason, and nothing changes.
    before = {s.name: s.channel for s in all_strips(scene)}
    with pytest.raises(RuntimeError, match="'pan' was not made by Matte"):
        bpy.ops.restyle.replace_background(strip=pan_strip.name, background="BLUR")
    assert {s.name: s.channel for s in all_strips(scene)} == before


def test_replace_background_refuses_bad_input_and_changes_nothing(scene, pan_strip):
    import bpy

    matte = _matte(scene, pan_strip, 10, 11)
    # A movie or any other file was put in as an image strip of it, showing nothing.
    movie, notes = Path(bpy.path.abspath("//clip.mp4")), Path(bpy.path.abspath("//notes.txt"))
    movie.write_bytes(b"not looked at")
    notes.write_text("not a picture")
    before = {s.name: s.channel for s in all_strips(scene)}
    scene.restyle.background_kind = "PICTURE"  # with no file: an empty argument takes that
    for background, message in (
        ("no/such/picture.png", "not a strip, a picture"),
        ("", "choose a background"),
        (pan_strip.name + "-missing", "not a strip, a picture"),
        (str(movie), "'clip.mp4' is a movie: add it to the sequencer"),
        (str(notes), "'notes.txt' is not a picture"),
    ):
        with pytest.raises(RuntimeError, match=message):
            bpy.ops.restyle.replace_background(strip=matte.name, background=background)
    assert {s.name: s.channel for s in all_strips(scene)} == before


def test_one_undo_step_removes_the_matte_strip(scene, pan_strip):
    import bpy

    name, source = scene.name, pan_strip.name  # undo reloads data: keep names, not objects
    bpy.ops.ed.undo_push(message="before Matte")
    before = sorted(all_strips(scene).keys())
    # The second argument asks bpy.ops for the undo push the UI's button makes.
    result = bpy.ops.restyle.matte_strip(
        "EXEC_DEFAULT", True, strip=source, frame_start=10, frame_end=11
    )
    assert result == {"FINISHED"}
    assert len(all_strips(bpy.data.scenes[name])) == len(before) + 1
    bpy.ops.ed.undo()
    assert sorted(all_strips(bpy.data.scenes[name]).keys()) == before


def _panel_operators(scene, strip, area) -> list[str]:
    """The operators the Background panel offers with ``strip`` active (its actions: the
    finished summary's details button, f756e0e, is not one)."""
    import bpy
    from test_panels import CheckedLayout
    from vse import ext, sequencer_override

    panel = ext("panels.background").RESTYLE_PT_background
    scene.sequence_editor.active_strip = strip
    calls: list = []
    with sequencer_override(scene, area):
        assert panel.poll(bpy.context)
        shim = type("Shim", (), {})()
        shim.layout = CheckedLayout(calls)
        panel.draw(shim, bpy.context)
    offered = (c[1]["operator"] for c in calls if c[0] == "operator")
    return [name for name in offered if name != "restyle.details"]


def test_background_panel_draws_for_a_source_and_a_matte(scene, pan_strip, sequencer_area):
    matte = _matte(scene, pan_strip, 10, 11)
    for strip, expected in (
        (pan_strip, "restyle.matte_strip"),
        (matte, "restyle.replace_background"),
    ):
        assert _panel_operators(scene, strip, sequencer_area) == [expected]


def test_person_in_one_style_over_the_background_in_another(scene, pan_strip):
    """The issue's workflow: matte, style the matte strip (alpha kept), style the source in
    another style, and put that under the styled person."""
    import bpy

    matte = _matte(scene, pan_strip, 10, 11)
    before = set(all_strips(scene).keys())
    assert bpy.ops.restyle.apply_style(
        strip=matte.name, style="comic-ink", frame_start=10, frame_end=11, temporal=0.0
    ) == {"FINISHED"}
    (person,) = [s for s in all_strips(scene) if s.name not in before]
    before = set(all_strips(scene).keys())
    assert bpy.ops.restyle.apply_style(
        strip=pan_strip.name, style="starry-swirls", frame_start=10, frame_end=11, temporal=0.0
    ) == {"FINISHED"}
    (background,) = [s for s in all_strips(scene) if s.name not in before]
    assert bpy.ops.restyle.replace_background(strip=person.name, background=background.name) == {
        "FINISHED"
    }
    assert person.channel > background.channel and person.blend_type == "ALPHA_OVER"
    seen = render(scene, [10])[10].astype(float)
    alone = {s.name: render(scene, [10], only=s)[10].astype(float) for s in (person, background)}
    (x0, y0, x1, y1), *_ = boxes_in_frame(PERSON, 0)
    assert np.abs(seen[y0:y1, x0:x1] - alone[person.name][y0:y1, x0:x1]).mean() < 10
    assert np.abs(seen[y0:y1, x0:x1] - alone[background.name][y0:y1, x0:x1]).mean() > 20
    (x0, y0, x1, y1), *_ = boxes_in_frame(BACKGROUND, 0)
    assert np.abs(seen[y0:y1, x0:x1] - alone[background.name][y0:y1, x0:x1]).mean() < 10


def test_a_matte_learning_its_keyframes_fills_the_sidebar_bar(scene, pan_strip, tmp_path):
    """The matte's training reported the stage 'training', which the sidebar drew as an
    empty bar ('learning the keyframes…') for the whole budget; it fills as a style's
    training does (one stage name for both, ``core.progress.TRAINING``)."""
    pytest.importorskip("torch")
    import bpy
    from test_panels import CheckedLayout

    matte_job, styles = ext("core.mappings.matte_job"), ext("core.styles")
    runner, sequencer = ext("operators.runner"), ext("panels.sequencer")
    paint = tmp_path / "keep-all.png"
    cv2.imwrite(str(paint), np.full((HEIGHT, WIDTH), 255, np.uint8))
    library = styles.StyleLibrary(ext("prefs").library_root(bpy.context))
    job = matte_job.MatteJob(
        tmp_path / "pan", tmp_path / "out", library=library, keyframes={0: paint},
        train_seconds=1, end=0,
    )  # fmt: skip
    reports = []
    job.run(progress=reports.append)
    learning = [p for p in reports if p.message == "learning the keyframes"]
    assert learning and learning[-1].fraction == 1.0
    runner.RUN.status, runner.RUN.task, runner.RUN.strip = runner.RUNNING, "matte", "pan"
    try:
        for report in (learning[0], learning[-1]):
            runner.RUN.progress = report
            calls: list = []
            sequencer.draw_progress(CheckedLayout(calls))
            (bar,) = [c[1] for c in calls if c[0] == "progress"]
            assert bar["factor"] == report.fraction, bar
            assert bar["text"].startswith("learning the keyframes"), bar
            assert not bar["text"].endswith("…"), bar  # a bar that fills, not a waiting one
    finally:
        runner.RUN.end(runner.IDLE, "")
