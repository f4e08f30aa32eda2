"""Round 19: a file is stamped by blocks spread through it, not its first and last 64 KiB
only (``job._sample_hash``): a movie re-rendered in place with its size and time put back
is another source; output made when only a file's ends were read is refused in words."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core import cli, job

SIZE = (64, 48)


def write_movie(path: Path, middle_seed: int | None = None, count: int = 60) -> Path:
    """An uncompressed AVI (every frame the same size): ``middle_seed`` repaints its middle
    third only, so the file keeps its size and its first and last 64 KiB."""
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (*SIZE[::-1], 3), np.uint8) for _ in range(count)]
    if middle_seed is not None:
        other = np.random.default_rng(middle_seed)
        for i in range(count // 3, 2 * count // 3):
            frames[i] = other.integers(0, 256, (*SIZE[::-1], 3), np.uint8)
    writer = cv2.VideoWriter(str(path), 0, 24, SIZE)  # fourcc 0: raw frames
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def rerender_in_place(movie: Path, tmp_path: Path) -> None:
    """The movie's middle re-rendered into the same file, its time put back (as a sync tool
    or an editor keeping times may): same size, same first and last 64 KiB, same mtime."""
    stat = movie.stat()
    new = write_movie(tmp_path / "rerendered.avi", middle_seed=9).read_bytes()
    old = movie.read_bytes()
    assert len(new) == len(old) and new != old
    block = job.STAMP_SAMPLE
    assert new[:block] == old[:block] and new[-block:] == old[-block:]  # only its middle
    with open(movie, "r+b") as stream:
        stream.write(new)
    os.utime(movie, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def stylize(library, source, out, *words: str, capsys):
    argv = ["stylize", str(source), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    code = cli.main([*argv, "--end", "2", *words, "--library", str(library.root)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".mp4", ""])
def test_a_movie_rerendered_in_its_middle_is_another_source(library, tmp_path, capsys, suffix):
    movie = write_movie(tmp_path / "shot.avi")
    assert movie.stat().st_size > 2 * job.STAMP_SAMPLE  # a middle the ends don't cover
    out = tmp_path / f"out{suffix}"
    code, err = stylize(library, movie, out, capsys=capsys)
    assert code == 0, err
    rerender_in_place(movie, tmp_path)
    code, err = stylize(library, movie, out, capsys=capsys)
    assert code == 2 and "from another source" in err, err  # not its stale frames reused
    code, err = stylize(library, movie, out, "--overwrite", capsys=capsys)
    assert code == 0, err


def test_a_large_file_is_read_at_blocks_spread_through_it(tmp_path):
    """A file past STAMP_BLOCKS blocks: its middle rewritten (size and time put back) is
    another file; what is read stays STAMP_BLOCKS blocks however large the file."""
    big = tmp_path / "big.mov"
    size = 4 * 1024 * 1024
    big.write_bytes(np.random.default_rng(1).integers(0, 256, size, np.uint8).tobytes())
    stat = big.stat()
    before = job.file_stamp(big)
    with open(big, "r+b") as stream:  # a re-rendered middle: 1 MiB from 1.5 MiB on
        stream.seek(3 * size // 8)
        stream.write(bytes(size // 4))
    os.utime(big, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = job.file_stamp(big)
    assert before[:2] == after[:2] and before != after

    for length in (size, 2 * 1024**3, 17 * job.STAMP_SAMPLE):
        offsets = list(job._sample_offsets(length))
        assert len(offsets) == job.STAMP_BLOCKS
        assert offsets[0] == 0 and offsets[-1] == length - job.STAMP_SAMPLE
        assert all(
            b - a >= job.STAMP_SAMPLE for a, b in zip(offsets[:-1], offsets[1:], strict=True)
        )


def test_a_file_of_two_blocks_or_less_is_stamped_as_before(tmp_path):
    """Read whole, as before: a small picture's stamp, and so its key, is what it was."""
    for length in (0, 1000, 2 * job.STAMP_SAMPLE):
        small = tmp_path / f"small_{length}.png"
        data = np.random.default_rng(length).integers(0, 256, length, np.uint8).tobytes()
        small.write_bytes(data)
        assert job.file_stamp(small)[2] == hashlib.sha256(data).hexdigest()[:16]


def ends_only(size: int):
    """``job._sample_offsets`` as Restyle had it on 2026-12-02: the first and last 64 KiB."""
    block = job.STAMP_SAMPLE
    return [0, max(block, size - block)] if size > block else [0]


