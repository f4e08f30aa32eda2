"""Apply Style's Run on: Ray says the node's run as Blender says a local run (round 18): the
engine line names Blender's controls ('set by Backend 'ONNX Runtime'', not the node's
'--backend onnx'), and the damaged-frames warning names scene frames (121-130 of a strip at
101, not the source's 20-29). No Ray needed: a stand-in dashboard runs the submitted command
here (without --ray) and hands its --json output back as Ray's job API does."""

# ruff: noqa: F811 (fixtures imported from other test files are the tests' arguments)

from __future__ import annotations

import contextlib
import io
import shlex

import pytest
from test_leftovers_round18 import corrupt_middle
from test_split_round18 import saved  # noqa: F401 (the fixture, imported)
from vse import add_movie, ext

from clips import make_index_clip

pytestmark = pytest.mark.blender


class Node:
    """A Ray dashboard whose job is the submitted command, run here as its status is first
    asked for (the submission's clock running, as a cluster's run would)."""

    def __init__(self) -> None:
        self.command: list[str] = []
        self.logs: str | None = None

    def __call__(self, url, data=None, method=None):
        if url.endswith("/api/jobs/") and data is not None:
            words = shlex.split(data["entrypoint"])[3:]  # after 'python -m restyle'
            at = words.index("--ray")
            self.command = words[:at] + words[at + 2 :]
            return {"submission_id": data["submission_id"]}
        if "/api/jobs/restyle-" not in url:
            return {}  # the version
        if self.logs is None:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert ext("core.cli").main(self.command) == 0
            self.logs = out.getvalue()
        return {"logs": self.logs} if url.endswith("/logs") else {"status": "SUCCEEDED"}


def test_a_ray_runs_summary_says_its_engine_and_frames_as_blender_does(
    scene, saved, sequencer_area, tmp_path, monkeypatch
):
    import bpy

    monkeypatch.setattr(ext("core.ray_submit"), "_request", Node())
    clip = make_index_clip(tmp_path / "clip.mkv", 40, codec="ffv1", gop=10)
    source = add_movie(scene, sequencer_area, corrupt_middle(clip), frame_start=101)
    done = bpy.ops.restyle.apply_style(
        strip=source.name,
        style="comic-ink",
        temporal=0.0,
        backend="ONNX",
        frame_start=101,
        frame_end=140,
        run_on="RAY",
        ray_address="head:8265",
    )
    said = ext("operators.runner").RUN.summary
    assert done == {"FINISHED"}, said
    assert "set by Backend 'ONNX Runtime'" in said and "--backend" not in said, said
    assert "could not be decoded cleanly (around frames 121-130: damaged" in said, said
