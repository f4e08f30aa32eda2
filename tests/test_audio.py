"""Movie outputs keep the source's sound: exactly the written range, in sync, per container.

Sources are tiny generated movies: textured frames and a quiet 440 Hz tone with a loud
click at chosen frames' times. A click's time is read on the movie's own clock (the decoded
sample's timestamp), so sync is checked against what the source plays, whatever offset its
streams start at.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from restyle.core.audio import audio_clip
from restyle.core.cli import main
from restyle.core.job import StyleJob
from restyle.core.mappings.stabilize_job import StabilizeJob
from restyle.core.media import decode_range, probe
from restyle.core.progress import CancelToken
from restyle.core.writers import AUDIO_CODECS, OUTPUT_FORMATS, open_writer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from real_footage import FootageUnavailable, real_clip  # noqa: E402

FPS = 24
FRAMES = 48
SIZE = (64, 48)
SYNC_S = 0.0015  # a click lands within this of its frame's time (mkv stamps are 1 ms)


def make_clip(
    path: Path,
    *,
    clicks: tuple[int, ...] = (30,),
    audio: str | None = "aac",
    video: str = "libx264",
    video_offset: float = 0.0,
    audio_offset: float = 0.0,
    rate: int = 44100,
    layout: str = "stereo",
) -> Path:
    """FRAMES frames at FPS; the video's first frame at ``video_offset`` s, the audio's first
    sample at ``audio_offset`` s; a click where each frame of ``clicks`` is shown."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (SIZE[1], SIZE[0], 3), np.uint8)
    with av.open(str(path), "w") as container:
        vstream = container.add_stream(video, rate=FPS)
        vstream.width, vstream.height = SIZE
        vstream.pix_fmt = "yuv420p" if video == "libx264" else "bgr0"
        astream = None
        if audio:
            astream = container.add_stream(audio, rate=rate)
            astream.layout = layout
        n = round((FRAMES / FPS + 0.5) * rate)
        tone = 0.05 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)
        for frame in clicks:
            at = round((frame / FPS + video_offset - audio_offset) * rate)
            assert at >= 0, "a click before the audio starts"
            tone[at : at + 32] = 0.9
        channels = av.AudioLayout(layout).nb_channels
        sound = np.stack([tone] * channels).astype(np.float32)
        first_pts, placed = round(video_offset * FPS), 0
        for i in range(FRAMES):
            picture = np.roll(texture, i, axis=1)
            vframe = av.VideoFrame.from_ndarray(picture, format="rgb24")
            vframe.pts = first_pts + i
            for packet in vstream.encode(vframe):
                container.mux(packet)
            while astream and placed < n and placed / rate + audio_offset <= (i + 1) / FPS:
                chunk = sound[:, placed : placed + 1024]
                placed += mux_samples(
                    container, astream, chunk, placed + round(audio_offset * rate)
                )
        flush(container, vstream, astream)
    return path


def mux_samples(container, stream, samples: np.ndarray, pts: int) -> int:
    """Encode float samples (channels x n) as one frame at sample ``pts``; returns n."""
    aframe = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples), format="fltp", layout=stream.layout.name
    )
    aframe.sample_rate, aframe.time_base, aframe.pts = stream.rate, Fraction(1, stream.rate), pts
    container.mux(stream.encode(aframe))
    return samples.shape[1]


def mux_sound(container, stream, sound: np.ndarray) -> None:
    """Encode a whole track of float samples (channels x n) from time 0, 4096 at a time."""
    for start in range(0, sound.shape[1], 4096):
        mux_samples(container, stream, sound[:, start : start + 4096], start)


def flush(container, *streams) -> None:
    """Drain the encoders of ``streams`` (None: no such stream) into ``container``."""
    for stream in streams:
        if stream is not None:
            container.mux(stream.encode(None))


