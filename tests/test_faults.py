"""Fault injection (issue 9): kills at random points for every output format, a full disk,
concurrent runs. After each fault: no user file changed, every finished frame intact, and a
rerun completes with output identical to an uninterrupted run. Crafted style archives are in
test_style_install.py and test_install_fuzz.py.

Kept fast: 160x96 clips, a dozen frames, one killed process per format.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob
from restyle.core.media import decode_range, probe
from restyle.core.writers import open_writer

FRAMES = 12
STYLE = "comic-ink"
BACKEND = "onnx"  # bit-exact across processes here (OpenVINO's threads varied by a level)
# format -> (output name, extra CLI options); JPEG resumes without coherence (lossy frames
# cannot restore the coherence state exactly), every other format with it.
FORMATS = {
    "png": ("out", []),
    "tif": ("out", ["--format", "tif"]),
    "jpg": ("out", ["--format", "jpg", "--temporal", "0"]),
    "h264": ("out.mp4", []),
    "prores": ("out.mov", []),
    "ffv1": ("out.mkv", []),
}


def command(source: Path, output: Path, library, options: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "restyle", "stylize", str(source), "-o", str(output),
        "-s", STYLE, "--end", str(FRAMES - 1), "--library", str(library.root), "-q",
        "--backend", BACKEND, *options,
    ]  # fmt: skip


def options_of(options: list[str]) -> dict:
    """The StyleJob settings the CLI options above mean."""
    job: dict = {"temporal": 0.5, "end": FRAMES - 1, "backend": BACKEND}
    for flag, value in zip(options[::2], options[1::2], strict=True):
        job[flag.lstrip("-")] = float(value) if flag == "--temporal" else value
    return job


def reference(source: Path, folder: Path, fmt: str, library) -> Path:
    """An uninterrupted run of the same command, in a process of its own like the killed one
    (an in-process run inherits whatever earlier tests left in this process)."""
    name, options = FORMATS[fmt]
    out = folder / name
    subprocess.run(command(source, out, library, options), check=True, timeout=300)
    return out


def frames_of(output: Path) -> list[np.ndarray]:
    """Decoded frames of a folder or movie, in order."""
    info = probe(output if output.is_file() else sorted(output.glob("[0-9]*.*")))
    return list(
        decode_range(output if output.is_file() else info.files, 0, info.frame_count - 1, info=info)
    )


def user_files(folder: Path) -> dict[str, bytes]:
    """Files a user owns beside the output, including one named like an old scratch file."""
    made = {"notes.txt": b"my notes", "out.part.mp4": b"my own movie", "take.part.mkv": b"x"}
    for name, data in made.items():
        (folder / name).write_bytes(data)
    return made


def assert_intact(output: Path, fmt: str) -> None:
    """Every finished frame decodes whole; a movie exists only complete."""
    if FORMATS[fmt][0] == "out":
        for frame in sorted(output.glob("[0-9]*.*")) if output.exists() else []:
            image = cv2.imread(str(frame), cv2.IMREAD_UNCHANGED)
            assert image is not None and image.shape[:2] == (96, 160), frame
    elif output.exists():
        assert probe(output).frame_count == FRAMES


def assert_same_output(output: Path, expected: Path, fmt: str) -> None:
    if FORMATS[fmt][0] == "out":
        names = sorted(p.name for p in expected.glob("[0-9]*.*"))
        assert sorted(p.name for p in output.glob("[0-9]*.*")) == names
        for name in names:
            assert (output / name).read_bytes() == (expected / name).read_bytes(), name
    else:
        got, want = frames_of(output), frames_of(expected)
        assert len(got) == len(want) == FRAMES
        diffs = [int(np.abs(a.astype(int) - b).max()) for a, b in zip(got, want, strict=True)]
        assert diffs == [0] * FRAMES, diffs


def odd_one_out(output: Path, expected: Path, third: Path, fmt: str) -> str:
    """Which of two differing outputs a third uninterrupted run agrees with (diagnostics)."""
    verdicts = []
    for name, path in (("the rerun", output), ("the reference", expected)):
        try:
            assert_same_output(path, third, fmt)
            verdicts.append(f"matches {name}")
        except AssertionError:
            verdicts.append(f"differs from {name}")
    return ", ".join(verdicts)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    from clips import make_pan_clip

    return make_pan_clip(tmp_path_factory.mktemp("faults") / "pan.mp4", FRAMES + 4, (160, 96), 2.0)


@pytest.fixture(scope="module")
def references(clip, library, tmp_path_factory):
    made: dict[str, Path] = {}

    def get(fmt: str) -> Path:
        if fmt not in made:
            made[fmt] = reference(clip, tmp_path_factory.mktemp(f"ref-{fmt}"), fmt, library)
        return made[fmt]

    return get


# -- kills ----------------------------------------------------------------------------------
def wait_then_kill(proc: subprocess.Popen, output: Path, rng: random.Random) -> None:
    """SIGKILL at a random point: after a random number of finished frames for sequences,
    after a random delay for movies (which finish all at once)."""
    deadline = time.monotonic() + 120
    if output.suffix:
        time.sleep(rng.uniform(0.5, 4.0))
    else:
        want = rng.randint(1, FRAMES - 2)
        while time.monotonic() < deadline and proc.poll() is None:
            if output.is_dir() and len(list(output.glob("[0-9]*.*"))) >= want:
                break
            time.sleep(0.02)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_kill_at_a_random_point_then_rerun(fmt, clip, library, references, tmp_path):
    rng = random.Random(f"kill-{fmt}")
    source_bytes = clip.read_bytes()
    mine = user_files(tmp_path)
    name, options = FORMATS[fmt]
    output = tmp_path / name
    proc = subprocess.Popen(
        command(clip, output, library, options), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_then_kill(proc, output, rng)
    assert_intact(output, fmt)
    finished = output.is_file()  # a movie is there only complete: the kill came after the end
    if not finished:
        rerun = subprocess.run(
            command(clip, output, library, options), capture_output=True, text=True, timeout=300
        )
        assert rerun.returncode == 0, rerun.stderr
    try:
        assert_same_output(output, references(fmt), fmt)
    except AssertionError as exc:  # seen once on CI (h264): say which run was the odd one
        (tmp_path / "third").mkdir()
        third = reference(clip, tmp_path / "third", fmt, library)
        verdict = odd_one_out(output, references(fmt), third, fmt)
        raise AssertionError(f"{exc}; a third run {verdict}") from None
    assert clip.read_bytes() == source_bytes
    assert all((tmp_path / n).read_bytes() == data for n, data in mine.items())
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    if finished:  # killed between the movie's commit and its exit: a lock the next run takes
        leftovers = [n for n in leftovers if not n.endswith(".restyle-lock")]
    assert leftovers == [], leftovers  # no scratch file or lock left after the rerun


# -- the same frames, the same movie ----------------------------------------------------------
M_PERTURB = -6  # glibc mallopt: fill freshly allocated memory with a chosen byte


@contextlib.contextmanager
def fresh_memory_filled_with(byte: int):
    """glibc's malloc hands out memory filled with ``byte`` (skipped without glibc)."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None) if sys.platform == "linux" else None
    if mallopt is None or mallopt(M_PERTURB, 0) != 1:
        pytest.skip("needs glibc's malloc perturbation")
    mallopt(M_PERTURB, byte)
    try:
        yield
    finally:
        mallopt(M_PERTURB, 0)


