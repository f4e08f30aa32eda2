"""Round 21: `restyle setup --bundle FOLDER` (and `--force`) replaces the built-ins' folder
whole, so it refuses a folder holding anything of the user's instead of deleting it with the
rest (a CLI walkthrough's `setup --bundle victim` removed victim/notes.txt)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_cli import run

from restyle.core.builtins import _keep_the_mattes, foreign_entries

OWN = (
    "multistyle26.onnx",
    "multistyle26.safetensors",
    "multistyle26.fast2-c323428453e54f40.onnx",
    "arbitrary_transformer.fast1-0123456789abcdef.onnx",
    "arbitrary_predictor.onnx",
    "selfie_segmentation_landscape.safetensors",
    ".matte-k2j_3x",
)


def test_setup_bundle_refuses_a_folder_with_a_users_file_and_changes_nothing(
    tmp_path, capsys, private_home
):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "notes.txt").write_text("mine")
    code, record, err = run(["setup", "--bundle", str(victim)], capsys)
    assert code == 2 and record is None
    assert "holds files that are not Restyle's built-in styles (notes.txt)" in err
    assert "nothing was changed" in err
    assert sorted(p.name for p in victim.iterdir()) == ["notes.txt"]
    assert (victim / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]  # no scratch left beside


def test_setup_force_refuses_too(tmp_path, capsys, private_home):
    folder = tmp_path / "b"
    (folder / "thumbs").mkdir(parents=True)
    (folder / "multistyle26.onnx").write_bytes(b"x")
    (folder / "thumbs" / "plan.txt").write_text("mine")
    code, _record, err = run(["setup", "--force", "--bundle", str(folder)], capsys)
    assert code == 2 and "(thumbs/plan.txt)" in err
    assert (folder / "thumbs" / "plan.txt").read_text() == "mine"


def test_a_folder_of_built_in_files_only_is_replaceable(tmp_path):
    folder = tmp_path / "b"
    (folder / "thumbs").mkdir(parents=True)
    for name in OWN:
        (folder / name).write_bytes(b"x")
    (folder / "thumbs" / "comic-ink.png").write_bytes(b"x")
    assert foreign_entries(folder) == []
    assert foreign_entries(tmp_path / "missing") == []
    (folder / "multistyle26.onnx.bak").write_bytes(b"x")
    (folder / "thumbs" / "sub").mkdir()
    assert foreign_entries(folder) == ["multistyle26.onnx.bak", "thumbs/sub"]
    plain = tmp_path / "file"
    plain.write_text("mine")
    assert foreign_entries(plain) == ["file"]


def test_a_file_browsers_files_are_not_the_users_but_a_stray_picture_is(tmp_path):
    folder = tmp_path / "b"
    (folder / "thumbs").mkdir(parents=True)
    for name in (".DS_Store", "Thumbs.db", "thumbs/.DS_Store", "thumbs/comic-ink.png"):
        (folder / name).write_bytes(b"x")
    assert foreign_entries(folder) == []
    (folder / "thumbs" / "holiday.png").write_bytes(b"x")  # not a built-in style's thumbnail
    assert foreign_entries(folder) == ["thumbs/holiday.png"]


def test_converting_again_keeps_the_matte_networks(tmp_path):
    """Their weights come from a PyPI wheel: replacing the folder must not take them away."""
    dest, work = tmp_path / "builtin", tmp_path / "work"
    dest.mkdir()
    work.mkdir()
    for name in ("selfie_segmentation.onnx", "selfie_segmentation_landscape.safetensors"):
        (dest / name).write_text(name)
    (dest / "multistyle26.onnx").write_text("old")
    _keep_the_mattes(dest, work)
    assert sorted(p.name for p in work.iterdir()) == [
        "selfie_segmentation.onnx",
        "selfie_segmentation_landscape.safetensors",
    ]
    assert (work / "selfie_segmentation.onnx").read_text() == "selfie_segmentation.onnx"
    assert [p.name for p in dest.iterdir()] == ["multistyle26.onnx"]  # goes with the old folder


def test_the_converted_built_ins_hold_nothing_foreign():
    bundled = Path(__file__).resolve().parent.parent / "models" / "builtin"
    if not bundled.is_dir():
        pytest.skip("models/builtin is not converted in this checkout (git-ignored)")
    assert foreign_entries(bundled) == []  # what setup itself writes there
