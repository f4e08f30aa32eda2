"""What Blender's Run on: Ray reads back from the node's --json record (round 18), each case
failing on the code before it:

1. The engine line: the record kept only the command line's words, so Blender said 'set by
   --backend onnx' where a local run says 'set by Backend 'ONNX Runtime''. The record keeps
   the line's settings marked (``engine_neutral``, ``errors.plain``); ``node_said`` reads them
   back for each front end to word ("engine" stays the command line's, for scripts).
2. The warnings' frames: the record had no structured form of the frames the variable-rate
   and damaged-frames warnings name, so Blender could not name them in scene frames as it
   does a local run's (``StripJob._blender_warnings`` swaps them by ``held``/``retimed``).
   The record says them ("damaged", "retimed"); the submission's result keeps them.

No cluster: the node's command runs here (``run_chunks``' tasks in this process), and a
stand-in dashboard hands its output to ``RaySubmission`` as Ray's job API does."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from test_repeated_pictures import STAMPS

from restyle.core import ray_submit
from restyle.core.cli import main
from restyle.core.errors import BLENDER, COMMAND_LINE, PYTHON
from restyle.core.job import StyleJob, _damage_warnings, _variable_rate_warnings
from restyle.core.ray_submit import RaySubmission, node_said, stylize_command

from clips import make_index_clip, make_variable_rate_clip

pytestmark = pytest.mark.usefixtures("private_home")


def submitted(job, monkeypatch, capsys) -> tuple[dict, object]:
    """The node's record of the command Blender submits for ``job`` (``--ray auto --json``,
    run here), and the result ``RaySubmission`` makes of it through a stand-in dashboard."""
    logs: list[str] = []

    def dashboard(url, data=None, method=None):
        if url.endswith("/api/jobs/") and data is not None:  # the submission: run it here
            assert main(stylize_command(job)[3:]) == 0
            logs.append(capsys.readouterr().out)
            return {"submission_id": data["submission_id"]}
        if url.endswith("/logs"):
            return {"logs": logs[-1]}
        return {"status": "SUCCEEDED"} if "/api/jobs/restyle-" in url else {}

    monkeypatch.setattr(ray_submit, "_request", dashboard)
    result = RaySubmission(job, "head:8265", poll_s=0.0).run()
    return json.loads(logs[-1].strip().splitlines()[-1]), result


def style_job(library, source, out, **fields) -> StyleJob:
    fields = {"temporal": 0.0, "max_side": 64, "library": library, **fields}
    job = StyleJob(str(source), str(out), "comic-ink", **fields)
    job.place(job.validate(), out)
    return job


# -- 1. the engine line, each front end's words ---------------------------------------------
def test_a_ray_runs_engine_line_is_said_in_blenders_words(
    library, index_clip_h264, tmp_path, in_process, monkeypatch, capsys
):
    """--backend onnx, set by the job: Blender says 'set by Backend 'ONNX Runtime'' of the
    node's run, as of a local one. Before: 'set by --backend onnx' (the record's words)."""
    job = style_job(library, index_clip_h264, tmp_path / "out", end=1, backend="onnx")
    record, result = submitted(job, monkeypatch, capsys)
    said = result.engine_said(BLENDER)
    assert "set by Backend 'ONNX Runtime'" in said and "--backend" not in said, said
    assert "set by --backend onnx" in record["engine"], record  # scripts' words, as before
    assert record["engine_neutral"] == record["engine"].replace(
        "--backend onnx", '{{backend="onnx"}}'
    )
    assert result.engine_said(COMMAND_LINE) == record["engine"]
    assert "set by backend='onnx'" in result.engine == result.engine_said(PYTHON)


def test_an_older_or_unreadable_neutral_line_keeps_the_command_lines_words():
    """A node older than ``engine_neutral`` (none), or one whose marks this Restyle cannot
    word (a newer setting) or that do not say its "engine": its command-line words."""
    from restyle.core.job import JobResult

    line = "onnx fp32 on cpu (set by --backend onnx)"
    for neutral in (None, "onnx fp32 on cpu (set by {{lens=1}})", "onnx on cpu ({{device}})"):
        result = JobResult(output=None)
        node_said(result, {"engine": line, "engine_neutral": neutral})
        assert result.engine_said(BLENDER) == result.engine == line


# -- 2. the frames the warnings name ---------------------------------------------------------
def damaged_clip(path):
    """FFV1 with a keyframe every 10 frames, bytes flipped in its middle (as
    tests/blender/test_leftovers_round18.py's): frames around 20-29 cannot be decoded."""
    make_index_clip(path, 40, (64, 48), codec="ffv1", gop=10)
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 3000, 7):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def variable_rate_clip(path):
    return make_variable_rate_clip(path, STAMPS, time_base=Fraction(1, 24))


@pytest.mark.parametrize("clip", [variable_rate_clip, damaged_clip])
def test_a_ray_runs_warnings_keep_the_frames_they_name(
    clip, library, tmp_path, in_process, monkeypatch, capsys
):
    """The submission's result names the frames the node's warnings name, so the warnings
    are made again from them in other numbers, as Blender's ``_blender_warnings`` swaps a
    local run's: the source's words match the node's, scene frames (+100) differ. Before:
    no frames (held [], retimed []), so each warning stayed in the source's frames."""
    job = style_job(library, clip(tmp_path / "clip.mkv"), tmp_path / "out")
    record, result = submitted(job, monkeypatch, capsys)
    plan = job._plan
    assert result.held or result.retimed, record
    assert result.held == record["damaged"] and result.retimed == [
        (i, dropped) for i, dropped in record["retimed"]
    ]

    def scene(frames) -> str:
        return ", ".join(str(100 + i) for i in frames)

    made = [
        (
            _variable_rate_warnings(plan, result.retimed),
            _variable_rate_warnings(plan, result.retimed, scene),
        ),
        (
            _damage_warnings(plan, result.held, result.written),
            _damage_warnings(plan, result.held, result.written, scene),
        ),
    ]
    swaps = {old: new for source, named in made for old, new in zip(source, named, strict=True)}
    assert result.warnings == record["warnings"] and result.warnings
    assert all(warning in swaps for warning in result.warnings), (result.warnings, swaps)
    assert all(swaps[warning] != warning for warning in result.warnings), swaps
