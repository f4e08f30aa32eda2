"""Frames of an anamorphic source written as image files: PNG, JPEG and TIFF hold no pixel
aspect here, so the frames are stored as coded, with square pixels; one warning says so, as
a movie that cannot hold it does."""

from __future__ import annotations

import json
from fractions import Fraction

import cv2
import pytest
from test_media_edge import SIZE, encode

from restyle.core.job import StyleJob
from restyle.core.media import probe


@pytest.mark.parametrize("fmt", ["png", "jpg", "tif"])
def test_frames_of_an_anamorphic_source_say_they_are_stored_as_coded(tmp_path, library, fmt):
    source = encode(tmp_path / "pal.mp4", pixel_aspect=Fraction(16, 15))
    out = tmp_path / "styled"
    result = StyleJob(source, out, "comic-ink", library=library, temporal=0, format=fmt).run()
    assert result.written == 4
    (warned,) = [w for w in result.warnings if "pixel aspect" in w]
    assert "pixel aspect 16/15" in warned and f"stored as coded ({SIZE[0]}x{SIZE[1]}" in warned
    frame = cv2.imread(str(next(out.glob(f"*.{fmt[:3]}*"))))
    assert frame.shape[1::-1] == SIZE  # as coded, not stretched to the shown shape


def test_square_pixels_need_no_warning(tmp_path, library):
    source = encode(tmp_path / "square.mp4")
    assert probe(source).pixel_aspect == 1
    result = StyleJob(source, tmp_path / "styled", "comic-ink", library=library, temporal=0).run()
    assert not [w for w in result.warnings if "pixel aspect" in w]


def test_the_json_record_carries_the_warning(tmp_path, library, capsys):
    from restyle.core.cli import main

    source = encode(tmp_path / "pal.mp4", pixel_aspect=Fraction(16, 15))
    args = ["stylize", str(source), "-o", str(tmp_path / "styled"), "-s", "comic-ink"]
    assert main([*args, "--library", str(library.root), "--temporal", "0", "--json"]) == 0
    out, err = capsys.readouterr()
    record = json.loads(out.strip().splitlines()[-1])
    assert sum("pixel aspect 16/15" in w for w in record["warnings"]) == 1
