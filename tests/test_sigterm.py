"""SIGTERM (how Ray stops a job, and farm schedulers, ``kill``, systemd and Docker stop a
program) stops ``restyle`` as Ctrl-C does: every finished frame kept, no scratch file or lock
left, a rerun resumes; exit code 143 (128 + SIGTERM). Unhandled, Python died at once: a
movie's ``.part`` file and the output lock stayed, and a Ray run's staged frames were never
moved into the output (Ray's own handler exited 1 with no summary)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from restyle.core import cli, interrupt, ray_submit

FRAMES = 40


@pytest.fixture(scope="module")
def slow_clip(tmp_path_factory) -> Path:
    """Frames large enough that a run lasts seconds (a 160x96 clip could finish first)."""
    from clips import encode_clip, pan_frames

    folder = tmp_path_factory.mktemp("sigterm-source")
    return encode_clip(folder / "pan.mkv", pan_frames(FRAMES, (480, 288)), codec="ffv1")


def stylize(clip: Path, output: Path, library, *more: str) -> list[str]:
    return [sys.executable, "-m", "restyle", "stylize", str(clip), "-o", str(output),
            "-s", "starry-swirls", "--backend", "onnx", "--library", str(library.root),
            "--json", *more]  # fmt: skip


def wait_for(proc: subprocess.Popen, ready, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "the run ended before it could be stopped"
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.02)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def leftovers(folder: Path) -> list[str]:
    """Hidden files anywhere under ``folder``: scratch files, locks (the manifest excepted)."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob(".*")
        if p.name != ".restyle.json" and ".restyle-chunks" not in p.parts
    )


def frames_in(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("[0-9]*.png")}


def test_sigterm_keeps_the_finished_frames_and_a_rerun_resumes(library, slow_clip, tmp_path):
    out = tmp_path / "frames"
    proc = subprocess.Popen(
        stylize(slow_clip, out, library), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for(proc, lambda: len(frames_in(out)) >= 2)
    proc.send_signal(signal.SIGTERM)
    code, stdout, stderr = finish(proc)
    assert code == 143, stderr  # 128 + SIGTERM (Ctrl-C: 130)
    record = json.loads(stdout)
    kept = frames_in(out)
    assert record["cancelled"] and record["written"] == len(kept) < FRAMES
    assert leftovers(tmp_path) == []  # no .restyle-part frame, no output lock
    rerun = subprocess.run(stylize(slow_clip, out, library), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    again = json.loads(rerun.stdout)
    assert (again["reused"], again["written"]) == (len(kept), FRAMES - len(kept))


def test_sigterm_leaves_no_half_made_movie(library, slow_clip, tmp_path):
    out = tmp_path / "styled.mp4"
    proc = subprocess.Popen(
        stylize(slow_clip, out, library), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for(proc, lambda: any(".restyle-part" in p.name for p in tmp_path.iterdir()))
    time.sleep(1.0)  # frames going into the scratch file
    proc.send_signal(signal.SIGTERM)
    code, stdout, stderr = finish(proc)
    assert code == 143, stderr
    assert json.loads(stdout)["cancelled"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no movie, .part or lock


def test_main_puts_the_callers_sigterm_handler_back(tmp_path, capsys):
    """A script calling cli.main keeps its own SIGTERM handler after it."""

    def mine(*_):
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        assert cli.main(["styles", "--library", str(tmp_path)]) == 0
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_main_from_a_thread_sets_no_handler(tmp_path, capsys):
    """README: cli.main may run in a script's thread, where Python refuses signal handlers."""
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(cli.main(["styles", "--library",
                                                                    str(tmp_path)])))  # fmt: skip
    worker.start()
    worker.join(timeout=120)
    assert codes == [0]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


@pytest.mark.slow
def test_sigterm_to_a_ray_run_moves_the_staged_frames_into_the_output(
    library, slow_clip, tmp_path, monkeypatch
):
    """Ray's stop: SIGTERM, SIGKILL 3 s later. run_chunks' finally links every chunk's
    finished frames from staging into the output, and the run says what it kept."""
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # every node on 127.0.0.1
    from ray.cluster_utils import Cluster

    from restyle.core.ray_runner import STAGING

    out = tmp_path / "ray"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    cluster.wait_for_nodes()
    command = stylize(slow_clip, out, library, "--ray", cluster.address, "--chunk-frames", "10")
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(proc, lambda: len(list((out / STAGING).glob("*/[0-9]*.png"))) >= 3)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code, stdout, stderr = finish(proc)
        took = time.monotonic() - signalled
        staged = {  # each chunk's own finished frames (a warm-up frame is another chunk's)
            p.name
            for folder in (out / STAGING).glob("*")
            for p in folder.glob("[0-9]*.png")
            if int(folder.name[:6]) <= int(p.stem) <= int(folder.name[7:])
        }
        assert code == 143, stderr
        assert took < 3.0, took  # before Ray's SIGKILL
        record = json.loads(stdout)
        kept = frames_in(out)
        assert record["cancelled"] and staged and staged <= kept
        assert record["written"] == len(kept) < FRAMES
        assert leftovers(tmp_path) == []  # the output lock released
        rerun = subprocess.run(command, capture_output=True, text=True)
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert rerun.returncode == 0, rerun.stderr
    again = json.loads(rerun.stdout)
    assert (again["reused"], again["written"]) == (len(kept), FRAMES - len(kept))


@pytest.mark.parametrize("argv", [["restyle", "stylize", "in.mp4", "--json"], ["restyle", "shots"]])
def test_a_signal_while_starting_ends_a_json_run_with_its_closing_record(argv, monkeypatch, capsys):
    """Before cli.main has taken the signals (imports under load take ~1 s), a --json run
    still prints the record Ray's driver reads to call a stop cancelled; others print none."""
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stopped:
        interrupt._cancelled_while_starting(signal.SIGTERM, None)
    assert stopped.value.code == 143
    out, err = capsys.readouterr()
    assert "restyle: cancelled" in err
    if "--json" in argv:
        assert ray_submit.final_record(out) == {"cancelled": True}
    else:
        assert out == ""