def read_sound(path: Path) -> tuple[float, int, np.ndarray] | None:
    """(first sample's time, rate, float samples 2 x n) of the movie's audio; None if none."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        assert len(container.streams.audio) == 1
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        first, parts = None, []
        for frame in container.decode(stream):
            first = float(frame.pts * frame.time_base) if first is None else first
            parts += [f.to_ndarray() for f in resampler.resample(frame)]
    return first, rate, np.concatenate(parts, axis=1)


def click_times(path: Path) -> list[float]:
    """When the clicks play, on the movie's own clock."""
    first, rate, samples = read_sound(path)
    loud = np.abs(samples[0]) > 0.5
    rises = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    return [first + r / rate for r in ([0] if loud[0] else []) + list(rises)]


def expected_clicks(source: Path, start: int, end: int) -> list[float]:
    """The source's clicks inside frames start..end, as times from the output's start."""
    info = probe(source)
    t0 = float(info.start_pts * info.time_base) + start / FPS
    t1 = t0 + (end - start + 1) / FPS
    return [t - t0 for t in click_times(source) if t0 <= t < t1]


def assert_sound_of_range(out: Path, source: Path, start: int, end: int) -> None:
    first, rate, samples = read_sound(out)
    duration = samples.shape[1] / rate
    assert abs(first) < 1e-6
    assert (end - start + 1) / FPS <= duration + 1 / rate <= (end - start + 1) / FPS + 1024 / rate
    want = expected_clicks(source, start, end)
    got = click_times(out)
    assert len(got) == len(want) and want, (got, want)
    assert np.allclose(got, want, atol=SYNC_S), (got, want)


def write_movie(source: Path, out: Path, fmt: str, start: int, end: int):
    info = probe(source)
    writer = open_writer(
        out, fmt=fmt, fps=info.fps, size=info.size, audio=audio_clip(info, start, end)
    )
    with writer:
        for index, frame in enumerate(decode_range(source, start, end, info=info), start):
            writer.write(index, frame)
    return writer


# -- the writer: each container, streams that start apart ------------------------------------


@pytest.mark.parametrize(
    "source_options",
    [
        {},
        {"video_offset": 0.5, "audio": "flac", "video": "ffv1"},  # audio starts first
        {"audio_offset": 0.3, "audio": "flac", "video": "ffv1", "clicks": (12, 30)},
        {"video_offset": 0.5},
        {"audio_offset": 0.3, "clicks": (12, 30)},  # sound starts after the picture
    ],
    ids=["mp4", "mkv-audio-first", "mkv-video-first", "mp4-audio-first", "mp4-video-first"],
)
@pytest.mark.parametrize("start,end", [(0, FRAMES - 1), (10, 35)])
def test_the_sound_of_the_range_in_sync(tmp_path, source_options, start, end):
    suffix = ".mkv" if source_options.get("video") == "ffv1" else ".mp4"
    source = make_clip(tmp_path / f"source{suffix}", **source_options)
    writer = write_movie(source, tmp_path / "out.mp4", "h264", start, end)
    assert writer.warnings == []
    assert_sound_of_range(tmp_path / "out.mp4", source, start, end)


def test_sound_before_the_audio_starts_is_silence(tmp_path):
    source = make_clip(tmp_path / "late.mkv", audio="flac", video="ffv1", audio_offset=0.3)
    write_movie(source, tmp_path / "out.mov", "prores", 0, 23)
    first, rate, samples = read_sound(tmp_path / "out.mov")
    assert np.abs(samples[:, : int(0.29 * rate)]).max() == 0  # nothing to hear yet
    assert np.abs(samples[:, int(0.31 * rate) :]).max() > 0.04  # the tone


@pytest.mark.parametrize("suffix,fmt", [(".mp4", "h264"), (".mov", "prores"), (".mkv", "ffv1")])
def test_each_container_gets_its_codec(tmp_path, suffix, fmt):
    source = make_clip(tmp_path / "source.mp4")
    write_movie(source, tmp_path / f"out{suffix}", fmt, 20, 40)
    with av.open(str(tmp_path / f"out{suffix}")) as container:
        assert container.streams.audio[0].codec_context.name == AUDIO_CODECS[suffix][0]
    assert_sound_of_range(tmp_path / f"out{suffix}", source, 20, 40)


