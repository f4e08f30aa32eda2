"""The reviewer's findings on round 23's commits (midfix), each checked on the old code.

1. ``stylizer.hold_precision`` held a resume to a reduced precision whatever engine made
   the frames: bf16 made (and checked) by OpenVINO, resumed where PyTorch runs, ran PyTorch
   bf16 with no check of its own; the 35 dB check is per engine. Held across backends at
   fp32 only; bf16/fp16 on the backend and device that made the frames.
"""

from __future__ import annotations

import json

import pytest
import test_resume_precision_round21 as round21

from restyle.core import stylizer as stylizer_module
from restyle.core.job import MANIFEST
from restyle.core.stylizer import hold_precision

pytestmark = pytest.mark.usefixtures("private_home")
FRAMES = round21.FRAMES


# -- 1. a reduced precision is held on the engine that made the frames only -------------------
class TorchChecked(round21.CheckedEngine):
    backend = "torch"


class Backends:
    """Engines as a backend set would give them: OpenVINO's, then PyTorch's (``torch``)."""

    def __init__(self) -> None:
        self.torch = False
        self.made: list[round21.CheckedEngine] = []

    def create_engine(self, model, backend="auto", device="auto", precision="auto", **_words):
        kind = TorchChecked if self.torch else round21.CheckedEngine
        self.made.append(kind(model.arch, precision))
        return self.made[-1]


def test_bf16_made_by_openvino_is_checked_again_in_torch(tmp_path, tiny_style, monkeypatch):
    """Begun in OpenVINO bf16 (checked: greenish frames), resumed where PyTorch runs: its
    bf16 runs its own check (the old code held it, no check), and the line says what made
    the frames kept."""
    backends = Backends()
    monkeypatch.setattr(stylizer_module, "create_engine", backends.create_engine)
    source = round21.clip(tmp_path / "src", red=range(0))
    first = round21.cancelled_after(source, tmp_path / "out", tiny_style, 4)
    record = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert (record["backend"], record["precision"]) == ("openvino", "bf16")
    backends.torch = True
    resumed = round21.job(source, tmp_path / "out", tiny_style).run()
    assert resumed.reused == first.written and resumed.written == FRAMES - first.written
    engine = backends.made[-1]
    assert engine.backend == "torch" and engine.checks == 1, engine.checks
    assert resumed.engine.startswith("torch bf16 on cpu"), resumed.engine
    assert "the frames already made ran openvino bf16 on cpu, kept" in resumed.engine
    assert "matching the frames already made" not in resumed.engine


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_a_reduced_precision_is_held_on_its_backend_and_device_only(precision):
    class Engine:
        backend, device, decided = "openvino", "cpu", None

        def __init__(self, backend="openvino", device="cpu") -> None:
            self.backend, self.device, self.precision = backend, device, precision

        @property
        def checked(self) -> bool:
            return self.decided is not None

        @checked.setter
        def checked(self, value: bool) -> None:
            self.decided = self.precision if value else None

    made = dict(backend="openvino", device="cpu", precision=precision, why="as made")
    for other in (Engine("torch"), Engine(device="gpu")):
        assert not hold_precision(other, made)
        assert other.decided is None and not hasattr(other, "held_as")
    same = Engine()
    assert hold_precision(same, made) and same.decided == precision
    # fp32 is held across backends (the rule of 768b1b2)
    fp32 = Engine("torch")
    fp32.precision = "fp32"
    assert hold_precision(fp32, {**made, "precision": "fp32"}) and fp32.decided == "fp32"


