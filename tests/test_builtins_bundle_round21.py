"""Round 21: `restyle setup --bundle FOLDER` (and `--force`) replaces the built-ins' folder
whole, so it refuses a folder holding anything of the user's instead of deleting it with the
rest (a CLI walkthrough's `setup --bundle victim` removed victim/notes.txt)."""

from __future__ import annotations

from pathlib import Path

from helpers_cli import run

from restyle.core.builtins import foreign_entries

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


def test_the_converted_built_ins_hold_nothing_foreign():
    bundled = Path(__file__).resolve().parent.parent / "models" / "builtin"
    if bundled.is_dir():  # converted by setup (git-ignored): what setup itself writes
        assert foreign_entries(bundled) == []
