"""A numbered image sequence's frames are identified by their number: two files with one
number are refused (one of them would be read as another frame), a gap too wide to
name frame by frame is refused at once, and training's preview avoids a gap.

Such a sequence (a VFX plate, plate.1001.png ...) is written as its own frame numbers:
styled frame 1001 is 001001.png, not 000000.png (frame numbers round-trip to comp). Frames
are still indexed from 0 (--start/--end); movies and stills keep 0-based names."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core import job as job_module
from restyle.core.cli import main
from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob
from restyle.core.media import probe


def write(folder, *names, value=90, size=8):
    folder.mkdir(exist_ok=True)
    for name in names:
        assert cv2.imwrite(str(folder / name), np.full((size, size, 3), value, np.uint8))
    return folder


@pytest.mark.parametrize(
    "names",
    [
        # reviewer: probe read 4 frames in name order, frame_0004.png as frame 3
        ("frame_0000.png", "frame_0001.png", "frame_001.png", "frame_0004.png"),
        ("frame_0000.png", "frame_0001.png", "frame_001.png", "frame_0002.png"),  # no gap
    ],
)
def test_two_files_with_one_number_are_refused_naming_both(tmp_path, names):
    folder = write(tmp_path / "seq", *names)
    with pytest.raises(RestyleError) as refused:
        probe(folder)
    assert str(refused.value) == (
        f"two files in {folder} claim frame 1: frame_0001.png and frame_001.png; "
        "frames are identified by their number, so remove or renumber one"
    )


def test_a_gap_too_wide_to_span_is_refused(tmp_path):
    """Reviewer: cap_1.png and cap_500000.png took 4.2 s and 191 MB to probe (a name made
    for every absent number); millisecond timestamps would exhaust memory. A gap of more
    than ten times the frames present (and over 1000) is refused as it was before 552cc65
    (kept small here: the old code makes every name before it answers)."""
    folder = write(tmp_path / "caps", "cap_1.png", "cap_3.png", "cap_20000.png")
    with pytest.raises(RestyleError) as refused:
        probe(folder)
    assert str(refused.value) == (
        f"19997 frames missing from the sequence in {folder}: cap_2.png, cap_4.png, "
        "cap_5.png, cap_6.png, cap_7.png and 19992 more; frames are identified by "
        "their number, so fill the gap or move the parts on either side into folders of "
        "their own"
    )


def test_a_gap_of_a_few_frames_is_still_spanned(tmp_path):
    folder = write(tmp_path / "seq", "f_0010.png", "f_0011.png", "f_0040.png")
    info = probe(folder)
    assert info.frame_count == 31 and info.missing == tuple(range(2, 30))
    assert info.files[30].name == "f_0040.png" and info.files[5].name == "f_0015.png"


def test_training_previews_a_present_frame_when_the_middle_is_missing(tmp_path):
    """Reviewer: frames 0000..0006 without 0003, keyframes 2 and 4: train refused with
    '1 frame(s) missing ... frame_0003.png; ... fill the gap' (its preview, the midpoint 3,
    was decoded), though train has no range to avoid it with. Cancelled before its first
    step it now gets past the preview: nothing saved, no gap error."""
    pytest.importorskip("torch")
    from restyle.core.errors import Cancelled
    from restyle.core.progress import CancelToken
    from restyle.core.styles import StyleLibrary
    from restyle.core.train.keyframes import train_from_keyframes

    names = [f"frame_{i:04d}.png" for i in range(7) if i != 3]
    folder = write(tmp_path / "seq", *names, size=160)
    paint = write(tmp_path / "paint", "k2.png", "k4.png", value=200, size=160)
    cancel = CancelToken()
    cancel.cancel()
    library = StyleLibrary(tmp_path / "lib", bundled=None)
    keyframes = {2: paint / "k2.png", 4: paint / "k4.png"}
    with pytest.raises(Cancelled, match="before the first checkpoint: nothing saved"):
        train_from_keyframes(folder, keyframes, "gaptest", library, cancel=cancel)


def plate(folder: Path, first: int, n: int = 4, name: str = "plate.{:04d}.png") -> Path:
    """``n`` frames numbered from ``first``; frame i is flat grey 30 * i (tells them apart)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / name.format(first + i)), np.full((24, 32, 3), 30 * i, np.uint8))
    return folder


def pngs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.png"))


