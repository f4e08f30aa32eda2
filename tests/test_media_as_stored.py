"""Reading a phone movie as stored (`upright=False`), as Blender before 4.4 shows it: the
pictures keep their stored size and corner, and every job of the Blender front end reads
them so, under a settings key of their own. Tiny generated files (64x48, 4 frames)."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest
from test_media_edge import FRAMES, SIZE, bright_corner, encode, marked_frame

from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob
from restyle.core.mappings.matte_job import MatteJob
from restyle.core.mappings.stabilize_job import StabilizeJob
from restyle.core.media import decode_range, probe


@pytest.mark.parametrize("rotation", [-90, 90, 180])
def test_a_movie_read_as_stored_keeps_its_stored_pictures(tmp_path, rotation):
    source = encode(tmp_path / "phone.mp4", rotation=rotation, pixel_aspect=Fraction(4, 3))
    info = probe(source, upright=False)
    assert (info.size, info.quarter_turns, info.pixel_aspect) == (SIZE, 0, Fraction(4, 3))
    frames = list(decode_range(source, 1, FRAMES - 1, info=info))  # a seek, then decoding
    frames.append(next(iter(decode_range(source, 0, 0, upright=False))))  # probed there
    assert {f.shape[1::-1] for f in frames} == {SIZE}
    assert {bright_corner(f) for f in frames} == {"top-left"}


@pytest.mark.parametrize("job_type", [StyleJob, MatteJob, StabilizeJob])
def test_every_front_end_job_reads_as_stored_under_a_key_of_its_own(tmp_path, library, job_type):
    source = encode(tmp_path / "phone.mp4", rotation=-90)
    style = {"style": "comic-ink", "library": library} if job_type is StyleJob else {}
    turned = job_type(source, None, **style).validate()
    stored = job_type(source, None, upright=False, **style).validate()
    assert (turned.info.size, stored.info.size) == ((48, 64), SIZE)
    assert turned.key != stored.key  # resumed frames never mix the two


def test_frames_styled_as_stored_are_written_as_stored(tmp_path, library):
    source = encode(tmp_path / "phone.mp4", rotation=-90)
    out = tmp_path / "frames"
    StyleJob(source, out, "comic-ink", library=library, temporal=0, upright=False).run()
    written = sorted(out.glob("*.png"))
    assert len(written) == FRAMES
    assert {cv2.imread(str(p)).shape[1::-1] for p in written} == {SIZE}


def test_training_reads_the_keyframes_source_as_stored(tmp_path, monkeypatch):
    """A keyframe painted over the frame exported as stored (64x48) trains on the stored
    frame; read upright, the same painting is the wrong shape."""
    from restyle.core.styles import StyleLibrary
    from restyle.core.train import trainer
    from restyle.core.train.keyframes import train_from_keyframes

    source = encode(tmp_path / "phone.mp4", rotation=-90)
    painted = tmp_path / "0001.png"
    cv2.imwrite(str(painted), marked_frame())
    library = StyleLibrary(tmp_path / "library", bundled=None)
    with pytest.raises(RestyleError, match="48x64"):
        train_from_keyframes(source, {1: painted}, "ink", library)
    seen = []

    def stop(pairs, **_kwargs):
        seen.extend(pairs)
        raise RuntimeError("stop before training")

    monkeypatch.setattr(trainer, "train_style", stop)
    with pytest.raises(RuntimeError, match="stop before training"):
        train_from_keyframes(source, {1: painted}, "ink", library, upright=False)
    (frame, target), *_ = seen
    assert frame.shape[1::-1] == target.shape[1::-1] == SIZE
    assert bright_corner(frame) == "top-left" and np.array_equal(target, marked_frame())
