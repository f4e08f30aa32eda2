"""Round 18's words outside Blender: the engine line says each fact once (inside Blender it
read 'openvino bf16 on cpu, in a child process (OpenVINO bf16, the CPU has native bf16;
Blender's process cannot host OpenVINO)'), and user-visible text says "color" (US English,
as Blender's own "Color"), not "colour"."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
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


ROOT = Path(__file__).resolve().parents[1]
# Where user-visible text comes from: labels, tooltips, messages, the command line's help
WORDED = ["props.py", "prefs.py", "operators", "panels", "core"]
BRITISH = re.compile(r"\bcolour(s|ed)?\b", re.IGNORECASE)


def strings(path: Path) -> list[tuple[int, str]]:
    """``path``'s string literals, f-strings' parts included, less docstrings; a bare word
    ("colour", the background kind's identifier) is code, not words."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docs and " " in node.value.strip()
    ]  # fmt: skip


def test_user_visible_text_says_color():
    """Blender says "Color" (US English); Restyle's words said "colour" beside it ("colour
    grade", "16-bit colour", "background colour", "a colour strip")."""
    files = [p for entry in WORDED for p in sorted((ROOT / entry).rglob("*.py"))
             if (ROOT / entry).is_dir()] + [ROOT / e for e in WORDED if e.endswith(".py")]  # fmt: skip
    said = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for path in files
        if path.is_file()
        for line, text in strings(path)
        if BRITISH.search(text)
    ]
    assert not said, "\n".join(said)