@pytest.mark.parametrize("layout,kept", [("mono", "mono"), ("5.1", "stereo")])
def test_mono_stays_mono_and_surround_is_mixed_to_stereo(tmp_path, layout, kept):
    source = make_clip(tmp_path / "source.mkv", audio="flac", video="ffv1", layout=layout)
    write_movie(source, tmp_path / "out.mp4", "h264", 10, 35)
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert container.streams.audio[0].codec_context.layout.name == kept
    assert_sound_of_range(tmp_path / "out.mp4", source, 10, 35)


# -- the jobs and the command line -----------------------------------------------------------


def test_stylize_start_n_keeps_the_sound_in_sync(library, tmp_path):
    source = make_clip(tmp_path / "source.mp4")
    out = tmp_path / "styled.mp4"
    args = ["stylize", str(source), "-o", str(out), "-s", "ink-wash", "--start", "20"]
    assert (
        main([*args, "--end", "40", "--temporal", "0", "-q", "--library", str(library.root)]) == 0
    )
    assert probe(out).frame_count == 21
    assert_sound_of_range(out, source, 20, 40)


def test_a_matte_movie_keeps_the_sound(matte_library, tmp_path, monkeypatch):
    """RGBA ProRes 4444 (.mov) with 16-bit PCM, and a composite over a colour (.mp4)."""
    monkeypatch.setenv("RESTYLE_HOME", str(matte_library.root))
    source = make_clip(tmp_path / "source.mp4")
    rgba, flat = tmp_path / "matte.mov", tmp_path / "green.mp4"
    assert main(["matte", str(source), "-o", str(rgba), "--start", "20", "-q"]) == 0
    assert main(["matte", str(source), "-o", str(flat), "--replace", "#00FF00", "-q"]) == 0
    assert_sound_of_range(rgba, source, 20, FRAMES - 1)
    assert_sound_of_range(flat, source, 0, FRAMES - 1)


def test_no_audio_and_silent_sources_give_no_audio_stream(tmp_path, capsys):
    source = make_clip(tmp_path / "source.mp4")
    silent = make_clip(tmp_path / "silent.mp4", audio=None)
    assert main(["stabilize", str(source), "-o", str(tmp_path / "a.mp4"), "--no-audio"]) == 0
    assert main(["stabilize", str(silent), "-o", str(tmp_path / "b.mp4"), "--json"]) == 0
    assert read_sound(tmp_path / "a.mp4") is None and read_sound(tmp_path / "b.mp4") is None
    assert "warning" not in capsys.readouterr().err
    assert main(["stabilize", str(source), "-o", str(tmp_path / "c.mp4"), "--start", "10"]) == 0
    assert_sound_of_range(tmp_path / "c.mp4", source, 10, FRAMES - 1)


def test_an_image_sequence_has_no_sound(tmp_path, capsys):
    source = make_clip(tmp_path / "source.mp4")
    assert main(["stabilize", str(source), "-o", str(tmp_path / "frames"), "--end", "3"]) == 0
    assert sorted(p.suffix for p in (tmp_path / "frames").iterdir()) == [".json"] + [".png"] * 4
    assert "warning" not in capsys.readouterr().err


def test_cancel_leaves_no_movie_and_no_scratch(tmp_path):
    source = make_clip(tmp_path / "source.mp4")
    out = tmp_path / "out" / "steady.mov"
    token = CancelToken()

    def progress(p):
        if p.stage == "stabilize" and p.done >= 3:
            token.cancel()

    result = StabilizeJob(source, out).run(progress=progress, cancel=token)
    assert result.cancelled
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_fewer_frames_than_the_clip_covers_get_only_their_sound(tmp_path):
    source = make_clip(tmp_path / "source.mp4")
    info = probe(source)
    out = tmp_path / "short.mp4"
    writer = open_writer(
        out, fmt="h264", fps=info.fps, size=info.size, audio=audio_clip(info, 0, FRAMES - 1)
    )
    with writer:  # a short run: the clip covers every frame, only 10 are written
        for index, frame in enumerate(decode_range(source, 0, 9, info=info)):
            writer.write(index, frame)
    _, rate, samples = read_sound(out)
    assert abs(samples.shape[1] / rate - 10 / FPS) <= 1024 / rate, samples.shape[1] / rate


