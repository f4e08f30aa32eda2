"""Movies whose display matrix mirrors them (a selfie camera, an app's flip). Players apply
the whole matrix; Blender's movie strips (4.4 and later) apply only the rotation that
av_display_rotation_get reads from it and ignore the mirror, so a left-right mirror shows
turned 180 degrees (measured on bpy 4.5.15, 5.0.1, 5.2.3, 5.3.0; 4.2.23 shows every movie
as stored).
Restyle reads as each shows it: `upright=True` (players, the command line), "rotation"
(Blender 4.4+), False (as stored). Tiny generated H.264 files, 4:4:4, near lossless; the
expected pictures follow PyAV's definition of the matrix it writes (turn, then mirror)."""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pytest

from restyle.core.media import decode_range, probe

SIZE = (64, 48)


def marked_picture() -> np.ndarray:
    """Dark, a white block top left and a red one at the top of the right edge: every turn
    and mirror of it differs."""
    picture = np.full((SIZE[1], SIZE[0], 3), 30, np.uint8)
    picture[:12, :16] = 255
    picture[:20, 56:, 0] = 255
    return picture


def mirrored_movie(path: Path, degrees: int, hflip: bool, vflip: bool) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24, options={"qp": "0"})
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv444p"
        stream.set_display_rotation(degrees, hflip=hflip, vflip=vflip)
        for pts in range(3):
            frame = av.VideoFrame.from_ndarray(marked_picture(), format="rgb24")
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def as_players_show(degrees: int, hflip: bool, vflip: bool) -> np.ndarray:
    """PyAV's set_display_rotation: turn `degrees` counter-clockwise, then mirror."""
    picture = np.rot90(marked_picture(), degrees // 90)
    picture = picture[:, ::-1] if hflip else picture
    return picture[::-1] if vflip else picture


def close(frame: np.ndarray, picture: np.ndarray) -> bool:
    return frame.shape == picture.shape and np.abs(frame.astype(int) - picture).max() <= 6


CASES = [(0, True, False), (0, False, True), (90, True, False), (-90, True, False)]
CASES += [(180, True, False), (90, False, True), (-90, False, False)]


@pytest.mark.parametrize("degrees, hflip, vflip", CASES)
def test_a_mirrored_movie_reads_as_players_show_it(tmp_path, degrees, hflip, vflip):
    source = mirrored_movie(tmp_path / "selfie.mp4", degrees, hflip, vflip)
    info = probe(source)
    expected = as_players_show(degrees, hflip, vflip)
    assert info.size == expected.shape[1::-1] and info.mirrored == (hflip != vflip)
    frames = list(decode_range(source, 1, 2, info=info))  # a seek, then decoding
    assert all(close(frame, expected) for frame in frames)


# (degrees, hflip, vflip) → the counter-clockwise quarter turns a Blender 4.4+ movie strip
# showed (bpy 4.5.15, 5.0.1, 5.2.3, 5.3.0, rendered): the matrix's rotation, no mirror
BLENDER_SHOWS = [((0, True, False), 2), ((0, False, True), 0), ((90, True, False), 1)]
BLENDER_SHOWS += [((-90, True, False), 3)]


@pytest.mark.parametrize("case, turns", BLENDER_SHOWS)
def test_rotation_only_reads_a_mirrored_movie_as_blender_shows_it(tmp_path, case, turns):
    source = mirrored_movie(tmp_path / "selfie.mp4", *case)
    info = probe(source, upright="rotation")
    assert (info.quarter_turns, info.mirrored) == (turns, False)
    (frame,) = decode_range(source, 0, 0, info=info)
    assert close(frame, np.rot90(marked_picture(), turns))


def test_as_stored_ignores_the_whole_matrix(tmp_path):
    source = mirrored_movie(tmp_path / "selfie.mp4", 90, True, False)
    info = probe(source, upright=False)
    assert (info.size, info.quarter_turns, info.mirrored) == (SIZE, 0, False)
    (frame,) = decode_range(source, 0, 0, upright=False)
    assert close(frame, marked_picture())


@pytest.mark.parametrize("upright", ["rotate", "Rotation", "", 1, None])
def test_an_upright_that_is_not_one_of_the_three_is_refused(tmp_path, upright):
    """Any text is truthy: "rotate" read a mirrored movie mirrored, as if True."""
    from restyle.core.errors import RestyleError

    source = mirrored_movie(tmp_path / "selfie.mp4", 0, True, False)
    info = probe(source, upright="rotation")
    words = f"upright must be True, False or 'rotation', got {upright!r}"
    with pytest.raises(RestyleError, match=re.escape(words)):
        probe(source, upright=upright)
    for given in (None, info):  # with the probe's info too: a typo is not let through
        with pytest.raises(RestyleError, match=re.escape(words)):
            decode_range(source, 0, 0, info=given, upright=upright)
