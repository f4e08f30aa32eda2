"""A movie re-rendered shorter under its strip: every operator that reads the strip's
frames refuses the frames its file no longer holds, in the strip's terms, and leaves
nothing behind. They read the file's last frame in their place: Export wrote it as the
keyframe's picture, Train paired the painting with it."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from vse import SIZE, add_movie, all_strips, ext

from clips import make_index_clip, read_index

pytestmark = pytest.mark.blender

MENU = "Strip > Inputs > Reload Strips and Adjust Length"


@pytest.fixture
def saved(scene, tmp_path):
    """A .blend of this test's own: its keyframe folder lies beside it."""
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    return tmp_path


def shortened_strip(scene, sequencer_area, folder: Path, keyframes: list[int]):
    """A 12-frame movie strip at frame 1 with ``keyframes``; its file then re-rendered
    to 6 frames (the strip still shows 12: scene frame 10 is source frame 9)."""
    clip = make_index_clip(folder / "clip.mp4", 12, SIZE, fps=24, gop=6)
    strip = add_movie(scene, sequencer_area, clip, frame_start=1)
    ext("operators.keyframes").add_keyframes(scene.restyle, strip.name, keyframes)
    return strip, clip


def pictures(scene, strip) -> list[Path]:
    folder = ext("operators.output_strip").keyframe_folder(strip.name, scene)[0]
    return sorted(folder.glob("*.png")) if folder.is_dir() else []


def refusal(strip) -> str:
    return f"'{strip.name}' shows 12 frames but its file now has 6: reload it ({MENU}) or trim it"


def test_export_refuses_a_keyframe_past_the_files_end(scene, saved, sequencer_area):
    """Keyframes 3 and 10 of a file now 6 frames long: Export is refused whole (no picture
    written, not even keyframe 3's). With keyframe 10 removed it exports keyframe 3: its
    frame is still in the file, and is what the strip shows there, before a reload and
    after (a reload keeps the strip's start)."""
    import bpy

    strip, clip = shortened_strip(scene, sequencer_area, saved, [3, 10])
    make_index_clip(clip, 6, SIZE, fps=24, gop=6)
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.export_keyframes(strip=strip.name, load=False)
    assert refusal(strip) in str(error.value)
    assert pictures(scene, strip) == []

    settings = scene.restyle
    settings.keyframes.remove(
        next(i for i, k in enumerate(settings.keyframes) if k.belongs_to(strip) and k.frame == 10)
    )
    assert bpy.ops.restyle.export_keyframes(strip=strip.name, load=False) == {"FINISHED"}
    (picture,) = pictures(scene, strip)
    assert picture.name == "0003.png" and read_index(cv2.imread(str(picture))) == 2


def test_train_refuses_a_keyframe_past_the_files_end(scene, saved, sequencer_area):
    """Keyframes 3 and 10 exported (their paintings ready) while the file was whole, then
    the file re-rendered to 6 frames: Train is refused before any training, and no style
    is made (it trained keyframe 10's painting against the file's last frame, 5)."""
    import bpy

    strip, clip = shortened_strip(scene, sequencer_area, saved, [3, 10])
    assert bpy.ops.restyle.export_keyframes(strip=strip.name, load=False) == {"FINISHED"}
    assert [p.name for p in pictures(scene, strip)] == ["0003.png", "0010.png"]
    make_index_clip(clip, 6, SIZE, fps=24, gop=6)
    library = ext("core.styles").StyleLibrary(ext("props").library_root(bpy.context))
    name = f"Short {saved.name}"
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.train_style(strip=strip.name, name=name, time_budget=2.0)
    assert refusal(strip) in str(error.value)
    assert not library.trained_folder(name).exists()


def test_suggest_refuses_a_range_past_the_files_end(scene, sequencer_area, tmp_path):
    """Suggest Keyframes over the whole strip read the file's last frame for frames 7-12;
    refused, it marks no cut and adds no keyframe."""
    import bpy

    strip, clip = shortened_strip(scene, sequencer_area, tmp_path, [3])
    make_index_clip(clip, 6, SIZE, fps=24, gop=6)
    markers = len(scene.timeline_markers)
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.suggest_keyframes(strip=strip.name)
    assert refusal(strip) in str(error.value)
    assert len(scene.timeline_markers) == markers
    assert scene.restyle.strip_keyframes(strip.name) == [3]


def test_split_at_cuts_refuses_frames_past_the_files_end(scene, saved, sequencer_area):
    """Split at Cuts read the file's last frame for each frame past its new end (a run of
    identical frames: no cut found there) and split by what it saw; refused, nothing split."""
    import bpy

    strip, clip = shortened_strip(scene, sequencer_area, saved, [])
    make_index_clip(clip, 6, SIZE, fps=24, gop=6)
    with pytest.raises(RuntimeError) as error:
        bpy.ops.restyle.split_at_cuts(strip=strip.name)
    assert refusal(strip) in str(error.value)
    assert list(all_strips(scene).keys()) == [strip.name]


def movie_with_longer_sound(path: Path, pictures: int) -> Path:
    """A Matroska movie of ``pictures`` index frames at 24 fps whose sound lasts 2 s:
    Blender loads it 48 frames long and holds the last picture after the 10th."""
    import av
    import numpy as np

    from clips import index_frame

    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=24, options={"qscale": "1"})
        video.width, video.height = SIZE
        video.pix_fmt = "yuv420p"
        sound = container.add_stream("aac", rate=48000)
        for i in range(pictures):
            frame = av.VideoFrame.from_ndarray(index_frame(i, SIZE), format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for start in range(0, 96000, 1024):
            block = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            block.sample_rate, block.pts = 48000, start
            container.mux(sound.encode(block))
        container.mux(sound.encode(None))
    return path


def test_a_movie_whose_sound_outlasts_its_pictures_is_not_refused(scene, saved, sequencer_area):
    """Its file was never shortened: the strip is as long as the file spans (sound
    included) and shows the last picture past the 10th. The refusal said 'its file now has
    10: reload it', which changes nothing; the frames there are the last picture."""
    import bpy

    clip = movie_with_longer_sound(saved / "clip.mkv", 10)
    strip = add_movie(scene, sequencer_area, clip, frame_start=1)
    if strip.frame_final_duration <= 10:
        pytest.skip("this Blender sizes the strip by its pictures alone")
    ext("operators.keyframes").add_keyframes(scene.restyle, strip.name, [3, 20])
    assert bpy.ops.restyle.export_keyframes(strip=strip.name, load=False) == {"FINISHED"}
    exported = [read_index(cv2.imread(str(p))[:, :, ::-1]) for p in pictures(scene, strip)]
    assert exported == [2, 9]
