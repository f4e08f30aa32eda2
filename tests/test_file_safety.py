"""Issue 9: never lose a user's work. One regression test per defect (numbered as in the
issue); the fault-injection suite (kills, full disks, concurrent runs) is test_faults.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from restyle.core.errors import COMMAND_LINE, RestyleError
from restyle.core.job import MANIFEST, StyleJob
from restyle.core.progress import CancelToken
from restyle.core.writers import OUTPUT_FORMATS, OutputLock, format_for_output, lock_path

from clips import encode_clip, index_frame, make_image_sequence


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (recursively) with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def job(source, output, style="comic-ink", **options) -> StyleJob:
    options.setdefault("temporal", 0.0)
    return StyleJob(source, output, style, **options)


def cancel_after(n: int) -> tuple[CancelToken, object]:
    token = CancelToken()

    def progress(p) -> None:
        if p.stage == "stylize" and p.done >= n:
            token.cancel()

    return token, progress


# -- 1: scratch files never collide; the input is never the output -------------------------
def test_1_movie_scratch_file_never_touches_a_users_file(library, index_clip_h264, tmp_path):
    mine = tmp_path / "holiday.part.mp4"
    mine.write_bytes(b"the user's own movie")
    out = tmp_path / "holiday.mp4"
    job(index_clip_h264, out, start=0, end=3, format="h264", library=library).run()
    assert mine.read_bytes() == b"the user's own movie"
    assert out.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holiday.mp4", "holiday.part.mp4"]


def test_1_input_named_like_a_scratch_file_survives(library, index_clip_h264, tmp_path):
    source = tmp_path / "take.part.mp4"
    source.write_bytes(index_clip_h264.read_bytes())
    job(source, tmp_path / "take.mp4", start=0, end=3, format="h264", library=library).run()
    assert source.read_bytes() == index_clip_h264.read_bytes()


def test_1_output_that_is_the_input_is_refused_even_with_overwrite(
    library, index_clip_h264, tmp_path
):
    source = tmp_path / "clip.mp4"
    source.write_bytes(index_clip_h264.read_bytes())
    with pytest.raises(RestyleError, match="is the input"):
        job(source, source, format="h264", overwrite=True, library=library).run()
    assert source.read_bytes() == index_clip_h264.read_bytes()


def test_1_a_picture_style_kept_among_the_frames_is_never_overwritten(
    library, index_clip_h264, tmp_path
):
    """A styled frame repainted in place and used as the picture style (-s out/000001.png)
    was replaced by the new run's frame 1 under --overwrite: the painting was lost."""
    import cv2

    out = tmp_path / "out"
    job(index_clip_h264, out, end=1, library=library).run()
    painting = out / "000001.png"
    cv2.imwrite(str(painting), index_frame(7, (160, 96)))
    kept = painting.read_bytes()
    with pytest.raises(RestyleError, match="style picture 000001.png is in the output"):
        job(index_clip_h264, out, style=str(painting), end=1, overwrite=True, library=library).run()
    assert painting.read_bytes() == kept


# -- 2 and 10: validate first; replace old frames only as new ones commit ------------------
def test_2_overwrite_with_a_bad_device_deletes_nothing(library, index_clip_h264, tmp_path):
    out = tmp_path / "styled"
    job(index_clip_h264, out, start=0, end=5, library=library).run()
    before = snapshot(out)
    with pytest.raises(RestyleError):
        job(
            index_clip_h264, out, "ink-wash", end=5, device="nonsense", overwrite=True,
            library=library,
        ).run()  # fmt: skip
    assert snapshot(out) == before


def test_2_restyling_an_output_folder_into_itself_is_refused(library, index_clip_h264, tmp_path):
    out = tmp_path / "styled"
    job(index_clip_h264, out, start=0, end=3, library=library).run()
    before = snapshot(out)
    with pytest.raises(RestyleError, match="holds the input frames"):
        job(out, out, "ink-wash", overwrite=True, library=library).run()
    assert snapshot(out) == before


