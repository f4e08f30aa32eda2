"""Round 20 leftovers: a stray folder in the style library under a style's name is said to be
one (install's first refusal said 'already exists; --overwrite replaces it', which then
refused); a frame rate's refusal is one wording in Python and the command line; a matte
background stamped when a file's ends only were read is not said to have changed; matte made
without refinement names the switch that makes it so again."""

from __future__ import annotations

import json

import cv2
import numpy as np
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
    assert str(refused.value) == f"fps={said} is out of range 1..1000 frames/s"  # 'must
    # be positive, not 0' and 'frame rate nan is not a number', where the command line said:
    argv = ["stylize", str(plate), "-o", str(out), "-s", "comic-ink", f"--fps={fps}"]
    code, record, err = run(argv, capsys)
    assert code == 2
    assert refused.value.said(COMMAND_LINE) in err, err
    assert f"--fps {said} is out of range 1..1000 frames/s" in err, err
    assert not out.exists()


# -- 3. refinement named where turning it off is the way out -------------------------------------
def test_matte_made_without_refinement_names_the_switch_in_each_front_ends_words(
    tmp_path, plate, capsys
):
    from restyle.core.errors import BLENDER, say, setting
    from restyle.core.mappings.matte_job import MatteJob

    out = tmp_path / "m"
    argv = ["matte", str(plate), "-o", str(out), "--end", "1"]
    assert run([*argv, "--no-refine"], capsys)[0] == 0
    code, record, err = run(argv, capsys)
    assert code == 2, err
    said = "(edges not refined, now refined); rerun with --no-refine to match; choose another"
    assert said in err, err  # '(edges not refined, now refined)' alone: no way back named
    with pytest.raises(RestyleError) as refused:
        MatteJob(source=str(plate), output=str(out), end=1).run()
    assert "now refined); rerun with refine=False to match; choose" in str(refused.value)
    assert say(setting("refine", False), BLENDER) == "Refine Edges off"  # its checkbox

    out = tmp_path / "refined"  # made refined, now not: turning it off is not the way back
    argv = ["matte", str(plate), "-o", str(out), "--end", "1"]
    assert run(argv, capsys)[0] == 0
    code, record, err = run([*argv, "--no-refine"], capsys)
    assert code == 2, err
    assert "(edges refined, now not refined); choose another folder or use --overwrite" in err


# -- 4. a background stamped when a file's ends only were read ----------------------------------
def ends_only(size: int):
    """``job._sample_offsets`` as Restyle had it before 3bcce39: the first and last 64 KiB."""
    block = job.STAMP_SAMPLE
    return [0, max(block, size - block)] if size > block else [0]


def matte_over(tmp_path, plate, capsys, *words):
    background = tmp_path / "background.png"
    argv = ["matte", str(plate), "-o", str(tmp_path / "m"), "--end", "1"]
    return run([*argv, "--replace", str(background), *words], capsys)


def test_a_background_known_by_its_ends_is_not_said_to_have_changed(
    tmp_path, plate, capsys, monkeypatch
):
    """Matte output over a picture background of more than 1 MiB, made when a file's first
    and last 64 KiB only were stamped (its record without 'blocks'), the background untouched:
    a rerun said 'with the background as it was before (its file changed since)'. That
    Restyle sampled a still picture too (e99dacc hashes it whole): so does the first run."""
    from restyle.core.mappings import matte_job

    sampled = matte_job._background_stamp
    background = tmp_path / "background.png"
    noise = np.random.default_rng(0).integers(0, 256, (700, 600, 3), np.uint8)
    cv2.imwrite(str(background), noise)
    assert background.stat().st_size > 1024 * 1024  # stamped otherwise now (16 blocks)
    with monkeypatch.context() as patch:
        patch.setattr(job, "_sample_offsets", ends_only)
        patch.setattr(job, "_SAMPLES", {})  # a process of its own
        patch.setattr(matte_job, "_background_stamp", lambda path, whole=False: sampled(path))
        code, record, err = matte_over(tmp_path, plate, capsys)
        assert code == 0, err
    manifest = tmp_path / "m" / job.MANIFEST
    kept = json.loads(manifest.read_text())
    kept["made_from"].pop("blocks")  # as such a Restyle wrote it
    manifest.write_text(json.dumps(kept))

    code, record, err = matte_over(tmp_path, plate, capsys)
    assert code == 2, err
    assert "or as an earlier Restyle knew it (by its first and last 64 KiB only" in err, err
    assert "choose another folder or use --overwrite" in err, err
    code, record, err = matte_over(tmp_path, plate, capsys, "--overwrite")
    assert code == 0, err

    cv2.imwrite(str(background), 255 - noise)  # now changed, in a record of this Restyle's
    code, record, err = matte_over(tmp_path, plate, capsys)
    assert code == 2, err
    assert "with the background as it was before (its file changed since);" in err, err
