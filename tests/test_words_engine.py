"""The engine line says each thing once and plainly: the graph and workers as they ran (once:
'fast graph: no native bf16 (...); fast graph, 2 worker(s)' said the graph twice), a
backend set by hand as that setting in the front end's words (was 'asked for'), and
``JobResult.engine`` readable by a Python user (a remedy's control mark stays in the text
``engine_said`` words for the command line and Blender)."""

from __future__ import annotations

import pytest

from restyle.core.engines import ModelFiles, create_engine, explain
from restyle.core.errors import BLENDER, COMMAND_LINE, PYTHON, remedy, say
from restyle.core.job import JobResult, StyleJob
from restyle.core.ray_runner import _what_ran
from restyle.models.registry import ARCHS

from clips import noise_shot


def multistyle(library) -> ModelFiles:
    return ModelFiles(
        ARCHS["multistyle26"],
        library.builtin_file("multistyle26", ".onnx"),
        library.builtin_file("multistyle26", ".safetensors"),
    )


@pytest.mark.parametrize("backend", ["auto", "onnx"])
def test_the_engine_line_names_the_graph_once(library, backend):
    engine = create_engine(multistyle(library), backend, "cpu")
    try:
        text = explain(engine)
    finally:
        engine.close()
    if engine.backend == "onnx":
        assert text.count("graph") == 1, text
    assert "(s)" not in text and "asked for" not in text, text


def test_a_backend_set_by_hand_is_named_as_each_front_end_sets_it(library):
    engine = create_engine(multistyle(library), "onnx", "cpu")
    try:
        text = explain(engine)
    finally:
        engine.close()
    assert say(text, COMMAND_LINE).startswith("onnx fp32 on cpu (set by --backend onnx; ")
    assert say(text, BLENDER).startswith("onnx fp32 on cpu (set by Backend 'ONNX Runtime'; ")
    assert say(text, PYTHON).startswith("onnx fp32 on cpu (set by backend='onnx'; ")


def test_job_result_engine_has_no_control_characters():
    marked = f"onnx fp32 on cpu (NVIDIA GPU found, but no CUDA: {remedy('gpu_support')})"
    result = JobResult(output=None)
    result.set_engine(marked)
    assert "\x02" not in result.engine and "pip install onnxruntime-gpu" in result.engine
    assert "Install GPU Support" in result.engine_said(BLENDER)
    assert result.engine_marked == marked
    result.engine = "set directly"  # a script's own words: said as they are
    assert result.engine_said(BLENDER) == "set directly" == result.engine_marked


def test_a_ray_run_keeps_the_chunks_marks_for_its_front_end():
    """A chunk reports ``engine_marked``; the driver's result words it for its front end."""
    chunk = JobResult(output=None)
    chunk.set_engine(f"onnx fp32 on cpu (no CUDA: {remedy('gpu_support')})")
    result = JobResult(output=None)
    _what_ran(result, [{"backend": "onnx", "device": "cpu", "engine": chunk.engine_marked}])
    assert "\x02" not in result.engine
    assert "Install GPU Support" in result.engine_said(BLENDER)


def test_a_python_run_says_the_backend_in_pythons_words(library, tmp_path):
    folder = noise_shot(tmp_path / "shot", 2)
    job = StyleJob(
        folder, tmp_path / "out", "comic-ink", library=library, backend="onnx", max_side=64
    )
    result = job.run()
    assert result.engine.startswith("onnx fp32 on cpu (set by backend='onnx'; "), result.engine
    assert result.engine_said(COMMAND_LINE).startswith("onnx fp32 on cpu (set by --backend onnx")
