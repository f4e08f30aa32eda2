"""Round 23's progress events and caches (the 'events' helper).

1. A Ray run's driver said no 'setup' while it built the network for its precision check,
   nor 'N frames kept from before' on a resume; its bar went back from the kept frames to
   its chunks' own count, and counted them into its rate.
2. A matte said nothing while its network was read and compiled; a stabiliser's first
   event came after 8 frames tracked.
3. Blender's OpenVINO child kept every shared block it had been sent mapped until the job
   ended, those its parent had replaced by bigger ones too.
4. A picture style's file was stamped by samples above 1 MiB: two pictures differing only
   between them shared cached frames.

The engine is test_jobfix_round22's stand-in (no CPU with bf16 needed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers_ray import InProcessRay, _Ref, _Remote
from test_jobfix_round22 import FRAMES, cancelled_after, clip, events, job  # noqa: F401

from restyle.core import ray_runner
from restyle.core.errors import RestyleError
from restyle.core.progress import Progress

pytestmark = pytest.mark.usefixtures("private_home")


def said(events: list) -> list[Progress]:  # noqa: F811
    return [e for e in events if isinstance(e, Progress)]


# -- 1. a Ray run's first events -------------------------------------------------------------
@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_a_ray_run_says_it_builds_the_network_where_it_does(
    tmp_path,
    tiny_style,
    events,  # noqa: F811
    in_process,
    precision,
):
    """auto: the driver builds the network for the precision every chunk runs (as a local
    run's first event says); fp32 asked: it builds none, and says no such stage."""
    source = clip(tmp_path / "src")
    run = job(source, tmp_path / "out", tiny_style, precision=precision)
    result = ray_runner.run_on_ray(run, "auto", max_frames=4, progress=events.append)
    assert result.written == FRAMES, result
    first = said(events)[0]
    if precision == "auto":
        assert (first.stage, first.done, first.total) == ("setup", 0, FRAMES), events
        assert first.message == "building the network"
        assert events.index(first) < events.index(("engine", "auto")), events  # before it
    else:
        assert "setup" not in {p.stage for p in said(events)}, events
    assert said(events)[-1] == Progress(FRAMES, FRAMES, stage="stylize")


class _Deferred:
    """A task sent but not run until ``LazyRay.wait`` runs it (a cluster's is under way)."""

    def __init__(self, call) -> None:
        self.call = call


class _LazyRemote(_Remote):
    def remote(self, *args):
        if isinstance(self.target, type):  # an actor (the progress board): at once
            return super().remote(*args)
        return _Deferred(lambda: self.target(*args))


class LazyRay(InProcessRay):
    """A cluster whose first wait finds no chunk done, then one chunk done a wait."""

    waits = 0

    def remote(self, **_):
        return _LazyRemote

    def wait(self, refs, num_returns=1, timeout=None):
        self.waits += 1
        if self.waits == 1 or not refs:
            return [], list(refs)
        return [_Ref(refs[0].call)], list(refs[1:])


def test_a_ray_resume_says_the_frames_it_kept_and_counts_on_from_them(
    tmp_path,
    tiny_style,
    events,  # noqa: F811
    in_process,
    monkeypatch,
):
    source = clip(tmp_path / "src")
    out = tmp_path / "out"
    first = cancelled_after(source, out, tiny_style, 3)
    events.clear()
    monkeypatch.setattr(ray_runner, "connect", lambda address: LazyRay())
    result = ray_runner.run_on_ray(
        job(source, out, tiny_style), "auto", max_frames=4, progress=events.append
    )
    assert (result.reused, result.written) == (first.written, FRAMES - first.written), result
    shown = said(events)  # no 'setup': the folder's precision is kept, no network built here
    kept = shown[0]
    assert (kept.stage, kept.done, kept.total) == ("stylize", first.written, FRAMES), shown
    assert kept.message == f"{first.written} frames kept from before"
    counts = [p.done for p in shown]
    assert counts == sorted(counts) and counts[-1] == FRAMES, shown  # never back
    assert shown[1].done == first.written, shown  # the first wait: no chunk done yet


# -- 2. a matte's and a stabiliser's first event ---------------------------------------------
def test_a_matte_says_it_builds_the_network_before_it_does(tmp_path, monkeypatch):
    from restyle.core.mappings import matte
    from restyle.core.mappings.matte_job import MatteJob
    from restyle.core.mappings.matte_model import MATTE_MODELS
    from restyle.core.styles import StyleLibrary

    library = StyleLibrary(tmp_path / "library", bundled=None)
    library.builtin_dir.mkdir(parents=True, exist_ok=True)
    for stem in MATTE_MODELS.values():  # installed (never read: the engine is the test's)
        (library.builtin_dir / f"{stem}.onnx").write_bytes(b"")
    happened: list = []

    def create_engine(files, backend="auto", device="auto", *_a, **_k):
        happened.append("engine")
        raise RestyleError("the test's engine stops here")

    monkeypatch.setattr(matte, "create_engine", create_engine)
    source = clip(tmp_path / "src")
    matting = MatteJob(source, tmp_path / "out", library=library, format="png")
    with pytest.raises(RestyleError, match="stops here"):
        matting.run(progress=happened.append)
    first = happened[0]
    assert isinstance(first, Progress), happened
    assert (first.stage, first.done, first.total) == ("setup", 0, FRAMES), happened
    assert first.message == "building the network"
    assert happened[1] == "engine", happened
    assert not (tmp_path / "out").exists()  # nothing made


def test_a_stabiliser_says_it_tracks_before_its_first_frame(tmp_path, monkeypatch):
    from restyle.core.mappings import stabilize_job

    source = clip(tmp_path / "src")
    happened: list = []
    from restyle.core import media  # imported where it tracks

    real = media.decode_range

    def decode_range(*args, **kwargs):
        happened.append("decoding")
        return real(*args, **kwargs)

    monkeypatch.setattr(media, "decode_range", decode_range)
    stabilize_job.StabilizeJob(source, tmp_path / "out").run(progress=happened.append)
    first = happened[0]
    assert isinstance(first, Progress), happened
    assert (first.stage, first.done, first.total) == ("track", 0, FRAMES), happened
    assert first.message == "Tracking the camera"
    assert happened.index("decoding") == 1, happened  # said before the source is read
    assert "setup" not in {p.stage for p in happened if isinstance(p, Progress)}  # no network


# -- 3. the OpenVINO child's shared blocks ---------------------------------------------------
def mapped_blocks(pid: int) -> set[str]:
    """The shared-memory blocks process ``pid`` maps (removed ones too: '(deleted)')."""
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {line.split("/dev/shm/")[1].split()[0] for line in maps if "/dev/shm/psm_" in line}


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/PID/maps")
def test_the_child_unmaps_the_blocks_it_no_longer_gets(library):
    """Frames growing from request to request replace the parent's block each time; the
    child kept every one it had been sent mapped until the job ended."""
    pytest.importorskip("openvino")
    from restyle.core.engines.child import ChildEngine
    from restyle.models.registry import ARCHS

    styles = np.eye(26, dtype=np.float32)[[3]]
    child = ChildEngine(library.builtin_file("multistyle26", ".onnx"), ARCHS["multistyle26"])
    rng = np.random.default_rng(5)
    try:
        for side in (32, 48, 64, 80, 96, 112):  # each a bigger block than the one before
            frames = rng.random((1, 3, side, side), dtype=np.float32)
            assert child.run(frames, styles).shape == frames.shape  # 'forget' read before
        pid = child._child.proc.pid
        held = {block.name.lstrip("/") for block in child._child.held}
        assert len(held) == 1
        assert mapped_blocks(pid) == held, (mapped_blocks(pid), held)
    finally:
        child.close()


# -- 4. a picture style's content stamp ------------------------------------------------------
def test_two_style_pictures_differing_in_one_middle_byte_key_apart(tmp_path):
    """A picture style's file was stamped by 16 blocks of 64 KiB above 1 MiB: two pictures of
    one name, size and time differing between them shared one settings key, so one's frames
    were reused as the other's. Its file is hashed whole now (the run reads it whole)."""
    import os

    import cv2

    from restyle.core.job import STAMP_SAMPLE, StyleJob, _sample_offsets, file_stamp

    rng = np.random.default_rng(7)
    picture = rng.integers(0, 255, (700, 800, 3), dtype=np.uint8)  # a 1.7 MB BMP
    first, second = tmp_path / "a" / "style.bmp", tmp_path / "b" / "style.bmp"
    for path in (first, second):
        path.parent.mkdir()
        assert cv2.imwrite(str(path), picture)
    data = bytearray(second.read_bytes())
    middle = len(data) // 2
    sampled = [(o, o + STAMP_SAMPLE) for o in _sample_offsets(len(data))]
    assert len(data) > 16 * STAMP_SAMPLE and not any(a <= middle < b for a, b in sampled)
    data[middle] ^= 0xFF  # one pixel's channel: still a picture
    second.write_bytes(bytes(data))
    os.utime(second, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns))
    assert file_stamp(first) == file_stamp(second)  # the sample does not see it
    source = clip(tmp_path / "src")
    keys = [StyleJob(source, tmp_path / "out", str(p)).validate().key for p in (first, second)]
    assert keys[0] != keys[1]
    assert file_stamp(first, whole=True) != file_stamp(second, whole=True)
    small = tmp_path / "small.bmp"  # up to 16 blocks: whole both ways (keys made before kept)
    assert cv2.imwrite(str(small), picture[:300])
    assert small.stat().st_size <= 16 * STAMP_SAMPLE
    assert file_stamp(small, whole=True) == file_stamp(small)