def test_a_numbered_sequence_says_its_first_number(tmp_path, index_clip_h264):
    folder = plate(tmp_path / "plate", 1001)
    assert (probe(folder).first_number, probe(folder).number_digits) == (1001, 4)
    pattern = probe(folder / "plate.%04d.png")
    assert (pattern.first_number, pattern.frame_count) == (1001, 4)
    assert probe(folder / "plate.####.png").first_number == 1001
    files = sorted(folder.iterdir())
    assert probe(files).first_number == 1001  # a file list (a Blender image strip's)
    assert probe(files[1:]).first_number == 1002
    assert probe([files[0], files[2]]).first_number is None  # not frame i = first + i
    assert probe(files[0]).first_number is None  # a still: named from 0
    assert probe(index_clip_h264).first_number is None  # a movie
    (folder / "plate.1003.png").unlink()  # a gap: frames keep their numbers across it
    spanned = probe(folder)
    assert (spanned.first_number, spanned.missing) == (1001, (2,))
    wide = probe(plate(tmp_path / "wide", 1001, 2, "frame.{:08d}.png"))
    assert (wide.first_number, wide.number_digits) == (1001, 8)
    stills = tmp_path / "stills"
    stills.mkdir()
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(stills / name), np.zeros((8, 8, 3), np.uint8))
    assert probe(stills).first_number is None


