"""Command-line options found silent or misworded by the round-17 walkthrough: --chunk-frames
without --ray or --plan styled locally (now refused, as --saturate-in-float alone is);
``train --json`` kept its warnings from stderr (stylize --json prints them there too); an
unreadable painting was called 'the style picture', a keyframe given twice was not named;
--carry on a style without painted keyframes did nothing, silently (now a warning); an
output folder that exists but takes no file (/proc) was 'No such file or directory'."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core import cli
from restyle.core.errors import RestyleError

from clips import make_image_sequence


@pytest.fixture
def shot(tmp_path):
    """Three colourful 64x48 frames."""
    folder = tmp_path / "shot"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(3):
        cv2.imwrite(str(folder / f"f_{i:04d}.png"), rng.integers(0, 256, (48, 64, 3), np.uint8))
    return folder


def run(*argv: str, capsys) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    said = capsys.readouterr()
    return code, said.out, said.err


@pytest.mark.parametrize("command", [["stylize", "-s", "comic-ink"], ["matte"], ["stabilize"]])
def test_chunk_frames_without_ray_is_refused_writing_nothing(command, shot, tmp_path, capsys):
    """It sizes --ray's chunks (and --plan's): alone it was silently dropped, the job run
    here on one machine."""
    out = tmp_path / "out"
    code, _, err = run(command[0], str(shot), "-o", str(out), *command[1:], "--chunk-frames",
                       "2", capsys=capsys)  # fmt: skip
    assert code == cli.EXIT_BAD_INPUT
    said = "--chunk-frames is --ray's chunk size: give it with --ray (or --plan)"
    assert err == f"restyle: error: {said}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot"]


def test_chunk_frames_with_plan_is_taken(library, shot, tmp_path, capsys):
    code, out, err = run("stylize", str(shot), "-o", str(tmp_path / "out"), "-s", "comic-ink",
                         "--chunk-frames", "2", "--plan", "--json", "--library",
                         str(library.root), capsys=capsys)  # fmt: skip
    assert code == 0, err
    chunks = [(c["start"], c["end"]) for c in json.loads(out)["chunks"]]
    assert len(chunks) == 2 and all(end - start < 2 for start, end in chunks), chunks


def test_carry_on_a_built_in_style_is_warned_of(library, shot, tmp_path, capsys):
    """On stderr and in --json's record, as every run's warnings; a style with painted
    keyframes (trained) takes it silently, and leaving it out warns of nothing."""
    argv = ["stylize", str(shot), "-s", "comic-ink", "--strength", "0", "--temporal", "0",
            "--library", str(library.root), "--json"]  # fmt: skip
    code, out, err = run(*argv, "-o", str(tmp_path / "a"), "--carry", "0.5", capsys=capsys)
    assert code == 0, err
    said = (
        "--carry 0.5 does nothing: it carries a trained style's painted keyframes, and "
        "'comic-ink' is a built-in style; leave --carry out"
    )
    assert json.loads(out)["warnings"] == [said]
    assert f"restyle: warning: {said}\n" in err
    code, out, err = run(*argv, "-o", str(tmp_path / "b"), capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["warnings"] == []
    assert "warning" not in err


def test_carry_on_a_picture_style_is_warned_of_by_the_plan(library, shot, tmp_path, capsys):
    picture = tmp_path / "look.png"
    cv2.imwrite(str(picture), np.full((32, 32, 3), 90, np.uint8))
    code, out, err = run("stylize", str(shot), "-o", str(tmp_path / "out"), "-s", str(picture),
                         "--carry", "0", "--plan", "--library", str(library.root),
                         capsys=capsys)  # fmt: skip
    assert code == 0, err
    assert "warning: --carry 0 does nothing: it carries a trained style's painted " in out
    assert f"'{picture}' is a picture style; leave --carry out" in out


def test_carry_on_a_trained_style_is_taken_silently(shot, tmp_path, capsys):
    pytest.importorskip("torch")
    from test_style_install import make_trained_style

    from restyle.core.styles import StyleLibrary

    library = StyleLibrary(tmp_path / "library", bundled=None)
    make_trained_style(library.trained_folder("Tiny Ink"))
    code, out, err = run("stylize", str(shot), "-o", str(tmp_path / "out"), "-s", "Tiny Ink",
                         "--carry", "0.5", "--plan", "--json", "--library",
                         str(library.root), capsys=capsys)  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["warnings"] == []


def test_train_json_says_its_warnings_on_stderr_too(tmp_path, capsys):
    """README: warnings on stderr, and under --json in the record too (stylize did so)."""
    pytest.importorskip("torch")
    frames = make_image_sequence(tmp_path / "shot", 4)
    painted = tmp_path / "0001.png"
    assert cv2.imwrite(str(painted), 255 - cv2.imread(str(frames[1])))
    code, out, err = run("train", str(frames[0].parent), "-k", f"1={painted}", "-n", "Brief",
                         "--json", "--time-budget", "0.01", "--library",
                         str(tmp_path / "library"), capsys=capsys)  # fmt: skip
    assert code == 0, err
    warnings = json.loads(out.strip().splitlines()[-1])["warnings"]
    assert warnings and all(w.startswith("only ") for w in warnings)
    for warning in warnings:
        assert f"restyle: warning: {warning}\n" in err


def test_an_unreadable_painting_is_called_a_keyframe(tmp_path, capsys):
    pytest.importorskip("torch")
    frames = make_image_sequence(tmp_path / "shot", 8)
    junk = tmp_path / "junk.png"
    junk.write_text("not a picture")
    code, _, err = run("train", str(frames[0].parent), "-k", f"5={junk}", "-n", "Sq",
                       "--library", str(tmp_path / "library"), capsys=capsys)  # fmt: skip
    assert code == cli.EXIT_BAD_INPUT
    assert (
        err
        == f"restyle: error: cannot read keyframe 5's painting {junk}: not an image or corrupt\n"
    )
    assert not (tmp_path / "library").exists() or not any((tmp_path / "library").rglob("*.json"))


def test_a_keyframe_given_twice_is_named(tmp_path, capsys):
    pytest.importorskip("torch")
    frames = make_image_sequence(tmp_path / "shot", 8)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    code, _, err = run("train", str(frames[0].parent), "-k", f"5={a}", "-k", f"2={a}", "-k",
                       f"5={b}", "-n", "Sq", capsys=capsys)  # fmt: skip
    assert code == cli.EXIT_BAD_INPUT
    said = f"keyframe 5 is given twice (-k 5={a}, -k 5={b}): each keyframe may be given once"
    assert err == f"restyle: error: {said}\n"


def test_a_folder_that_takes_no_file_is_not_called_missing(tmp_path, monkeypatch):
    """/proc exists, but creating a file in it fails with ENOENT: 'cannot write to /proc: No
    such file or directory' said the folder was missing."""
    from restyle.core import writers

    def refused(*_, **__):
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    with pytest.raises(RestyleError) as error:
        writers.check_writable(tmp_path / "out")
    assert str(error.value) == (
        f"cannot write to {tmp_path}: the folder is not writable (making a file there "
        "failed: No such file or directory)"
    )


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc")
def test_output_in_proc_is_said_not_writable(library, shot, capsys):
    code, _, err = run("stylize", str(shot), "-o", "/proc/restyle-x", "-s", "comic-ink",
                       "--library", str(library.root), capsys=capsys)  # fmt: skip
    assert code == cli.EXIT_BAD_INPUT
    assert err.startswith("restyle: error: cannot write to /proc: "), err
    # root: the kernel's ENOENT, said as what it is; anyone else: permission denied
    assert "the folder is not writable" in err or "Permission denied" in err, err