def test_a_failure_opening_the_sound_leaves_no_scratch_file(tmp_path, monkeypatch):
    import restyle.core.audio as audio

    source = make_clip(tmp_path / "source.mp4")
    info = probe(source)
    out = tmp_path / "out" / "movie.mp4"

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(audio, "open_track", broken)
    with pytest.raises(RuntimeError, match="boom"):
        open_writer(out, fmt="h264", fps=info.fps, size=info.size, audio=audio_clip(info, 0, 9))
    assert list(out.parent.iterdir()) == []


def test_a_stream_without_codec_context_is_a_warning_not_a_traceback(tmp_path, monkeypatch):
    import restyle.core.audio as audio

    source = make_clip(tmp_path / "source.mp4")
    real = audio._chosen_stream
    monkeypatch.setattr(
        audio, "_chosen_stream", lambda streams: SimpleNamespace(**_attrs(real(streams)))
    )
    writer = write_movie(source, tmp_path / "out.mp4", "h264", 0, 9)
    assert any("unknown audio has no sample rate" in w for w in writer.warnings), writer.warnings
    assert read_sound(tmp_path / "out.mp4") is None


def _attrs(stream) -> dict:
    return {"codec_context": None, "metadata": stream.metadata, "time_base": stream.time_base}


# -- damaged sound ---------------------------------------------------------------------------


def damage_audio(clean: Path, bad: Path, first: int = 0, last: int | None = None) -> Path:
    """A remuxed copy whose audio packets from the ``first``-th on (to the ``last``-th) hold
    noise (same timing), so the container reads and the audio decoder refuses them."""
    rng = np.random.default_rng(2)
    with av.open(str(clean)) as src, av.open(str(bad), "w") as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        audio_seen = 0
        for packet in src.demux():
            if packet.dts is None:
                continue
            target = streams[packet.stream.index]
            if packet.stream.type == "audio":
                audio_seen += 1
                if audio_seen > first and (last is None or audio_seen <= last + 1):
                    noise = av.Packet(rng.integers(0, 256, packet.size, np.uint8).tobytes())
                    noise.pts, noise.dts, noise.time_base = packet.pts, packet.dts, packet.time_base
                    noise.duration = packet.duration
                    packet = noise
            packet.stream = target
            dst.mux(packet)
    return bad


