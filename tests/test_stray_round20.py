"""Round 20: 'restyle styles delete NAME' on a stray folder (no readable style.json) of the
style library (15913c4).

1. It deleted the folder when every file in it, at any depth, matched styles._STYLE_FILE,
   which took any '*.part': a user's foo.part or plates/foo.part went without a word. Only a
   style's own names at the folder's top level go (and Restyle's scratch of them); anything
   else, or any file in a subfolder, keeps the folder and is named. Empty subfolders go.
2. It said "deleted style 'Empty'" ({"deleted": "Empty"}) for what was no style: now
   "removed the stray folder .../Empty (not a style)", and the record says "stray": true.
3. Training into a stray folder names what it holds in the same words (one helper).
4. A numpy float32 23.976 is 24000/1001, as the float is.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from helpers_cli import run

from restyle.core import cli
from restyle.core.errors import RestyleError
from restyle.core.media import _parse_fps
from restyle.core.train.artifact import refuse_a_stray_folder


def styles(home, *words, capsys):
    return run(["styles", *words, "--library", str(home)], capsys)


@pytest.mark.parametrize("kept", ["foo.part", "plates/foo.part", "plates/model.onnx"])
def test_delete_keeps_a_stray_folder_with_a_users_file(tiny_style, capsys, kept):
    stray = tiny_style / "styles" / "Empty"
    (stray / "plates").mkdir(parents=True)
    (stray / "model.onnx").write_bytes(b"x")
    (stray / kept).write_bytes(b"mine")
    code, _, err = styles(tiny_style, "delete", "Empty", capsys=capsys)
    assert code == 2 and f"it holds {kept}: not deleting it" in err, err
    assert (stray / kept).is_file() and (stray / "model.onnx").is_file()


def test_delete_removes_own_files_scratch_and_empty_subfolders(tiny_style, capsys):
    stray = tiny_style / "styles" / "Empty"
    (stray / "sub" / "deeper").mkdir(parents=True)
    for name in ("style.json.part", ".weights.safetensors.0123abcd.restyle-part", "model.onnx"):
        (stray / name).write_bytes(b"x")
    code, record, err = styles(tiny_style, "delete", "Empty", capsys=capsys)
    assert code == 0, err
    assert record == {"deleted": "Empty", "stray": True, "folder": str(stray)}
    assert not stray.exists()
    assert (tiny_style / "styles" / "tiny" / "style.json").is_file()


def test_delete_of_a_stray_folder_says_it_was_no_style(tiny_style, capsys):
    stray = tiny_style / "styles" / "Empty"
    stray.mkdir()
    assert cli.main(["styles", "delete", "Empty", "--library", str(tiny_style)]) == 0
    said = capsys.readouterr().out
    assert f"removed the stray folder {stray} (not a style)" in said, said
    assert "deleted style" not in said
    # a style is still said as before
    code, record, err = styles(tiny_style, "delete", "Tiny", capsys=capsys)
    assert code == 0 and record == {"deleted": "Tiny"}, err


def test_training_into_a_stray_folder_names_the_users_file(tmp_path):
    stray = tmp_path / "Empty"
    (stray / "plates").mkdir(parents=True)
    (stray / "plates" / "foo.part").write_bytes(b"mine")
    with pytest.raises(RestyleError, match=r"and it holds plates/foo\.part: 'Empty' would be"):
        refuse_a_stray_folder(stray, "Empty", "train")


@pytest.mark.parametrize("kind", [np.float32, np.float64, float])
def test_a_numpy_ntsc_decimal_is_the_ntsc_rate(kind):
    assert _parse_fps(kind(23.976)) == Fraction(24000, 1001)
    assert _parse_fps(kind(29.97)) == Fraction(30000, 1001)
