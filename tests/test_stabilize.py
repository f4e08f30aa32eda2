"""Stabilisation: camera tracking, the L1-optimal path, crop, cuts, and `restyle stabilize`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core.errors import RestyleError
from restyle.core.mappings.stabilize import (
    CameraMotion,
    StabilizeSettings,
    jitter,
    plan_stabilization,
    track_camera,
)
from restyle.core.mappings.stabilize_job import StabilizeJob
from restyle.core.media import decode_range, probe
from restyle.core.progress import CancelToken

from clips import encode_clip

SIZE = (320, 180)


def photo(name: str) -> np.ndarray:
    from skimage import data

    return getattr(data, name)()[..., :3]


def shaken(name: str, n: int, *, seed: int = 0, pan: float = 0.0, amount: float = 4.0):
    """Frames of a still photo seen through a shaking camera (known per-frame shifts in px,
    rotations in degrees), with an optional steady pan; a 1.25x zoom keeps borders filled."""
    rng = np.random.default_rng(seed)
    image = photo(name)
    zoom = max(SIZE[0] / image.shape[1], SIZE[1] / image.shape[0]) * 1.25
    t = np.arange(n)
    dx = amount * np.sin(2 * np.pi * t / 5.3) + amount / 2 * rng.standard_normal(n) + pan * t
    dy = amount * np.sin(2 * np.pi * t / 4.1 + 1) + amount / 2 * rng.standard_normal(n)
    turn = 0.3 * np.sin(2 * np.pi * t / 6.7)
    centre = (image.shape[1] / 2, image.shape[0] / 2)
    frames = []
    for i in range(n):
        m = cv2.getRotationMatrix2D(centre, turn[i], zoom)
        m[:, 2] += (SIZE[0] / 2 - centre[0] + dx[i], SIZE[1] / 2 - centre[1] + dy[i])
        frames.append(cv2.warpAffine(image, m, SIZE, flags=cv2.INTER_CUBIC))
    return frames, dx, dy


def warped(plan, frames):
    return [plan.warp(i, f) for i, f in enumerate(frames)]


def test_tracking_recovers_known_shifts():
    frames, dx, dy = shaken("astronaut", 12)
    motion = track_camera(frames, "similarity", find_cuts=False)
    # motions[i] takes frame i to frame i-1: its shift is the camera's move, reversed
    shift = motion.motions[1:, :2, 2] * SIZE[1]
    expected = np.stack([dx[:-1] - dx[1:], dy[:-1] - dy[1:]], axis=1)
    assert np.abs(shift - expected).max() < 0.5  # rotation is about the centre: no shift there


@pytest.mark.parametrize("mode", ["translation", "similarity", "perspective"])
def test_jitter_is_cut_and_no_border_shows(mode):
    frames, _, _ = shaken("astronaut", 40)
    settings = StabilizeSettings(mode=mode)
    plan = plan_stabilization(track_camera(frames, mode), settings)
    before = jitter(track_camera(frames, "similarity"))
    after = jitter(track_camera(warped(plan, frames), "similarity"))
    assert after["shift_px"] <= 0.25 * before["shift_px"], (before, after)
    if mode != "translation":
        assert after["rotation_deg"] <= 0.25 * before["rotation_deg"]
    # no empty border: warping an all-white frame with a black outside stays all white
    white = np.full((SIZE[1], SIZE[0]), 255, np.uint8)
    for matrix in plan.warps:
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        if plan.perspective:
            out = cv2.warpPerspective(white, matrix, SIZE, flags=flags, borderValue=0)
        else:
            out = cv2.warpAffine(white, matrix[:2], SIZE, flags=flags, borderValue=0)
        assert out.min() == 255
    assert all((1 - settings.crop) ** 2 - 1e-6 <= k <= 1.0 for k in plan.kept_area)


def test_path_resets_at_cuts():
    first, _, _ = shaken("astronaut", 24, seed=1)
    second, _, _ = shaken("coffee", 20, seed=2)
    motion = track_camera(first + second, "similarity")
    assert motion.cuts == [24]
    settings = StabilizeSettings()
    together = plan_stabilization(motion, settings)
    alone = plan_stabilization(track_camera(second, "similarity", find_cuts=False), settings)
    # the second shot's warps do not depend on the first shot at all
    np.testing.assert_allclose(together.warps[24:], alone.warps, atol=1e-6)


def test_tripod_holds_the_camera_still():
    frames, _, _ = shaken("astronaut", 30, pan=0.4, amount=3.0)
    tripod = plan_stabilization(track_camera(frames), StabilizeSettings(tripod=True, crop=0.2))
    moved = track_camera(warped(tripod, frames), "similarity", find_cuts=False)
    shift = np.abs(moved.motions[1:, :2, 2] * SIZE[1])
    assert shift.max() < 0.35  # sub-pixel: no pan, no shake


def test_strength_zero_changes_nothing():
    frames, _, _ = shaken("astronaut", 10)
    plan = plan_stabilization(track_camera(frames), StabilizeSettings(strength=0.0, crop=0.0))
    np.testing.assert_allclose(plan.warps, np.broadcast_to(np.eye(3), plan.warps.shape), atol=1e-9)
    assert np.array_equal(plan.warp(3, frames[3]), frames[3])


def test_bad_settings_are_refused():
    for bad in (
        StabilizeSettings(mode="zoom"),
        StabilizeSettings(crop=0.8),
        StabilizeSettings(smoothness=2),
        StabilizeSettings(strength=-1),
    ):
        with pytest.raises(RestyleError):
            bad.check()
    with pytest.raises(RestyleError):
        track_camera([])


def test_static_clip_is_left_alone():
    still = [photo("astronaut")[:180, :320].copy() for _ in range(8)]
    motion = track_camera(still)
    assert isinstance(motion, CameraMotion) and motion.cuts == []
    plan = plan_stabilization(motion, StabilizeSettings())
    assert plan.kept_area == [1.0]  # nothing moves: nothing cropped
    assert np.abs(plan.warp(5, still[5]).astype(int) - still[5]).max() <= 1


# -- the job and the command line ----------------------------------------------------------
@pytest.fixture(scope="module")
def shaky_clip(tmp_path_factory) -> Path:
    frames, _, _ = shaken("astronaut", 30, seed=3)
    return encode_clip(tmp_path_factory.mktemp("shaky") / "shaky.mkv", frames, codec="ffv1")


def run_cli(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "restyle", *args], capture_output=True, text=True, timeout=300
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_cli_writes_every_frame_at_source_size_and_resumes(shaky_clip, tmp_path):
    out = tmp_path / "steady"
    code, stdout, stderr = run_cli("stabilize", str(shaky_clip), "-o", str(out), "--end", "19")
    assert code == 0, stderr
    frames = sorted(out.glob("*.png"))
    assert [f.name for f in frames] == [f"{i:06d}.png" for i in range(20)]
    assert all(cv2.imread(str(f)).shape == (SIZE[1], SIZE[0], 3) for f in frames)
    source = list(decode_range(shaky_clip, 0, 19))
    before = jitter(track_camera(source))
    steady = [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in frames]
    assert jitter(track_camera(steady))["shift_px"] <= 0.25 * before["shift_px"]
    again = StabilizeJob(shaky_clip, out, end=19).run()
    assert again.reused == 20 and again.written == 0


def test_movie_output_has_the_same_frames(shaky_clip, tmp_path):
    out = tmp_path / "steady.mp4"
    code, _, stderr = run_cli("stabilize", str(shaky_clip), "-o", str(out), "--mode", "perspective")
    assert code == 0, stderr
    info = probe(out)
    assert (info.frame_count, info.width, info.height) == (30, *SIZE)


def test_cancel_keeps_finished_frames(shaky_clip, tmp_path):
    out = tmp_path / "steady"
    token = CancelToken()

    def progress(p):
        if p.stage == "stabilize" and p.done >= 3:
            token.cancel()

    result = StabilizeJob(shaky_clip, out).run(progress=progress, cancel=token)
    assert result.cancelled and 3 <= len(result.frame_files) < 30
    resumed = StabilizeJob(shaky_clip, out).run()
    assert resumed.reused == len(result.frame_files) and resumed.written + resumed.reused == 30
    other = StabilizeJob(shaky_clip, out, crop=0.2)
    with pytest.raises(RestyleError, match="other settings"):
        other.run()


@pytest.mark.parametrize(
    "args,message",
    [
        (["missing.mp4"], "does not exist"),
        (["{clip}", "--start", "25", "--end", "40"], "--end 40 is past the source's last frame"),
        (["{clip}", "--start", "9", "--end", "4"], "--start 9 is after --end 4"),  # not "outside"
        (["{clip}", "--crop", "0.9"], "crop"),
        (["{clip}", "--smoothness", "-1"], "smoothness"),
        (["{clip}", "--strength", "3"], "strength"),
    ],
)
def test_bad_input_exits_2_with_one_line(shaky_clip, tmp_path, args, message):
    out = tmp_path / "out"
    args = [a.format(clip=shaky_clip) for a in args]
    code, _, stderr = run_cli("stabilize", *args, "-o", str(out))
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("restyle: error:") and message in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_alpha_and_depth_are_kept(tmp_path, bit_depth):
    from clips import make_image_sequence

    folder = make_image_sequence(tmp_path / "rgba", 6, (96, 64), bit_depth=bit_depth, alpha=True)
    folder = folder[0].parent
    result = StabilizeJob(folder, tmp_path / "out").run()
    assert result.written == 6
    for f, src in zip(result.frame_files, decode_range(folder, 0, 5), strict=True):
        out = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        assert out.dtype == src.dtype and out.shape == src.shape


def test_long_shots_are_solved_in_windows_without_seams(monkeypatch):
    from restyle.core.mappings import stabilize

    frames, _, _ = shaken("astronaut", 48, seed=5)
    motion = track_camera(frames)
    monkeypatch.setattr(stabilize, "WINDOW", 16)
    monkeypatch.setattr(stabilize, "OVERLAP", 4)
    plan = plan_stabilization(motion, StabilizeSettings())
    before = jitter(motion)
    after = jitter(track_camera(warped(plan, frames), find_cuts=False))
    assert after["shift_px"] <= 0.25 * before["shift_px"], (before, after)


def test_json_carries_the_warnings(tmp_path, capsys):
    """A variable-rate source's warning went to stderr only: stylize's --json record had it
    under 'warnings', stabilize's and matte's had no such key."""
    import json

    import av

    from restyle.core.cli import main

    from clips import index_frame

    path = tmp_path / "vfr.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "bgr0"
        for slot in (0, 1, 2, 5, 6, 7):  # slots 3 and 4 have no frame of their own
            frame = av.VideoFrame.from_ndarray(index_frame(slot, (96, 64)), format="rgb24")
            frame.pts = slot
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    assert main(["stabilize", str(path), "-o", str(tmp_path / "out"), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert any("variable frame rate" in w for w in record["warnings"])


def test_the_manifest_is_as_shareable_as_the_frames(tmp_path):
    """A farm's second user (same group, umask 002) could write the frames but not read the
    folder's .restyle.json (mkstemp's private 0600), so its resume was refused as 'frames
    made with other settings'."""
    import os
    import stat

    from clips import make_image_sequence

    folder = make_image_sequence(tmp_path / "in", 3, (96, 64))[0].parent
    old = os.umask(0o002)
    try:
        result = StabilizeJob(folder, tmp_path / "out").run()
    finally:
        os.umask(old)
    frame_mode = stat.S_IMODE(result.frame_files[0].stat().st_mode)
    manifest_mode = stat.S_IMODE((tmp_path / "out" / ".restyle.json").stat().st_mode)
    assert frame_mode == manifest_mode == 0o664


