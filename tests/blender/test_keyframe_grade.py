"""The keyframe tools see a strip as it shows: its own Color settings (Saturation, Multiply)
applied, as Apply Style applies them to the frames it styles (8dc6c03).

- Export Keyframes writes the frames to paint over graded: a Saturation 0 strip's are grey
  (they were in colour, unlike what the artist sees);
- Train Style trains on the source frames graded: the style is applied to graded frames, so
  it must learn from graded ones (it learnt from the colour ones).
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_edit_tools import shaky
from test_keyframes import add_keyframe_at
from vse import add_movie, ext, render

from clips import encode_clip

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]

needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="training needs torch"
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A colour photo through a shaking camera: far from grey before any grade."""
    return encode_clip(tmp_path_factory.mktemp("grade") / "photo.mp4", shaky("astronaut", 6, 3))


def spread(image: np.ndarray) -> int:
    """How far a picture is from grey: the largest difference between a pixel's channels."""
    return int(np.ptp(image[..., :3].astype(int), axis=-1).max())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


def decoded(path, index: int) -> np.ndarray:
    return next(iter(ext("core.media").decode_range(path, index, index)))[..., :3]


def test_exported_keyframes_are_graded_as_the_strip_shows(scene, clip, sequencer_area):
    """Saturation 0: the exported frame is grey and is what Blender renders of the strip."""
    import bpy

    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    assert spread(decoded(clip, 2)) > 60  # the ungraded frame is in colour
    source.color_saturation = 0.0
    add_keyframe_at(scene, sequencer_area, source, 3)  # scene frame 3 shows source frame 2
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=False) == {"FINISHED"}
    folder = ext("operators.keyframes").keyframe_folder(source.name, scene)[0]
    exported = cv2.cvtColor(cv2.imread(str(folder / "0003.png")), cv2.COLOR_BGR2RGB)
    assert spread(exported) <= 2
    shown = render(scene, [3], only=source)[3]
    assert psnr(exported, shown) > 40


@needs_torch
def test_training_reads_the_source_frames_graded(scene, clip, sequencer_area, monkeypatch):
    """Saturation 0 and Multiply 1.25: the frames the trainer is given (the pairs' sources and
    the preview) are the decoded frames with the strip's grade, grey and as Blender renders
    them, and training on them still finishes (a 1-second budget)."""
    import bpy

    trainer = ext("core.train.trainer")
    train = trainer.train_style
    given = {}

    def spy(pairs, **options):
        given["sources"] = [source for source, _styled in pairs]
        given["preview"] = options.get("preview_frame")
        return train(pairs, **options)

    monkeypatch.setattr(trainer, "train_style", spy)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    source.color_saturation = 0.0
    source.color_multiply = 1.25
    grade = ext("core.strip_frames").StripColor(saturation=0.0, multiply=1.25)
    paint = Path(tempfile.gettempdir()) / "paint"
    paint.mkdir()
    for frame in (2, 4):  # scene frames 2 and 4 show source frames 1 and 3
        painted = 255 - grade.apply(decoded(clip, frame - 1))
        assert cv2.imwrite(
            str(paint / f"{frame:04d}.png"), cv2.cvtColor(painted, cv2.COLOR_RGB2BGR)
        )
    result = bpy.ops.restyle.train_style(
        strip=source.name, keyframes="2,4", styled=str(paint), name="Grey Negative", time_budget=1.0
    )
    assert result == {"FINISHED"}
    assert len(given["sources"]) == 2
    shown = render(scene, [2, 3, 4], only=source)
    for frame, read in zip((2, 4), given["sources"], strict=True):
        assert np.array_equal(read, grade.apply(decoded(clip, frame - 1)))
        assert spread(read) <= 2
        assert psnr(read, shown[frame]) > 40
    preview = given["preview"]  # the source frame midway between the keyframes: scene 3
    assert spread(preview) <= 2
    assert psnr(preview, shown[3]) > 40