def test_a_plate_from_1001_is_written_as_its_own_frame_numbers(library, tmp_path, capsys):
    folder = plate(tmp_path / "plate", 1001)
    out = tmp_path / "out"
    lib = ["--library", str(library.root)]
    args = ["stylize", str(folder), "-o", str(out), "-s", "comic-ink", "--temporal", "0", *lib]
    assert main([*args, "--start", "1", "--end", "2", "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["first_number"] == 1001 and record["written"] == 2
    assert pngs(out) == ["001002.png", "001003.png"]  # --start/--end: 0-based indices
    # Each file holds its own source frame (1002 is grey 30).
    assert abs(int(cv2.imread(str(out / "001002.png")).mean()) - 30) < 40
    assert main(args) == 0  # the whole plate: resumes the two, names the rest alike
    said = capsys.readouterr().out
    assert "2 reused" in said
    assert "frames named by the source's numbers: 001001.png .. 001004.png" in said
    assert pngs(out) == [f"{n:06d}.png" for n in range(1001, 1005)]
    styled = {n: cv2.imread(str(out / f"{1001 + n:06d}.png")) for n in range(4)}
    alone = StyleJob(folder / "plate.1004.png", tmp_path / "one", "comic-ink", library=library)
    assert pngs(alone.run().output) == ["000000.png"]  # a still: from 0, as before
    mean = [int(styled[n].mean()) for n in range(4)]
    assert mean == sorted(mean) and mean[0] < mean[-1]  # in source order
    with pytest.raises(RestyleError, match=r"frames count from 0: plate\.1001\.png is frame 0"):
        StyleJob(folder, out, "comic-ink", start=1001, library=library).validate()


def test_wider_numbers_keep_their_digits_and_a_sequence_from_0_is_unchanged(library, tmp_path):
    wide = plate(tmp_path / "wide", 1001, 2, "frame.{:08d}.png")
    result = StyleJob(wide, tmp_path / "w", "comic-ink", temporal=0.0, library=library).run()
    assert [f.name for f in result.frame_files] == ["00001001.png", "00001002.png"]
    zero = plate(tmp_path / "zero", 0, 2)
    result = StyleJob(zero, tmp_path / "z", "comic-ink", temporal=0.0, library=library).run()
    assert [f.name for f in result.frame_files] == ["000000.png", "000001.png"]
    assert result.first_number == 0


def test_a_folder_named_from_0_by_an_older_version_is_not_mixed_into(
    library, tmp_path, monkeypatch
):
    """An older version wrote plate.1001's frames as 000000.png ... with the same settings:
    a rerun must not add 001001.png ... beside them. It is refused as other settings, and
    --overwrite replaces the older names (none left once the range is finished)."""
    folder = plate(tmp_path / "plate", 1001)
    out = tmp_path / "out"

    def job(**options):
        return StyleJob(folder, out, "comic-ink", temporal=0.0, library=library, **options)

    with monkeypatch.context() as old:  # the older version: every source named from 0
        old.setattr(job_module, "frame_numbering", lambda info: (0, 0))
        assert job().run().written == 4
    assert pngs(out) == [f"{i:06d}.png" for i in range(4)]
    with pytest.raises(RestyleError, match="holds frames made with other settings"):
        job().validate()
    rerun = job()
    assert rerun.outlook(rerun.check_settings())["outcome"] == "refused"
    result = job(overwrite=True).run()
    assert (result.written, result.reused) == (4, 0)
    assert pngs(out) == [f"{n:06d}.png" for n in range(1001, 1005)]
    again = job().run()
    assert (again.written, again.reused) == (0, 4)


def test_a_finished_folder_is_found_finished_by_its_numbered_names(library, tmp_path):
    from restyle.core.job import finished_manifest

    folder = plate(tmp_path / "plate", 1001)
    job = StyleJob(folder, tmp_path / "out", "comic-ink", temporal=0.0, library=library)
    job.run()
    assert finished_manifest(job.validate()) is not None
    assert job.outlook(job.validate())["outcome"] == "finished"
    (tmp_path / "out" / "001003.png").unlink()
    assert finished_manifest(job.validate()) is None
    assert job.outlook(job.validate())["reused"] == 3


@pytest.mark.slow
def test_a_ray_run_names_a_plates_frames_as_one_machine_does(cluster, library, tmp_path):
    """Ray's staging, hard links, manifest and a movie's mux all read the same names."""
    from restyle.core.ray_runner import run_on_ray

    folder = plate(tmp_path / "plate", 1001, 6)
    local = StyleJob(folder, tmp_path / "local", "comic-ink", temporal=0.0, library=library)
    local.run()
    job = StyleJob(folder, tmp_path / "ray", "comic-ink", temporal=0.0, library=library)
    result = run_on_ray(job, cluster.address, max_frames=3)
    assert (result.written, result.first_number) == (6, 1001)
    assert (
        pngs(tmp_path / "ray")
        == pngs(tmp_path / "local")
        == [f"{n:06d}.png" for n in range(1001, 1007)]
    )
    manifests = [json.loads((tmp_path / d / ".restyle.json").read_text()) for d in ("ray", "local")]
    assert manifests[0]["key"] == manifests[1]["key"] and not manifests[0]["stale"]
    movie = StyleJob(folder, tmp_path / "m.mkv", "comic-ink", temporal=0.0, library=library)
    muxed = run_on_ray(movie, cluster.address, max_frames=3)
    assert (muxed.written, muxed.output) == (6, tmp_path / "m.mkv")
    assert probe(muxed.output).frame_count == 6


def test_a_number_after_the_frame_number_is_not_read_as_it(library, tmp_path):
    """Reviewer: shot_0001_v2.png ... were named from 0 without a word: the numbering read a
    name's last number (the 2 of v2), not the one that varies. Every reader (the sequence
    check, a gap's span, the output's names) reads the frame number by one rule now."""
    folder = plate(tmp_path / "shot", 1, 3, "shot_{:04d}_v2.png")
    info = probe(folder)
    assert (info.first_number, info.number_digits) == (1, 4)
    assert probe(sorted(folder.iterdir())).first_number == 1  # a file list alike
    result = StyleJob(folder, tmp_path / "out", "comic-ink", temporal=0.0, library=library).run()
    assert [f.name for f in result.frame_files] == ["000001.png", "000002.png", "000003.png"]
    (folder / "shot_0002_v2.png").unlink()  # a gap: the frame after it is not shifted
    for source in (folder, folder / "shot_%04d_v2.png"):
        spanned = probe(source)
        assert (spanned.first_number, spanned.missing, spanned.frame_count) == (1, (1,), 3)
        assert spanned.files[2].name == "shot_0003_v2.png"


def test_a_file_list_that_skips_a_number_is_named_from_0_and_says_so(library, tmp_path):
    """A list's frame i is its i-th file: one that skips a number (or runs out of order) is
    named from 0, and a warning says so; a folder with that gap spans it and keeps its
    numbers, and a list that counts up by one keeps them, unwarned."""
    from restyle.core.media import source_warnings

    folder = plate(tmp_path / "plate", 1001)
    files = sorted(folder.iterdir())
    listed = [files[0], files[1], files[3]]
    info = probe(listed)
    said = (
        "plate.1004.png follows plate.1002.png in the list of images, so the frames are named "
        "from 0 (000000), not by the source's numbers; a folder or pattern keeps them (a "
        "skipped number is then a missing frame)"
    )
    assert (info.first_number, source_warnings(info)) == (None, [said])
    result = StyleJob(listed, tmp_path / "out", "comic-ink", temporal=0.0, library=library).run()
    assert said in result.warnings
    assert [f.name for f in result.frame_files] == ["000000.png", "000001.png", "000002.png"]
    backwards = probe(files[::-1])
    assert (
        backwards.first_number is None and "follows plate.1004.png" in source_warnings(backwards)[0]
    )
    assert source_warnings(probe(files[:2])) == []  # counts up by one: keeps its numbers
    files[2].unlink()
    spanned = probe(folder)
    assert (spanned.first_number, source_warnings(spanned)) == (1001, [])
    stills = write(tmp_path / "stills", "a.png", "b.png")
    assert source_warnings(probe(sorted(stills.iterdir()))) == []  # not numbered: no word