def test_tracking_progress_ends_full(shaky_clip):
    """The tracking bar went back to 0% for 'Smoothing the camera path' and stayed there on
    the terminal ('track: 0%| 0/30') once every frame had been tracked."""
    track = []

    def progress(p):
        if p.stage == "track":
            track.append((p.done, p.total, p.message))

    job = StabilizeJob(shaky_clip, None, end=9)
    job.camera_plan(job.validate(), progress, None)
    assert track[-1] == (10, 10, "Smoothing the camera path")


@pytest.mark.parametrize("empty", ["input", "output"])
def test_an_empty_path_is_refused_not_the_current_folder(shaky_clip, tmp_path, monkeypatch, empty):
    """An unset "$OUT" (-o '') wrote the frames into the current folder when it was empty;
    an unset "$IN" read the current folder's pictures as the clip."""
    from restyle.core.cli import main

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    if empty == "input":
        cv2.imwrite(str(work / "holiday.png"), np.zeros((64, 96, 3), np.uint8))
    args = ["", "-o", str(tmp_path / "out")] if empty == "input" else [str(shaky_clip), "-o", ""]
    assert main(["stabilize", *args]) == 2
    assert [p.name for p in work.iterdir()] == (["holiday.png"] if empty == "input" else [])
    assert not (tmp_path / "out").exists()


