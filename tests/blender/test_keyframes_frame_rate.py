"""Keyframes of a movie strip after the scene's frame rate changed (Output > Frame Rate).

Measured on bpy 5.0.1: a movie added with Adjust Playback Rate (the UI's default) plays at
its own rate even where that was the scene's when it was added, so a new scene rate scales
its length from where its content starts (a 24 fps movie over 24 frames spans 30 at 30 fps);
one added without it keeps one source frame per scene frame. Keyframes are frames of the
content, named (and their paintings) at the rate they were named with: they stay on the
pictures they were named on.
"""

from __future__ import annotations

import importlib.util
import math
import struct
import wave

import cv2
import numpy as np
import pytest
from test_keyframes import add_keyframe_at
from vse import SIZE, add_movie, all_strips, ext, render, sequencer_override, top_strips

from clips import make_index_clip, read_index

pytestmark = pytest.mark.blender

NAMED = [6, 9, 20]  # scene frames where the keyframes are named: a strip from frame 5


@pytest.fixture
def saved(scene, tmp_path):
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    return tmp_path


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frame-rate-media")
    return {
        fps: make_index_clip(folder / f"index{fps}.mp4", 24, SIZE, fps=fps, gop=6)
        for fps in (24, 30)
    }


def pictures(scene, strip, frames) -> list[int]:
    """The source frames ``strip`` shows at scene ``frames``, as Blender renders them."""
    shown = render(scene, frames, only=strip)
    return [read_index(shown[f]) for f in frames]


def named_source(scene, area, clip, own_rate=True):
    """``clip`` from frame 5 with keyframes at ``NAMED``; the pictures they show."""
    source = add_movie(scene, area, clip, frame_start=5, own_rate=own_rate)
    ext("operators.keyframes").add_keyframes(scene.restyle, source.name, NAMED)
    return source, pictures(scene, source, NAMED)


@pytest.mark.parametrize(
    "movie_fps,scene_fps,then,now",
    [(24, 24, 24, 30), (24, 24, 24, 48), (30, 24, 24, 25), (24, 30, 30, 24)],
)
def test_keyframes_keep_their_pictures_when_the_scene_rate_changes(
    scene, saved, media, sequencer_area, movie_fps, scene_fps, then, now
):
    """They stayed on their scene frames, which show other pictures at the new rate (a
    24 fps movie at 30 fps: frame 20 shows source frame 12, not 15), and Export and Train
    took those pictures for the paintings named by the old ones."""
    import bpy

    settings, panel = scene.restyle, ext("panels.keyframes")
    scene.render.fps = scene_fps
    source, named = named_source(scene, sequencer_area, media[movie_fps])
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    scene.render.fps = now

    frames = settings.strip_keyframes(source.name)
    assert len(frames) == len(NAMED) and pictures(scene, source, frames) == named
    assert sorted(settings.keyframe_names(source.name).values()) == NAMED
    for item, frame in zip(settings.keyframes, frames, strict=True):
        assert panel.keyframe_label(item, source).startswith(f"Frame {frame}")
    settings.keyframe_index = 2
    with sequencer_override(scene, sequencer_area):
        assert bpy.ops.restyle.keyframe_jump() == {"FINISHED"}
    assert scene.frame_current == frames[2]

    folder = ext("operators.keyframes").keyframe_folder(source.name, scene)[0]
    (folder / f"{NAMED[1]:04d}.png").unlink()  # exported again: the picture it names
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    assert read_index(cv2.imread(str(folder / f"{NAMED[1]:04d}.png"))) == named[1]
    assert sorted(p.name for p in folder.iterdir()) == [f"{n:04d}.png" for n in NAMED]


def paint_exported(folder, names) -> dict[int, np.ndarray]:
    """Paint a red block below the index code of each exported keyframe: name → painting."""
    painted = {}
    for name in names:
        path = folder / f"{name:04d}.png"
        image = cv2.imread(str(path))
        image[50:80, 40:120] = (0, 0, 255)
        assert cv2.imwrite(str(path), image)
        painted[name] = image
    return painted