def test_2_overwrite_replaces_frames_only_as_new_ones_commit(library, index_clip_h264, tmp_path):
    out = tmp_path / "styled"
    job(index_clip_h264, out, start=0, end=7, library=library).run()
    old = snapshot(out)
    token, progress = cancel_after(2)
    cancelled = job(index_clip_h264, out, "ink-wash", end=7, overwrite=True, library=library).run(
        progress=progress, cancel=token
    )
    assert cancelled.cancelled and 2 <= cancelled.written < 8
    now = snapshot(out)
    frames = [n for n in now if n.endswith(".png")]
    assert len(frames) == 8  # nothing was deleted up front
    kept_old = [n for n in frames if now[n] == old[n]]
    assert len(kept_old) == 8 - cancelled.written
    stale = json.loads(now[MANIFEST])["stale"]
    assert sorted(stale) == sorted(kept_old)  # never reused as if they were new
    resumed = job(index_clip_h264, out, "ink-wash", end=7, library=library).run()
    assert resumed.reused == cancelled.written and resumed.written == 8 - cancelled.written
    fresh = tmp_path / "fresh"
    job(index_clip_h264, fresh, "ink-wash", end=7, library=library).run()
    assert snapshot(out) == snapshot(fresh) | {MANIFEST: snapshot(out)[MANIFEST]}
    assert json.loads(snapshot(out)[MANIFEST])["stale"] == []


def test_10_bad_input_creates_nothing(library, tmp_path):
    rgba = make_image_sequence(tmp_path / "rgba", 3, alpha=True)
    out = tmp_path / "new" / "styled"
    with pytest.raises(RestyleError, match="JPEG cannot store"):
        job(rgba[0].parent, out, format="jpg", library=library).run()
    with pytest.raises(RestyleError):
        job(rgba[0].parent, out, device="nonsense", library=library).run()
    assert not (tmp_path / "new").exists()


# -- 3: one run per output ----------------------------------------------------------------
def test_3_a_second_run_is_refused_naming_the_first(library, index_clip_h264, tmp_path):
    out = tmp_path / "styled"
    with OutputLock(out):
        with pytest.raises(RestyleError, match=rf"another Restyle run \(pid {os.getpid()} on "):
            job(index_clip_h264, out, end=2, library=library).run()
    assert not out.exists()


def test_3_a_run_that_has_just_locked_is_named_once_it_records_itself(tmp_path, monkeypatch):
    """Between taking the lock and writing its record the holder's file is empty (seen on CI
    as "starting up"): the refused run waits briefly for the record."""
    import restyle.core.writers as writers

    recorded = threading.Event()
    real_record = writers._record_holder

    def late_record(handle: int) -> None:
        threading.Timer(0.15, lambda: (real_record(handle), recorded.set())).start()

    monkeypatch.setattr(writers, "_record_holder", late_record)
    out = tmp_path / "styled"
    with OutputLock(out):
        monkeypatch.setattr(writers, "_record_holder", real_record)
        with pytest.raises(RestyleError, match=rf"another Restyle run \(pid {os.getpid()} on "):
            OutputLock(out).acquire()
        assert recorded.is_set()


def test_3_a_dead_runs_lock_is_taken_over(library, index_clip_h264, tmp_path):
    out = tmp_path / "styled"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    lock_path(out).write_text(json.dumps({"pid": int(dead.stdout), "host": "x", "started": "?"}))
    result = job(index_clip_h264, out, end=2, library=library).run()
    assert result.written == 3 and not lock_path(out).exists()


# -- 4 and 13: every numeric option is range-checked ---------------------------------------
@pytest.mark.parametrize(
    "option",
    [
        {"batch_size": -5},
        {"batch_size": 0},
        {"batch_size": 10**6},
        {"fps": 0},
        {"fps": 0.0},
        {"fps": float("nan")},
        {"fps": float("inf")},
        {"fps": -24},
        {"temporal": float("nan")},
        {"strength": float("nan")},
        {"start": -1},
    ],
)
def test_4_13_numeric_options_out_of_range_are_refused(library, tmp_path, option):
    frames = make_image_sequence(tmp_path / "seq", 2)
    with pytest.raises(RestyleError):
        job(frames[0].parent, tmp_path / "out", library=library, **option).validate()
    assert not (tmp_path / "out").exists()


