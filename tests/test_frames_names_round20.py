"""Round 20's frames-folder, output-name and scratch-file fixes, each case failing on the
code before it:

1. A movie finished on one machine (``StyleJob._drop_ray_frames``) or by a shorter --ray
   run's mux (``ray_runner._mux``) deleted the whole frames folder a cancelled --ray run of
   these settings left, frames outside its own range too (the settings key does not hold
   the range): now it goes only when every frame in it lies inside the movie's range.
2. The output-name limit is checked against the name actually written (after the suffix
   ``movie_path`` adds), not against the hidden ``.NAME.frames`` folder --ray writes
   into; ``--plan`` refuses as the run would.
3. Scratch files of an atomic write (a sheet, a style pack, a manifest) are named so
   ``writers.remove_stale_scratch`` recognises them.

No cluster: --ray's tasks run in this process (the ``in_process`` fixture). Strength 0
writes the source's frames: no network converted or run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from helpers_cli import run
from test_ray_round19b import RAY, cancelled_mux, stylize

from restyle.core import ray_runner
from restyle.core.errors import RestyleError
from restyle.core.job import MANIFEST, movie_frames_folder
from restyle.core.mappings.matte_job import MatteJob
from restyle.core.writers import NAME_MAX, OUTPUT_NAME_MAX, SCRATCH_CHARS, scratch_path

from clips import noise_shot

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def shot(tmp_path):
    return noise_shot(tmp_path / "shot", 12)


def frames_in(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.stem.isdigit())


def cancel_on_ray(shot, out, capsys, monkeypatch) -> None:
    """A --ray run of frames 0-11 into the movie ``out``, cancelled at its mux: all 12 kept."""
    with monkeypatch.context() as cancelled:
        cancelled.setattr(ray_runner, "_mux", cancelled_mux)
        code, record, err = run(stylize(shot, out, *RAY), capsys)
    assert code == 130 and record["written"] == 12, err
    assert len(frames_in(movie_frames_folder(out))) == 12


# -- 1. a frames folder holding frames outside the finished movie's range is kept -------------
@pytest.mark.parametrize("where", ["here", "ray"])
def test_a_shorter_movie_keeps_a_longer_runs_ray_frames(
    in_process, shot, tmp_path, capsys, monkeypatch, where
):
    """Frames 0-11 kept by a cancelled --ray run; a run of frames 0-1 (local, or --ray: its
    mux) finishes its 2-frame movie and deleted all 12; they stay, and --plan --ray of the
    whole range still counts them."""
    out = tmp_path / "m.mp4"
    cancel_on_ray(shot, out, capsys, monkeypatch)
    ray = RAY if where == "ray" else []
    code, record, err = run(stylize(shot, out, *ray, "--end", "1"), capsys)
    assert code == 0 and record["written"] + record["reused"] == 2, err
    assert out.is_file()
    assert len(frames_in(movie_frames_folder(out))) == 12  # the longer run's, kept
    code, plan, err = run(stylize(shot, out, "--plan", "--overwrite", *RAY), capsys)
    assert code == 0 and (plan["output"]["reused"], plan["output"]["to_make"]) == (12, 0), plan
    code, record, err = run(stylize(shot, out, "--overwrite", *RAY), capsys)
    assert code == 0 and (record["written"], record["reused"]) == (0, 12), err
    assert not movie_frames_folder(out).exists()  # every frame inside the movie's range: gone


def test_a_movie_of_the_whole_range_still_drops_its_ray_frames(
    in_process, shot, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "m.mp4"
    cancel_on_ray(shot, out, capsys, monkeypatch)
    code, record, err = run(stylize(shot, out), capsys)
    assert code == 0 and record["written"] == 12, err
    assert not movie_frames_folder(out).exists()


# -- 2. the output-name limit, on the name written ---------------------------------------------
def test_a_ray_movie_name_within_the_limit_runs(in_process, shot, tmp_path, capsys):
    """A 228-byte movie name: its 236-byte '.NAME.frames' folder, the job --ray runs into,
    was refused as an output name over 232 bytes ('output has a name too long ...
    .mmm...'), where --plan --ray said 'new'."""
    out = tmp_path / ("m" * (OUTPUT_NAME_MAX - 4) + ".mkv")
    argv = stylize(shot, out, *RAY, "--end", "1")
    code, plan, err = run([*argv, "--plan"], capsys)
    assert code == 0 and plan["output"]["outcome"] == "new", (plan, err)
    code, record, err = run(argv, capsys)
    assert code == 0 and record["written"] == 2, err
    assert out.is_file() and not movie_frames_folder(out).exists()


def test_a_movie_name_over_the_limit_with_its_suffix_is_refused_first(shot, tmp_path, capsys):
    """A 232-byte name with no suffix, format h264: written as a 236-byte NAME.mp4, whose
    scratch name is 259 bytes; the run failed as the movie began ('File name too long')
    and --plan said 'new'. Both refuse it now, before anything is written."""
    out = tmp_path / ("o" * OUTPUT_NAME_MAX)
    said = f"(236 bytes with the .mp4 it is given, at most {OUTPUT_NAME_MAX})"
    with pytest.raises(RestyleError, match=re.escape(said)) as error:
        MatteJob(source=str(shot), output=str(out), format="h264", replace="#00ff00").run()
    assert str(error.value).startswith("output has a name too long for the file system")
    code, _, err = run([*stylize(shot, out, "--format", "h264"), "--plan"], capsys)
    assert code == 2 and said in err, err
    assert not [p.name for p in tmp_path.iterdir() if p.name.lstrip(".").startswith("o")]


def test_a_movie_name_at_the_limit_with_its_suffix_runs(shot, tmp_path):
    out = tmp_path / ("o" * (OUTPUT_NAME_MAX - 4))  # NAME.mp4: 232 bytes
    job = MatteJob(source=str(shot), output=str(out), format="h264", replace="#00ff00", end=1)
    assert job.run().written == 2
    assert (tmp_path / f"{out.name}.mp4").is_file()


def test_scratch_names_count_the_writers_token():
    assert len(secrets_token()) == SCRATCH_CHARS
    assert OUTPUT_NAME_MAX == NAME_MAX - len(f"..{'0' * SCRATCH_CHARS}.restyle-part")


def secrets_token() -> str:
    """The random part of a scratch name ``scratch_path`` makes."""
    name = scratch_path(Path("x.json")).name
    return name.removeprefix(".x.json.").removesuffix(".restyle-part")


# -- 3. an atomic write's scratch file is one a rerun removes ------------------------------------
def renamed_scratch(monkeypatch, into: Path) -> list[Path]:
    """The scratch files renamed into place (``os.replace``) as ``into`` or into that folder,
    by name: one made again after its run is what a writer killed before its rename leaves.
    Only there: a checkout without models/builtin converts the built-in styles on first use,
    six more replaces of files that are not the output's (round 21)."""
    made: list[Path] = []
    real = os.replace

    def replace(src, dst):
        if Path(dst) == into or Path(dst).parent == into:
            made.append(Path(src))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return made


def killed_before_rename(scratch: list[Path]) -> None:
    for path in scratch:
        path.write_bytes(b"half")


def killed_then_rerun(argv, out, capsys, monkeypatch) -> None:
    """Run ``argv`` once as if killed before its scratch file was renamed into ``out``, then
    again."""
    with monkeypatch.context() as killed:
        left = renamed_scratch(killed, out)
        code, _, err = run(argv, capsys)
    assert code == 0 and len(left) == 1, (left, err)
    killed_before_rename(left)
    code, _, err = run(argv, capsys)
    assert code == 0, err


def test_a_killed_sheet_leaves_no_scratch_for_good(shot, tmp_path, capsys, monkeypatch):
    out = tmp_path / "sheet.png"
    argv = ["sheet", str(shot), "-o", str(out), "--tile-width", "64", "--overwrite"]
    killed_then_rerun(argv, out, capsys, monkeypatch)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == ["sheet.png", "shot"]


def test_a_killed_style_pack_leaves_no_scratch_for_good(tmp_path, tiny_style, capsys, monkeypatch):
    out = tmp_path / "tiny.zip"
    argv = ["styles", "pack", "Tiny", str(out), "--library", str(tiny_style), "--overwrite"]
    killed_then_rerun(argv, out, capsys, monkeypatch)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == ["tiny.zip"]


def test_a_killed_manifest_write_leaves_no_scratch_for_good(tmp_path, monkeypatch, capsys):
    shot = noise_shot(tmp_path / "shot", 3)
    out = tmp_path / "frames"
    with monkeypatch.context() as killed:
        left = renamed_scratch(killed, out)
        code, _, err = run(stylize(shot, out, "--end", "0"), capsys)
    assert code == 0 and any(MANIFEST in p.name for p in left), (left, err)
    killed_before_rename(left)  # the manifest's scratch and the frame's
    code, record, err = run(stylize(shot, out), capsys)  # resumes: frames 1-2 to make
    assert code == 0 and record["written"] == 2, err
    assert sorted(p.name for p in out.iterdir()) == [
        MANIFEST,
        "000000.png",
        "000001.png",
        "000002.png",
    ]
