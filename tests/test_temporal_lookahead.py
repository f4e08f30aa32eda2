"""One-frame lookahead coherence: each output also takes the next styled frame warped back.

On real footage (OpenCV's sample clips from Debian's opencv-doc): no ghost trails, nothing
from the next shot in the last frame of a shot; in the pipeline: the same frames as the
offline loop, the last frame written, only finished frames written on cancel; through a
job: a resumed image sequence equal to an uninterrupted run."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from test_temporal_footage import footage, styled

from restyle.core.errors import Cancelled
from restyle.core.job import StyleJob
from restyle.core.metrics import warping_error
from restyle.core.pipeline import run_pipeline
from restyle.core.progress import CancelToken
from restyle.core.temporal import TemporalBlender


def lookahead_all(blender, sources, frames) -> list[np.ndarray]:
    """The offline loop: every guide first, then each frame with the next one's."""
    guides, previous = [], None
    for source in sources:
        guides.append(blender.prepare(previous, source))
        previous = source
    out = []
    for t, frame in enumerate(frames):
        following = (guides[t + 1], frames[t + 1]) if t + 1 < len(frames) else (None, None)
        out.append(blender.apply(guides[t], frame, *following))
    return out


@pytest.fixture(scope="module")
def walkers() -> list[np.ndarray]:
    return footage("vtest", 60, 10)


@pytest.mark.parametrize("flow", ["inverse", "dis"])
def test_lookahead_leaves_no_ghost_trail_and_removes_flicker(walkers, flow):
    """Where a person left or arrived, the output is about as close to this frame's clean
    style as the styled frame (no trail from the previous or the next frame); most of the
    excess flicker goes (Farnebäck judge; the method uses DIS)."""
    frames = styled(walkers)
    clean = [255.0 - f[..., ::-1].astype(np.float32) for f in walkers]
    output = lookahead_all(TemporalBlender(lookahead=True, lookahead_flow=flow), walkers, frames)
    ours, per_frame = [], []
    for t in range(1, len(walkers) - 1):
        change = np.abs(walkers[t].astype(int) - walkers[t - 1]).max(axis=2) > 60
        change |= np.abs(walkers[t].astype(int) - walkers[t + 1]).max(axis=2) > 60
        ours.append(np.abs(output[t][change] - clean[t][change]).mean())
        per_frame.append(np.abs(frames[t][change] - clean[t][change]).mean())
    assert np.mean(ours) < 1.5 * np.mean(per_frame)
    mapped = [255 - f[..., ::-1] for f in walkers]
    floor = warping_error(walkers, mapped, flow="farneback")
    plain = warping_error(walkers, frames, flow="farneback")
    coherent = warping_error(walkers, output, flow="farneback")
    assert (plain - floor) > 3 * (coherent - floor)


def test_the_last_frame_of_a_shot_takes_nothing_from_the_next_shot(walkers):
    """A cut between two real clips: the last frame before it comes out exactly as if the
    shot ended there, and the first frame after it looks ahead within its own shot."""
    other = footage("megamind", 40, 4)
    sources = walkers[:5] + other
    frames = styled(sources, seed=3)
    both = lookahead_all(TemporalBlender(lookahead=True), sources, frames)
    alone = lookahead_all(TemporalBlender(lookahead=True), sources[:5], frames[:5])
    assert all(np.array_equal(a, b) for a, b in zip(both[:5], alone, strict=True))
    assert not np.array_equal(both[3], frames[3])  # it does look ahead inside the shot
    after = lookahead_all(TemporalBlender(lookahead=True), sources[5:], frames[5:])
    assert all(np.array_equal(a, b) for a, b in zip(both[5:], after, strict=True))
    assert not np.array_equal(both[5], frames[5])  # the shot's first frame looks ahead


def test_the_last_frame_falls_back_to_the_causal_blend(walkers):
    frames = styled(walkers, seed=4)
    look = TemporalBlender(lookahead=True)
    output = lookahead_all(look, walkers, frames)
    causal = TemporalBlender()
    causal._prev_output = output[-2]
    guide = causal.prepare(walkers[-2], walkers[-1])
    assert np.array_equal(output[-1], causal.apply(guide, frames[-1]))


