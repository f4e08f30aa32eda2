"""The source's sound in a movie output: the audio of exactly the frames written, trimmed to
the sample, re-encoded for the output's container (``writers.AUDIO_CODECS``) and muxed into
the movie's own scratch file, so it is as atomic as the video.

Times are on the source container's clock: frame ``i`` of a movie shows at its first
frame's time plus ``i / fps`` (``media``'s frame index), and the audio sample at that time
is the one heard with it. Audio is re-encoded rather than copied, because a copy can only
cut at packet boundaries. A damaged audio stream never fails a job: unreadable from the
start, the movie gets no sound; damaged further in, that stretch is silent; a warning says
which.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .media import _reason
from .words import count

WORK_FORMAT = "fltp"  # planar float: trimming and padding are plain array slices
_FALLBACK_RATE = 48000
_SEEK_MARGIN_S = 1  # an AAC frame needs the one before it to decode exactly
# Demuxers whose audio timestamps after a seek are guessed from byte positions: read from the
# start instead (AVI: 144 samples, 3 ms, late after a seek into Megamind.avi's AC-3).
_NO_SEEK_FORMATS = frozenset({"avi"})
_PROBE_PACKETS = 64  # packets tried before the audio is called unreadable
_LATE_S = Fraction(1, 10)  # a packet this far before the clip (its whole length) is not heard


@dataclass(frozen=True)
class AudioClip:
    """The audio a movie output carries: ``duration`` seconds of ``path``'s sound from
    ``start`` (seconds on the source's clock), which becomes the output's time 0."""

    path: Path
    start: Fraction
    duration: Fraction


def audio_clip(info, start: int, end: int) -> AudioClip | None:
    """The clip that goes with source frames ``start..end`` of a probed movie (None for
    images: an image sequence has no sound). Whether the movie has an audio stream is
    found when the writer opens it."""
    if getattr(info, "kind", None) != "movie":
        return None
    origin = Fraction(0)
    fps = Fraction(info.fps)
    first = _first_picture_time(info)
    if first is not None:
        # Index 0 shows the first picture, or read with its lead-in (as Blender's strips show
        # it) lead_in / fps before it, at the stream's start; Blender plays the sound so.
        origin = first - getattr(info, "lead_in", 0) / fps
    return AudioClip(Path(info.path), origin + start / fps, (end - start + 1) / fps)


def _first_picture_time(info) -> Fraction | None:
    """When the first picture shows on the sound's clock (``MediaInfo.first_picture_time``:
    in AVI its decode timestamp). Its first frame's pts was taken, and none where the
    pts come out of order, so the sound was off against the pictures (tests/
    test_audio_lead_in.py, samples at 48 kHz, + late): Megamind.avi read without
    --hold-lead-in +2002 (a frame); x264 in AVI -2000 either way without B-frames, +2000
    and +4000 read without --hold-lead-in with 1 and 2."""
    first = getattr(info, "first_picture_time", None)
    if first is not None:
        return Fraction(first)
    if info.start_pts is not None and info.time_base is not None:  # an info without it
        return info.start_pts * Fraction(info.time_base)
    return None


class NoAudio(Exception):
    """The source has no audio stream: the movie is silent, and nothing is said."""


class AudioTrack:
    """One source audio stream, trimmed and encoded into an output container as the video
    advances (``feed_until``), so the file stays interleaved and memory flat.

    Opened before the output's header is written (the stream must exist by then); raises
    ``NoAudio`` for a source without sound and ``UnreadableAudio`` for one whose sound
    cannot be decoded."""

    def __init__(self, clip: AudioClip, output: av.container.OutputContainer, encoders) -> None:
        self.clip = clip
        self._damage: list[Fraction | None] = []  # when each refused packet would play
        self._notes: list[str] = []  # said once: which of several streams is kept
        self._failures = 0  # packets the decoder refused
        self._last_error = ""
        self._probing = True  # still looking for the first good frame
        self._source = av.open(str(clip.path), "r")
        try:
            self._open_source()
            self._stream = self._add_output(output, encoders)
        except BaseException:
            self._source.close()
            raise
        self._output = output
        self._cursor = 0  # samples placed so far, at the source's rate
        self._next: int | None = None  # where the last frame decoded ends (samples from 0)
        self._total = round(clip.duration * self.rate)
        # Timestamps within their own precision (one tick: Matroska's 1 ms) of where the last
        # frame ended are contiguous; further off (a gap, an overlap) they are followed.
        self._jitter = math.ceil(Fraction(self._in.time_base or 0) * self.rate) + 1

    # -- opening --------------------------------------------------------------------------
    def _open_source(self) -> None:
        if not self._source.streams.audio:
            raise NoAudio
        stream = _chosen_stream(self._source.streams.audio)
        if len(self._source.streams.audio) > 1:
            self._notes.append(_one_of_many(self.clip.path, self._source.streams.audio, stream))
        if stream.codec_context is None or not stream.codec_context.sample_rate:
            codec = getattr(stream.codec_context, "name", "unknown")
            raise UnreadableAudio(f"its {codec} audio has no sample rate")
        self._in = stream
        self.rate = stream.codec_context.sample_rate
        channels = stream.codec_context.channels or 2
        self.layout = "mono" if channels == 1 else "stereo"  # more: mixed down to stereo
        self._resampler = self._new_resampler()
        self._input: tuple | None = None  # the decoded frames' (format, layout, rate)
        self._seek()
        self._frames = self._decoded()
        self._pending = self._first_frame()

    def _new_resampler(self) -> av.AudioResampler:
        return av.AudioResampler(format=WORK_FORMAT, layout=self.layout, rate=self.rate)

    def _seek(self) -> None:
        target = self.clip.start - _SEEK_MARGIN_S
        if target <= 0 or not self._in.time_base or self._source.format.name in _NO_SEEK_FORMATS:
            return
        try:
            self._source.seek(
                int(target / Fraction(self._in.time_base)), backward=True, stream=self._in
            )
        except av.FFmpegError:
            self._source.seek(0)

    def _first_frame(self) -> av.AudioFrame | None:
        """Decode up to the first good frame: none there means the audio is unreadable."""
        self._probing = True
        frame = next(self._frames, None)
        self._probing = False
        if frame is None and self._failures:
            raise UnreadableAudio(self._last_error)
        return frame  # None: the audio ends before the range, so silence

    def _add_output(self, output: av.container.OutputContainer, encoders) -> av.AudioStream:
        name = next((e for e in encoders if e in av.codecs_available), None)
        if name is None:
            raise UnreadableAudio(f"this PyAV build has none of the encoders {', '.join(encoders)}")
        supported = av.Codec(name, "w").audio_rates
        rate = self.rate if not supported or self.rate in supported else _FALLBACK_RATE
        stream = output.add_stream(name, rate=rate)
        stream.layout = self.layout
        stream.codec_context.time_base = Fraction(1, rate)
        if name == "aac":
            stream.bit_rate = 96000 * (1 if self.layout == "mono" else 2)
        return stream

    # -- reading ----------------------------------------------------------------------------
    def _decoded(self) -> Iterator[av.AudioFrame]:
        """Decoded frames in order; a packet the decoder refuses is skipped (its stretch is
        filled with silence when placed) and counted."""
        try:
            for packet in self._source.demux(self._in):
                try:
                    frames = packet.decode()
                except (av.FFmpegError, ValueError) as exc:
                    self._damaged(packet, exc)
                    continue
                yield from frames
        except av.FFmpegError as exc:  # the container itself breaks off: silence after
            self._damaged(None, exc)

    def _damaged(self, packet, exc: BaseException) -> None:
        self._failures += 1
        self._last_error = _reason(exc)
        at = None
        if packet is not None and packet.pts is not None and packet.time_base:
            at = packet.pts * Fraction(packet.time_base) - self.clip.start
        if self._probing and self._failures >= _PROBE_PACKETS:
            raise UnreadableAudio(self._last_error)
        if at is None or -_LATE_S <= at < self.clip.duration:  # heard in the movie
            self._damage.append(at)

    @property
    def warnings(self) -> list[str]:
        """One warning for all the packets that could not be decoded (silent there)."""
        if not self._damage:
            return list(self._notes)
        times = [t for t in self._damage if t is not None]
        first = max(0.0, float(min(times))) if times else None
        where = "" if first is None else f", the first {first:.2f} s into the movie"
        where = ", from the movie's start" if first is not None and first < 0.005 else where
        return [
            *self._notes,
            f"{self.clip.path.name}: {count(len(self._damage), 'audio packet')} could not "
            f"be decoded ({self._last_error}{where}); the movie is silent there",
        ]

    def _next_frame(self) -> av.AudioFrame | None:
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        return next(self._frames, None)

    # -- writing ----------------------------------------------------------------------------
    def feed_until(self, seconds: Fraction) -> None:
        """Encode and mux the audio of output time 0..``seconds`` (never past the clip)."""
        target = min(self._total, round(seconds * self.rate))
        while self._cursor < target:
            frame = self._next_frame()
            if frame is None:  # the source's sound ends first: silence to the target
                self._emit(np.zeros((self._channels, target - self._cursor), np.float32))
                return
            self._place(frame)

    def finish(self, seconds: Fraction) -> None:
        """The sound up to ``seconds`` (the end of the video written; never past the clip),
        then the encoder's last packets: fewer frames than the clip covers get less sound."""
        self.feed_until(seconds)
        for packet in self._stream.encode(None):
            self._output.mux(packet)

    def close(self) -> None:
        self._source.close()

    @property
    def _channels(self) -> int:
        return 1 if self.layout == "mono" else 2

    def _place(self, frame: av.AudioFrame) -> None:
        """Put a decoded frame's samples at their time: what lies before the clip or overlaps
        samples placed is dropped, a gap (late start, damage) becomes silence."""
        samples, lead = self._resampled(frame)
        if samples.shape[1] == 0:
            return
        position = self._cursor if self._next is None else self._next
        if frame.pts is not None and frame.time_base:
            at = frame.pts * Fraction(frame.time_base) - self.clip.start
            exact = round(at * self.rate) - lead
            if self._next is None or abs(exact - position) > self._jitter:
                position = exact
        self._next = position + samples.shape[1]
        if position > self._cursor:
            gap = min(position, self._total) - self._cursor
            self._emit(np.zeros((samples.shape[0], gap), np.float32))
        skip = max(0, self._cursor - position)
        keep = samples[:, skip : skip + self._total - self._cursor]
        self._emit(keep)

    def _resampled(self, frame: av.AudioFrame) -> tuple[np.ndarray, int]:
        """The frame at the first frame's rate and layout, and how many samples before it
        lead: a stream whose rate or layout changes part-way (a broadcast recording) gets a
        new resampler there, its predecessor's buffered tail going first."""
        setup = (frame.format.name, frame.layout.name, frame.sample_rate)
        parts: list[av.AudioFrame] = []
        if self._input is not None and setup != self._input:
            parts = list(self._resampler.resample(None))
            self._resampler = self._new_resampler()
        self._input = setup
        lead = sum(p.samples for p in parts)
        parts += self._resampler.resample(frame)
        arrays = [p.to_ndarray() for p in parts] or [np.zeros((self._channels, 0))]
        return np.concatenate(arrays, axis=1).astype(np.float32), lead

    def _emit(self, samples: np.ndarray) -> None:
        if samples.shape[1] == 0:
            return
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples), format=WORK_FORMAT, layout=self.layout
        )
        frame.sample_rate = self.rate
        frame.time_base = Fraction(1, self.rate)
        frame.pts = self._cursor
        for packet in self._stream.encode(frame):
            self._output.mux(packet)
        self._cursor += samples.shape[1]


