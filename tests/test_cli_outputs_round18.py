"""Round 18 command-line walkthrough, outputs: frames never go into a folder named as a movie
(--format given or not), the built-ins follow the umask as any file the user makes, an output
Restyle cannot write is named as the user gave it (never a scratch file), and an INPUT that is
neither file nor folder (/dev/null, a FIFO) is said to be so, not "does not exist"."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from restyle.core import cli
from restyle.core.writers import current_umask

JOBS = {  # each frame job's own options, besides INPUT and -o
    "stylize": ["-s", "comic-ink"],
    "matte": [],
    "stabilize": [],
}


def run(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main([str(a) for a in argv])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command", JOBS)
@pytest.mark.parametrize(
    ("name", "fmt", "movie"),
    [("out.mp4", "png", "h264"), ("o7.mkv", "jpg", "ffv1"), ("take.mov", "tif", "prores")],
)
def test_frames_into_a_movie_name_are_refused(
    tmp_path, capsys, index_clip_h264, command, name, fmt, movie
):
    out = tmp_path / name
    argv = [command, index_clip_h264, "-o", out, *JOBS[command], "--end", "1", "--format", fmt]
    code, err = run(capsys, *argv)
    assert code == 2, err
    assert err.count("\n") == 1  # one line
    assert f"-o {out} is a movie's name: use --format {movie} for a movie" in err
    assert f"or a folder name without {out.suffix} for {fmt} frames" in err
    assert list(tmp_path.iterdir()) == []  # it wrote a folder called out.mp4 full of frames


def test_frames_into_an_avi_name_are_refused_as_without_format(tmp_path, capsys, index_clip_h264):
    out = tmp_path / "x.avi"
    code, err = run(capsys, "stylize", index_clip_h264, "-o", out, "-s", "comic-ink", "--end", "1")
    argv = ["stylize", index_clip_h264, "-o", out, "-s", "comic-ink", "--end", "1"]
    code_png, err_png = run(capsys, *argv, "--format", "png")
    assert (code, code_png) == (2, 2)
    assert err_png == err  # one rule: the name's, --format png or not
    assert "cannot write '.avi' files without --format ffv1" in err
    assert list(tmp_path.iterdir()) == []


def test_frames_still_go_into_folders(tmp_path, capsys, index_clip_h264):
    """A folder that exists named like a movie, a plain folder name, and a movie format with
    its own suffix are still planned as before."""
    (tmp_path / "made.mp4").mkdir()
    for name, fmt in (("made.mp4", "png"), ("frames", "jpg"), ("clip.mkv", "h264")):
        argv = ["stylize", index_clip_h264, "-o", tmp_path / name, "-s", "comic-ink"]
        code, err = run(capsys, *argv, "--end", "1", "--format", fmt, "--plan")
        assert code == 0, (name, err)


# -- the built-ins follow the umask ---------------------------------------------------------


def modes(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode)
        for p in (folder, *folder.rglob("*"))
    }


def assert_umask_modes(folder: Path) -> None:
    umask = current_umask()
    found = modes(folder)
    want = {name: (0o777 if (folder / name).is_dir() else 0o666) & ~umask for name in found}
    assert {k: oct(v) for k, v in found.items()} == {k: oct(v) for k, v in want.items()}


def test_the_builtins_follow_the_umask(library):
    """setup's built-ins (install_builtins): the folder was mkdtemp's drwx------ and the files
    -rw------- (ONNX by mkstemp, safetensors), unreadable to another account."""
    assert current_umask() & 0o044 == 0  # others may read what this user makes
    assert_umask_modes(library.builtin_dir)
    assert (library.builtin_dir / "thumbs").is_dir()


def test_the_matte_network_follows_the_umask(matte_library):
    umask = current_umask()
    files = sorted(matte_library.builtin_dir.glob("selfie_segmentation*"))
    assert len(files) == 4
    for path in files:
        assert oct(stat.S_IMODE(path.stat().st_mode)) == oct(0o666 & ~umask), path.name


# -- unwritable outputs are named as given ---------------------------------------------------


@pytest.fixture
def locked(tmp_path) -> Path:
    """A folder no file can be made in, even by root: immutable (chattr +i)."""
    folder = tmp_path / "RO"
    folder.mkdir()
    done = subprocess.run(["chattr", "+i", folder], capture_output=True, check=False)
    if done.returncode != 0:
        if os.geteuid() == 0:
            pytest.skip(f"chattr +i failed: {done.stderr.decode().strip()}")
        folder.chmod(0o555)
    yield folder
    subprocess.run(["chattr", "-i", folder], capture_output=True, check=False)
    folder.chmod(0o755)


def said_unwritable(err: str, folder: Path) -> None:
    assert err.count("\n") == 1, err
    assert f"restyle: error: cannot write to {folder}: " in err
    assert ".part" not in err and "tmp" not in err.replace(str(folder), "")
    assert ".builtin-" not in err


def test_export_onnx_names_the_folder(capsys, library, locked):
    argv = ["export-onnx", "comic-ink", "-o", locked / "s.onnx", "--library", library.root]
    code, err = run(capsys, *argv)
    assert code == 2
    said_unwritable(err, locked)  # 'cannot use .../tmpgda1yt29.onnx.part'


def test_sheet_names_the_folder_and_why(capsys, library, locked, index_clip_h264):
    argv = ["sheet", index_clip_h264, "-o", locked / "s.png", "--library", library.root]
    code, err = run(capsys, *argv)
    assert code == 2
    said_unwritable(err, locked)  # 'cannot write RO/s.png', no reason


def test_setup_bundle_names_the_folder(capsys, locked):
    code, err = run(capsys, "setup", "--bundle", locked / "b")
    assert code == 2
    said_unwritable(err, locked)  # 'cannot use RO/.builtin-ouh_zt2w'


def test_styles_pack_names_the_folder(capsys, tiny_style, locked):
    home, folder = tiny_style, tiny_style / "styles" / "tiny"
    assert_umask_modes(folder)  # a trained style, as before (its helper is the built-ins')
    code, err = run(capsys, "styles", "pack", "Tiny", locked / "x.restyle", "--library", home)
    assert code == 2
    said_unwritable(err, locked)  # 'cannot use RO/x.restyle.part'


# -- an INPUT that is neither file nor folder ------------------------------------------------


@pytest.mark.parametrize("command", ["stylize", "sheet"])
def test_dev_null_and_a_fifo_are_not_missing(tmp_path, capsys, command):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    options = JOBS["stylize"] if command == "stylize" else []
    out = tmp_path / ("out" if command == "stylize" else "out.png")
    for source, kind in (("/dev/null", "a character device"), (fifo, "a named pipe (FIFO)")):
        code, err = run(capsys, command, source, "-o", out, *options)
        assert code == 2
        assert f"{source} is {kind}, not a regular file: give a movie, a picture, " in err
        assert "does not exist" not in err
    code, err = run(capsys, command, tmp_path / "gone.mp4", "-o", out, *options)
    assert "gone.mp4 does not exist" in err  # a missing one still is
