"""Round 20 leftovers: a stray folder in the style library under a style's name is said to be
one (install's first refusal said 'already exists; --overwrite replaces it', which then
refused); a frame rate's refusal is one wording in Python and the command line; a matte
background stamped when a file's ends only were read is not said to have changed."""

from __future__ import annotations

import pytest
from helpers_cli import run

from restyle.core.styles import StyleLibrary

pytestmark = pytest.mark.usefixtures("private_home")


# -- 1. a stray folder under a style's name ---------------------------------------------------
def test_installing_over_a_stray_folder_says_what_the_folder_is(tmp_path, tiny_style, capsys):
    packed = tmp_path / "tiny.zip"
    assert run(["styles", "pack", "Tiny", str(packed)], capsys)[0] == 0
    (tiny_style / "styles" / "tiny" / "style.json").unlink()  # a delete interrupted
    stray = StyleLibrary(tiny_style, bundled=None).trained_folder("Tiny")  # where it goes
    (tiny_style / "styles" / "tiny").rename(stray)
    kept = sorted(p.name for p in stray.iterdir())

    code, record, err = run(["styles", "install", str(packed)], capsys)
    assert code == 2, err
    assert f"{stray} is in the style library but is not a style (no style.json;" in err, err
    assert "move or remove it by hand, then install again" in err, err
    assert "already exists" not in err and "--overwrite" not in err, err  # which then refused

    code, record, err = run(["styles", "install", str(packed), "--overwrite"], capsys)
    assert code == 2, err
    assert f"{stray} is not the style 'Tiny'; not replacing it" in err, err  # still protected
    assert sorted(p.name for p in stray.iterdir()) == kept
