"""Esc on Apply Style's "Run on: Ray cluster" ends the run as a cancel, as Esc on a local
run does: the sidebar says how many frames are kept and which button resumes. It said
'Failed: ' with nothing after it (the submission raised a cancel with no message, and the
worker posted it as an error). No Ray needed: a stand-in dashboard answers as a cluster's
does, and writes the frames its node would have finished."""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest
from vse import add_movie, all_strips, ext

from clips import make_index_clip

pytestmark = pytest.mark.blender


class Dashboard:
    """A Ray dashboard whose job finishes its first two frames, then runs on until it is
    stopped."""

    def __init__(self) -> None:
        self.output: Path | None = None
        self.start = 0
        self.stop_asked = False
        self.job = None  # the submitted job (``watch``)

    def watch(self, monkeypatch) -> None:
        """Hear of the job submitted (Apply Style's RaySubmission), for ``node_manifest``."""
        submission = ext("core.ray_submit").RaySubmission
        made = submission.__post_init__

        def post_init(sub) -> None:
            made(sub)
            self.job = sub.job

        monkeypatch.setattr(submission, "__post_init__", post_init)

    def node_manifest(self, fmt: str) -> None:
        """The frames manifest the node's run_on_ray writes before any frame lands (its
        settings key, frames in ``fmt``): its frames are kept beside it, by the one rule."""
        twin = dataclasses.replace(self.job, output=self.output, format=fmt)
        manifest = {"key": twin.validate().key, "stale": []}
        (self.output / ext("core.job").MANIFEST).write_text(json.dumps(manifest))

    def __call__(self, url, data=None, method=None):
        if url.endswith("/api/jobs/") and data is not None:  # the submission: its command
            words = shlex.split(data["entrypoint"])
            self.output = Path(words[words.index("-o") + 1])
            self.start = int(words[words.index("--start") + 1])
            self.output.mkdir(parents=True, exist_ok=True)  # as the node's run makes it
            self.node_manifest(words[words.index("--format") + 1])
            return {"submission_id": data["submission_id"]}
        if url.endswith("/stop"):
            self.stop_asked = True
            return {"stopped": True}
        if url.endswith("/logs"):
            for i in range(self.start, self.start + 2):
                cv2.imwrite(str(self.output / f"{i:06d}.png"), np.full((8, 8, 3), i, np.uint8))
            return {"logs": '{"event": "progress", "done": 2, "total": 4, "fps": 1.0}\n'}
        if "/api/jobs/restyle-" in url:
            return {"status": "STOPPED" if self.stop_asked else "RUNNING"}
        return {}  # the version


def test_esc_on_a_ray_run_keeps_its_frames_and_says_how_to_resume(
    scene, sequencer_area, tmp_path, monkeypatch
):
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "ray.blend"))
    runner = ext("operators.runner")
    dashboard = Dashboard()
    dashboard.watch(monkeypatch)
    monkeypatch.setattr(ext("core.ray_submit"), "_request", dashboard)
    report = runner.Worker._progress

    def esc_once_reported(worker, progress):
        report(worker, progress)
        worker.token.cancel()

    monkeypatch.setattr(runner.Worker, "_progress", esc_once_reported)
    clip = make_index_clip(tmp_path / "clip.mp4", 6, (64, 48), fps=24)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    before = set(all_strips(scene).keys())
    result = bpy.ops.restyle.apply_style(
        strip=source.name,
        style="comic-ink",
        frame_start=1,
        frame_end=4,
        run_on="RAY",
        ray_address="head:8265",
    )
    assert result == {"CANCELLED"}
    assert dashboard.stop_asked
    assert runner.RUN.status == runner.CANCELLED, runner.RUN.summary
    assert runner.RUN.summary == (
        f"Cancelled: 2 of 4 frames kept in {bpy.path.relpath(str(dashboard.output))}; "
        "Apply Style again to resume"  # the saved project's '//restyle/...' (round 18)
    )
    assert set(all_strips(scene).keys()) == before