def test_an_exr_source_is_refused_in_one_line(tmp_path):
    """OpenCV's wheels leave OpenEXR out, and OpenCV printed its own '[ WARN:0@...]
    initOpenEXR ...' line above Restyle's one-line error."""
    import os

    folder = tmp_path / "exr"
    folder.mkdir()
    for i in range(2):  # a real EXR header is enough: the codec refuses before decoding
        (folder / f"f_{i:03d}.exr").write_bytes(b"\x76\x2f\x31\x01" + bytes(60))
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, "-m", "restyle", "stabilize", str(folder), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("restyle: error:") and "exr" in lines[0]


def test_json_of_a_run_cancelled_while_tracking(shaky_clip, tmp_path, capsys, monkeypatch):
    """Ctrl-C while the camera was tracked gave 'cuts': null and 'device': '' (a finished
    run: a list, and 'cpu'), so a script's len(record['cuts']) failed on exactly that run."""
    import json

    from restyle.core.cli import main
    from restyle.core.errors import Cancelled
    from restyle.core.mappings import stabilize_job

    def cancelled(*args, **kwargs):
        raise Cancelled("cancelled")

    monkeypatch.setattr(stabilize_job, "track_camera", cancelled)
    assert main(["stabilize", str(shaky_clip), "-o", str(tmp_path / "out"), "--json"]) == 130
    record = json.loads(capsys.readouterr().out)
    assert record["cancelled"] and record["cuts"] == [] and record["kept_area"] == []
    assert (record["backend"], record["device"]) == ("opencv", "cpu")
    assert not (tmp_path / "out").exists()


