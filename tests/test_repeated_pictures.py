"""A variable-rate movie holds a picture over several frames (tree.avi: a new picture every
~6 frames at its stated 15 fps): a frame that shows the picture of the frame before it gets
that frame's styled result, written again, instead of a second trip through the network
(Blender's Apply said "40 styled" for 7 pictures, 32 s). Its summary counts them as
repeated; the no-sound clips here get no word about sound sync, a clip with sound does."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from restyle.core.job import StyleJob
from restyle.core.stylizer import Stylizer

from clips import index_frame, make_variable_rate_clip

SIZE = (64, 48)
# 5 pictures, each held 3 slots at 24 fps (stamps in 1/24 s): 13 frames, 8 of them repeats
STAMPS = (0, 3, 6, 9, 12)
HELD = [k for k in range(5) for _ in range(3)][:13]  # the picture each frame shows


@pytest.fixture
def styled_frames(monkeypatch):
    """How many frames went through the network."""
    count = [0]
    infer = Stylizer.infer

    def counting(self, batch):
        count[0] += len(batch)
        return infer(self, batch)

    monkeypatch.setattr(Stylizer, "infer", counting)
    return count


def _pixels(result) -> list[np.ndarray]:
    return [cv2.imread(str(path), cv2.IMREAD_UNCHANGED) for path in sorted(result.frame_files)]


def _held_clip(path):
    """The same frames at a constant rate: each picture really stored 3 times (lossless)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=Fraction(24))
        stream.width, stream.height = SIZE
        stream.pix_fmt = "bgr0"
        for k in HELD:
            frame = av.VideoFrame.from_ndarray(index_frame(k, SIZE), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_a_held_picture_is_styled_once_and_written_as_before(library, tmp_path, styled_frames):
    source = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    result = StyleJob(source, tmp_path / "out", "comic-ink", temporal=0.0, library=library).run()
    assert styled_frames[0] == 5  # once per picture (13 before)
    assert (result.written, result.repeated, result.reused) == (13, 8, 0)
    frames = _pixels(result)
    assert len(frames) == 13
    # The frames styled one by one (each picture stored 3 times) come out the same
    styled_frames[0] = 0
    held = _held_clip(tmp_path / "held.mkv")
    every = StyleJob(held, tmp_path / "every", "comic-ink", temporal=0.0, library=library).run()
    assert styled_frames[0] == 13 and every.repeated == 0
    for k, (mine, theirs) in enumerate(zip(frames, _pixels(every), strict=True)):
        assert np.array_equal(mine, theirs), k
    assert not any("sound" in warning for warning in result.warnings), result.warnings


def test_under_coherence_a_repeat_is_its_pictures_frame(library, tmp_path, styled_frames):
    source = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    result = StyleJob(source, tmp_path / "out", "comic-ink", library=library).run()
    assert styled_frames[0] == 5
    assert (result.written, result.repeated) == (13, 8)
    frames = _pixels(result)
    for i, k in enumerate(HELD):
        first = HELD.index(k)
        assert np.array_equal(frames[i], frames[first]), (i, first)
    assert not np.array_equal(frames[0], frames[3])  # distinct pictures stay distinct


def test_a_resumed_run_styles_only_the_pictures_left(library, tmp_path, styled_frames):
    """Frames 0-5 finished (their files kept): the rerun styles pictures 2-4 only."""
    source = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    out = tmp_path / "out"
    whole = StyleJob(source, out, "comic-ink", temporal=0.0, library=library).run()
    before = _pixels(whole)
    for path in sorted(whole.frame_files)[6:]:
        path.unlink()
    styled_frames[0] = 0
    rerun = StyleJob(source, out, "comic-ink", temporal=0.0, library=library).run()
    assert styled_frames[0] == 3
    assert (rerun.written, rerun.repeated, rerun.reused) == (7, 4, 6)
    for k, (mine, theirs) in enumerate(zip(_pixels(rerun), before, strict=True)):
        assert np.array_equal(mine, theirs), k


def _with_sound(path):
    """The variable-rate clip with a second of sound."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=Fraction(24))
        video.width, video.height = SIZE
        video.pix_fmt = "bgr0"
        video.codec_context.time_base = Fraction(1, 24)
        audio = container.add_stream("pcm_s16le", rate=48000)
        audio.layout = "mono"
        for k, stamp in enumerate(STAMPS):
            frame = av.VideoFrame.from_ndarray(index_frame(k, SIZE), format="rgb24")
            frame.pts = stamp
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        samples = np.zeros((1, 48000), np.int16)
        sound = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        sound.sample_rate, sound.pts = 48000, 0
        for packet in audio.encode(sound):
            container.mux(packet)
        for packet in audio.encode(None):
            container.mux(packet)
    return path


def test_the_sync_note_only_for_a_source_with_sound(library, tmp_path):
    silent = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    noisy = _with_sound(tmp_path / "sound.mkv")
    notes = []
    for source in (silent, noisy):
        job = StyleJob(source, tmp_path / source.stem, "comic-ink", temporal=0.0, library=library)
        (warning,) = job.run().warnings
        assert "; 8 frames repeat the one before (frames 1-2, 4-5, 7-8, 10-11)" in warning
        notes.append("sound keeps the source's timing, so sync is approximate" in warning)
    assert notes == [False, True]


def test_the_command_line_counts_the_repeats(library, tmp_path, capsys, styled_frames):
    from restyle.core.cli import main

    source = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    args = ["stylize", str(source), "-o", str(tmp_path / "out"), "-s", "comic-ink"]
    assert main([*args, "--temporal", "0", "--library", str(library.root)]) == 0
    said = capsys.readouterr()
    assert ": 5 frames styled, 8 repeated in " in said.out + said.err, said
    assert styled_frames[0] == 5


def test_a_range_ending_on_repeats_looks_ahead_as_a_longer_run(library, tmp_path):
    """Under lookahead, picture 1's frame (3) looks ahead at picture 2's (6) across its
    repeats (4, 5): a Ray chunk ending on those repeats (its tail, frame 6, looked at) writes
    frame 3 as the uninterrupted run does (it wrote it without the lookahead, or looked
    ahead at frame 5, a copy of frame 3, when it ended on frame 4)."""
    source = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    whole = StyleJob(source, tmp_path / "whole", "comic-ink", library=library).run()
    assert whole.repeated == 8
    expected = _pixels(whole)
    # Ending on frame 5 its tail is frame 6; ending on frame 4 the tail passes over frame 5
    # (a copy of frame 3 in the longer run) to frame 6
    for end in (5, 4):
        chunk = StyleJob(source, tmp_path / f"chunk{end}", "comic-ink", library=library, end=end)
        chunk.lookahead_tail = True
        result = chunk.run()
        assert (result.written, result.repeated) == (end + 1, end - 1)
        frames = _pixels(result)
        for k, (mine, theirs) in enumerate(zip(frames, expected[: end + 1], strict=True)):
            assert np.array_equal(mine, theirs), (end, k)


def test_a_rerun_of_a_held_picture_before_a_finished_frame_looks_ahead(library, tmp_path):
    """Frames 3-5 (picture 1, held) missing before the finished frame 6: the rerun writes
    frame 3 looking ahead at frame 6, as the uninterrupted run did."""
    source = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    whole = StyleJob(source, tmp_path / "whole", "comic-ink", library=library).run()
    expected = _pixels(whole)
    for path in sorted(whole.frame_files)[3:6]:
        path.unlink()
    rerun = StyleJob(source, tmp_path / "whole", "comic-ink", library=library).run()
    assert (rerun.written, rerun.repeated, rerun.reused) == (3, 2, 10)
    for k, (mine, theirs) in enumerate(zip(_pixels(rerun), expected, strict=True)):
        assert np.array_equal(mine, theirs), k


def test_ray_chunks_report_their_repeats_as_one_machine_counts_them(library, tmp_path):
    """Two Ray chunks of the 13 frames (0-5; 6-12 with 2 warm-up frames, run as the tasks
    run them, no cluster): each reports the repeats among its own frames, and the run's
    count of the landed frames is the local run's 8 (a warm-up frame's copy is not one)."""
    from types import SimpleNamespace

    from restyle.core.plan import Chunk
    from restyle.core.ray_runner import Landing, _style_chunk, job_fields, repeated_landed

    source = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    out = tmp_path / "out"
    out.mkdir()
    job = StyleJob(source, out, "comic-ink", temporal=0.0, library=library)
    fields = job_fields(job)
    job_type = fields.pop("job_type")
    board = SimpleNamespace(report=SimpleNamespace(remote=lambda *args: None))
    chunks = [Chunk(0, 5), Chunk(6, 12, warmup=2)]
    reports = [_style_chunk(job_type, dict(fields), c, Landing(out, ".png"), board) for c in chunks]
    assert [r["repeats"] for r in reports] == [[1, 2, 4, 5], [7, 8, 10, 11]]
    assert repeated_landed(reports, set(range(13))) == 8
    assert repeated_landed(reports, set(range(6))) == 4  # a cancelled run: its landed frames


def test_the_pipeline_counts_the_repeats_a_write_says_it_wrote(library):
    """The job's write puts a frame's repeats out with it and says how many it wrote: the
    pipeline's progress (its rate and ETA) and a cancel's count are of frames written, so
    3 pictures each held over 2 frames run 2, 4, 6 of 6 (were 1, 2, 3 of 6, the ETA
    counting 3 frames too many), and a cancel after the first says '2 of 6'."""
    from restyle.core.errors import Cancelled
    from restyle.core.pipeline import run_pipeline
    from restyle.core.progress import CancelToken

    frames = [(2 * k, index_frame(k, SIZE)) for k in range(3)]
    with Stylizer(library.resolve("comic-ink"), library) as stylizer:
        events, written = [], []

        def write(index, styled):
            written.extend((index, index + 1))
            return 2

        run_pipeline(iter(frames), stylizer, write, 6, progress=events.append)
        assert written == list(range(6))
        assert [(p.done, p.total) for p in events] == [(2, 6), (4, 6), (6, 6)]
        token, events = CancelToken(), []

        def write_then_cancel(index, styled):
            token.cancel()
            return 2

        with pytest.raises(Cancelled, match="cancelled after 2 of 6 frames"):
            run_pipeline(iter(frames), stylizer, write_then_cancel, 6, cancel=token)


def test_a_jobs_progress_counts_each_written_frame_once(library, tmp_path):
    source = make_variable_rate_clip(tmp_path / "vfr.mkv", STAMPS, time_base=Fraction(1, 24))
    events = []
    job = StyleJob(source, tmp_path / "out", "comic-ink", temporal=0.0, library=library)
    result = job.run(progress=events.append)
    assert (result.written, result.repeated) == (13, 8)
    done = [p.done for p in events if p.stage == "stylize"]
    assert done == sorted(done) and done[-1] == 13 and max(done) == 13, done
    assert all(p.total == 13 for p in events if p.stage == "stylize")