def test_output_made_when_a_files_ends_only_were_read_is_refused_in_words(
    library, tmp_path, capsys, monkeypatch
):
    movie = write_movie(tmp_path / "shot.avi")
    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        patch.setattr(job, "_sample_offsets", ends_only)
        patch.setattr(job, "_SAMPLES", {})  # a process of its own
        assert stylize(library, movie, out, capsys=capsys)[0] == 0
    manifest = out / job.MANIFEST
    kept = json.loads(manifest.read_text())
    kept["made_from"].pop("blocks", None)  # as such a Restyle wrote it
    manifest.write_text(json.dumps(kept))
    code, err = stylize(library, movie, out, capsys=capsys)
    assert code == 2, err
    assert "as an earlier Restyle knew its files (by their first and last 64 KiB" in err, err
    code, err = stylize(library, movie, out, "--overwrite", capsys=capsys)
    assert code == 0, err


def write_pictures(folder: Path, count: int = 4, seed: int = 3) -> Path:
    """BMP pictures: uncompressed, so other pixels keep the file's size."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        cv2.imwrite(str(folder / f"b_{i:04d}.bmp"), rng.integers(0, 256, (48, 64, 3), np.uint8))
    return folder


def repaint(picture: Path, seed: int = 9) -> None:
    """Another picture under the same name and size, saved a few seconds later."""
    stat = picture.stat()
    cv2.imwrite(str(picture), np.random.default_rng(seed).integers(0, 256, (48, 64, 3), np.uint8))
    assert picture.stat().st_size == stat.st_size
    os.utime(picture, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))


@pytest.mark.parametrize("given", ["folder", "pattern"])
def test_a_background_picture_repainted_mid_sequence_is_another_background(
    matte_library, tmp_path, capsys, monkeypatch, given
):
    """The background sequence is stamped as a source is (``job.source_stamps``): its
    folder's own stamp did not change with a repaint, a pattern had none."""
    pytest.importorskip("torch")
    monkeypatch.setenv("RESTYLE_HOME", str(matte_library.root))
    shot = write_pictures(tmp_path / "shot", seed=1)
    backdrop = write_pictures(tmp_path / "bg")
    replace = str(backdrop) if given == "folder" else str(backdrop / "b_%04d.bmp")
    out = tmp_path / "out"
    argv = ["matte", str(shot), "-o", str(out), "--replace", replace, "--end", "1"]
    assert cli.main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    repaint(backdrop / "b_0002.bmp")
    assert cli.main(argv) == 2  # not its stale composites reused
    err = capsys.readouterr().err
    assert "with the background as it was before (its file changed since)" in err, err
    assert cli.main([*argv, "--overwrite"]) == 0, capsys.readouterr().err


def test_a_background_sequence_in_an_earlier_restyles_form_is_stamped_as_then(tmp_path):
    """Path form (``job.path_stamps``): the folder's own stamp, as an earlier Restyle's key
    had it (its output still reused); now: every picture's, as a source's."""
    from restyle.core.mappings.matte_job import _background_stamp
    from restyle.core.media import probe

    backdrop = write_pictures(tmp_path / "bg")
    with job.path_stamps():
        assert _background_stamp(backdrop) == job.file_stamp(backdrop)
    assert _background_stamp(backdrop) == job.source_stamps(probe(backdrop))
    picture = backdrop / "b_0000.bmp"
    assert _background_stamp(picture) == job.file_stamp(picture)  # a picture: as before


def test_strength_0_of_a_builtin_style_converts_no_builtins(tmp_path, monkeypatch):
    """A first run at strength 0 starts no network (``Stylizer.gives_source``), so it needs
    no converted built-in models (nor PyTorch to convert them): none are made, the frames
    are the source's; strength 1 still converts them first."""
    from restyle.core import builtins
    from restyle.core.styles import StyleLibrary

    def no_conversion(*_args, **_kw):
        raise AssertionError("built-ins converted")

    monkeypatch.setattr(builtins, "install_builtins", no_conversion)
    library = StyleLibrary(tmp_path / "library", bundled=None)  # nothing converted yet
    assert not library.builtins_ready()
    shot = write_pictures(tmp_path / "shot", count=3)
    out = tmp_path / "out"
    made = job.StyleJob(shot, out, "comic-ink", library=library, strength=0.0, format="png")
    assert made.run().written == 3
    frames = sorted(out.glob("*.png"))
    assert len(frames) == 3
    for source, frame in zip(sorted(shot.iterdir()), frames, strict=True):
        assert np.array_equal(cv2.imread(str(source)), cv2.imread(str(frame)))
    assert not library.builtins_ready()
    styled = job.StyleJob(shot, tmp_path / "styled", "comic-ink", library=library, format="png")
    with pytest.raises(AssertionError, match="built-ins converted"):  # strength 1 needs them
        styled.run()
