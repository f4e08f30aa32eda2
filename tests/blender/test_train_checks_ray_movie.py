"""Esc on Apply Style's Run on: Ray into a movie: the cluster's run (``--ray``) keeps every
finished frame in the movie's hidden frames folder (``.NAME.frames``), where a rerun resumes
and makes the movie. The sidebar said 'Cancelled: nothing kept (a movie cannot be resumed)',
a local movie's words. No Ray needed: test_ray_cancel's stand-in dashboard, its node's
frames written where ``run_on_ray`` writes a movie's."""

from __future__ import annotations

import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_ray_cancel import Dashboard
from vse import add_movie, all_strips, ext

from clips import make_index_clip

pytestmark = pytest.mark.blender


class MovieDashboard(Dashboard):
    """Its job's command names a movie (``-o film.mp4``); the node's finished frames go to
    the movie's frames folder, as ``run_on_ray`` writes them (PNG), and no movie is made."""

    def __init__(self, frames: int, earlier: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.frames = frames
        self.earlier = earlier  # frames an earlier run of another range left there

    def __call__(self, url, data=None, method=None):
        if url.endswith("/api/jobs/") and data is not None:
            words = shlex.split(data["entrypoint"])
            movie = Path(words[words.index("-o") + 1])
            self.output = ext("core.job").movie_frames_folder(movie)
            self.start = int(words[words.index("--start") + 1])
            if self.frames or self.earlier:
                self.output.mkdir(parents=True, exist_ok=True)
                self.node_manifest("png")  # a movie's frames: PNG
            for i in self.earlier:
                cv2.imwrite(str(self.output / f"{i:06d}.png"), np.zeros((8, 8, 3), np.uint8))
            return {"submission_id": data["submission_id"]}
        if url.endswith("/logs"):
            for i in range(self.start, self.start + self.frames):
                cv2.imwrite(str(self.output / f"{i:06d}.png"), np.full((8, 8, 3), i, np.uint8))
            return {"logs": '{"event": "progress", "done": 0, "total": 4, "fps": 1.0}\n'}
        return super().__call__(url, data, method)


@pytest.mark.parametrize(("frames", "earlier"), [(2, ()), (0, ()), (2, (4, 5)), (0, (5,))])
def test_esc_on_a_ray_movie_says_where_its_frames_are_kept(
    frames, earlier, scene, sequencer_area, tmp_path, monkeypatch
):
    """Frames 0-3 of the source (scene frames 1-4): an earlier run's frames 4 and 5 in the
    folder are not this run's, and are not counted (the command line counts the range's,
    written + reused; the sidebar counted every PNG there)."""
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "ray.blend"))
    runner = ext("operators.runner")
    dashboard = MovieDashboard(frames, earlier)
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
        output_format="H264",
        run_on="RAY",
        ray_address="head:8265",
    )
    assert result == {"CANCELLED"} and dashboard.stop_asked
    assert runner.RUN.status == runner.CANCELLED, runner.RUN.summary
    if frames:
        assert runner.RUN.summary == (
            f"Cancelled: 2 finished frames kept in {bpy.path.relpath(str(dashboard.output))} "
            "(no movie yet); "
            "Apply Style again to resume and make the movie"
        )
    else:
        assert runner.RUN.summary == "Cancelled: no frame finished; nothing kept"
    assert set(all_strips(scene).keys()) == before
