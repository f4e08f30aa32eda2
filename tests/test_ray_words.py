"""A Ray job's error names its settings in the words of the front end that shows it, as a
local run's does. The node's command line said them as flags, and Blender's Run on: Ray
showed that line: 'the Ray job failed: restyle: error: --device mps is PyTorch's: use
--backend torch', where a local run says Device 'Metal' and Backend 'PyTorch'. No Ray
needed: the cluster's answers are the node's real output, served by a stand-in dashboard."""

from __future__ import annotations

import json

import pytest

from restyle.core import cli, ray_submit
from restyle.core.errors import COMMAND_LINE, RestyleError
from restyle.core.job import StyleJob
from restyle.core.ray_submit import RaySubmission, stylize_command
from restyle.operators.runner import blender_message

ONNX_TAKES = "(ONNX Runtime takes auto, tensorrt, cuda, coreml, dml, cpu)"


def ray_job_error(job, logs: str, monkeypatch) -> RestyleError:
    """What ``RaySubmission.run`` raises for ``job`` when it failed with ``logs``: the path
    Blender's Run on: Ray takes, against a dashboard that answers so."""

    def dashboard(url, data=None, method=None):
        if url.endswith("/logs"):
            return {"logs": logs}
        if "/api/jobs/restyle-" in url:
            return {"status": "FAILED"}
        return {}  # the version, the submission

    monkeypatch.setattr(ray_submit, "_request", dashboard)
    with pytest.raises(RestyleError) as error:
        RaySubmission(job, "head:8265", poll_s=0.0).run()
    return error.value


@pytest.fixture
def mps_job(library, index_clip_h264, tmp_path):
    """A job that asks ONNX Runtime for PyTorch's device, as Blender submits it."""
    return StyleJob(
        index_clip_h264,
        tmp_path / "out",
        "comic-ink",
        end=1,
        library=library,
        backend="onnx",
        device="mps",
    )


def node_stderr(job, capsys) -> str:
    """What the node prints for ``job``: the command Blender submits, run here (without
    ``--ray auto``: no cluster; the same refusal)."""
    argv = stylize_command(job)[3:]
    at = argv.index("--ray")
    del argv[at : at + 2]
    assert cli.main(argv) == 2
    return capsys.readouterr().err


def test_a_ray_jobs_error_names_its_settings_in_each_front_ends_words(mps_job, capsys, monkeypatch):
    error = ray_job_error(mps_job, node_stderr(mps_job, capsys), monkeypatch)
    said = "the Ray job failed: {} is PyTorch's: use {} " + ONNX_TAKES
    assert blender_message(error) == said.format("Device 'Metal'", "Backend 'PyTorch'")
    assert str(error) == said.format("device='mps'", "backend='torch'")
    assert error.said(COMMAND_LINE) == said.format("--device mps", "--backend torch")


def test_the_command_lines_json_error_event_comes_before_its_error_line(mps_job, capsys):
    """--json: the event (what ``ray_submit`` words), then the one line a terminal reads;
    without --json, that line alone."""
    said = node_stderr(mps_job, capsys).splitlines()  # its progress events aside (setup's)
    first, line = [s for s in said if not s.startswith('{"event": "progress"')]
    event = json.loads(first)
    assert event["event"] == "error"
    assert event["error"] == f"--device mps is PyTorch's: use --backend torch {ONNX_TAKES}"
    assert line == f"restyle: error: {event['error']}"
    argv = stylize_command(mps_job)[3:-3]  # without --ray auto --json
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == f"{line}\n"


def test_an_older_nodes_error_line_is_shown_as_it_said_it(mps_job, monkeypatch):
    """A node whose Restyle prints no error event: its line, as before."""
    line = f"restyle: error: --device mps is PyTorch's: use --backend torch {ONNX_TAKES}"
    logs = f'{{"event": "progress", "done": 0, "total": 2}}\n{line}\n'
    error = ray_job_error(mps_job, logs, monkeypatch)
    assert blender_message(error) == f"the Ray job failed: {line}"


def test_a_setting_this_restyle_cannot_word_falls_back_to_the_nodes_line(mps_job, monkeypatch):
    """A newer node naming a setting this Restyle has no words for: its line (wording it
    would fail: no such row in SETTINGS)."""
    event = {"event": "error", "error": "--lens wide is wrong", "neutral": "\x02lens\x03 is wrong"}
    logs = f"{json.dumps(event)}\nrestyle: error: --lens wide is wrong\n"
    error = ray_job_error(mps_job, logs, monkeypatch)
    assert blender_message(error) == "the Ray job failed: restyle: error: --lens wide is wrong"