def test_shots_names_a_reversed_range(shaky_clip, capsys):
    """'restyle shots --start 9 --end 4' said 'frame range 9..4 is outside the source's
    frames 0..29', of two frames that are both inside."""
    from restyle.core.cli import main

    assert main(["shots", str(shaky_clip), "--start", "9", "--end", "4"]) == 2
    assert capsys.readouterr().err.strip() == "restyle: error: --start 9 is after --end 4"


def test_a_finished_rerun_does_not_track_again(shaky_clip, tmp_path, capsys, monkeypatch):
    """A rerun into a folder whose every frame is written tracked the whole range again, then
    reused every frame; now it reuses them at once and --json still reports the path's cuts
    and kept area (kept in the manifest). A manifest without them (older runs) tracks again."""
    import json

    from restyle.core.cli import main
    from restyle.core.job import MANIFEST
    from restyle.core.mappings import stabilize_job

    out = tmp_path / "steady"
    args = ["stabilize", str(shaky_clip), "-o", str(out), "--end", "19", "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    frames = {p.name: p.read_bytes() for p in out.glob("*.png")}
    tracked = []
    real_track = stabilize_job.track_camera

    def counting(*a, **k):
        tracked.append(1)
        return real_track(*a, **k)

    monkeypatch.setattr(stabilize_job, "track_camera", counting)
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert not tracked and again["written"] == 0 and again["reused"] == 20
    assert (again["kept_area"], again["cuts"]) == (first["kept_area"], first["cuts"])
    assert first["kept_area"] and {p.name: p.read_bytes() for p in out.glob("*.png")} == frames
    record = json.loads((out / MANIFEST).read_text())
    del record["kept_area"], record["cuts"]
    (out / MANIFEST).write_text(json.dumps(record))
    assert main(args) == 0
    older = json.loads(capsys.readouterr().out)
    assert tracked and (older["kept_area"], older["cuts"]) == (first["kept_area"], first["cuts"])
    (out / "000007.png").unlink()  # a hole: the path is needed again
    tracked.clear()
    assert main(args) == 0 and tracked
    assert json.loads(capsys.readouterr().out)["written"] == 1
    assert (out / "000007.png").read_bytes() == frames["000007.png"]


def test_a_second_run_into_the_same_output_is_refused_before_tracking(
    shaky_clip, tmp_path, monkeypatch
):
    """A run into an output another run is writing was refused only after tracking the
    whole range; the lock is now taken before the first pass."""
    from restyle.core.mappings import stabilize_job
    from restyle.core.writers import OutputLock

    tracked = []
    monkeypatch.setattr(stabilize_job, "track_camera", lambda *a, **k: tracked.append(1))
    out = tmp_path / "steady"
    out.mkdir()
    with OutputLock(out), pytest.raises(RestyleError, match="being written by another"):
        StabilizeJob(shaky_clip, out, end=9).run()
    assert not tracked and not list(out.iterdir())


def test_json_progress_names_each_pass(shaky_clip, tmp_path, capsys):
    """--json counted to 100 % twice (tracking, then writing) with no stage to tell them
    apart; Python's Progress had one. Each event now carries it, and each pass ends at 100 %."""
    import json

    from restyle.core.cli import main

    assert main(["stabilize", str(shaky_clip), "-o", str(tmp_path / "out"), "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    events = [e for e in events if e["event"] == "progress"]
    stages = [e["stage"] for e in events]
    assert sorted(set(stages), key=stages.index) == ["track", "stabilize"]
    assert stages == sorted(stages, key=["track", "stabilize"].index)  # never back to track
    for stage in ("track", "stabilize"):
        last = [e for e in events if e["stage"] == stage][-1]
        assert last["done"] == last["total"] > 0