# -- 2. 'checking bf16 against fp32' only where no verdict is kept ------------------------------
def test_the_checking_event_only_where_no_verdict_is_kept(tmp_path):
    """A fresh engine is unsettled whether or not this machine keeps its verdict: the old
    event said 'checking bf16' for every auto-bf16 run; with a verdict kept for the network
    and style nothing is measured, and nothing is said."""
    import numpy as np

    from restyle.core.engines.precision import MachineCheck, Settles, Verdicts, _entry, _key
    from restyle.core.job import _precision_checking

    verdicts = Verdicts(tmp_path / "precision.json")
    facts = {"backend": "openvino", "precision": "bf16", "network": "n:1"}

    class Engine(Settles):
        backend, device = "openvino", "cpu"

        def __init__(self) -> None:
            self._unsettled("bf16")
            self.verdicts = verdicts

        def _machine(self):
            return MachineCheck(self.verdicts, facts)

    style, other = np.ones((1, 26), np.float32), np.zeros((1, 26), np.float32)
    assert _precision_checking(Engine(), style).startswith("checking bf16 against fp32")
    verdicts.keep(_key(facts, style), _entry(MachineCheck(verdicts, facts), 41.0, "probe"))
    assert _precision_checking(Engine(), style) == ""  # kept: read, not measured
    assert _precision_checking(Engine(), other).startswith("checking bf16")  # another style
    assert _precision_checking(Engine()).startswith("checking bf16")  # no style: another key


def test_a_second_run_on_this_machine_says_no_check(tmp_path, tiny_style):
    """A real engine under auto on a bf16 CPU: the first run measures the verdict (the event
    says so), the second reads it (no event; the old code said it again)."""
    import cv2
    import numpy as np

    from restyle.core.job import StyleJob

    folder = tmp_path / "src"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        cv2.imwrite(str(folder / f"f_{i:04d}.png"), rng.integers(0, 255, (48, 64, 3), np.uint8))
    said = []

    def run(out):
        events = []
        job = StyleJob(folder, tmp_path / out, "Tiny", library=tiny_style, carry=0.0)
        job.run(progress=lambda p: events.append(p.message or ""))
        said.append([e for e in events if e.startswith("checking")])

    run("a")
    if not said[0]:
        pytest.skip("auto runs fp32 here (no bf16 CPU or engine): nothing is checked")
    run("b")
    assert said[1] == [], said


