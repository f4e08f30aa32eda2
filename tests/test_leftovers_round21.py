"""Round 21's leftovers of round 20, each case failing on the code before it:

1. ``restyle sheet -o NAME`` and ``restyle styles pack`` took any output name, then failed at
   writing one of 233-255 bytes ('... .restyle-part: File name too long': the atomic
   writer's scratch name is 23 bytes longer; the sheet already made, the pack's folder
   already made): now both are held to the run's one output-name rule
   (``writers.check_name_room``, OUTPUT_NAME_MAX) and refused first, nothing written.
2. ``--plan --json``'s ``output.path`` was the path as placed ('rel', '../b/p.mov'), where
   a run's record names it absolute (f154f56): it is absolute too, the run's own path.
3. ``styles rename`` onto a name whose place in the style library is a plain file (the
   user's) said it was a folder an interrupted delete leaves and offered
   ``restyle styles delete`` for it: it says it is a file and offers no delete; install
   onto one says so too. (Blender has no rename of a style: the decision is the core's.)
4. A style's file names were listed twice (styles' pattern of a style's own files,
   train.artifact's names): one table in styles, which artifact and install import.
5. The device-word rule was two copies (``cli._device``, ``fields.device_refusal``: fields
   imports numpy, which a refused --device must not): one numpy-free ``device_words``.

No cluster, no network trained: the sheet styles with the built-ins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers_cli import run
from test_ray_round19b import stylize

from restyle.core.styles import StyleLibrary
from restyle.core.writers import NAME_MAX, OUTPUT_NAME_MAX, scratch_path

from clips import noise_shot

pytestmark = pytest.mark.usefixtures("private_home")


def named(folder: Path, size: int, suffix: str) -> Path:
    """A file in ``folder`` whose own name is ``size`` bytes, ending in ``suffix``."""
    return folder / ("n" * (size - len(suffix)) + suffix)


# -- 1. a sheet's and a style pack's name leaves room for the scratch name -----------------------
def sheet(shot: Path, out: Path) -> list[str]:
    return ["sheet", str(shot), "-o", str(out), "--tile-width", "16"]


@pytest.mark.parametrize("size", [OUTPUT_NAME_MAX + 1, 240, NAME_MAX])
def test_a_sheet_name_without_room_for_its_scratch_name_is_refused_first(tmp_path, capsys, size):
    shot = noise_shot(tmp_path / "shot", 1)
    code, _, err = run(sheet(shot, named(tmp_path, size, ".png")), capsys)
    said = f"-o has a name too long for the file system ({size} bytes, at most {OUTPUT_NAME_MAX})"
    assert code == 2 and said in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot"]  # no built-ins converted


def test_a_sheet_name_at_the_limit_is_written(tmp_path, capsys):
    shot = noise_shot(tmp_path / "shot", 1)
    out = named(tmp_path, OUTPUT_NAME_MAX, ".png")
    assert len(scratch_path(out).name.encode()) == NAME_MAX
    code, record, err = run(sheet(shot, out), capsys)
    assert code == 0 and record["output"] == str(out), err
    assert out.is_file()


def pack(tiny_style: Path, out: Path) -> list[str]:
    return ["styles", "pack", "Tiny", str(out), "--library", str(tiny_style)]


@pytest.mark.parametrize("size", [OUTPUT_NAME_MAX + 1, 240, NAME_MAX])
def test_a_pack_name_without_room_for_its_scratch_name_is_refused_first(
    tmp_path, tiny_style, capsys, size
):
    out = named(tmp_path / "packs", size, ".zip")
    code, _, err = run(pack(tiny_style, out), capsys)
    said = f"({size} bytes, at most {OUTPUT_NAME_MAX})"
    assert (
        code == 2 and f"the file to pack into has a name too long for the file system {said}" in err
    ), err
    assert not (tmp_path / "packs").exists()  # its folder not made


def test_a_pack_name_at_the_limit_is_written(tmp_path, tiny_style, capsys):
    out = named(tmp_path / "packs", OUTPUT_NAME_MAX, ".zip")
    code, record, err = run(pack(tiny_style, out), capsys)
    assert code == 0 and record["output"] == str(out), err
    assert [p.name for p in out.parent.iterdir()] == [out.name]


# -- 2. --plan names the output as the run's record does: absolute -------------------------------
@pytest.mark.parametrize(
    ("typed", "made"),
    [("rel", "a/rel"), ("../b/p.mov", "b/p.mov"), ("clip", "a/clip.mp4"), ("./x/", "a/x")],
)
def test_the_plan_names_the_output_absolute(tmp_path, monkeypatch, capsys, typed, made):
    shot = noise_shot(tmp_path / "shot", 2)
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    argv = stylize(shot, typed, *(["--format", "h264"] if typed == "clip" else []))
    code, plan, err = run([*argv, "--plan"], capsys)
    assert code == 0 and plan["output"]["path"] == str(tmp_path / made), (plan, err)
    code, record, err = run(argv, capsys)
    assert code == 0 and record["output"] == plan["output"]["path"], err


# -- 3. a plain file where a style's folder would go is said so, never offered to delete -------
def styles(home: Path, *words: str, capsys):
    return run(["styles", *words, "--library", str(home)], capsys)


def test_a_rename_onto_a_plain_file_refuses_without_offering_its_delete(tiny_style, capsys):
    mine = tiny_style / "styles" / "Empty"
    mine.write_text("mine", encoding="utf-8")
    code, _, err = styles(tiny_style, "rename", "Tiny", "Empty", capsys=capsys)
    said = f"{mine} is in the style library but is not a style (it is a file, not a folder)"
    assert code == 2 and said in err, err
    assert "move it out of the style library or choose another name, then rename again" in err
    assert "delete" not in err, err  # nor 'an interrupted delete leaves such a folder'
    assert mine.read_text(encoding="utf-8") == "mine"
    assert (tiny_style / "styles" / "tiny" / "style.json").is_file()


def test_an_install_onto_a_plain_file_says_it_is_a_file(tmp_path, tiny_style, capsys):
    packed = tmp_path / "tiny.zip"
    assert styles(tiny_style, "pack", "Tiny", str(packed), capsys=capsys)[0] == 0
    other = tmp_path / "other"
    mine = StyleLibrary(other).trained_folder("Tiny")
    mine.parent.mkdir(parents=True)
    mine.write_text("mine", encoding="utf-8")
    code, _, err = styles(other, "install", str(packed), capsys=capsys)
    assert code == 2 and "(it is a file, not a folder): 'Tiny' would be installed" in err, err
    assert mine.read_text(encoding="utf-8") == "mine"


# -- 4. a style's file names: one table ---------------------------------------------------------
def test_a_styles_file_names_are_one_table():
    """styles.py listed them in its pattern of a style's own files, train.artifact as the
    names it writes (an import cycle kept them apart): artifact and install read styles'."""
    from restyle.core import style_install, styles
    from restyle.core.train import artifact

    for name in ("META_FILE", "WEIGHTS_FILE", "ONNX_FILE", "THUMBNAIL_FILE"):
        assert getattr(artifact, name) is getattr(styles, name), name
    assert set(style_install.REQUIRED) <= set(styles.STYLE_FILES)
    for name in (*styles.STYLE_FILES, "keyframe-000003-painted.png", "style.json.part"):
        assert styles._STYLE_FILE.fullmatch(name), name
    assert not styles._STYLE_FILE.fullmatch("notes.txt")


# -- 5. a device's spelling: one rule, numpy-free -----------------------------------------------
def test_the_device_rule_is_one_and_imports_no_numpy():
    """--device (``cli._device``, parsed as the command line starts: no numpy) and the
    Python API's device= (``fields.device_refusal``, whose module imports numpy) were two
    copies of one rule; both read ``device_words.device_refusal`` now."""
    probe = (
        "import sys; from restyle.core import cli, device_words; "
        "assert cli._device('CUDA:1') == 'cuda:1'; "
        "assert device_words.device_refusal('cuda:x', said='x').startswith('x is not a device'); "
        "print(sorted({'numpy', 'torch', 'av', 'cv2'} & set(sys.modules)))"
    )
    said = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert said.returncode == 0 and said.stdout.strip() == "[]", said.stderr
    from restyle.core import device_words, job

    assert job.device_refusal is device_words.device_refusal
