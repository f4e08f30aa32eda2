"""A trained style never stands for a picture file of the same name: 'restyle styles rename
"Ink 3" k10.png' was accepted, and then 'stylize ... -s k10.png' with the painting k10.png in
the working folder used the trained style without a word. Names ending as a picture's do
(media.IMAGE_SUFFIXES) are refused; a style that has one from before, where the picture is
there too, is refused as ambiguous, naming both."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core import cli
from restyle.core.errors import RestyleError
from restyle.core.styles import StyleLibrary, check_style_name

pytest.importorskip("torch")
from test_style_install import make_trained_style  # noqa: E402


@pytest.fixture
def library(tmp_path) -> StyleLibrary:
    library = StyleLibrary(tmp_path / "library")
    make_trained_style(library.trained_folder("Ink 3"), "Ink 3")
    return library


@pytest.mark.parametrize("name", ["k10.png", "K10.JPG", "ink.webp", " paint.tiff "])
def test_a_name_ending_as_a_pictures_is_refused(name):
    with pytest.raises(RestyleError, match="ends as a picture file's name does"):
        check_style_name(name)


@pytest.mark.parametrize("name", ["Mr. Ink", "v1.2", "ink.final", "png"])
def test_other_names_with_a_dot_are_kept(name):
    assert check_style_name(name) == name


def test_rename_to_a_pictures_name_is_refused(library, capsys):
    argv = ["styles", "rename", "Ink 3", "k10.png", "--library", str(library.root)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("restyle: error: 'k10.png' cannot be a style name")
    assert [s.name for s in library.trained()] == ["Ink 3"]


def older_style_named_like_a_picture(library: StyleLibrary) -> str:
    """A style named 'k10.png' by a Restyle that allowed it (its style.json edited)."""
    (info,) = library.trained()
    meta_file = info.folder / "style.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta_file.write_text(json.dumps({**meta, "name": "k10.png"}), encoding="utf-8")
    return "k10.png"


def test_a_style_and_a_picture_of_one_name_are_refused_as_ambiguous(library, tmp_path, monkeypatch):
    name = older_style_named_like_a_picture(library)
    monkeypatch.chdir(tmp_path)
    assert library.resolve(name).kind != "picture"  # no such picture here: the style
    picture = tmp_path / name
    cv2.imwrite(str(picture), np.full((32, 32, 3), 90, np.uint8))
    with pytest.raises(RestyleError) as caught:
        library.resolve(name)
    said = str(caught.value)
    assert "is both a trained style" in said
    assert str(library.trained()[0].folder) in said and str(picture) in said
    assert library.resolve(f"./{name}").picture == Path(f"./{name}")  # the way to the picture


def test_stylize_says_it_before_any_frame(library, tmp_path, monkeypatch, capsys):
    name = older_style_named_like_a_picture(library)
    monkeypatch.chdir(tmp_path)
    cv2.imwrite(str(tmp_path / name), np.full((32, 32, 3), 90, np.uint8))
    source = tmp_path / "source.png"
    cv2.imwrite(str(source), np.full((32, 48, 3), 30, np.uint8))
    argv = ["stylize", str(source), "-o", "out", "-s", name, "--library", str(library.root)]
    assert cli.main(argv) == 2
    assert "is both a trained style" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
