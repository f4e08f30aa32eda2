"""Round 19: one table per fact, one function per rule.

The picture suffixes were listed again in ``writers._MEDIA_SUFFIXES`` as a
``".png .jpg ...".split()`` text, which the structure check (tuple, list and set literals
only) could not see. A sequence format given with a picture's name ('renders.png',
``--format png``) was refused as if no format had been given ('... --format chooses'),
never naming 'renders.png/', the folder of that name."""

from __future__ import annotations

import ast

import pytest
import test_structure

from restyle.core import cli, formats, writers
from restyle.core import job as job_module
from restyle.core.errors import COMMAND_LINE, RestyleError
from restyle.core.job import StyleJob


def test_a_text_listing_pictures_is_a_second_table(tmp_path, monkeypatch):
    """The check sees '.png .jpg'.split() (writers' copy) as it sees a tuple."""
    tree = ast.parse('MEDIA = ".png .jpg .tif".split()')
    assert any(map(test_structure._lists_pictures, ast.walk(tree)))
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "formats.py").write_text('PICTURES = (".png", ".jpg")\n')
    (tmp_path / "core" / "writers.py").write_text('MEDIA = frozenset(".avi .png .jpg".split())\n')
    monkeypatch.setattr(test_structure, "ROOT", tmp_path)
    with pytest.raises(AssertionError, match="writers"):
        test_structure.test_one_table_of_image_suffixes()


def test_the_media_suffixes_hold_the_picture_table():
    """Every picture Restyle reads is media a format is not guessed for; .tga (no OpenCV
    reader) stays refused as an output name without being a picture Restyle reads."""
    assert formats.IMAGE_SUFFIXES <= writers._MEDIA_SUFFIXES
    assert ".tga" in writers._MEDIA_SUFFIXES and ".tga" not in formats.IMAGE_SUFFIXES
    with pytest.raises(RestyleError, match=r"cannot write '\.tga' files"):
        writers.format_for_output("renders.tga")
    assert writers.format_for_output("renders.exr/") == "png"


# -- frames into a picture's name: the words fit the case ------------------------------------


def stylize(source, output, library, fmt="png") -> StyleJob:
    return StyleJob(source, output, "comic-ink", format=fmt, end=1, library=library)


def test_a_picture_name_with_a_format_names_its_folder(tmp_path, library, index_clip_h264):
    """format='png' with output 'renders.png': the format was given, so not '... format
    chooses'; the way out ('renders.png/', a folder of that name) is named and works."""
    out = tmp_path / "renders.png"
    job = stylize(index_clip_h264, str(out), library)
    with pytest.raises(RestyleError) as refused:
        job.check_settings()
    error = refused.value
    assert str(error) == (
        f"output={str(out)!r} is a picture's name, and png frames go into a folder: end it "
        f"with '/' ({out}/) for a folder of that name, or name the folder without .png"
    )
    assert error.said(COMMAND_LINE).startswith(f"-o {out} is a picture's name")
    assert list(tmp_path.iterdir()) == []
    placed = stylize(index_clip_h264, f"{out}/", library).validate()
    assert (placed.output, placed.format.id) == (out, "png")


def test_the_command_line_says_the_same(tmp_path, capsys, library, index_clip_h264):
    out = tmp_path / "renders.png"
    argv = ["stylize", index_clip_h264, "-o", out, "-s", "comic-ink", "--end", "1"]
    argv += ["--library", library.root]
    assert cli.main([str(a) for a in [*argv, "--format", "png"]]) == 2
    err = capsys.readouterr().err
    assert f"-o {out} is a picture's name, and png frames go into a folder" in err, err
    assert f"({out}/)" in err and "--format chooses" not in err
    assert cli.main([str(a) for a in argv]) == 2  # no format: the name's own refusal
    err = capsys.readouterr().err
    assert f"give a folder such as {out}/ for an image sequence" in err, err
    assert cli.main([str(a) for a in [*argv[:3], f"{out}/", *argv[4:], "--plan"]]) == 0
    assert list(tmp_path.iterdir()) == []


def test_the_output_name_is_checked_once_per_validation(
    tmp_path, library, index_clip_h264, monkeypatch
):
    """One check (writers.check_frames_name), not a second pass as the output is placed."""
    calls = []
    monkeypatch.setattr(job_module, "check_frames_name", lambda *a: calls.append(a))
    stylize(index_clip_h264, str(tmp_path / "frames"), library).validate()
    assert calls == [(str(tmp_path / "frames"), "png")]
