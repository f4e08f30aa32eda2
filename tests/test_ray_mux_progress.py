"""Run on Ray into a movie: the mux of the chunks' frames at the end (``ray_runner._mux``)
says how far it is, as a local run's frames do: stage ``encode``, frames done of the
range's (a long clip's mux was minutes without a word), and stops at a cancel between
frames as a local run's movie does: no movie, no scratch file, the frames kept, so a rerun
muxes them. Real frames, real muxing; the progress sink is a list."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import pytest

from restyle.core.errors import Cancelled
from restyle.core.job import StyleJob
from restyle.core.media import decode_range, probe
from restyle.core.progress import CancelToken
from restyle.core.ray_runner import ENCODE, _mux
from restyle.core.writers import OUTPUT_FORMATS

from clips import make_index_clip, read_index

START, END = 2, 11  # the range muxed: 10 frames


@pytest.fixture
def finished(tmp_path):
    """The source, and the hidden folder of its frames START..END as the chunks leave it."""
    source = make_index_clip(tmp_path / "source.mkv", 12, (96, 64), codec="ffv1")
    folder = tmp_path / ".out.mkv.frames"
    folder.mkdir()
    for i, frame in zip(range(START, END + 1), decode_range(source, START, END), strict=True):
        assert cv2.imwrite(str(folder / f"{i:06d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return source, folder


def mux(source, folder, **options):
    job = StyleJob(source, folder.parent / "out.mkv", "comic-ink", format="ffv1")
    plan = SimpleNamespace(start=START, end=END)
    frames_plan = SimpleNamespace(info=probe(source), format=OUTPUT_FORMATS["png"])  # PNG frames
    return _mux(folder, job, frames_plan, plan, **options)


def test_the_mux_reports_each_frame_it_encodes(finished):
    source, folder = finished
    events = []
    out, warnings = mux(source, folder, progress=events.append)
    total = END - START + 1
    assert [(p.stage, p.done, p.total) for p in events] == [
        (ENCODE, k, total) for k in range(total + 1)
    ]
    assert ENCODE == "encode" and {p.message for p in events} == {"encoding the movie"}
    assert warnings == [] and not folder.exists()
    assert [read_index(f) for f in decode_range(out, 0, total - 1)] == list(range(START, END + 1))


def test_a_cancel_during_the_mux_leaves_no_movie_and_keeps_the_frames(finished):
    source, folder = finished
    frames = sorted(p.name for p in folder.iterdir())
    token = CancelToken()
    events = []

    def progress(p):
        events.append(p.done)
        if p.done >= 4:
            token.cancel()

    with pytest.raises(Cancelled):
        mux(source, folder, progress=progress, cancel=token)
    assert events == [0, 1, 2, 3, 4]  # stopped before the fifth frame's write
    # no movie, no scratch movie beside it: only what was there before
    assert sorted(p.name for p in folder.parent.iterdir()) == [".out.mkv.frames", "source.mkv"]
    assert sorted(p.name for p in folder.iterdir()) == frames
    out, _ = mux(source, folder)  # a rerun muxes them
    assert probe(out).frame_count == END - START + 1


@pytest.mark.slow
def test_a_ray_movie_run_says_its_mux_and_a_cancel_there_is_a_cancel(cluster, library, tmp_path):
    """Through ``run_on_ray``: the frames' stage, then the mux's to the last frame; a cancel
    in the mux ends the run as cancelled (not failed) with no movie, and the rerun reuses
    every frame and muxes them."""
    from restyle.core.ray_runner import run_on_ray

    source = make_index_clip(tmp_path / "source.mkv", 12, (96, 64), codec="ffv1")
    out = tmp_path / "out.mkv"

    def job():
        return StyleJob(
            source, out, "comic-ink", library=library, backend="onnx", temporal=0.0, format="ffv1"
        )

    token, said = CancelToken(), []

    def progress(p):
        said.append((p.stage, p.done, p.total))
        if p.stage == ENCODE and p.done >= 3:
            token.cancel()

    result = run_on_ray(job(), cluster.address, max_frames=6, progress=progress, cancel=token)
    assert result.cancelled and result.written == 12 and not out.exists()
    stages = [s for s, _, _ in said]
    assert "stylize" in stages and stages.index("stylize") < stages.index(ENCODE)
    assert [(d, t) for s, d, t in said if s == ENCODE] == [(0, 12), (1, 12), (2, 12), (3, 12)]
    assert len(list((tmp_path / ".out.mkv.frames").glob("*.png"))) == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.mkv.frames", "source.mkv"]

    said.clear()
    result = run_on_ray(job(), cluster.address, max_frames=6, progress=progress)
    assert not result.cancelled and result.reused == 12 and probe(out).frame_count == 12
    assert [d for s, d, _ in said if s == ENCODE] == list(range(13))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mkv", "source.mkv"]