def trained_pairs(source, name: str) -> dict[int, tuple[int, np.ndarray]] | None:
    """Train from the sidebar's keyframes and their paintings (a tiny budget): each carried
    keyframe's source frame → (the picture its source image shows, its painting as BGR).
    None without torch, where Train refuses only after every input was found and checked."""
    import bpy

    if importlib.util.find_spec("torch") is None:  # 5.2 and 5.3 here have no torch
        with pytest.raises(RuntimeError, match="training needs PyTorch"):
            bpy.ops.restyle.train_style(strip=source.name, name=name, time_budget=1.0)
        return None
    result = bpy.ops.restyle.train_style(strip=source.name, name=name, time_budget=1.0)
    assert result == {"FINISHED"}
    library = ext("core.styles").StyleLibrary(ext("props").library_root(bpy.context))
    style = library.resolve(name)
    return {
        entry["frame"]: (
            read_index(cv2.imread(str(style.folder / entry["source"]))),
            cv2.imread(str(style.folder / entry["painted"])),
        )
        for entry in style.meta["carry"]
    }


@pytest.mark.parametrize("then,now", [(24, 30), (30, 24)])
def test_train_pairs_each_painting_with_the_picture_it_was_named_on(
    scene, saved, media, sequencer_area, then, now
):
    """Train paired keyframes with paintings by one frame shift, which a new scene rate
    breaks (each keyframe moves by its own amount), so it refused such a strip: it takes
    each keyframe's painting by the name Export gave it, on the picture it was named on."""
    import bpy

    scene.render.fps = then
    source, named = named_source(scene, sequencer_area, media[24])
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    folder = ext("operators.keyframes").keyframe_folder(source.name, scene)[0]
    painted = paint_exported(folder, NAMED)
    scene.render.fps = now
    assert pictures(scene, source, scene.restyle.strip_keyframes(source.name)) == named

    pairs = trained_pairs(source, f"Rate {then} to {now}")

    if pairs is not None:
        assert sorted(pairs) == sorted(named)
        for name, picture in zip(NAMED, named, strict=True):
            shown, painting = pairs[picture]
            assert shown == picture and read_index(painting) == picture
            assert np.array_equal(painting, painted[name])


def test_a_keyframe_added_after_the_change_is_the_picture_shown(
    scene, saved, media, sequencer_area
):
    """Named at the old rate, so that both rates' keyframes share one folder of paintings."""
    import bpy

    settings = scene.restyle
    source, _named = named_source(scene, sequencer_area, media[24])
    scene.render.fps = 30
    add_keyframe_at(scene, sequencer_area, source, 17)
    assert 17 in settings.strip_keyframes(source.name)
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    name = {f: n for f, n in settings.keyframe_names(source.name).items()}[17]
    folder = ext("operators.keyframes").keyframe_folder(source.name, scene)[0]
    assert (
        read_index(cv2.imread(str(folder / f"{name:04d}.png"))) == pictures(scene, source, [17])[0]
    )
    scene.render.fps = 24  # back: every keyframe where it was named
    assert settings.strip_keyframes(source.name) == sorted([*NAMED, name])


def test_a_movie_at_the_scene_rate_keeps_its_keyframes_in_place(scene, media, sequencer_area):
    """Added without Adjust Playback Rate: one source frame per scene frame at any rate."""
    source, named = named_source(scene, sequencer_area, media[24], own_rate=False)
    scene.render.fps = 30
    assert scene.restyle.strip_keyframes(source.name) == NAMED
    assert pictures(scene, source, NAMED) == named


def test_keyframes_named_before_the_rate_was_recorded(scene, media, sequencer_area):
    """A file saved before Restyle recorded how a strip plays: opening it finds out."""
    props, keyframes = ext("props"), ext("operators.keyframes")
    source, named = named_source(scene, sequencer_area, media[24])
    for name in [
        n
        for n in source.keys()
        if n.startswith("restyle_")
        and n not in (props.STRIP_KEY, props.FRAME_ORIGIN, props.FRAME_RATE)
    ]:
        del source[name]
    keyframes.key_named_keyframes()  # what opening the file runs
    scene.render.fps = 30
    assert pictures(scene, source, scene.restyle.strip_keyframes(source.name)) == named


