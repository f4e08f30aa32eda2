"""Round 20 leftovers: a stray folder in the style library under a style's name is said to be
one (install's first refusal said 'already exists; --overwrite replaces it', which then
refused); a frame rate's refusal is one wording in Python and the command line; a matte
background stamped when a file's ends only were read is not said to have changed."""

from __future__ import annotations

import pytest
from helpers_cli import run

from restyle.core import job
from restyle.core.errors import COMMAND_LINE, RestyleError
from restyle.core.styles import StyleLibrary

from clips import make_image_sequence

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def plate(tmp_path):
    """plate/plate.1001.png .. plate.1003.png, 160x96."""
    make_image_sequence(tmp_path / "plate", 3, name="plate.{}.png", first=1001)
    return tmp_path / "plate"


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


# -- 2. a frame rate refused in one wording -----------------------------------------------------
@pytest.mark.parametrize(("fps", "said"), [(0, "0"), (-5, "-5"), (float("nan"), "nan")])
def test_a_frame_rate_is_refused_alike_in_python_and_the_command_line(
    tmp_path, plate, capsys, fps, said
):
    out = tmp_path / "out"
    with pytest.raises(RestyleError) as refused:
        job.StyleJob(plate, out, "comic-ink", fps=fps).validate()
    assert str(refused.value) == f"fps={said} is out of range: give frames/s above 0"  # 'must
    # be positive, not 0' and 'frame rate nan is not a number', where the command line said:
    argv = ["stylize", str(plate), "-o", str(out), "-s", "comic-ink", f"--fps={fps}"]
    code, record, err = run(argv, capsys)
    assert code == 2
    assert refused.value.said(COMMAND_LINE) in err, err
    assert f"--fps {said} is out of range: give frames/s above 0" in err, err
    assert not out.exists()
