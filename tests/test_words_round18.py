"""Round 18's words outside Blender: the engine line says each fact once (inside Blender it
read 'openvino bf16 on cpu, in a child process (OpenVINO bf16, the CPU has native bf16;
Blender's process cannot host OpenVINO)'), and user-visible text says "color" (US English,
as Blender's own "Color"), not "colour"."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from restyle.core.engines import ModelFiles, choose_backend, explain, openvino_available
from restyle.core.engines.child import ChildEngine
from restyle.core.errors import BLENDER, COMMAND_LINE, say
from restyle.models.registry import ARCHS

needs_openvino = pytest.mark.skipif(not openvino_available(), reason="openvino not installed")


def multistyle(library) -> ModelFiles:
    return ModelFiles(ARCHS["multistyle26"], library.builtin_file("multistyle26", ".onnx"), None)


def line(choice, device: str, precision: str, process: str = "") -> str:
    """The engine line ``explain`` writes for an engine ``choice`` made, as the summary and
    --json carry it (an engine's own note, its graph and workers, left out)."""
    engine = SimpleNamespace(
        backend=choice.backend, precision=precision, device=device, process=process
    )
    engine.reason, engine.note = choice.reason, ""
    return explain(engine)


@needs_openvino
def test_inside_blender_the_openvino_line_says_each_fact_once(library, monkeypatch):
    import restyle.core.engines as engines

    monkeypatch.setattr(engines, "native_bf16_cpu", lambda: True)
    monkeypatch.setitem(sys.modules, "bpy", SimpleNamespace())  # inside_blender()
    choice = choose_backend(multistyle(library))
    said = line(choice, "cpu", "bf16", ChildEngine.process)
    assert said == "openvino bf16 on cpu, in a child process (the CPU has native bf16)"
    assert said.lower().count("openvino") == 1 and said.count("process") == 1


@needs_openvino
@pytest.mark.parametrize(("front_end", "words"), [(COMMAND_LINE, "--device gpu"),
                                                  (BLENDER, "Device 'Intel GPU'")])  # fmt: skip
def test_an_openvino_device_line_names_engine_and_device_once(library, front_end, words):
    choice = choose_backend(multistyle(library), "gpu")
    said = say(line(choice, "gpu", "fp16"), front_end)
    assert said == f"openvino fp16 on gpu (set by {words})"