def test_4_cli_negative_batch_exits_at_once(library, tmp_path):
    frames = make_image_sequence(tmp_path / "seq", 2)
    proc = subprocess.run(
        [sys.executable, "-m", "restyle", "stylize", str(frames[0].parent), "-o",
         str(tmp_path / "out"), "-s", "comic-ink", "--batch", "-5", "--library",
         str(library.root)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "batch" in proc.stderr and "Traceback" not in proc.stderr


# -- 7: a resumed run is identical to an uninterrupted one ----------------------------------
def test_7_resume_matches_an_uninterrupted_run(library, pan_clip, tmp_path):
    whole = tmp_path / "whole"
    job(pan_clip, whole, "starry-swirls", temporal=0.5, end=11, library=library).run()
    resumed = tmp_path / "resumed"
    token, progress = cancel_after(4)
    first = job(pan_clip, resumed, "starry-swirls", temporal=0.5, end=11, library=library).run(
        progress=progress, cancel=token
    )
    assert first.cancelled and 0 < first.written < 12
    second = job(pan_clip, resumed, "starry-swirls", temporal=0.5, end=11, library=library).run()
    assert second.reused == first.written
    assert snapshot(resumed) == snapshot(whole)


def test_7_resume_after_a_hole_matches_too(library, pan_clip, tmp_path):
    """A killed writer can leave frame k missing while k+1 is done: both sides warm up."""
    whole = tmp_path / "whole"
    job(pan_clip, whole, "starry-swirls", temporal=0.5, end=9, library=library).run()
    holed = tmp_path / "holed"
    holed.mkdir()
    for name, data in snapshot(whole).items():
        (holed / name).write_bytes(data)
    for hole in ("000003.png", "000004.png", "000007.png"):
        (holed / hole).unlink()
    again = job(pan_clip, holed, "starry-swirls", temporal=0.5, end=9, library=library).run()
    assert again.written == 3
    assert snapshot(holed) == snapshot(whole)


# -- 11: the summary counts the frames a cancelled run kept ---------------------------------
def test_11_cancelled_summary_counts_kept_frames(library, index_clip_h264, tmp_path):
    token, progress = cancel_after(3)
    result = job(index_clip_h264, tmp_path / "out", end=29, library=library).run(
        progress=progress, cancel=token
    )
    assert result.cancelled and result.written == len(result.frame_files) >= 3


# -- issue 17: output extensions Restyle cannot write are refused ---------------------------
def test_unknown_output_extension_is_refused_with_the_choices(tmp_path):
    with pytest.raises(RestyleError, match=r"cannot write '\.avi'.*\.mp4 \(h264\)"):
        format_for_output(tmp_path / "out.avi")
    assert format_for_output(tmp_path / "take.v2") == "png"  # a folder name with a dot
    assert format_for_output(tmp_path / "out.mov") == "prores"


def test_cli_refuses_avi_and_writes_nothing(library, index_clip_h264, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "restyle", "stylize", str(index_clip_h264), "-o",
         str(tmp_path / "out.avi"), "-s", "comic-ink", "--library", str(library.root)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and ".mp4 (h264)" in proc.stderr
    assert list(tmp_path.iterdir()) == []


# The README's movie suffixes ("`.mp4` or `.m4v` → H.264, `.mov` → ProRes, `.mkv` → FFV1"), in
# any case: '.m4v' matched no format's first suffix and became a folder of PNG frames.
README_SUFFIXES = {".mp4": "h264", ".m4v": "h264", ".mov": "prores", ".mkv": "ffv1"}


@pytest.mark.parametrize("suffix", [*README_SUFFIXES, *(s.upper() for s in README_SUFFIXES)])
def test_every_movie_suffix_the_readme_names_chooses_its_format(suffix, tmp_path):
    assert format_for_output(tmp_path / f"styled{suffix}") == README_SUFFIXES[suffix.lower()]


@pytest.mark.parametrize("name", ["out.avi", "OUT.AVI"])
def test_a_suffix_only_format_writes_is_refused_naming_that_format(name, tmp_path):
    with pytest.raises(RestyleError, match=r"cannot write '\.avi'.*format='ffv1'"):
        format_for_output(tmp_path / name)


def test_blenders_movie_names_read_back_as_their_own_format():
    """Blender names a movie with its format's first suffix; the command line reading that
    file name back (a rerun, a farm job) must choose the same format."""
    for fmt in (f for f in OUTPUT_FORMATS.values() if f.movie):
        assert format_for_output(f"000001-000010{fmt.suffix}") == fmt.id


@pytest.mark.parametrize(
    ("name", "options", "codec"),
    [
        ("styled.m4v", [], "h264"),
        ("STYLED.M4V", [], "h264"),
        ("styled.avi", ["--format", "ffv1"], "ffv1"),
    ],
)
def test_cli_writes_each_readme_suffix_as_a_movie(
    name, options, codec, library, index_clip_h264, tmp_path
):
    out = tmp_path / name
    proc = subprocess.run(
        [sys.executable, "-m", "restyle", "stylize", str(index_clip_h264), "-o", str(out),
         "-s", "comic-ink", "--end", "2", "--library", str(library.root), *options],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and [p.name for p in tmp_path.iterdir()] == [name]
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == codec
        assert sum(1 for _ in container.decode(stream)) == 3


def _frames_of(n: int) -> list[np.ndarray]:
    return [index_frame(i, (64, 48)) for i in range(n)]


def test_validate_once_plan_is_reused(library, index_clip_h264, tmp_path, monkeypatch):
    from restyle.core import media

    calls = []
    real = media.probe
    monkeypatch.setattr(media, "probe", lambda *a, **k: calls.append(1) or real(*a, **k))
    j = job(index_clip_h264, tmp_path / "out", end=1, library=library)
    plan = j.validate()
    j.run()
    assert len(calls) == 1 and plan.key and plan.total == 2


__all__ = ["encode_clip", "_frames_of"]


# -- 12: a device ONNX Runtime lacks says so (not "unknown torch device") ------------------
def test_12_tensorrt_without_tensorrt_names_onnxruntime(library, index_clip_h264, tmp_path):
    with pytest.raises(RestyleError) as caught:
        job(index_clip_h264, tmp_path / "out", end=1, device="tensorrt", library=library).run()
    assert "torch" not in str(caught.value) and "tensorrt" in str(caught.value)
    assert not (tmp_path / "out").exists()


# --device mps said only "requested but it is not available", naming no fix.
def test_mps_where_there_is_none_names_what_is_here_and_what_to_use(
    library, index_clip_h264, tmp_path
):
    if pytest.importorskip("torch").backends.mps.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(RestyleError) as caught:
        job(index_clip_h264, tmp_path / "out", end=1, device="mps", library=library).run()
    said = str(caught.value)
    assert "'mps'" in said and "this machine has cpu" in said  # cpu only, or cpu, cuda:0...
    assert re.search(r"use (device='cuda', )?device='cpu' or device='auto'$", said)
    assert re.search(
        r"use (--device cuda, )?--device cpu or --device auto$", caught.value.said(COMMAND_LINE)
    )
    assert not (tmp_path / "out").exists()


# -- 16: Ctrl-C while the command starts exits 130 without a traceback ----------------------
def test_16_ctrl_c_while_starting_is_clean():
    code = (
        "import os, signal, sys\n"
        "sys.argv[0] = 'restyle'\n"
        "import restyle.core.cli\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "import time; time.sleep(2)\n"
        "restyle.core.cli.main(['styles'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "restyle: cancelled"


# -- 6: a gap in an image sequence is an error naming the missing frames --------------------
@pytest.mark.parametrize("as_pattern", [False, True])
def test_6_a_missing_frame_is_named_not_skipped(library, tmp_path, as_pattern):
    frames = make_image_sequence(tmp_path / "seq", 8)
    (tmp_path / "seq" / "frame_0004.png").unlink()
    source = tmp_path / "seq" / "frame_%04d.png" if as_pattern else tmp_path / "seq"
    with pytest.raises(RestyleError, match=r"1 frame missing .*frame_0004\.png"):
        job(source, tmp_path / "out", library=library).run()
    assert not (tmp_path / "out").exists() and len(frames) == 8


@pytest.mark.parametrize("as_pattern", [False, True])
def test_6_a_range_that_avoids_the_gap_is_styled(library, tmp_path, capsys, as_pattern):
    """Walkthrough: frame_0003.png missing of 0000..0006 made even --end 2 or --start 4
    --end 6 fail with 'style the parts on either side separately'. Frames keep their
    numbers (frame 4 is frame_0004.png), so a range without the gap is styled, and the
    refusal of one over it names the whole parts and the settings that choose them."""
    from restyle.core.cli import main
    from restyle.core.media import decode_range

    from clips import read_index

    make_image_sequence(tmp_path / "seq", 7, first=0)
    (tmp_path / "seq" / "frame_0003.png").unlink()
    source = tmp_path / "seq" / "frame_%04d.png" if as_pattern else tmp_path / "seq"
    assert [read_index(f) for f in decode_range(source, 4, 6)] == [4, 5, 6]
    assert [read_index(f) for f in decode_range(source, 0, 2)] == [0, 1, 2]
    after = job(source, tmp_path / "after", start=4, end=6, library=library).run()
    assert after.written == 3
    assert [p.name[-6:] for p in after.frame_files] == ["04.png", "05.png", "06.png"]
    assert job(source, tmp_path / "before", end=2, library=library).run().written == 3
    with pytest.raises(RestyleError) as refused:
        job(source, tmp_path / "over", start=2, end=5, library=library).run()
    error = refused.value
    assert error.said(COMMAND_LINE).endswith(
        "frame_0003.png; frames are identified by their number, so fill the gap; "
        "frames 2, 4..5 are whole: style them with --start and --end"
    )
    assert str(error).endswith("style them with start and end")
    argv = ["stylize", str(source), "-o", str(tmp_path / "cli"), "-s", "comic-ink"]
    assert main([*argv, "--start", "4", "--end", "6", "--library", str(library.root)]) == 0
    assert len(list((tmp_path / "cli").glob("*.png"))) == 3
    assert not (tmp_path / "over").exists()


# -- 5: tiny and very wide frames work with coherence on ------------------------------------
@pytest.mark.parametrize("size", [(1, 1), (11, 11), (640, 30), (1920, 80), (100, 24)])
def test_5_tiny_and_wide_frames_with_coherence(library, tmp_path, size):
    import cv2

    width, height = size
    folder = tmp_path / "seq"
    folder.mkdir()
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (height, width + 6, 3), dtype=np.uint8)
    for i in range(3):  # a small pan
        cv2.imwrite(str(folder / f"f_{i:03d}.png"), np.ascontiguousarray(base[:, i : i + width]))
    result = job(folder, tmp_path / "out", temporal=0.5, library=library).run()
    assert result.written == 3
    assert cv2.imread(str(result.frame_files[-1])).shape == (height, width, 3)


# -- 14: damaged movies: the frames that could not be decoded are named ---------------------
def damaged_copies(source: Path, folder: Path) -> tuple[Path, Path]:
    data = bytearray(source.read_bytes())
    truncated = folder / "cut.mkv"
    truncated.write_bytes(data[: int(len(data) * 0.6)])
    corrupt = bytearray(data)
    middle = len(corrupt) // 2
    for i in range(middle, middle + 3000, 7):
        corrupt[i] ^= 0xFF
    (folder / "corrupt.mkv").write_bytes(bytes(corrupt))
    return truncated, folder / "corrupt.mkv"


def test_14_damaged_movies_name_the_frames_lost(library, index_clip_ffv1, tmp_path, capsys):
    from restyle.core.cli import main

    truncated, corrupt = damaged_copies(index_clip_ffv1, tmp_path)
    result = job(corrupt, tmp_path / "a", library=library).run()
    assert result.written == 40 and len(result.warnings) == 1
    # the damaged keyframe (20) and the frames coded after it up to the next one
    assert "10 frames could not be decoded cleanly (around frames 20-29:" in result.warnings[0]
    assert "40 written" in result.warnings[0]
    root = str(library.root)
    code = main(["stylize", str(truncated), "-o", str(tmp_path / "b"), "-s", "comic-ink",
                 "--temporal", "0", "--library", root])  # fmt: skip
    err = capsys.readouterr().err
    # run to the end (no --end): exit 3, the frames that decode kept (cli25, docs/cli.md)
    assert code == 3 and "restyle: warning: cut.mkv is cut short" in err
    assert "restyle: error: frames " in err and "the source is cut short" in err
    assert "declares 40 frames" in err and "written" in err


def variable_rate_movie(path: Path, size=(64, 48)) -> Path:
    """A clean 24 fps-average movie whose frames are unevenly spaced: two land in slot 2
    (one is dropped) and none in slots 4 and 5 (the one before is repeated)."""
    from fractions import Fraction

    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = *size, "bgr0"
        stream.codec_context.time_base = Fraction(1, 240)
        for i, pts in enumerate((0, 10, 20, 24, 30, 60, 70, 80, 90, 100)):
            frame = av.VideoFrame.from_ndarray(index_frame(i, size), format="rgb24")
            frame.pts = pts
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_a_variable_rate_movie_is_not_called_damaged(library, tmp_path, capsys):
    from restyle.core.cli import main

    source = variable_rate_movie(tmp_path / "phone.mkv")
    result = job(source, tmp_path / "a", library=library).run()
    assert result.written == 11 and len(result.warnings) == 1
    warning = result.warnings[0]
    assert "damaged" not in warning and "could not be decoded" not in warning
    assert "variable frame rate" in warning and "taken at 24 fps, the rate its container" in warning
    assert "its frames average 21.82 fps" in warning  # 10 frames in 11 slots of 1/24 s
    assert "; 1 source frame dropped and 2 frames repeat the one before (frames 4-5)" in warning
    code = main(["stylize", str(source), "-o", str(tmp_path / "b"), "-s", "comic-ink",
                 "--temporal", "0", "--library", str(library.root)])  # fmt: skip
    assert code == 0 and "restyle: warning: phone.mkv has a variable frame rate" in (
        capsys.readouterr().err
    )


def test_5_blender_never_shows_a_raw_opencv_message():
    import cv2

    from restyle.operators.runner import _user_message

    try:
        cv2.resize(np.zeros((0, 0), np.uint8), (0, 0))
    except cv2.error as exc:
        message = _user_message(exc)
    assert "OpenCV" in message and "\n" not in message and ".cpp" not in message
