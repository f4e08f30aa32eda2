"""Round 25 (engines25).

A. Blender's OpenVINO child (``ChildEngine``) carries its engine's precision-check time
   (``Settles.check_seconds``) to the parent, so a job's seconds and fps leave the check out
   there exactly as for an engine in this process (``job._Run.execute``).
B. CPU features without /proc/cpuinfo (Windows, macOS): ``cpu.cpu_flags`` asks the OS, and
   the bf16 and int8 paths are picked by features, never by vendor.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pytest

from restyle.core.engines import child

pytestmark = pytest.mark.usefixtures("private_home")

SLOW_CHECK_S = 1.5  # a check as slow as a 720p probe's, beside a tiny batch
SERVE = "from restyle.core.engines.child import serve"
# What the child runs first, its precision check slowed by SLOW_CHECK_S: the rest is BOOT's
# (the real process, pipes, protocol, OpenVINO engine and check).
SLOW_BOOT = child.BOOT.replace(
    SERVE,
    f"""import time
import restyle.core.engines.precision as precision
real_check = precision.checked_batch
def slow_check(*args, **kwargs):
    time.sleep({SLOW_CHECK_S})
    return real_check(*args, **kwargs)
precision.checked_batch = slow_check
{SERVE}""",
)


def _openvino_bf16() -> None:
    if importlib.util.find_spec("openvino") is None:
        pytest.skip("openvino is not installed")
    from restyle.core.engines.openvino_engine import import_openvino

    caps = import_openvino().Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if "BF16" not in caps:
        pytest.skip("OpenVINO reports no native BF16 on this CPU: nothing is checked")


def _tiny_model(home):
    """The 'Tiny' trained style's network, as ``Stylizer`` finds it."""
    from restyle.core.engines.base import ModelFiles
    from restyle.core.styles import ONNX_FILE, StyleLibrary
    from restyle.models.registry import get_arch

    style = StyleLibrary(home, bundled=None).resolve("Tiny")
    meta = style.meta
    return ModelFiles(get_arch(meta["arch"]), style.folder / ONNX_FILE, None, meta["arch_config"])


# -- A. the child's check time reaches the parent ----------------------------------------------
def test_the_slow_boot_is_boot_with_a_slow_check():
    """The tests below run the child's real start-up: only the check is slowed."""
    assert SLOW_BOOT != child.BOOT and SLOW_BOOT.endswith(child.BOOT.split(SERVE)[1])


def test_a_child_engine_says_its_checks_seconds(tiny_style, monkeypatch):
    """The check runs in the child; its seconds come back with the first batch's reply (the
    old parent had none: 0.0, so Blender's fps counted the check as frame time)."""
    _openvino_bf16()
    monkeypatch.setattr(child, "BOOT", SLOW_BOOT)
    model = _tiny_model(tiny_style)
    engine = child.ChildEngine(model.onnx, model.arch, "cpu", "auto", config=model.config)
    try:
        assert engine.precision == "bf16", engine.note
        assert engine.check_seconds == 0.0  # nothing checked yet
        frames = np.random.default_rng(0).random((1, 3, 48, 64), np.float32)
        engine.run(frames)
        assert engine.decided is not None
        assert engine.check_seconds >= SLOW_CHECK_S, engine.check_seconds
        said = engine.check_seconds
        engine.run(frames)  # settled: no more check, the same seconds
        assert engine.check_seconds == said
    finally:
        engine.close()


def test_an_older_reply_does_not_take_back_check_seconds():
    """Lanes apply replies in any order: a reply made before the check was counted says
    less than the parent already has, and the parent keeps the most said."""
    parent = object.__new__(child.ChildEngine)
    parent._update({"check_seconds": 2.5, "decided": "bf16"})
    parent._update({"check_seconds": 0.0, "decided": "bf16"})
    assert parent.check_seconds == 2.5


def test_a_blender_jobs_frame_time_leaves_out_the_childs_check(tmp_path, tiny_style, monkeypatch):
    """As ``test_lead24``'s in-process run, through the child process Blender runs OpenVINO
    in: the job's seconds leave the check out."""
    _openvino_bf16()
    import cv2

    from restyle.core import engines
    from restyle.core.job import StyleJob

    monkeypatch.setattr(engines, "inside_blender", lambda: True)  # the child, as in Blender
    monkeypatch.setattr(child, "BOOT", SLOW_BOOT)
    made = []
    real_engine = child.ChildEngine

    class Recorded(real_engine):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(child, "ChildEngine", Recorded)
    folder = tmp_path / "src"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        cv2.imwrite(str(folder / f"f_{i:04d}.png"), rng.integers(0, 255, (48, 64, 3), np.uint8))
    job = StyleJob(folder, tmp_path / "out", "Tiny", library=tiny_style, carry=0.0)
    start = time.perf_counter()
    result = job.run()
    whole = time.perf_counter() - start
    assert made and made[0].decided is not None, "no child engine ran"
    assert result.written == 2
    assert result.seconds < whole - SLOW_CHECK_S, (result.seconds, whole)
    assert made[0].check_seconds >= SLOW_CHECK_S
