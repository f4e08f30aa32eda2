"""Round 19: one table per fact, one function per rule.

The picture suffixes were listed again in ``writers._MEDIA_SUFFIXES`` as a
``".png .jpg ...".split()`` text, which the structure check (tuple, list and set literals
only) could not see. A sequence format given with a picture's name ('renders.png',
``--format png``) was refused as if no format had been given ('... --format chooses'),
never naming 'renders.png/', the folder of that name."""

from __future__ import annotations

import ast

import pytest
import test_structure

from restyle.core import formats, writers
from restyle.core.errors import RestyleError


def test_a_text_listing_pictures_is_a_second_table(tmp_path, monkeypatch):
    """The check sees '.png .jpg'.split() (writers' copy) as it sees a tuple."""
    tree = ast.parse('MEDIA = ".png .jpg .tif".split()')
    assert any(map(test_structure._lists_pictures, ast.walk(tree)))
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "formats.py").write_text('PICTURES = (".png", ".jpg")\n')
    (tmp_path / "core" / "writers.py").write_text('MEDIA = frozenset(".avi .png .jpg".split())\n')
    monkeypatch.setattr(test_structure, "ROOT", tmp_path)
    with pytest.raises(AssertionError, match="writers"):
        test_structure.test_one_table_of_image_suffixes()


def test_the_media_suffixes_hold_the_picture_table():
    """Every picture Restyle reads is media a format is not guessed for; .tga (no OpenCV
    reader) stays refused as an output name without being a picture Restyle reads."""
    assert formats.IMAGE_SUFFIXES <= writers._MEDIA_SUFFIXES
    assert ".tga" in writers._MEDIA_SUFFIXES and ".tga" not in formats.IMAGE_SUFFIXES
    with pytest.raises(RestyleError, match=r"cannot write '\.tga' files"):
        writers.format_for_output("renders.tga")
    assert writers.format_for_output("renders.exr/") == "png"
