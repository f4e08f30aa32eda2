"""Round 22, precision fixes after the review of the precision verdicts (3ca21ee).

- A race: the first-batch check set ``checked = True`` before ``precision = "fp32"`` (each
  engine, in that order), so the second OpenVINO lane, which read ``checked`` outside the
  lock, ran a frame in bf16 after the check had failed, and ``stylizer.decided_precision``
  (the writer thread's, for the frames folder's manifest) could say "bf16" for a failed
  check: kept once in the manifest, a killed run then resumed held to the failed
  precision. Now each engine settles one value, ``decided`` (``precision.Settles``, shared),
  in one assignment after the verdict, and lanes and ``decided_precision`` read only it.
- With fp32 asked, the engine line said "(the CPU has native bf16; ...)": it says fp32 was
  asked now; each other cause of the precision is said as it is (the bf16 verdict with its
  dB, a network kept in fp32, a CPU without bf16).
"""

from __future__ import annotations

import json
import sys
import threading

import numpy as np
import pytest
from test_bf16_round21 import frames
from test_engines import AVX2, AVX512_BF16, multistyle, one_hot, smooth_frame
from test_latefix_round21 import ENGINES, Counted

from restyle.core import cli
from restyle.core import engines as engines_module
from restyle.core.engines import choose_backend, create_engine, explain
from restyle.core.engines import cpu as cpu_features
from restyle.core.stylizer import decided_precision

pytestmark = pytest.mark.usefixtures("private_home")


def watched(engine, on_write) -> None:
    """``engine`` calls ``on_write(name)`` after each attribute it sets (what another
    thread may read at that moment)."""
    base = type(engine)

    def __setattr__(self, name, value):
        base.__setattr__(self, name, value)
        on_write(name)

    engine.__class__ = type(f"Watched{base.__name__}", (base,), {"__setattr__": __setattr__})


# -- 1. one settled value -------------------------------------------------------------------
@pytest.mark.parametrize("bad", [True, False], ids=["check-fails", "check-passes"])
@pytest.mark.parametrize("make", ENGINES)
def test_decided_precision_never_says_a_precision_the_check_did_not_settle(
    make, bad, tiny_style, monkeypatch
):
    """Read after every attribute the check sets (as the writer thread may read it between
    two of them): never the reduced precision of a check that failed. The old order gave
    'bf16' (OpenVINO, PyTorch) and 'fp16' (ONNX Runtime) between ``checked = True`` and
    ``precision = 'fp32'``."""
    counted = Counted()
    engine, reduced = make(tiny_style, monkeypatch, counted, bad=bad)
    seen: list = []
    watched(engine, lambda _name: seen.append(decided_precision(engine)))
    try:
        engine.run(frames("grey", "photo"))
        final = "fp32" if bad else reduced
        assert decided_precision(engine) == engine.precision == final, engine.note
        assert set(seen) <= {None, final}, seen
        assert final in seen
    finally:
        engine.close()


def test_a_second_lane_never_runs_the_precision_a_failed_check_dropped(tiny_style, monkeypatch):
    """OpenVINO's lanes: another lane's batch, started at each moment the checking lane sets
    something, runs fp32 once the bf16 check failed (it waits for the verdict). The old
    lane read ``checked`` outside the lock and ran bf16 between ``checked = True`` and
    ``precision = 'fp32'``."""
    pytest.importorskip("openvino")
    from test_bf16_round21 import styled

    from restyle.core.engines.openvino_engine import OpenVinoEngine
    from restyle.models.registry import ARCHS

    engine = OpenVinoEngine(tiny_style / "styles" / "tiny" / "model.onnx", ARCHS["fewshot"])
    engine.precision, engine.checked = "bf16", False  # as on a bf16 CPU
    runs: dict[str, list[str]] = {}

    def infer(images, _condition, precision):
        runs.setdefault(threading.current_thread().name, []).append(precision)
        return styled(np.asarray(images), precision, bad=True)  # bf16 misses the bar

    monkeypatch.setattr(engine, "_infer", infer)
    lanes: list[threading.Thread] = []
    checking = threading.Event()  # the checking lane's batch, started and not yet returned

    def another_lane(_name):
        if threading.current_thread() is threading.main_thread() and checking.is_set() and runs:
            lane = threading.Thread(target=engine.run, args=(frames("photo"),))
            lane.name = f"lane-{len(lanes)}"
            lanes.append(lane)
            lane.start()
            lane.join(0.2)  # the old lane ran here at once; a waiting one runs after

    watched(engine, another_lane)
    try:
        checking.set()
        engine.run(frames("grey", "photo"))
        checking.clear()
        for lane in lanes:
            lane.join(10)
        assert lanes and not any(lane.is_alive() for lane in lanes)
        assert sorted(runs.pop("MainThread")) == ["bf16", "fp32"]  # the check
        assert runs and all(p == ["fp32"] for p in runs.values()), runs
        assert decided_precision(engine) == "fp32"
    finally:
        engine.close()


