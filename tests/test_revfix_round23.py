"""The reviewer's findings on round 22's commits (round 23), each checked on the old code.

1. A resume was held to the precision its frames were made with only where the engine
   auto picks had the same backend: frames made by ONNX Runtime fp32 (the backend set),
   resumed with auto on a bf16 CPU, went on in OpenVINO bf16 and the manifest said bf16
   for the whole folder. A resume is held by precision (``stylizer.hold_precision``):
   auto's engine runs the recorded precision where it can, and says who made the frames.
2. ``engines.torch_load_check`` (a Preferences draw starts it) ran ``sys.executable``, which
   in an old Blender is Blender's own binary: it started Blender. It asks
   ``child.child_python`` (which refuses a Blender binary) and says nothing then.
3. OpenVINO's precision check compiled the network at the probe picture's shape (144x192)
   in bf16 and f32 besides the frames' shape, and kept them until the engine closed. Once
   the check has settled, only the decided precision at the frames' shape is kept.
4. ``hold_precision`` returned True for an engine without ``checked`` at a reduced
   precision before setting its reason (dead since the child engine has ``checked``): gone,
   every held engine says why (``test_held_by_precision_without_a_check_flag``).
5. Converting the built-ins moved the mattes into the scratch folder and listed them only
   when all had moved: a move failing part-way left those moved unlisted, and the scratch
   folder was removed with them. Each is listed as it moves and put back.
6. The Ray driver decided the precision on the first frames that show something, though
   with this machine's verdict (``verdicts``) any first frame decides: it decoded past a
   black lead-in for nothing. With a verdict it styles the first frame; without the probe
   picture, the frames decide as before.
7. The verdicts file was never pruned (an entry per retrain, picture, mix or strength): it
   keeps ``precision.MAX_VERDICTS``, the newest by date.

"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import test_resume_precision_round21 as round21
import test_review_round22 as round22

from restyle.core import builtins as builtins_module
from restyle.core import engines, ray_runner
from restyle.core import stylizer as stylizer_module
from restyle.core.engines import precision
from restyle.core.job import MANIFEST
from restyle.core.stylizer import hold_precision

pytestmark = pytest.mark.usefixtures("private_home")
FRAMES = round21.FRAMES
machine = round22.machine  # a fixture: OpenVINO's engine (bf16 under auto) or ONNX Runtime's


# -- 1. held by precision, not by backend ------------------------------------------------------
def test_an_onnx_fp32_folder_resumed_under_auto_stays_fp32(tmp_path, tiny_style, machine):
    """Begun in ONNX Runtime fp32, resumed where auto picks OpenVINO (bf16 on this CPU): the
    frames left are made at fp32 by OpenVINO, and the manifest says fp32, made by both."""
    source = round21.clip(tmp_path / "src", red=range(0))  # greenish: bf16 would pass
    machine.openvino = False  # as --backend onnx made them
    first = round21.cancelled_after(source, tmp_path / "out", tiny_style, 4)
    record = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert (record["backend"], record["precision"]) == ("onnx", "fp32")
    machine.openvino = True
    resumed = round21.job(source, tmp_path / "out", tiny_style).run()
    assert resumed.reused == first.written and resumed.written == FRAMES - first.written
    assert machine.asked[-1] == "fp32"  # held: no auto engine built after it
    assert resumed.engine.startswith("openvino fp32 on cpu"), resumed.engine
    assert "fp32, " in resumed.engine and "frames already made by onnx on cpu" in resumed.engine
    record = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert record["precision"] == "fp32" and record["engine"] == resumed.engine
    round21.frames(tmp_path / "out")


def test_held_by_precision_without_a_check_flag():
    """An engine without ``checked`` at the held precision is held and says so (the old
    code returned True for a reduced one without its reason: the line said nothing)."""

    class Plain:
        backend, device, precision = "openvino", "cpu", "bf16"

    made = dict(backend="openvino", device="cpu", precision="bf16", why="bf16, as made")
    engine = Plain()
    assert hold_precision(engine, made) and engine.held_as == "bf16, as made"
    engine = Plain()
    engine.precision = "fp32"
    assert not hold_precision(engine, made) and not hasattr(engine, "held_as")


# -- 2. the PyTorch load check never starts a Blender binary -----------------------------------
def test_the_torch_load_check_never_runs_a_blender_binary(tmp_path, monkeypatch):
    """sys.executable names Blender (as an old Blender's did): no process is started."""
    ran = tmp_path / "ran"
    blender = tmp_path / "blender"
    blender.write_text(f"#!/bin/sh\necho started > {ran}\n")
    blender.chmod(0o755)
    monkeypatch.setattr(engines, "torch_available", lambda: True)
    monkeypatch.setattr(sys, "executable", str(blender))
    assert engines.torch_load_check(timeout=20) is None
    assert not ran.exists()
    # the same script under another name is run (what is refused is Blender's binary)
    python = tmp_path / "python3"
    os.link(blender, python)
    monkeypatch.setattr(sys, "executable", str(python))
    assert engines.torch_load_check(timeout=20) is None  # it says nothing: not told
    assert ran.read_text() == "started\n"


# -- 3. the precision check's compiled networks go once it has settled ------------------------
@pytest.mark.parametrize("bad", [False, True])
def test_openvino_keeps_only_the_frames_network_after_its_check(tiny_style, tmp_path, bad):
    """Checked on the probe picture (this machine's verdict, none kept yet): the networks
    compiled at its shape go, and any precision dropped at the frames' shape (``bad``: the
    verdict is a miss, so fp32 runs; else bf16 passes)."""
    pytest.importorskip("openvino")
    from restyle.core.engines.openvino_engine import OpenVinoEngine
    from restyle.core.engines.precision import Verdicts, probe_images
    from restyle.models.registry import ARCHS

    path = tiny_style / "styles" / "tiny" / "model.onnx"
    engine = OpenVinoEngine(path, ARCHS["fewshot"], precision="fp32")
    try:
        engine.precision, engine.decided = "bf16", None  # as on a bf16 CPU, unchecked
        engine.verdicts = Verdicts(tmp_path / "verdicts.json")
        # the probe's verdict as measured, its dB set: a miss (fp32 runs) or a pass
        db = -np.inf if bad else 99.0
        engine.verdicts.keep = lambda key, entry: Verdicts.keep(
            engine.verdicts, key, {**entry, "db": db}
        )
        frames = np.random.default_rng(3).random((2, 3, 48, 64), dtype=np.float32)
        assert probe_images(engine.arch.size_multiple).shape[2:] != frames.shape[2:]
        out = engine.run(frames)
        assert out.shape[0] == 2 and np.isfinite(out).all()
        decided = "fp32" if bad else "bf16"
        assert engine.decided == decided
        shapes = {(key[0], dict(key[1:])[engine.arch.input_name]) for key in engine._compiled}
        assert shapes == {(decided, (1, 3, 48, 64))}
        engine.run(frames)  # the frames still run at the decided precision
        assert len(engine._compiled) == 1
    finally:
        engine.close()


# -- 5. a matte move that fails part-way loses no matte ---------------------------------------
converted = round22.converted  # a fixture: the conversion stubbed


def test_a_matte_move_failing_part_way_puts_back_those_moved(tmp_path, converted, monkeypatch):
    folder = round22.built_ins(tmp_path / "bt" / "b")
    replace, moves = os.replace, []

    def second_fails(src, dst):  # the second matte cannot move (a locked file)
        if Path(src).parent == folder:
            moves.append(Path(src).name)
            if len(moves) == 2:
                raise PermissionError(13, "Permission denied", str(src))
        return replace(src, dst)

    monkeypatch.setattr(builtins_module.os, "replace", second_fails)
    with pytest.raises(PermissionError):
        builtins_module.install_builtins(folder, force=True)
    assert len(moves) == 2  # one moved, the next refused
    assert all((folder / name).read_bytes() == name.encode() for name in round22.MATTES)
    assert (folder / "multistyle26.onnx").read_bytes() == b"old"
    assert [p.name for p in folder.parent.iterdir()] == ["b"]  # no scratch folder left


# -- 6. the Ray driver's check: with this machine's verdict, the first frame decides ----------
class VerdictDecides(round22.FlatWaiting):
    """``CheckedEngine`` with this machine's verdict (``verdicts`` set, as ``create_engine``
    gives it): its first batch decides, flat or not (``precision.checked_batch``)."""

    verdicts = "this machine's"  # any kept verdicts: not None

    def __init__(self, arch, precision: str) -> None:
        super().__init__(arch, precision)
        self.shown: list[bool] = []  # whether each batch run showed something

    def run(self, images, condition=None):
        from restyle.core.engines.precision import shown

        self.runs += 1
        self.shown.append(bool(shown(images).any()))
        return round21.CheckedEngine.run(self, images, condition)


@pytest.fixture
def verdict_engines(monkeypatch) -> dict:
    """Every engine made (``all``), and those the driver's ``decide_precision`` made."""
    seen: dict = {"all": [], "driver": None}

    def create_engine(model, backend="auto", device="auto", precision="auto", **_words):
        seen["all"].append(VerdictDecides(model.arch, precision))
        return seen["all"][-1]

    decide = ray_runner.decide_precision

    def deciding(*args, **kwargs):
        before = len(seen["all"])
        try:
            return decide(*args, **kwargs)
        finally:
            seen["driver"] = seen["all"][before:]

    monkeypatch.setattr(stylizer_module, "create_engine", create_engine)
    monkeypatch.setattr(ray_runner, "decide_precision", deciding)
    return seen


def test_with_a_verdict_the_driver_styles_the_first_frame(
    tmp_path, tiny_style, verdict_engines, in_process
):
    """A black lead-in: the verdict decides on its first frame; the old driver decoded past
    the flat frames and styled the first that shows something."""
    source = round21.clip(tmp_path / "src", red=range(0))
    round22.black_lead_in(source, 4)
    job = round21.job(source, tmp_path / "ray", tiny_style)
    result = ray_runner.run_on_ray(job, "auto", max_frames=6)
    assert not result.cancelled and result.written == FRAMES
    (driver,) = verdict_engines["driver"]
    assert driver.runs == 1 and driver.shown == [False]  # the first (black) frame
    assert "bf16, as the run decided for every chunk" in result.engine, result.engine


def test_without_the_probe_picture_the_driver_skips_flat_frames(
    tmp_path, tiny_style, verdict_engines, in_process, monkeypatch
):
    """No probe picture (an install without it): the frames decide, flat ones skipped."""
    monkeypatch.setattr(precision, "PROBE_PICTURE", tmp_path / "missing.jpg")
    source = round21.clip(tmp_path / "src", red=range(0))
    round22.black_lead_in(source, 4)
    job = round21.job(source, tmp_path / "ray", tiny_style)
    result = ray_runner.run_on_ray(job, "auto", max_frames=6)
    assert not result.cancelled and result.written == FRAMES
    (driver,) = verdict_engines["driver"]
    assert driver.runs == 1 and driver.shown == [True]  # frame 4, the first shown
    assert "bf16, as the run decided for every chunk" in result.engine, result.engine


# -- 7. the verdicts file keeps the newest entries ---------------------------------------------
def test_the_verdicts_file_keeps_its_newest_entries(tmp_path, monkeypatch):
    """Capped (``MAX_VERDICTS``, 3 here): the oldest pass goes first, a miss after every
    pass, the entry just kept never; the old file grew by one per network and style."""
    monkeypatch.setattr(precision, "MAX_VERDICTS", 3, raising=False)
    verdicts = precision.Verdicts(tmp_path / "precision.json")

    def entry(day: int, db: float) -> dict:
        return {"db": db, "on": "probe", "date": f"2026-11-{day:02d}"}

    verdicts.keep("a", entry(1, 44.0))
    verdicts.keep("miss", entry(2, -np.inf))
    verdicts.keep("c", entry(3, 41.0))
    verdicts.keep("d", entry(4, 39.0))  # four: the oldest pass goes
    assert verdicts.get("a") is None and verdicts.get("miss") is not None
    verdicts.keep("e", entry(5, 40.0))
    kept = json.loads((tmp_path / "precision.json").read_text())["verdicts"]
    assert sorted(kept) == ["d", "e", "miss"]
    verdicts.keep("old", entry(1, 45.0))  # dated earlier, but just kept: stays
    kept = json.loads((tmp_path / "precision.json").read_text())["verdicts"]
    assert sorted(kept) == ["e", "miss", "old"]