def test_train_refuses_paintings_of_pictures_a_lower_rate_skips(
    scene, saved, media, sequencer_area
):
    """At 12 fps a 24 fps movie shows every other picture: a keyframe named on a skipped
    one sits on its neighbour (named 6, source frame 1, on frame 6 showing source frame 2),
    and Train paired its painting with that picture. It says so, and trains once the rate
    is set back."""
    import bpy

    source, named = named_source(scene, sequencer_area, media[24])
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    paint_exported(ext("operators.keyframes").keyframe_folder(source.name, scene)[0], NAMED)
    scene.render.fps = 12
    if not ext("props").rate_changed(source):  # 5.3's new_movie: one source frame per frame
        pytest.skip("this Blender added the movie without Adjust Playback Rate")
    library = ext("core.styles").StyleLibrary(ext("props").library_root(bpy.context))
    with pytest.raises(RuntimeError, match=r"keyframe 6 of .* named on source frame 1, which"):
        bpy.ops.restyle.train_style(strip=source.name, name="Skipped", time_budget=1.0)
    assert not library.trained_folder("Skipped").exists()

    scene.render.fps = 24
    pairs = trained_pairs(source, "Skipped")
    assert pairs is None or sorted(pairs) == named


def test_export_refuses_keyframes_on_pictures_a_lower_rate_skips(
    scene, saved, media, sequencer_area
):
    """The same keyframe at 12 fps: Export would save source frame 2 under painting 6's name
    (no two keyframes clash there); it says so and leaves every painting as it was."""
    import bpy

    source, _named = named_source(scene, sequencer_area, media[24])
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    folder = ext("operators.keyframes").keyframe_folder(source.name, scene)[0]
    paint_exported(folder, NAMED)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    scene.render.fps = 12
    if not ext("props").rate_changed(source):  # 5.3's new_movie: one source frame per frame
        pytest.skip("this Blender added the movie without Adjust Playback Rate")
    assert not scene.restyle.keyframe_clash(source.name)
    with pytest.raises(RuntimeError, match=r"keyframe 6 of .* named on source frame 1, which"):
        bpy.ops.restyle.export_keyframes(strip=source.name, load=False)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


def test_adding_a_keyframe_on_a_picture_already_named_selects_that_keyframe(
    scene, saved, media, sequencer_area
):
    """At 30 fps a 24 fps movie shows one picture in four on two frames: Add Keyframe on the
    second frame of a named picture added the same name again and failed to select it
    (StopIteration), and Export then refused 'keyframes 6 and 6'."""
    import bpy

    source, _named = named_source(scene, sequencer_area, media[24])
    scene.render.fps = 30
    if not ext("props").rate_changed(source):  # 5.3's new_movie: one source frame per frame
        pytest.skip("this Blender added the movie without Adjust Playback Rate")
    name_at, settings = ext("props").name_at, scene.restyle
    frames = range(source.frame_final_start, source.frame_final_end - 1)
    frame = next(f for f in frames if name_at(source, f) == name_at(source, f + 1))
    name = name_at(source, frame)
    scene.sequence_editor.active_strip = source
    with sequencer_override(scene, sequencer_area):
        for shown in (frame, frame + 1):
            scene.frame_set(shown)
            assert bpy.ops.restyle.keyframe_add() == {"FINISHED"}
    names = [name for _, name in settings.named_keyframes(source.name)]
    assert sorted(names) == sorted({*NAMED, name})
    assert settings.keyframes[settings.keyframe_index].frame == name
    assert not settings.keyframe_clash(source.name)


@pytest.fixture(scope="module")
def tone(tmp_path_factory):
    """Three seconds of a tone, for a sound strip."""
    path = tmp_path_factory.mktemp("frame-rate-sound") / "tone.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(
            b"".join(struct.pack("<h", int(3000 * math.sin(i / 20))) for i in range(3 * 48000))
        )
    return path


def trimmed_sound(scene, tone):
    """A sound strip whose start is trimmed by an odd number of frames: Blender does not put
    such a strip back where it was after the scene's rate changes and changes back."""
    compat = ext("compat")
    try:
        sound = top_strips(scene.sequence_editor).new_sound("Tone", str(tone), 2, 1)
    except RuntimeError as exc:  # bpy 4.2's wheel: no sound strips, so none to move
        if "without Audaspace" not in str(exc):
            raise
        pytest.skip("this bpy has no sound (compiled without Audaspace)")
    compat.strip_set(sound, "left_handle", 40)
    compat.strip_set(sound, "right_handle", 60)
    return sound


def timings(scene) -> dict[str, tuple]:
    """Where each strip lies and what it shows, by name."""
    compat = ext("compat")
    names = ("left_handle", "right_handle", "content_start", "left_handle_offset")
    return {
        s.name: (*(compat.strip_get(s, n) for n in names), compat.content_duration(s), s.channel)
        for s in all_strips(scene)
    }