def test_unreadable_audio_warns_once_and_writes_the_video(tmp_path, capsys):
    clean = make_clip(tmp_path / "clean.mkv", audio="flac", video="ffv1")
    bad = damage_audio(clean, tmp_path / "bad.mkv")
    out = tmp_path / "out.mkv"
    assert main(["stabilize", str(bad), "-o", str(out)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "audio could not be read" in warnings[0], warnings
    assert probe(out).frame_count == FRAMES and read_sound(out) is None


def test_audio_damaged_part_way_is_silent_there_and_said_once(tmp_path):
    clean = make_clip(tmp_path / "clean.mkv", audio="flac", video="ffv1", clicks=(5,))
    with av.open(str(clean)) as container:
        count = sum(1 for p in container.demux(audio=0) if p.size)
    bad = damage_audio(clean, tmp_path / "bad.mkv", first=count // 2)
    result = StabilizeJob(bad, tmp_path / "out.mkv").run()
    assert len(result.warnings) == 1 and "silent there" in result.warnings[0], result.warnings
    first, rate, samples = read_sound(tmp_path / "out.mkv")
    assert samples.shape[1] == round(FRAMES / FPS * rate)  # the whole range, in time
    assert np.abs(samples[:, rate // 2 : rate]).max() > 0.04  # the tone, before the damage
    assert np.abs(samples[:, -rate // 4 :]).max() == 0  # silence after it
    assert np.allclose(click_times(tmp_path / "out.mkv"), [5 / FPS], atol=SYNC_S)
    assert " s into the movie" in result.warnings[0], result.warnings


def test_audio_damaged_at_the_start_says_so(tmp_path):
    """Not 'the first 0.00 s into the movie' (a CLI walkthrough on Megamind)."""
    clean = make_clip(tmp_path / "clean.mkv", audio="flac", video="ffv1")
    bad = damage_audio(clean, tmp_path / "bad.mkv", first=0, last=0)
    result = StabilizeJob(bad, tmp_path / "out.mkv").run()
    assert len(result.warnings) == 1, result.warnings
    assert "from the movie's start" in result.warnings[0], result.warnings
    assert "0.00 s" not in result.warnings[0], result.warnings


# -- Ray's join and Blender --------------------------------------------------------------------


def test_ray_join_muxes_the_sound_of_the_whole_range(tmp_path):
    """Chunks leave PNG frames; the movie made of them gets the range's sound."""
    from restyle.core.ray_runner import _mux

    source = make_clip(tmp_path / "source.mp4")
    folder = tmp_path / "frames"
    assert main(["stabilize", str(source), "-o", str(folder), "--start", "8", "-q"]) == 0
    job = StabilizeJob(source, tmp_path / "joined.mp4", start=8, format="h264")
    plan = SimpleNamespace(start=8, end=FRAMES - 1)
    frames_plan = SimpleNamespace(info=probe(source), format=OUTPUT_FORMATS["png"])  # PNG frames
    out, warnings = _mux(folder, job, frames_plan, plan)
    assert warnings == [] and probe(out).frame_count == FRAMES - 8
    assert_sound_of_range(out, source, 8, FRAMES - 1)


# A Ray run in chunks keeps the sound in sync: tests/test_ray.py
# (test_a_ray_run_in_chunks_keeps_the_sound_in_sync, on that module's cluster).


def test_blender_runs_keep_their_movies_silent(tmp_path):
    """In Blender the source's sound strip plays: a run submitted to Ray says --no-audio."""
    from restyle.core.ray_submit import stylize_command

    job = StyleJob(tmp_path / "a.mp4", tmp_path / "b.mp4", "ink-wash", format="h264")
    assert "--no-audio" not in stylize_command(job)
    job.audio = False
    assert "--no-audio" in stylize_command(job)


# -- real footage ------------------------------------------------------------------------------


def placed_sound(path: Path) -> tuple[int, np.ndarray]:
    """(rate, channel 0 from time 0), each decodable frame at its timestamp, refused packets
    silent: the source as a player hears it."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        pieces = []
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                continue
            for frame in frames:
                at = round(frame.pts * frame.time_base * rate)
                pieces += [(at, f.to_ndarray()[0]) for f in resampler.resample(frame)]
    sound = np.zeros(max(at + len(p) for at, p in pieces), np.float32)
    for at, piece in pieces:
        sound[at : at + len(piece)] = piece
    return rate, sound


def test_real_footage_keeps_its_sound_in_sync(tmp_path, capsys):
    """Megamind.avi (Debian's opencv-doc): MPEG-4 video, AC-3 stereo at 48 kHz."""
    try:
        source = real_clip("megamind")
    except FootageUnavailable as exc:
        pytest.skip(str(exc))
    out = tmp_path / "steady.mp4"
    assert main(["stabilize", str(source), "-o", str(out), "--start", "100", "--end", "160"]) == 0
    assert "warning" not in capsys.readouterr().err  # its one damaged packet is at 0 s
    info = probe(source)
    with av.open(str(source)) as container:  # its first picture shows a frame in (its dts)
        video = container.streams.video[0]
        first_picture = next(container.decode(video)).dts * video.time_base
    assert first_picture == 1 / info.fps
    # Pictures 100..160, as a player shows them (the sound was taken from 100 / fps: 2002
    # samples, a frame, late against them)
    t0, length = first_picture + 100 / info.fps, 61 / info.fps
    rate, heard = placed_sound(source)
    first, out_rate, styled = read_sound(out)
    assert out_rate == rate and first == 0
    assert length <= styled.shape[1] / rate <= length + 1024 / rate
    reference = heard[round(t0 * rate) : round(t0 * rate) + styled.shape[1]]
    assert np.abs(reference).max() > 0.05  # there is sound there to follow
    window = slice(4800, styled.shape[1] - 4800)
    lags = range(-960, 961)  # 20 ms either way
    score = [np.dot(reference[window], styled[0, window.start + k : window.stop + k]) for k in lags]
    lag = lags[int(np.argmax(score))]
    assert abs(lag) <= rate // 1000, f"{lag} samples off"  # within 1 ms (AAC is lossy)
    match = np.corrcoef(reference[window], styled[0, window.start + lag : window.stop + lag])
    assert match[0, 1] > 0.9


# -- --json says what sound the movie has -----------------------------------------------------


def json_record(capsys) -> dict:
    import json

    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_json_says_whether_the_movie_has_sound(library, matte_library, tmp_path, capsys):
    source = make_clip(tmp_path / "source.mp4")
    silent = make_clip(tmp_path / "silent.mp4", audio=None)
    lib = ["--library", str(library.root)]
    style = ["stylize", str(source), "-s", "ink-wash", "--temporal", "0", "--json", *lib]
    runs = [
        (["stabilize", str(source), "-o", str(tmp_path / "a.mp4"), "--json"], ("aac", 2.0)),
        (["stabilize", str(source), "-o", str(tmp_path / "b.mkv"), "--json"], ("flac", 2.0)),
        (["stabilize", str(source), "-o", str(tmp_path / "c.mov"), "--json"], ("pcm_s16le", 2.0)),
        ([*style, "-o", str(tmp_path / "d.mp4"), "--end", "11"], ("aac", 0.5)),
        (["matte", str(source), "-o", str(tmp_path / "e.mov"), "--start", "36", "--json"],)
        + (("pcm_s16le", 0.5),),
        (["stabilize", str(source), "-o", str(tmp_path / "f.mp4"), "--json", "--no-audio"], None),
        (["stabilize", str(silent), "-o", str(tmp_path / "g.mp4"), "--json"], None),
        (["stabilize", str(source), "-o", str(tmp_path / "frames"), "--json"], None),
    ]
    for args, want in runs:
        env = {"RESTYLE_HOME": str(matte_library.root)} if args[0] == "matte" else {}
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            assert main(args) == 0, args
        sound = json_record(capsys)["audio"]
        assert (sound and (sound["codec"], sound["seconds"])) == (want or None), (args, sound)


# -- a rate or layout that changes part-way ---------------------------------------------------


def broadcast_segment(path: Path, first: int, count: int, rate: int, layout: str, click: int):
    """MPEG-TS, MPEG-2 video and MP2 sound, frames ``first..first+count-1`` on one clock, a
    click at frame ``click``: segments joined byte for byte change rate and layout there."""
    with av.open(str(path), "w", format="mpegts") as container:
        vstream = container.add_stream("mpeg2video", rate=FPS)
        vstream.width, vstream.height = SIZE
        astream = container.add_stream("mp2", rate=rate)
        astream.layout = layout
        n = round(count / FPS * rate)
        tone = 0.05 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)
        at = round((click - first) / FPS * rate)
        tone[at : at + 32] = 0.9
        sound = np.stack([tone] * av.AudioLayout(layout).nb_channels).astype(np.float32)
        placed = 0
        for i in range(count):
            picture = np.full((SIZE[1], SIZE[0], 3), 5 * i, np.uint8)
            vframe = av.VideoFrame.from_ndarray(picture, format="rgb24")
            vframe.pts, vframe.time_base = first + i, Fraction(1, FPS)
            for packet in vstream.encode(vframe):
                container.mux(packet)
            while placed < n and placed / rate < (i + 1) / FPS:
                chunk = sound[:, placed : placed + 1152]
                placed += mux_samples(container, astream, chunk, round(first / FPS * rate) + placed)
        flush(container, vstream, astream)


# Sample formats as PyAV's to_ndarray gives them: full scale, and the value of silence.
_SCALE = {"u8": (128, 128), "s16": (2**15, 0), "s32": (2**31, 0), "s64": (2**63, 0)}


def first_channel(frame: av.AudioFrame) -> np.ndarray:
    """A decoded frame's first channel in -1..1, whatever its sample format: planar (a row
    per channel) or interleaved (one row, the channels taking turns), integer or float."""
    samples = frame.to_ndarray()
    if not frame.format.is_planar:
        samples = samples.reshape(-1, frame.layout.nb_channels).T
    scale, zero = _SCALE.get(frame.format.name.rstrip("p"), (1, 0))  # flt, dbl: as they are
    return (samples[0].astype(np.float64) - zero) / scale


@pytest.mark.parametrize("fmt", ["s16", "s16p", "fltp", "flt", "s32", "u8p"])
def test_first_channel_reads_every_sample_format_alike(fmt):
    """The click finder above reads a decoded frame's channel 0 so: ``to_ndarray()[0]`` is
    it only for planar formats (the MP2 decoder's s16p here); an interleaved frame's row 0
    holds both channels, taking turns."""
    left, right = np.linspace(-0.5, 0.5, 64), np.full(64, 0.25)
    planar = av.AudioFrame.from_ndarray(
        np.stack([left, right]).astype(np.float32), "fltp", "stereo"
    )
    planar.sample_rate = 48000
    (frame,) = av.AudioResampler(format=fmt, layout="stereo", rate=48000).resample(planar)
    assert frame.format.is_planar == fmt.endswith("p")
    assert np.allclose(first_channel(frame), left, atol=1 / 64)


def test_a_rate_and_layout_change_part_way_is_resampled(tmp_path):
    """44.1 kHz stereo, then 48 kHz mono from frame 24 (a broadcast recording): the job
    failed with 'Frame does not match AudioResampler setup'; the rest is now resampled to
    the first rate and layout, in sync."""
    parts = [tmp_path / "a.ts", tmp_path / "b.ts"]
    broadcast_segment(parts[0], 0, 24, 44100, "stereo", click=12)
    broadcast_segment(parts[1], 24, 24, 48000, "mono", click=36)
    source = tmp_path / "joined.ts"
    source.write_bytes(b"".join(p.read_bytes() for p in parts))
    setups, clicks = set(), []  # the source does change part-way; its clicks, on its clock
    with av.open(str(source)) as container:
        for frame in container.decode(audio=0):
            setups.add((frame.sample_rate, frame.layout.name))
            loud = np.flatnonzero(np.abs(first_channel(frame)) > 0.5)
            if loud.size:
                clicks.append(float(frame.pts * frame.time_base) + loud[0] / frame.sample_rate)
    assert {(44100, "stereo"), (48000, "mono")} <= setups and len(clicks) == 2
    info = probe(source)
    origin = float(info.start_pts * info.time_base)
    out = tmp_path / "out.mp4"
    writer = write_movie(source, out, "h264", 0, 40)
    assert writer.warnings == []
    first, rate, samples = read_sound(out)
    assert rate == 44100 and abs(samples.shape[1] / rate - 41 / FPS) < 1024 / rate
    assert np.abs(samples[:, round(1.1 * rate) : round(1.4 * rate)]).max() > 0.03  # the tone
    assert np.allclose(click_times(out), [c - origin for c in clicks], atol=SYNC_S)


# -- several audio streams -------------------------------------------------------------------


def two_language_clip(path: Path, default: int) -> Path:
    """FFV1 + two FLAC streams (eng: a click at frame 12, deu: at frame 30), stream
    ``default`` (0 or 1) marked default."""
    with av.open(str(path), "w") as container:
        vstream = container.add_stream("ffv1", rate=FPS)
        vstream.width, vstream.height = SIZE
        streams = []
        for i, language in enumerate(("eng", "deu")):
            stream = container.add_stream("flac", rate=44100)
            stream.layout = "stereo"
            stream.metadata["language"] = language
            stream.disposition = av.stream.Disposition.default if i == default else 0
            streams.append(stream)
        rate, n = 44100, round(FRAMES / FPS * 44100)
        for i in range(FRAMES):
            picture = np.full((SIZE[1], SIZE[0], 3), 5 * i, np.uint8)
            vframe = av.VideoFrame.from_ndarray(picture, format="rgb24")
            vframe.pts = i
            for packet in vstream.encode(vframe):
                container.mux(packet)
        for stream, click in zip(streams, (12, 30), strict=True):
            tone = np.zeros((2, n), np.float32)
            at = round(click / FPS * rate)
            tone[:, at : at + 32] = 0.9
            mux_sound(container, stream, tone)
        flush(container, vstream, *streams)
    return path


@pytest.mark.parametrize("default,click,which", [(0, 12, "#1 (eng)"), (1, 30, "#2 (deu)")])
def test_of_several_audio_streams_the_default_is_kept_and_said(tmp_path, default, click, which):
    source = two_language_clip(tmp_path / "two.mkv", default)
    result = StabilizeJob(source, tmp_path / "out.mkv").run()
    assert len(result.warnings) == 1, result.warnings
    assert "2 audio streams" in result.warnings[0] and which in result.warnings[0]
    assert np.allclose(click_times(tmp_path / "out.mkv"), [click / FPS], atol=SYNC_S)


# -- a variable frame rate -------------------------------------------------------------------


def variable_rate_clip(path: Path, clicks: tuple[int, ...]) -> list[float]:
    """FFV1 + FLAC in Matroska: 48 frames 30 and 55 ms apart in turn (a phone's), frame i
    grey 5*i, a click at each frame of ``clicks``' own time; returns the frames' times."""
    times = [0.001 * sum((30, 55)[j % 2] for j in range(1, i + 1)) for i in range(FRAMES)]
    rate = 44100
    with av.open(str(path), "w") as container:
        vstream = container.add_stream("ffv1", rate=FPS)
        vstream.width, vstream.height = SIZE
        vstream.codec_context.time_base = Fraction(1, 1000)
        astream = container.add_stream("flac", rate=rate)
        astream.layout = "stereo"
        for i, at in enumerate(times):
            picture = np.full((SIZE[1], SIZE[0], 3), 5 * i, np.uint8)
            vframe = av.VideoFrame.from_ndarray(picture, format="rgb24")
            vframe.pts, vframe.time_base = round(at * 1000), Fraction(1, 1000)
            for packet in vstream.encode(vframe):
                container.mux(packet)
        n = round((times[-1] + 0.1) * rate)
        tone = 0.05 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)
        for k in clicks:
            tone[round(times[k] * rate) : round(times[k] * rate) + 32] = 0.9
        mux_sound(container, astream, np.stack([tone, tone]).astype(np.float32))
        flush(container, vstream, astream)
    return times


def test_a_variable_rate_source_keeps_its_sound_in_time(tmp_path):
    """Measured: retimed at the average rate, a picture shows in the slot nearest its own time
    (up to half a frame early), a repeated one later (up to the source's gap after it: here
    -20..+33 ms); the sound is not stretched: a click plays at its source time, the sound
    lasts exactly the written frames, and the warning says sync is approximate and how."""
    clicks = (10, 31)
    times = variable_rate_clip(tmp_path / "phone.mkv", clicks)
    out = tmp_path / "out.mkv"
    result = StabilizeJob(tmp_path / "phone.mkv", out).run()
    fps = float(probe(tmp_path / "phone.mkv").fps)
    assert len(result.warnings) == 1 and "variable frame rate" in result.warnings[0]
    assert "sound keeps the source's timing, so sync is approximate" in result.warnings[0]
    assert "up to half a frame (21 ms) early" in result.warnings[0]
    with av.open(str(out)) as container:
        frames = container.decode(video=0)
        shown = [round(f.to_ndarray(format="rgb24")[..., 0].mean() / 5) for f in frames]
    first, rate, samples = read_sound(out)
    assert samples.shape[1] == round(len(shown) / fps * rate)  # the written frames' length
    assert np.allclose(click_times(out), [times[k] for k in clicks], atol=SYNC_S)
    for slot, k in enumerate(shown):
        gap = times[k + 1] - times[k] if k + 1 < FRAMES else 1 / fps
        assert -0.5 / fps - 1e-3 <= slot / fps - times[k] < gap + 0.5 / fps, (slot, k)
    assert len(shown) > len(set(shown))  # some pictures repeated: the rate does vary