def test_h264_movie_does_not_depend_on_uninitialised_memory(tmp_path):
    """The h264 kill test's rare CI failure: an uninterrupted run's movie was now and then
    16-31 levels off another's from the same frames. libx264's AVX-512 macroblock-tree code
    reads memory nothing wrote, so the bitstream followed the heap's leftovers (the same
    frames gave another movie for each fill byte). It cannot fail on a CPU without AVX-512."""
    from clips import pan_frames

    frames = pan_frames(FRAMES, (160, 96), 2.0)
    movies = []
    for byte in (1, 85, 170):
        path = tmp_path / f"fill{byte}.mp4"
        with (
            fresh_memory_filled_with(byte),
            open_writer(path, fmt="h264", fps=24, size=(160, 96)) as writer,
        ):
            for index, frame in enumerate(frames):
                writer.write(index, frame)
        movies.append(frames_of(path))
    for fill, movie in zip((85, 170), movies[1:], strict=True):
        diffs = [
            int(np.abs(a.astype(int) - b).max()) for a, b in zip(movie, movies[0], strict=True)
        ]
        assert diffs == [0] * FRAMES, f"fill byte {fill} vs 1: {diffs}"


# -- a full disk ----------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 1.5 MiB tmpfs when the tests run as root and may mount; else skipped."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the injected write error covers this")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path, leave: int) -> Path:
    """A ballast file leaving about ``leave`` bytes free."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    ballast = folder / "ballast.bin"
    ballast.write_bytes(bytes(max(0, free - leave)))
    return ballast


@pytest.mark.parametrize("fmt", ["png", "ffv1"])
def test_disk_full_keeps_finished_frames_and_rerun_completes(
    fmt, small_disk, clip, library, references
):
    name, options = FORMATS[fmt]
    output = small_disk / name
    mine = {"notes.txt": b"my notes"}
    (small_disk / "notes.txt").write_bytes(b"my notes")
    ballast = fill(small_disk, leave=120_000)
    job = dict(options_of(options), format={"out": "png"}.get(name, fmt))
    with pytest.raises(RestyleError):
        StyleJob(clip, output, STYLE, library=library, **job).run()
    assert_intact(output, fmt)
    ballast.unlink()
    StyleJob(clip, output, STYLE, library=library, **job).run()
    assert_same_output(output, references(fmt), fmt)
    assert (small_disk / "notes.txt").read_bytes() == mine["notes.txt"]


def test_injected_write_error_keeps_finished_frames(
    clip, library, references, tmp_path, monkeypatch
):
    """The same fault without root: the 5th frame's write fails with ENOSPC."""
    from restyle.core import writers

    opened = []

    def full_disk(path, mode="r", *args, **kwargs):
        if "w" in mode and str(path).endswith(".restyle-part"):
            opened.append(path)
            if len(opened) >= 5:
                raise OSError(errno.ENOSPC, "No space left on device")
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(writers, "open", full_disk, raising=False)
    output = tmp_path / "out"
    with pytest.raises(RestyleError, match="No space left"):
        StyleJob(clip, output, STYLE, **options_of([]), library=library).run()
    kept = sorted(output.glob("[0-9]*.png"))
    assert 1 <= len(kept) < FRAMES
    assert_intact(output, "png")
    assert not [p for p in output.iterdir() if p.name.endswith(".restyle-part")]
    monkeypatch.undo()
    StyleJob(clip, output, STYLE, **options_of([]), library=library).run()
    assert_same_output(output, references("png"), "png")


# -- concurrent runs ------------------------------------------------------------------------
def test_two_runs_into_one_output_never_mix(clip, library, references, tmp_path):
    output = tmp_path / "out"
    runs = [
        subprocess.Popen(command(clip, output, library, ["-s", style]), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for style in (STYLE, "ink-wash")
    ]  # fmt: skip
    results = [(p.wait(timeout=300), p.stderr.read()) for p in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "another Restyle run (pid" in loser or "other settings" in loser
    winner = STYLE if results[0][0] == 0 else "ink-wash"
    if winner == STYLE:
        assert_same_output(output, references("png"), "png")
    else:  # every frame in the winner's style: a rerun of it reuses all and adds none
        again = StyleJob(clip, output, winner, end=FRAMES - 1, backend=BACKEND, library=library)
        again = again.run()
        assert (again.reused, again.written) == (FRAMES, 0)