@pytest.mark.parametrize("movie_fps", [24, 30])
def test_naming_keyframes_moves_no_other_strip(scene, media, sequencer_area, tone, movie_fps):
    """Finding out whether a movie plays at its own rate changed the scene's rate for a
    moment, which moved a trimmed sound strip by 2 frames (40-60 showed 38-58) each time a
    strip's keyframes were named or a strip was read for a job (Apply, Export, Train)."""
    sound = trimmed_sound(scene, tone)
    source = add_movie(scene, sequencer_area, media[movie_fps], frame_start=5)
    before = timings(scene)
    ext("operators.keyframes").add_keyframes(scene.restyle, source.name, NAMED)
    ext("operators.strip_source").read_strip(scene, source)
    assert timings(scene) == before
    assert ext("compat").shown_frames(sound) == (40, 59)


def forget_how_it_plays(source) -> None:
    """Leave ``source`` as a file saved before Restyle recorded how a strip plays."""
    props = ext("props")
    kept = (props.STRIP_KEY, props.FRAME_ORIGIN, props.FRAME_RATE)
    for name in [n for n in source.keys() if n.startswith("restyle_") and n not in kept]:
        del source[name]


def test_opening_a_file_from_before_moves_no_strip(scene, media, sequencer_area, tone):
    """Opening such a file found out how each named strip plays by changing the scene's
    rate, which moved trimmed sound strips (bpy's is_dirty is True even after a save here,
    so the file being left modified is not checked)."""
    trimmed_sound(scene, tone)
    source, named = named_source(scene, sequencer_area, media[24])
    forget_how_it_plays(source)
    before = timings(scene)
    ext("operators.keyframes").key_named_keyframes()  # what opening the file runs
    assert timings(scene) == before
    scene.render.fps = 30
    assert pictures(scene, source, scene.restyle.strip_keyframes(source.name)) == named


def test_a_file_opened_without_its_movie_records_nothing(scene, media, sequencer_area, tmp_path):
    """Offline, a movie strip has no rate, and opening the file recorded that it did not play
    at its own rate for good: back online at another scene rate, its keyframes stayed put."""
    import shutil

    props, keyframes = ext("props"), ext("operators.keyframes")
    clip = shutil.copy(media[24], tmp_path / "moved.mp4")
    source, named = named_source(scene, sequencer_area, clip)
    forget_how_it_plays(source)
    source.filepath = str(tmp_path / "missing.mp4")
    assert not source.fps
    keyframes.key_named_keyframes()  # what opening the file runs
    assert props.OWN_RATE not in source and props.MOVIE_FRAMES not in source

    source.filepath = str(clip)  # found again
    keyframes.key_named_keyframes()
    scene.render.fps = 30
    assert pictures(scene, source, scene.restyle.strip_keyframes(source.name)) == named


def test_keyframes_a_lower_rate_puts_on_one_frame_are_refused_by_name(
    scene, saved, media, sequencer_area
):
    """A 30 fps movie's keyframes on frames 10-15, the scene then at 24 fps: two sat on one
    frame, the list of names kept one, and Export and Train left the other's painting out
    without a word. Both are listed; Export and Train refuse, naming them, until one is
    removed or the rate set back."""
    import bpy

    settings = scene.restyle
    scene.render.fps = 30
    source = add_movie(scene, sequencer_area, media[30], frame_start=1)
    ext("operators.keyframes").add_keyframes(settings, source.name, range(10, 16))
    scene.render.fps = 24
    frames = settings.strip_keyframes(source.name)
    assert len(frames) == 6 and len(set(frames)) == 5

    clash = r"keyframes 13 and 14 of '.*' \(painted as 0013.png and 0014.png\) are both on "
    clash += r"frame 11 at 24 fps: remove one, or set Output > Frame Rate back to 30 fps"
    with pytest.raises(RuntimeError, match=clash):
        bpy.ops.restyle.export_keyframes(strip=source.name, load=False)
    folder = ext("operators.keyframes").keyframe_folder(source.name, scene)[0]
    assert not folder.exists() or not any(folder.iterdir())
    with pytest.raises(RuntimeError, match="keyframe 1[34] "):
        bpy.ops.restyle.train_style(strip=source.name, name="Clash", time_budget=1.0)

    scene.render.fps = 30
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    assert sorted(p.name for p in folder.iterdir()) == [f"{n:04d}.png" for n in range(10, 16)]
