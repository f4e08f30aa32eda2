"""Round 20c: words that offered what was then refused, and a scratch link left behind.

1. 'restyle styles' warned of a stray folder that is a link (or holds a user's files)
   "remove it by hand or with 'restyle styles delete Linked'", a delete that is refused:
   the warning offers delete only when delete would succeed (``styles.what_a_stray_holds``
   says nothing), else says what it holds.
2. Renaming onto a stray folder holding notes.txt suggested the refused delete too, and did
   not name the file.
3. Blender said a stabilize refusal's strength as the style's 'Strength', not its own slider
   'Stabilize Strength'.
4. ``ray_runner._replace_with`` left its scratch link beside the frame when the rename failed.
"""

from __future__ import annotations

import os

import pytest
from helpers_cli import run

from restyle.core import ray_runner
from restyle.core.errors import BLENDER, COMMAND_LINE, PYTHON, RestyleError
from restyle.core.mappings.stabilize_job import StabilizeJob
from restyle.core.styles import StyleLibrary

from clips import make_image_sequence


def listing_warning(home, capsys) -> str:
    code, _, err = run(["styles", "--library", str(home)], capsys)
    assert code == 0, err
    return err


# -- 1. the listing's warning --------------------------------------------------------------
def test_a_stray_link_is_not_offered_to_delete(tiny_style, tmp_path, capsys):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tiny_style / "styles" / "Linked").symlink_to(target, target_is_directory=True)
    err = listing_warning(tiny_style, capsys)
    assert "Linked is in the style library but is not a style" in err, err
    assert "move or remove it by hand (it is a link)" in err, err
    assert "styles delete" not in err, err
    # as the delete it no longer offers says
    code, _, err = run(["styles", "delete", "Linked", "--library", str(tiny_style)], capsys)
    assert code == 2 and "and it is a link: not deleting it" in err, err
    assert target.is_dir()


def test_a_stray_link_to_a_folder_of_files_is_said_a_link(tiny_style, tmp_path, capsys):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "notes.txt").write_text("mine")  # the link's target's: not the library's
    (tiny_style / "styles" / "Linked").symlink_to(target, target_is_directory=True)
    err = listing_warning(tiny_style, capsys)
    assert "move or remove it by hand (it is a link)" in err, err


def test_a_stray_folder_holding_a_users_file_names_it(tiny_style, capsys):
    stray = tiny_style / "styles" / "Taken"
    (stray / "plates").mkdir(parents=True)
    (stray / "plates" / "foo.part").write_bytes(b"mine")
    err = listing_warning(tiny_style, capsys)  # a guard: said so before too
    assert "move or remove it by hand (it holds plates/foo.part)" in err, err
    assert "styles delete" not in err, err


def test_an_empty_stray_folder_is_still_offered_to_delete(tiny_style, capsys):
    stray = tiny_style / "styles" / "Empty"
    stray.mkdir()
    (stray / "model.onnx").write_bytes(b"x")  # a style's own file: delete takes it
    err = listing_warning(tiny_style, capsys)
    assert "remove it by hand or with 'restyle styles delete Empty'" in err, err
    code, _, err = run(["styles", "delete", "Empty", "--library", str(tiny_style)], capsys)
    assert code == 0 and not stray.exists(), err


# -- 2. rename onto a stray folder ---------------------------------------------------------
def test_rename_onto_a_stray_folder_with_notes_names_them(tiny_style):
    stray = tiny_style / "styles" / "Taken"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    with pytest.raises(RestyleError) as refused:
        StyleLibrary(tiny_style).rename("Tiny", "Taken")
    said = str(refused.value)
    assert "and it holds notes.txt" in said and "move or remove it by hand" in said, said
    assert "styles delete" not in said, said
    assert (stray / "notes.txt").read_text() == "mine"


def test_rename_onto_a_stray_link_says_it_is_a_link(tiny_style, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tiny_style / "styles" / "Taken").symlink_to(target, target_is_directory=True)
    with pytest.raises(RestyleError, match="and it is a link") as refused:
        StyleLibrary(tiny_style).rename("Tiny", "Taken")
    assert "styles delete" not in str(refused.value)


def test_rename_onto_an_empty_stray_folder_offers_delete(tiny_style):
    (tiny_style / "styles" / "Taken").mkdir()
    with pytest.raises(RestyleError, match=r"'restyle styles delete Taken'"):
        StyleLibrary(tiny_style).rename("Tiny", "Taken")


# -- 3. stabilize's strength in Blender's words --------------------------------------------
@pytest.mark.parametrize(
    ("front_end", "said"),
    [
        (BLENDER, "(Stabilize Strength 1.0, now 0.5)"),
        (COMMAND_LINE, "(--strength 1.0, now 0.5)"),
        (PYTHON, "(strength=1.0, now 0.5)"),
    ],
)
def test_a_stabilize_refusal_names_its_own_strength(tmp_path, front_end, said):
    make_image_sequence(tmp_path / "plate", 4)
    out = tmp_path / "st1"
    StabilizeJob(tmp_path / "plate", out, end=3).run()
    with pytest.raises(RestyleError) as refused:
        StabilizeJob(tmp_path / "plate", out, end=3, strength=0.5).run()
    text = refused.value.said(front_end)
    assert f"made with other settings {said}" in text, text


# -- 4. _replace_with's scratch link --------------------------------------------------------
def staged_over_old(tmp_path):
    """A staged frame and the output frame it is to replace."""
    src, dst = tmp_path / "staged.png", tmp_path / "out" / "frame.png"
    dst.parent.mkdir()
    src.write_bytes(b"new frame")
    dst.write_bytes(b"old frame")
    return src, dst


def test_replace_with_removes_its_scratch_when_the_rename_fails(tmp_path, monkeypatch):
    src, dst = staged_over_old(tmp_path)

    def full_disk(a, b):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        ray_runner._replace_with(src, dst)
    assert sorted(p.name for p in dst.parent.iterdir()) == ["frame.png"]
    assert dst.read_bytes() == b"old frame" and src.read_bytes() == b"new frame"


def test_replace_with_removes_its_scratch_when_the_copy_fails(tmp_path, monkeypatch):
    src, dst = staged_over_old(tmp_path)

    def no_link(a, b):
        raise OSError(18, "Invalid cross-device link")

    def half_copy(a, b):
        with open(b, "wb") as part:
            part.write(b"new")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", no_link)
    monkeypatch.setattr(ray_runner.shutil, "copyfile", half_copy)
    with pytest.raises(OSError, match="No space left"):
        ray_runner._replace_with(src, dst)
    assert sorted(p.name for p in dst.parent.iterdir()) == ["frame.png"]
    assert dst.read_bytes() == b"old frame"
