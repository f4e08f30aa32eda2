"""The Python API's small refusals (round 19 walkthrough): a matte background stamped in an
earlier form said truly, fps and cuts by the one type rule, an output name with room for
the files Restyle names after it, and a style picture, background or source list path too
long for the file system said as a RestyleError, never a raw OSError."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from restyle.core import writers
from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob
from restyle.core.mappings.matte_job import MatteJob

pytestmark = pytest.mark.usefixtures("private_home")


def pictures(folder: Path, count: int = 3, tint: int = 60) -> Path:
    folder.mkdir()
    for i in range(count):
        a = np.zeros((48, 64, 3), np.uint8)
        a[..., 0] = tint
        a[:, i * 10 : i * 10 + 8, 1] = 255
        Image.fromarray(a).save(folder / f"f{i:03d}.png")
    return folder


@pytest.fixture
def seq(tmp_path) -> Path:
    return pictures(tmp_path / "seq")


def test_a_background_sequence_stamped_by_an_earlier_restyle_is_said_so(seq, tmp_path):
    """Output made before 1241845 keyed a background folder by the folder's own stamp
    (9d330ac: [4096, mtime, '']); HEAD refused it 'with the background as it was before
    (its file changed since)' though nothing changed."""
    bg, out = pictures(tmp_path / "bg", tint=200), tmp_path / "mo"
    MatteJob(source=str(seq), output=f"{out}/", replace=str(bg)).run()
    manifest = out / ".restyle.json"
    record = json.loads(manifest.read_text())
    record["key"] = "0" * 16  # as 9d330ac keyed it: another key, its record in that form
    record["made_from"]["key"]["replace_file"] = [4096, int(bg.stat().st_mtime), ""]
    manifest.write_text(json.dumps(record))
    with pytest.raises(RestyleError) as error:
        MatteJob(source=str(seq), output=f"{out}/", replace=str(bg)).run()
    said = str(error.value)
    assert "with another background, or with this one as an earlier Restyle knew its files" in said
    assert "its file changed since" not in said


def test_a_repainted_background_is_still_said_changed():
    from restyle.core.job import _key_part_otherwise

    then, now = [[1, 2, "a"], [1, 2, "b"], "x"], [[1, 2, "a"], [1, 3, "c"], "x"]
    said = _key_part_otherwise("replace_file", then, now)
    assert said == "with the background as it was before (its file changed since)"


@pytest.mark.parametrize("fps", [True, "24", b"24"])
def test_fps_of_another_type_is_refused_naming_it(seq, tmp_path, fps):
    """fps=True made a 1 fps movie, fps='24' passed unread."""
    job = MatteJob(source=str(seq), output=str(tmp_path / "o.mp4"), fps=fps)
    with pytest.raises(RestyleError, match=r"\Afps must be a number, got "):
        job.check_settings()
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("fps", [np.float32(25), np.int64(25), 25])
def test_numpy_frame_rates_are_numbers(seq, tmp_path, fps):
    """np.float32(25) was refused 'frame rate 25.0 is not a number'."""
    plan = MatteJob(source=str(seq), output=str(tmp_path / "o"), fps=fps).check_settings()
    assert plan.info.fps == 25


@pytest.mark.parametrize("cuts", [2, "12", 2.0])
def test_cuts_not_a_list_are_refused_naming_cuts(seq, tmp_path, library, cuts):
    """cuts=2 was TypeError: 'int' object is not iterable."""
    job = StyleJob(seq, tmp_path / "o", "comic-ink", cuts=cuts, library=library)
    with pytest.raises(RestyleError, match=r"\Acuts must be a list of whole numbers, got "):
        job.check_settings()


def test_cuts_as_a_numpy_array_are_frames(seq, tmp_path, library):
    job = StyleJob(seq, tmp_path / "o", "comic-ink", cuts=np.array([1]), library=library)
    job.check_settings()
    assert job.cuts == (1,) and type(job.cuts[0]) is int


def test_an_output_name_leaves_room_for_its_lock_and_scratch_names(seq, tmp_path):
    """A 242-255 byte name passed the check, then 'cannot lock ...: File name too long'."""
    for size in (writers.OUTPUT_NAME_MAX + 1, 242, 255):
        out = tmp_path / ("o" * size)
        with pytest.raises(RestyleError) as error:
            MatteJob(source=str(seq), output=f"{out}/").check_settings()
        assert f"({size} bytes, at most {writers.OUTPUT_NAME_MAX})" in str(error.value)
        assert str(error.value).startswith("output has a name too long")
    assert list(tmp_path.iterdir()) == [seq]


@pytest.mark.parametrize("suffix", ["/", ".mp4"])
def test_an_output_name_at_the_limit_runs(seq, tmp_path, suffix):
    name = "o" * (writers.OUTPUT_NAME_MAX - len(suffix.strip("/"))) + suffix
    job = MatteJob(source=str(seq), output=str(tmp_path / name), replace="#00ff00")
    assert job.run().written == 3  # its lock, scratch names (and --ray's frames folder) fit


def test_a_style_picture_name_too_long_is_one_error(seq, tmp_path, library):
    style = str(tmp_path / ("s" * 300 + ".png"))
    job = StyleJob(seq, tmp_path / "o", style, library=library)
    with pytest.raises(RestyleError, match=r"\Astyle has a name too long .*304 bytes"):
        job.check_settings()


def test_a_background_name_too_long_is_one_error(seq, tmp_path):
    job = MatteJob(source=str(seq), output=str(tmp_path / "o"), replace="b" * 300 + ".png")
    with pytest.raises(RestyleError, match=r"\Areplace has a name too long .*304 bytes"):
        job.check_settings()
    assert not (tmp_path / "o").exists()


def test_a_source_list_path_too_long_is_one_error(seq, tmp_path):
    long = str(tmp_path / "/".join(["d" * 200] * 21) / "f.png")
    files = [str(p) for p in sorted(seq.iterdir())] + [long]
    job = MatteJob(source=files, output=str(tmp_path / "o"))
    with pytest.raises(RestyleError, match=r"\Asource is too long a path .*at most 4095"):
        job.check_settings()