# -- 3. a still background is hashed whole ------------------------------------------------------
def test_a_background_picture_differing_in_one_middle_byte_keys_apart(tmp_path):
    """A still picture behind the matte was stamped by 16 blocks of 64 KiB above 1 MiB:
    repainted between them (its time put back) it kept its key, so the frames composited
    over the old picture were reused. It is hashed whole now, as a style's picture is."""
    import os

    import cv2
    import numpy as np

    from restyle.core.job import STAMP_SAMPLE, _sample_offsets
    from restyle.core.mappings.matte_job import MatteJob

    rng = np.random.default_rng(7)
    picture = tmp_path / "back.bmp"
    assert cv2.imwrite(str(picture), rng.integers(0, 255, (700, 800, 3), dtype=np.uint8))

    def stamp():
        return MatteJob(tmp_path / "src.mp4", tmp_path / "out", replace=str(picture))._matte_parts()

    before = stamp()
    st = picture.stat()
    data = bytearray(picture.read_bytes())
    middle = len(data) // 2
    sampled = [(o, o + STAMP_SAMPLE) for o in _sample_offsets(len(data))]
    assert len(data) > 16 * STAMP_SAMPLE and not any(a <= middle < b for a, b in sampled)
    data[middle] ^= 0xFF
    picture.write_bytes(bytes(data))
    os.utime(picture, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = stamp()
    assert before["replace"] == after["replace"]  # one path, one size, one time
    assert before["replace_file"] != after["replace_file"]


# -- 4. an engine built directly decides auto's precision with the style's config ---------------
SPANS = {"width": 4, "blocks": 1, "guides": "spans"}


def test_torch_engine_built_directly_runs_a_span_style_in_fp32(tmp_path, monkeypatch):
    """TorchEngine asked auto for a span-guided style on a bf16 CPU ran bf16 (only
    ``create_engine`` forced fp32 before it): it asks the one rule with the style's config."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    from restyle.core.engines.torch_engine import TorchEngine
    from restyle.models.registry import ARCHS

    arch = ARCHS["fewshot"]
    weights = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in arch.build(**SPANS).state_dict().items()}, weights)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    plain = {**SPANS, "guides": "multiscale"}
    save_file(
        {k: v.contiguous() for k, v in arch.build(**plain).state_dict().items()},
        tmp_path / "plain.safetensors",
    )
    assert TorchEngine(arch, tmp_path / "plain.safetensors", "cpu", "auto", plain).precision == (
        "bf16"
    )  # the CPU runs bf16 for a style that allows it
    engine = TorchEngine(arch, weights, "cpu", "auto", config=SPANS)
    assert engine.precision == "fp32" and engine.decided == "fp32"


def test_openvino_engine_built_directly_runs_a_span_style_in_fp32(tiny_style):
    """OpenVinoEngine had no config: under auto on a bf16 CPU it ran a span style in bf16
    (only ``create_engine`` forced fp32 before it). Its precision decision is read alone
    here (tiny's network; the config is what decides)."""
    pytest.importorskip("openvino")
    from restyle.core.engines.openvino_engine import OpenVinoEngine
    from restyle.models.registry import ARCHS

    path = tiny_style / "styles" / "tiny" / "model.onnx"
    plain = OpenVinoEngine(path, ARCHS["fewshot"], "cpu", "auto", config={"guides": "none"})
    if plain.precision != "bf16":
        pytest.skip("OpenVINO reports no native BF16 on this CPU")
    engine = OpenVinoEngine(path, ARCHS["fewshot"], "cpu", "auto", config=SPANS)
    assert engine.precision == "fp32" and engine.decided == "fp32"


# -- 5. run_chunks counts the frames its caller found landed -----------------------------------
def test_run_chunks_counts_what_the_caller_found_landed(tmp_path, monkeypatch):
    """``_run_locked`` found the frames landed (``_finished``), then ``run_chunks`` asked the
    output of every frame again (``_owned_landed``): it is passed what is known."""
    from types import SimpleNamespace

    pytest.importorskip("ray")
    from restyle.core import ray_runner
    from restyle.core.plan import Chunk, Plan

    asked: list[int] = []
    written = ray_runner.Landing.written
    monkeypatch.setattr(
        ray_runner.Landing, "written", lambda self, i: asked.append(i) or written(self, i)
    )

    class Ray:
        def __init__(self) -> None:
            self.submitted: list = []

        def get_runtime_context(self):
            return SimpleNamespace(get_node_id=lambda: "ab" * 28)

        def remote(self, **_options):
            def wrap(target):
                if isinstance(target, type):  # the progress board
                    board = SimpleNamespace(
                        report=SimpleNamespace(remote=lambda *a: None),
                        total=SimpleNamespace(remote=lambda: 0),
                    )
                    return SimpleNamespace(
                        options=lambda **_: SimpleNamespace(remote=lambda: board)
                    )
                return SimpleNamespace(remote=lambda *a: self.submitted.append(a[2]) or a[2])

            return wrap

        def put(self, value):
            return value

        def get(self, value):
            return [] if isinstance(value, list) else 0

        def wait(self, pending, num_returns, timeout):
            return pending, []

    out = tmp_path / "out"
    out.mkdir()
    plan = Plan(70, 79, (), (Chunk(70, 74), Chunk(75, 79)))
    landing = ray_runner.Landing(out, ".png")
    ray = Ray()
    fields = {"job_type": SimpleNamespace(stage="stylize")}
    ray_runner.run_chunks(ray, dict(fields), plan, landing, landed=set(range(70, 75)))
    assert ray.submitted == [plan.chunks[1]]  # the first chunk counted landed, as told
    assert asked == []  # the output was not asked again
    ray = Ray()
    ray_runner.run_chunks(ray, dict(fields), plan, landing)  # not told: it looks
    assert ray.submitted == list(plan.chunks) and sorted(asked) == list(range(70, 80))
