"""An unknown style is said in words every front end can follow: Blender's add-on has no
'restyle styles' command to list the styles (its Style menu shows names, not ids), and a
script in Blender was told to run it."""

from __future__ import annotations

import pytest

from restyle.core.errors import COMMAND_LINE, RestyleError
from restyle.core.styles import BUILTIN_INDEX, StyleLibrary
from restyle.operators.runner import blender_message


def test_an_unknown_style_names_a_real_id_and_no_command(tmp_path):
    library = StyleLibrary(tmp_path / "library", bundled=None)
    with pytest.raises(RestyleError) as caught:
        library.resolve("nope")
    error = caught.value
    said = {str(error), error.said(COMMAND_LINE), blender_message(error)}
    assert len(said) == 1  # nothing in it is one front end's
    (text,) = said
    assert text.startswith("unknown style 'nope': use a built-in style's id (such as '")
    assert text.endswith("'), a trained style's name, or a path to a picture")
    example = text.split("such as '")[1].split("'")[0]
    assert example in BUILTIN_INDEX and library.resolve(example).id == example
    assert "restyle " not in text and "--" not in text