def test_the_engines_share_one_settling_rule():
    """One implementation (``precision.Settles``), not three copies of the check's steps."""
    from restyle.core.engines.onnx_engine import OnnxEngine
    from restyle.core.engines.openvino_engine import OpenVinoEngine
    from restyle.core.engines.precision import Settles
    from restyle.core.engines.torch_engine import TorchEngine

    for engine in (OpenVinoEngine, TorchEngine, OnnxEngine):
        assert issubclass(engine, Settles)
        assert "_settle" not in vars(engine) and "checked_batch" not in vars(
            sys.modules[engine.__module__]
        )


# -- 2. the engine line's reason says the true cause ---------------------------------------
@pytest.fixture
def bf16_cpu(monkeypatch):
    """A CPU with native bf16 (OpenVINO installed, outside Blender), whatever this one is."""
    pytest.importorskip("openvino")
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: AVX512_BF16)
    monkeypatch.delitem(sys.modules, "bpy", raising=False)


def test_fp32_asked_is_said_not_the_cpus_bf16(library, bf16_cpu, monkeypatch):
    model = multistyle(library)
    choice = choose_backend(model, "auto", "fp32")
    assert choice.reason == "fp32 asked", choice
    assert choose_backend(model).reason == "the CPU has native bf16"  # auto: as before
    engine = create_engine(model, "auto", "cpu", "fp32")
    try:
        line = explain(engine)
        assert line.startswith(f"{choice.backend} fp32 on cpu (fp32 asked"), line
        assert "native bf16" not in line, line
    finally:
        engine.close()
    for backend in ("openvino", "onnx"):  # a backend set: that, and fp32 asked
        engine = create_engine(model, backend, "cpu", "fp32")
        try:
            assert "fp32 asked" in explain(engine) and "set by" in engine.reason
        finally:
            engine.close()
    # inside Blender (OpenVINO in a child process) and with PyTorch alone: the same words
    monkeypatch.setitem(sys.modules, "bpy", object())
    assert choose_backend(model, "auto", "fp32").reason == "fp32 asked"
    monkeypatch.delitem(sys.modules, "bpy")
    monkeypatch.setattr(engines_module, "openvino_available", lambda: False)
    monkeypatch.setattr(engines_module, "torch_available", lambda: True)
    torch_choice = choose_backend(model, "auto", "fp32")
    assert "fp32 asked" in torch_choice.reason and "native" not in torch_choice.reason
    assert "OpenVINO is not installed" not in torch_choice.reason


def test_a_held_resume_at_fp32_does_not_say_fp32_was_asked(library, bf16_cpu):
    """A folder resumed at the fp32 its first run's failed check left is built at fp32 with
    auto asked (``stylizer.held_engine``): the reason is auto's, not 'fp32 asked'."""
    engine = create_engine(multistyle(library), "auto", "cpu", "fp32", asked="auto")
    try:
        assert "fp32 asked" not in engine.reason and "native bf16" in engine.reason
    finally:
        engine.close()


def test_auto_says_the_bf16_verdict_passed_or_failed_with_its_db(library, bf16_cpu, monkeypatch):
    import openvino

    if "BF16" not in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        pytest.skip("no bf16 in OpenVINO on this CPU")
    from restyle.core.engines import precision

    model = multistyle(library)
    engine = create_engine(model, "auto", "cpu")
    try:
        engine.run(smooth_frame(), one_hot(3))
        line = explain(engine)
        assert line.startswith("openvino bf16 on cpu (the CPU has native bf16"), line
        assert "bf16 checked: " in line and " dB against fp32 on the probe picture" in line
    finally:
        engine.close()
    monkeypatch.setattr(precision, "judged_psnr", lambda out, ref, images: 20.0)
    monkeypatch.setenv(precision.VERDICTS_ENV, str(library.root / "missed.json"))
    engine = create_engine(model, "auto", "cpu")
    try:
        engine.run(smooth_frame(), one_hot(3))
        line = explain(engine)
        assert line.startswith("openvino fp32 on cpu (the CPU has native bf16"), line
        assert "bf16 gave 20.0 dB against fp32" in line and "running fp32" in line, line
        assert "fp32 asked" not in line
    finally:
        engine.close()


def test_a_network_kept_in_fp32_and_a_cpu_without_bf16_say_so(library, bf16_cpu, monkeypatch):
    model = multistyle(library)
    kept = "a style with span guides runs fp32"
    monkeypatch.setattr(type(model.arch), "fp32_only", lambda _s, _c=None: kept)
    for asked in ("auto", "fp32"):
        reason = choose_backend(model, "auto", asked).reason
        assert kept in reason and "native bf16" not in reason, reason
    monkeypatch.undo()
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: AVX2)
    for asked in ("auto", "fp32"):
        reason = choose_backend(model, "auto", asked).reason
        assert "no native bf16 on this CPU" in reason, reason


def test_the_command_lines_json_engine_says_fp32_was_asked(
    library, bf16_cpu, index_clip_h264, tmp_path, capsys
):
    argv = ["stylize", str(index_clip_h264), "-o", str(tmp_path / "out"), "-s", "comic-ink"]
    argv += ["--end", "1", "--precision", "fp32", "--library", str(library.root), "--json"]
    code = cli.main(argv)
    said = capsys.readouterr()
    assert code == 0, said.err
    engine = json.loads(said.out)["engine"]
    assert " fp32 on cpu (fp32 asked" in engine and "native bf16" not in engine, engine
