"""Round 20's command-line walkthrough by a TD.

1. An image sequence's NTSC rate: ``--fps 23.976`` made a movie at 2997/125 and ``--fps
   29.97`` one at 2997/100; ``--fps 24000/1001`` (Blender's and ffmpeg's spelling) was
   refused ("invalid float value"). --fps takes N/D, and the decimal spellings of the /1001
   rates (media.NTSC_RATES, Python's fps= too) are those rates.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from helpers_cli import run

from restyle.core import cli
from restyle.core.media import probe

from clips import noise_shot

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def plate(tmp_path):
    return noise_shot(tmp_path / "plate", count=2)


def stylize(library, source, out, *words, capsys):
    argv = ["stylize", str(source), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    return run([*argv, *words, "--library", str(library.root)], capsys)


@pytest.mark.parametrize(
    ("given", "rate"),
    [
        ("24000/1001", Fraction(24000, 1001)),
        ("23.976", Fraction(24000, 1001)),
        ("29.97", Fraction(30000, 1001)),
        ("30000/1001", Fraction(30000, 1001)),
        ("25", Fraction(25)),
    ],
)
def test_fps_makes_the_movie_at_the_ntsc_rate(library, plate, tmp_path, capsys, given, rate):
    out = tmp_path / "p.mov"
    code, record, err = stylize(library, plate, out, "--fps", given, capsys=capsys)
    assert code == 0, err
    assert probe(out).fps == rate, record


@pytest.mark.parametrize(
    ("given", "rate"),
    [
        (23.976, Fraction(24000, 1001)),
        (29.97, Fraction(30000, 1001)),
        (59.94, Fraction(60000, 1001)),
        (47.952, Fraction(48000, 1001)),
        (119.88, Fraction(120000, 1001)),
        ("23.976", Fraction(24000, 1001)),
        (float(Fraction(24000, 1001)), Fraction(24000, 1001)),  # str(float) of the rate
        (23.98, Fraction(1199, 50)),  # not within the tolerance: as given
        (Fraction(2997, 125), Fraction(2997, 125)),  # an exact fraction: as given
        ("2997/100", Fraction(2997, 100)),
        (24, Fraction(24)),
    ],
)
def test_python_fps_takes_the_decimal_spellings_for_the_1001_rates(plate, given, rate):
    assert probe(plate, fps=given).fps == rate


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("0", "--fps 0 is out of range: give frames/s above 0"),
        ("0/1", "--fps 0 is out of range: give frames/s above 0"),
        ("-24000/1001", "is out of range: give frames/s above 0"),
        ("nan", "--fps nan is out of range"),
        ("1/0", "'1/0' is not a frame rate: give frames/s, e.g. 25, 23.976 or 24000/1001"),
        ("fast", "'fast' is not a frame rate"),
    ],
)
def test_fps_refusals(library, plate, tmp_path, capsys, given, words):
    out = tmp_path / "p.mov"
    code, _, err = stylize(library, plate, out, f"--fps={given}", capsys=capsys)
    assert code == 2 and words in err, err
    assert not out.exists()


def test_fps_help_names_the_fraction(capsys):
    assert cli.main(["stylize", "--help"]) == 0
    assert "24000/1001" in capsys.readouterr().out
