"""A cancel (Esc, Ctrl-C) that arrives as a run's last frame is written cancels nothing.

Every frame was finished, so the run is a finished run: not "Cancelled: 4 of 4 frames kept",
its sequence's manifest says it is complete, and a movie is closed, not thrown away. (A
cancel before that keeps the finished frames: tests/test_matte_cli.py and test_job_cli.py.)
"""

from __future__ import annotations

from test_matte_cli import pan_movie  # noqa: F401 (a fixture)

from restyle.core.job import finished_manifest
from restyle.core.mappings.matte_job import MatteJob
from restyle.core.mappings.stabilize_job import StabilizeJob
from restyle.core.media import probe
from restyle.core.progress import CancelToken


def cancelled_at_the_last_frame(stage: str):
    """A token, and a progress callback that sets it as the run's last frame is written."""
    token = CancelToken()

    def progress(p) -> None:
        if p.stage == stage and p.done == p.total:
            token.cancel()

    return token, progress


def test_a_matte_cancelled_as_its_last_frame_is_written_is_done(
    matte_library,
    pan_movie,  # noqa: F811
    tmp_path,
):
    out = tmp_path / "matte"
    token, progress = cancelled_at_the_last_frame("matte")
    job = MatteJob(pan_movie, out, library=matte_library, end=3)
    result = job.run(progress=progress, cancel=token)
    assert token.cancelled  # it did arrive
    assert not result.cancelled and result.written == 4 and len(result.frame_files) == 4
    assert finished_manifest(job.validate()) is not None  # complete, as a finished run's
    again = MatteJob(pan_movie, out, library=matte_library, end=3).run()
    assert again.reused == 4 and again.written == 0


def test_a_movie_cancelled_as_its_last_frame_is_written_is_kept_whole(
    pan_movie,  # noqa: F811
    tmp_path,
):
    """A movie is written whole or not at all: it was thrown away with every frame in it."""
    out = tmp_path / "steady.mp4"
    token, progress = cancelled_at_the_last_frame("stabilize")
    result = StabilizeJob(pan_movie, out, end=3, format="h264").run(progress=progress, cancel=token)
    assert token.cancelled
    assert not result.cancelled and result.written == 4
    assert out.is_file() and probe(out).frame_count == 4