class MapStylizer:
    """A stand-in network: the colour mapping plus per-frame noise of ``styled``."""

    def __init__(self, frames: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.frames = frames  # (source, styled) pairs

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        return [self._styled(frame) for frame in batch]

    def _styled(self, frame: np.ndarray) -> np.ndarray:
        for source, out in self.frames:
            if np.array_equal(source, frame):
                return out
        raise AssertionError("unknown frame")

    def postprocess(self, out: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return out


def pipeline_frames(sources, frames, items, *, batch_size=1, cancel=None, written=None):
    """What the pipeline writes, by index; with ``cancel``, it is cancelled after 3 writes."""
    written = {} if written is None else written

    def write(index: int, frame: np.ndarray) -> None:
        written[index] = frame
        if cancel is not None and len(written) == 3:
            cancel.cancel()

    stylizer = MapStylizer(list(zip(sources, frames, strict=True)))
    blender = TemporalBlender(lookahead=True)
    run_pipeline(
        iter(items), stylizer, write, len(items), batch_size=batch_size, temporal=blender,
        cancel=cancel,
    )  # fmt: skip
    return written


@pytest.mark.parametrize("batch_size", [1, 3])
def test_the_pipeline_holds_one_frame_and_writes_the_offline_frames(walkers, batch_size):
    """Every frame, the last included, as the offline loop makes it; a gap (None) ends the
    shot: the frame before it does not look across."""
    frames = styled(walkers, seed=6)
    written = pipeline_frames(walkers, frames, list(enumerate(walkers)), batch_size=batch_size)
    expected = lookahead_all(TemporalBlender(lookahead=True), walkers, frames)
    assert sorted(written) == list(range(len(walkers)))
    assert all(np.array_equal(written[i], expected[i]) for i in range(len(walkers)))
    items = [*enumerate(walkers[:4]), None, *((i + 4, f) for i, f in enumerate(walkers[4:]))]
    written = pipeline_frames(walkers, frames, items, batch_size=batch_size)
    first = lookahead_all(TemporalBlender(lookahead=True), walkers[:4], frames[:4])
    second = lookahead_all(TemporalBlender(lookahead=True), walkers[4:], frames[4:])
    assert all(np.array_equal(written[i], f) for i, f in enumerate(first + second))


def test_cancel_writes_only_finished_frames(walkers):
    """The held frame is dropped on cancel, not written without its lookahead: every frame
    written is the uninterrupted run's."""
    frames = styled(walkers, seed=7)
    expected = lookahead_all(TemporalBlender(lookahead=True), walkers, frames)
    token, written = CancelToken(), {}
    with pytest.raises(Cancelled):
        pipeline_frames(walkers, frames, list(enumerate(walkers)), cancel=token, written=written)
    assert 3 <= len(written) < len(walkers)
    assert all(np.array_equal(frame, expected[i]) for i, frame in written.items())


# -- through a job: resume ------------------------------------------------------------------
def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def make_job(clip, output, library) -> StyleJob:
    return StyleJob(
        clip, output, "starry-swirls", temporal=0.5, lookahead=True, end=9, library=library
    )


def test_a_resumed_sequence_matches_an_uninterrupted_run(library, pan_clip, tmp_path):
    whole = tmp_path / "whole"
    make_job(pan_clip, whole, library).run()
    resumed = tmp_path / "resumed"
    token = CancelToken()

    def progress(p) -> None:
        if p.stage == "stylize" and p.done >= 4:
            token.cancel()

    first = make_job(pan_clip, resumed, library).run(progress=progress, cancel=token)
    assert first.cancelled and 0 < first.written < 10
    second = make_job(pan_clip, resumed, library).run()
    assert second.reused == first.written
    assert snapshot(resumed) == snapshot(whole)


def test_a_sequence_with_holes_resumes_to_the_uninterrupted_run(library, pan_clip, tmp_path):
    """A killed writer can leave frame k missing while k+1 is done: k looked ahead at k+1,
    so k+1 is styled again (not written) for it."""
    whole = tmp_path / "whole"
    make_job(pan_clip, whole, library).run()
    holed = tmp_path / "holed"
    holed.mkdir()
    for name, data in snapshot(whole).items():
        (holed / name).write_bytes(data)
    for hole in ("000003.png", "000004.png", "000007.png", "000009.png"):
        (holed / hole).unlink()
    again = make_job(pan_clip, holed, library).run()
    assert again.written == 4
    assert snapshot(holed) == snapshot(whole)


def test_a_range_with_a_lookahead_tail_ends_as_inside_a_longer_run(library, pan_clip, tmp_path):
    """What a Ray chunk split inside a shot runs: frames 0..5 with the tail (frame 6 styled
    for frame 5's lookahead, not written) equal frames 0..5 of a run to frame 9; without the
    tail frame 5 is the causal end of a shot. At the source's last frame there is no tail."""

    def pngs(folder: Path) -> dict[str, bytes]:
        return {n: d for n, d in snapshot(folder).items() if n.endswith(".png")}

    whole = tmp_path / "whole"
    make_job(pan_clip, whole, library).run()
    runs = {}
    for tail in (True, False):
        job = make_job(pan_clip, tmp_path / str(tail), library)
        job.end, job.lookahead_tail = 5, tail
        assert job.run().written == 6
        runs[tail] = pngs(tmp_path / str(tail))
    expected = {f"{i:06d}.png": pngs(whole)[f"{i:06d}.png"] for i in range(6)}
    assert runs[True] == expected  # frame 6 was looked at, not written
    assert runs[False]["000005.png"] != expected["000005.png"]
    last = make_job(pan_clip, tmp_path / "last", library)
    last.start, last.end, last.lookahead_tail = 21, 23, True
    assert last.run().written == 3


def test_jobs_look_ahead_by_default_and_the_cli_can_turn_it_off(tmp_path):
    """Core's default reaches every job (Blender's included); --no-lookahead is causal and
    keyed apart, so a resumed run never mixes the two."""
    from restyle.core.cli import build_parser
    from restyle.core.temporal import LOOKAHEAD

    default = StyleJob("in.mp4", tmp_path / "out", "comic-ink")
    assert default._temporal().lookahead is LOOKAHEAD
    args = build_parser().parse_args(
        ["stylize", "in.mp4", "-o", "out", "-s", "comic-ink", "--no-lookahead"]
    )
    assert args.lookahead is False
    off = StyleJob("in.mp4", tmp_path / "out", "comic-ink", lookahead=args.lookahead)
    assert off._temporal().lookahead is False
    style = SimpleNamespace(id="comic-ink", picture=None, folder=None, kind="builtin")
    info = SimpleNamespace(files=None, path=tmp_path / "in.mp4")
    assert off._settings_key(style, info) != default._settings_key(style, info)
    assert StyleJob("in.mp4", tmp_path / "out", "comic-ink", temporal=0)._temporal() is None


def test_a_new_coherence_revision_changes_coherent_keys_only(tmp_path, monkeypatch):
    """A resumed sequence never mixes frames of two coherence revisions; frame-by-frame
    outputs (no coherence) keep their keys."""
    from restyle.core import temporal

    style = SimpleNamespace(id="comic-ink", picture=None, folder=None, kind="builtin")
    info = SimpleNamespace(files=None, path=tmp_path / "in.mp4")
    jobs = [StyleJob("in.mp4", tmp_path / "out", "comic-ink", temporal=t) for t in (0.5, 0)]
    before = [job._settings_key(style, info) for job in jobs]
    monkeypatch.setattr(temporal, "REVISION", temporal.REVISION + 1)
    after = [job._settings_key(style, info) for job in jobs]
    assert after[0] != before[0] and after[1] == before[1]


def test_sixteen_bit_frames_with_alpha_look_ahead_on_colour_only(walkers):
    """16-bit RGBA: the colour channels get the lookahead blend in float (the next frame's
    colour included), as the offline loop on float frames; alpha stays the styled frame's."""
    frames = styled(walkers[:5], seed=8)
    alpha = np.full(frames[0].shape[:2] + (1,), 40000, np.uint16)
    deep = [np.concatenate([f.astype(np.uint16) * 257, alpha], axis=2) for f in frames]
    written = pipeline_frames(walkers[:5], deep, list(enumerate(walkers[:5])))
    floats = [f[..., :3].astype(np.float32) * (1 / 65535) for f in deep]
    expected = lookahead_all(TemporalBlender(lookahead=True), walkers[:5], floats)
    for i, frame in written.items():
        assert frame.dtype == np.uint16 and np.array_equal(frame[..., 3:], alpha)
        want = np.clip(expected[i] * 65535 + 0.5, 0, 65535).astype(np.uint16)  # bicubic overshoot
        assert np.abs(frame[..., :3].astype(int) - want).max() <= 1
    assert not np.array_equal(written[2], deep[2])
