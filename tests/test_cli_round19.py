"""Round 19 command-line walkthrough: a contact sheet never replaces a frame of its input (even
with --overwrite) and is written as a finished file into a folder it makes."""

from __future__ import annotations

import pytest
from helpers_cli import run

from clips import make_image_sequence

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def plate(tmp_path):
    """plate/plate.1001.png .. plate.1006.png, 160x96."""
    make_image_sequence(tmp_path / "plate", 6, name="plate.{}.png", first=1001)
    return tmp_path / "plate"


def _bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("source", "output", "frame"),
    [
        ("plate", "plate.1001.png", []),  # the frame it shows
        ("plate/plate.%04d.png", "plate.1001.png", []),
        ("plate", "plate.1005.png", ["--frame", "4"]),
        ("plate", "plate.1003.png", []),  # a frame it does not show is the input too
        ("plate/plate.1002.png", "plate.1002.png", []),
    ],
)
def test_sheet_never_writes_over_its_input(tmp_path, plate, capsys, source, output, frame):
    before = _bytes(plate)
    out = plate / output
    argv = ["sheet", str(tmp_path / source), "-o", str(out), "--overwrite", *frame]
    code, record, err = run(argv, capsys)
    assert code == 2, err
    assert f"output {out} is the input; choose another output" in err
    assert _bytes(plate) == before  # plate.1001.png became a 1920x1330 sheet