class UnreadableAudio(Exception):
    """The source has sound, but it cannot be decoded: the movie is written without it."""


def open_track(clip: AudioClip, output, encoders) -> tuple[AudioTrack | None, list[str]]:
    """The track for ``clip`` in ``output``, or None with the warning that says why not
    (none for a source without sound)."""
    try:
        return AudioTrack(clip, output, encoders), []
    except NoAudio:
        return None, []
    except (UnreadableAudio, av.FFmpegError, OSError, ValueError) as exc:
        reason = _reason(exc)
        return None, [
            f"{clip.path.name}: its audio could not be read ({reason}); the movie has no sound"
        ]


def _chosen_stream(streams) -> av.AudioStream:
    """The stream a player plays: the one marked default, else the first."""
    return next((s for s in streams if s.disposition & av.stream.Disposition.default), streams[0])


def _one_of_many(path: Path, streams, kept) -> str:
    language = kept.metadata.get("language")
    which = f"#{list(streams).index(kept) + 1}" + (f" ({language})" if language else "")
    return (
        f"{path.name} has {len(streams)} audio streams; the movie keeps only {which}, "
        "the one a player plays first"
    )


def movie_sound(path: str | Path) -> dict | None:
    """What a written movie's sound is, for ``--json``: ``{"codec", "seconds"}`` of its
    first audio stream, or None for a movie without sound (or no movie)."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            return {"codec": stream.codec_context.name, "seconds": _seconds(container, stream)}
    except (av.FFmpegError, OSError):
        return None


def _seconds(container, stream) -> float | None:
    """The stream's length from its header (MP4/MOV), Matroska's DURATION tag, or else
    from where its last packet ends."""
    if stream.duration and stream.time_base:
        return round(float(stream.duration * stream.time_base), 3)
    tag = stream.metadata.get("DURATION", "")
    if tag.count(":") == 2:
        hours, minutes, secs = tag.split(":")
        return round(int(hours) * 3600 + int(minutes) * 60 + float(secs), 3)
    first = end = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base:
            first = packet.pts if first is None else first
            end = packet.pts + (packet.duration or 0)
    if first is None or end is None:
        return None
    return round(float((end - first) * stream.time_base), 3)
