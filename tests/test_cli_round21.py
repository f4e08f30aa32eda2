"""Round 21's command-line walkthrough (real footage).

4. ``sheet --tile-width 5`` said 'tile width must be at least 16 px, got 5': it names the
   flag as every range refusal does, and refuses above 2048 (six tiles of 12000 px: past
   any sheet a WebP or JPEG holds, and a MemoryError traceback under an 8 GB limit).
"""

from __future__ import annotations

import pytest
from helpers_cli import run

from clips import noise_shot

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def plate(tmp_path):
    return noise_shot(tmp_path / "plate", count=2)


# -- 4. the sheet's tile width named as its flag ------------------------------------------------
@pytest.mark.parametrize("width", ["5", "0", "-3", "2049", "12000"])
def test_sheet_tile_width_is_refused_naming_the_flag(library, plate, tmp_path, capsys, width):
    out = tmp_path / "sheet.png"
    argv = ["sheet", str(plate), "-o", str(out), "--tile-width", width]
    code, _, err = run([*argv, "--library", str(library.root)], capsys)
    assert code == 2, err
    assert f"restyle: error: --tile-width {width} is out of range 16..2048\n" in err, err
    assert not out.exists()
