"""A source is known by what it is, not where it is (``job.file_stamp``): a project moved
(mv) or copied with its times kept (cp -p), output and source together, keeps its frames
and its movie; a source changed since (same size and time, other bytes) is still another
source; output an earlier Restyle made (its files known by their paths) is still reused
where its source still is, and a moved one is not called simply 'another source'."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from restyle.core import cli, job

from clips import noise_shot


def write_shot(folder: Path, seed: int = 3) -> Path:
    """Four BMP frames: uncompressed, so other pixels keep the file's size."""
    return noise_shot(folder, seed=seed, suffix="bmp")


def stylize(library, shot, out, *words: str, capsys):
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    code = cli.main([*argv, *words, "--library", str(library.root)])
    return code, capsys.readouterr().err


def times(out: Path) -> dict[str, int]:
    """Each output file's modification time (ns): a file made again has another."""
    files = [out] if out.is_file() else sorted(out.glob("*.png"))
    assert files
    return {p.name: p.stat().st_mtime_ns for p in files}


def old_file_stamp(path, whole=False):
    """``file_stamp`` as Restyle had it before (resolved path, size, time; read whole or not)."""
    if path is None or not Path(path).exists():
        return []
    st = Path(path).stat()
    return [str(Path(path).resolve()), st.st_size, int(st.st_mtime)]


def old_source_stamps(info):
    """``source_stamps`` as Restyle had it before: the first and last files only."""
    files = list(info.files) if getattr(info, "files", None) else [info.path]
    return [old_file_stamp(f) for f in files[:1] + files[-1:]]


@pytest.mark.parametrize("how", ["mv", "cp -p"])
@pytest.mark.parametrize("suffix", [".mp4", ""])
def test_a_project_moved_or_copied_keeps_its_output(library, tmp_path, capsys, how, suffix):
    project = tmp_path / "project"
    write_shot(project / "shot")
    assert stylize(library, project / "shot", project / f"out{suffix}", capsys=capsys)[0] == 0
    before = times(project / f"out{suffix}")
    moved = tmp_path / "elsewhere" / "project"
    moved.parent.mkdir()
    if how == "mv":
        shutil.move(project, moved)  # a rename: times kept
    else:
        shutil.copytree(project, moved)  # copy2: times kept, as cp -p
    code, err = stylize(library, moved / "shot", moved / f"out{suffix}", capsys=capsys)
    assert code == 0, err
    assert times(moved / f"out{suffix}") == before  # nothing made again


def test_a_copy_made_without_its_times_is_made_again_not_refused(library, tmp_path, capsys):
    """cp without -p: the source's time is new, so its frames are another source's; the
    folder (frames of another source) is refused, not mixed into."""
    project = tmp_path / "project"
    write_shot(project / "shot")
    assert stylize(library, project / "shot", project / "out", capsys=capsys)[0] == 0
    copy = tmp_path / "copy"
    shutil.copytree(project, copy, copy_function=shutil.copy)
    for frame in (copy / "shot").iterdir():
        os.utime(frame, (frame.stat().st_atime, frame.stat().st_mtime + 10))
    code, err = stylize(library, copy / "shot", copy / "out", capsys=capsys)
    assert code == 2 and "from another source" in err, err


@pytest.mark.parametrize("suffix", [".mp4", ""])
def test_a_source_changed_to_the_same_size_and_time_is_another_source(
    library, tmp_path, capsys, suffix
):
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / f"out{suffix}"
    assert stylize(library, shot, out, capsys=capsys)[0] == 0
    stats = {frame: frame.stat() for frame in shot.iterdir()}
    write_shot(shot, seed=9)  # other pixels under the same names, the same size
    for frame, stat in stats.items():  # and the same times: only the bytes tell
        os.utime(frame, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert frame.stat().st_size == stat.st_size
        assert frame.stat().st_mtime_ns == stat.st_mtime_ns
    code, err = stylize(library, shot, out, capsys=capsys)
    assert code == 2 and "from another source" in err and "other settings" not in err, err


def test_a_file_stamp_is_of_the_file_not_its_place(tmp_path):
    big = tmp_path / "a" / "movie.bin"
    big.parent.mkdir()
    data = bytearray(np.random.default_rng(1).integers(0, 256, 300_000, np.uint8).tobytes())
    big.write_bytes(bytes(data))
    copy = tmp_path / "b" / "movie.bin"
    copy.parent.mkdir()
    shutil.copy2(big, copy)
    assert job.file_stamp(big) == job.file_stamp(copy)
    stat = copy.stat()
    data[-10] ^= 0xFF  # its end re-encoded: the same size, the time put back
    copy.write_bytes(bytes(data))
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert job.file_stamp(big) != job.file_stamp(copy)
    assert job.file_stamp(tmp_path / "gone") == []
    with job.path_stamps():  # an earlier Restyle's form
        assert job.file_stamp(big) == old_file_stamp(big)


@pytest.mark.parametrize("suffix", [".mp4", ""])
def test_output_of_an_earlier_restyle_is_still_reused(
    library, tmp_path, capsys, monkeypatch, suffix
):
    shot = write_shot(tmp_path / "shot")
    out = tmp_path / f"out{suffix}"
    with monkeypatch.context() as patch:
        patch.setattr(job, "file_stamp", old_file_stamp)
        patch.setattr(job, "source_stamps", old_source_stamps)
        assert stylize(library, shot, out, capsys=capsys)[0] == 0
    if not suffix:
        manifest = out / job.MANIFEST
        kept = json.loads(manifest.read_text())
        kept["made_from"].pop("stamps", None)  # as such a Restyle wrote it
        manifest.write_text(json.dumps(kept))
    before = times(out)
    code, err = stylize(library, shot, out, capsys=capsys)
    assert code == 0, err
    assert times(out) == before  # reused, nothing made again
    # other settings there: named as before, its source not taken for another one
    code, err = stylize(library, shot, out, "--strength", "0.5", capsys=capsys)
    assert code == 2 and "with other settings (--strength 1.0, now 0.5)" in err, err
    if not suffix:  # frames of its range kept, the new ones added under its key
        code, err = stylize(library, shot, out, "--end", "1", capsys=capsys)
        assert code == 0, err
        assert json.loads((out / job.MANIFEST).read_text())["key"] == kept["key"]


def test_an_earlier_restyles_output_moved_says_it_may_be_moved(
    library, tmp_path, capsys, monkeypatch
):
    project = tmp_path / "project"
    write_shot(project / "shot")
    with monkeypatch.context() as patch:
        patch.setattr(job, "file_stamp", old_file_stamp)
        patch.setattr(job, "source_stamps", old_source_stamps)
        assert stylize(library, project / "shot", project / "out", capsys=capsys)[0] == 0
    manifest = project / "out" / job.MANIFEST
    kept = json.loads(manifest.read_text())
    kept["made_from"].pop("stamps", None)
    manifest.write_text(json.dumps(kept))
    moved = tmp_path / "moved"
    shutil.move(project, moved)
    code, err = stylize(library, moved / "shot", moved / "out", capsys=capsys)
    assert code == 2 and "moved since: an earlier Restyle knew a source by its place" in err, err
