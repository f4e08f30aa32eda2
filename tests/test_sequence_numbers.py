"""A numbered image sequence's frames are identified by their number: two files with one
number are refused (one of them would be read as another frame)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from restyle.core.errors import RestyleError
from restyle.core.media import probe


def write(folder, *names, value=90, size=8):
    folder.mkdir(exist_ok=True)
    for name in names:
        assert cv2.imwrite(str(folder / name), np.full((size, size, 3), value, np.uint8))
    return folder


@pytest.mark.parametrize(
    "names",
    [
        # reviewer: probe read 4 frames in name order, frame_0004.png as frame 3
        ("frame_0000.png", "frame_0001.png", "frame_001.png", "frame_0004.png"),
        ("frame_0000.png", "frame_0001.png", "frame_001.png", "frame_0002.png"),  # no gap
    ],
)
def test_two_files_with_one_number_are_refused_naming_both(tmp_path, names):
    folder = write(tmp_path / "seq", *names)
    with pytest.raises(RestyleError) as refused:
        probe(folder)
    assert str(refused.value) == (
        f"two files in {folder} claim frame 1: frame_0001.png and frame_001.png; "
        "frames are identified by their number, so remove or renumber one"
    )
