"""Frame-exact reading of movies and image sequences, and atomic, resumable frame writers.

Frames are addressed by 0-based source index everywhere: index i of a movie is the frame
whose presentation time is i / fps after the first frame's, the same mapping Blender's
movie strips use, so a VSE frame range turns into a source range by plain arithmetic.
Frames travel as HxWx3 RGB (HxWx4 RGBA when the source has alpha) numpy arrays, uint8 for
8-bit sources and uint16 for deeper ones.

Movies go through PyAV; images through OpenCV (decoded from bytes, so non-ASCII paths work
on Windows too).
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import re
import secrets
import tempfile
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol

import av
import cv2
import numpy as np

from .errors import RestyleError

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".exr", ".hdr", ".jp2"}
)
DEFAULT_IMAGE_FPS = Fraction(24)

SourceLike = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
FpsLike = Fraction | int | float | str


@dataclass(frozen=True)
class MediaInfo:
    """What a source holds; pass it back to `decode_range` to skip probing again.

    `path` is the movie or image file, the image folder, or the sequence pattern; `files`
    lists the images in frame order (empty for movies). `bit_depth` is the source's bits
    per channel: 8 decodes to uint8, anything deeper to uint16.
    `start_pts` (movies) is the first frame's timestamp in the stream's `time_base`, the
    origin of the frame index; None when the timestamps are unusable and frames are counted
    in decode order instead.
    """

    path: Path
    kind: Literal["movie", "images", "image"]
    width: int
    height: int
    frame_count: int
    fps: Fraction
    has_alpha: bool
    bit_depth: int
    files: tuple[Path, ...] = ()
    start_pts: int | None = None
    time_base: Fraction | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def channels(self) -> int:
        return 4 if self.has_alpha else 3

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint16 if self.bit_depth > 8 else np.uint8)


# ---------------------------------------------------------------------------------------
# Probing


def probe(source: SourceLike, *, fps: FpsLike | None = None) -> MediaInfo:
    """Describe a movie file, an image, an image folder, a sequence pattern or a file list.

    Patterns use printf style (`shot/frame_%04d.png`) or hashes (`frame_####.png`); a path
    that exists is never read as a pattern. `fps` sets the rate of images (default 24);
    movies always report their own rate.
    """
    rate = _parse_fps(fps) if fps is not None else None
    if isinstance(source, list | tuple):
        return _probe_file_list([Path(p) for p in source], rate)
    path = Path(os.fspath(source))
    if path.is_dir():
        return _probe_folder(path, rate)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return _probe_images(path, (path,), "image", rate)
        return _probe_movie(path)
    if _sequence_pattern(path.name) is not None:
        return _probe_pattern(path, rate)
    raise RestyleError(f"{path} does not exist")


def _parse_fps(fps: FpsLike) -> Fraction:
    try:
        rate = (
            Fraction(fps) if not isinstance(fps, float) else Fraction(fps).limit_denominator(1001)
        )
    except (ValueError, ZeroDivisionError, TypeError):
        raise RestyleError(f"frame rate {fps!r} is not a number") from None
    if rate <= 0:
        raise RestyleError(f"frame rate must be positive, not {fps}")
    return rate


def _natural_key(name: str) -> list[int | str]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _probe_folder(folder: Path, rate: Fraction | None) -> MediaInfo:
    try:
        names = [
            entry.name
            for entry in os.scandir(folder)
            if entry.is_file()
            and not entry.name.startswith(".")
            and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES
        ]
    except OSError as exc:
        raise RestyleError(f"cannot read folder {folder}: {exc.strerror}") from None
    if not names:
        raise RestyleError(f"folder {folder} holds no images")
    files = tuple(folder / name for name in sorted(names, key=_natural_key))
    return _probe_images(folder, files, "images", rate)


_PRINTF_FIELD = re.compile(r"%(0?)(\d*)d")
_HASH_FIELD = re.compile(r"#+")


def _sequence_pattern(name: str) -> tuple[str, str, int, bool] | None:
    """(prefix, suffix, width, zero-padded) of the frame-number field in a file name."""
    match = _PRINTF_FIELD.search(name)
    if match:
        width = int(match.group(2) or 0)
        return name[: match.start()], name[match.end() :], width, bool(match.group(1))
    match = _HASH_FIELD.search(name)
    if match:
        return name[: match.start()], name[match.end() :], len(match.group(0)), True
    return None


def _probe_pattern(path: Path, rate: Fraction | None) -> MediaInfo:
    prefix, suffix, width, zero_pad = _sequence_pattern(path.name)  # type: ignore[misc]
    folder = path.parent
    if not folder.is_dir():
        raise RestyleError(f"folder {folder} does not exist")
    number = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix) + r"\Z")
    numbered: list[tuple[int, Path]] = []
    for entry in os.scandir(folder):
        match = number.match(entry.name)
        if not match or not entry.is_file():
            continue
        digits = match.group(1)
        n = int(digits)
        expected = f"{n:0{width}d}" if zero_pad else f"{n:{width}d}".strip()
        if digits == expected:
            numbered.append((n, folder / entry.name))
    if not numbered:
        raise RestyleError(f"no files match {path}")
    files = tuple(p for _, p in sorted(numbered))
    return _probe_images(path, files, "images", rate)


def _probe_file_list(paths: list[Path], rate: Fraction | None) -> MediaInfo:
    if not paths:
        raise RestyleError("the image list is empty")
    missing = [p for p in paths if not p.is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise RestyleError(f"image {missing[0]} does not exist{more}")
    kind: Literal["images", "image"] = "images" if len(paths) > 1 else "image"
    return _probe_images(paths[0].parent, tuple(paths), kind, rate)


def _probe_images(
    path: Path, files: tuple[Path, ...], kind: Literal["images", "image"], rate: Fraction | None
) -> MediaInfo:
    first = _read_image(files[0])
    height, width = first.shape[:2]
    channels = 1 if first.ndim == 2 else first.shape[2]
    return MediaInfo(
        path=path,
        kind=kind,
        width=width,
        height=height,
        frame_count=len(files),
        fps=rate or DEFAULT_IMAGE_FPS,
        has_alpha=channels in (2, 4),
        bit_depth=16 if first.dtype == np.uint16 else 8,
        files=files,
    )


def _read_image(path: Path) -> np.ndarray:
    """The image as OpenCV stores it (BGR/BGRA/gray), uint8 or uint16."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise RestyleError(f"cannot read image {path}: {exc.strerror}") from None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise RestyleError(f"image {path} is corrupt or in a format OpenCV cannot read")
    if image.dtype not in (np.uint8, np.uint16):
        raise RestyleError(
            f"image {path} holds {image.dtype} samples; only 8- and 16-bit images are "
            "supported (convert float EXR/HDR to 16-bit PNG or TIFF)"
        )
    return image


def _open_movie(path: Path) -> tuple[av.container.InputContainer, av.VideoStream]:
    try:
        container = av.open(str(path), "r")
    except FileNotFoundError:
        raise RestyleError(f"{path} does not exist") from None
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise RestyleError(f"{path} is not a readable movie ({_reason(exc)})") from None
    streams = [
        s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic
    ]
    if not streams or streams[0].codec_context is None:
        container.close()
        raise RestyleError(f"{path} has no video stream")
    stream = streams[0]
    stream.codec_context.thread_type = "AUTO"
    return container, stream


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _probe_movie(path: Path) -> MediaInfo:
    container, stream = _open_movie(path)
    try:
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not fps or fps <= 0:
            raise RestyleError(f"{path} has no frame rate")
        fps = Fraction(fps)
        codec = stream.codec_context
        fmt = codec.format
        if fmt is None or not codec.width or not codec.height:
            raise RestyleError(f"{path} has a video stream PyAV cannot decode")
        start_pts, frame_count = _movie_timeline(path, container, stream, fps)
        return MediaInfo(
            path=path,
            kind="movie",
            width=codec.width,
            height=codec.height,
            frame_count=frame_count,
            fps=fps,
            has_alpha=any(c.is_alpha for c in fmt.components),
            bit_depth=max(c.bits for c in fmt.components),
            start_pts=start_pts,
            time_base=Fraction(stream.time_base),
        )
    finally:
        container.close()


_HEAD_FRAMES = 8  # enough to see B-frame reordering break timestamps (AVI, raw streams)


def _movie_timeline(
    path: Path, container: av.container.InputContainer, stream: av.VideoStream, fps: Fraction
) -> tuple[int | None, int]:
    """(first frame's pts, exact frame count), both in the terms `decode_range` uses.

    Container frame counts are missing (Matroska, MPEG-TS) or can disagree with what the
    decoder delivers, so the count comes from the last decodable frame: seek to the last
    keyframe and decode to the end, which costs one GOP whatever the movie's length.
    """
    head: list[int | None] = []
    try:
        for frame in container.decode(stream):
            head.append(frame.pts)
            if len(head) >= _HEAD_FRAMES:
                break
    except av.FFmpegError as exc:
        if not head:
            raise RestyleError(f"{path} is corrupt ({_reason(exc)})") from None
    if not head:
        raise RestyleError(f"{path} holds no decodable video frames")
    if any(p is None for p in head) or any(b <= a for a, b in zip(head, head[1:], strict=False)):
        return None, _count_packets(path)

    start_pts: int = head[0]  # type: ignore[assignment]
    time_base = Fraction(stream.time_base)
    last_pts = _last_pts(container, stream, start_pts, time_base)
    if last_pts is None:
        raise RestyleError(f"{path}: cannot find its last frame (corrupt or truncated)")
    return start_pts, _pts_to_index(last_pts, start_pts, time_base, fps) + 1


def _last_pts(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    start_pts: int,
    time_base: Fraction,
) -> int | None:
    if stream.duration:
        end = (stream.start_time or 0) + stream.duration
    elif container.duration:
        end = start_pts + int(Fraction(container.duration, av.time_base) / time_base)
    else:
        end = start_pts + int(Fraction(24 * 3600) / time_base)
    step = max(1, int(1 / time_base))  # one second, doubled after each miss
    target = end
    while True:
        last = None
        try:
            container.seek(max(target, start_pts), backward=True, stream=stream)
        except av.FFmpegError:
            target = start_pts  # not seekable: decode on from the head to the end
        try:
            for frame in container.decode(stream):
                if frame.pts is not None and (last is None or frame.pts > last):
                    last = frame.pts
        except av.FFmpegError:
            pass  # a damaged tail: keep the last frame that did decode
        if last is not None or target <= start_pts:
            return last
        target -= step
        step *= 2


def _count_packets(path: Path) -> int:
    """Frame count when timestamps are unusable: one frame per video packet."""
    container, stream = _open_movie(path)
    try:
        return sum(1 for packet in container.demux(stream) if packet.size)
    except av.FFmpegError as exc:
        raise RestyleError(f"{path} is corrupt ({_reason(exc)})") from None
    finally:
        container.close()


def _pts_to_index(pts: int, start_pts: int, time_base: Fraction, fps: Fraction) -> int:
    return math.floor((pts - start_pts) * time_base * fps + Fraction(1, 2))


# ---------------------------------------------------------------------------------------
# Decoding


def decode_range(
    source: SourceLike, start: int, end: int, *, info: MediaInfo | None = None
) -> Iterator[np.ndarray]:
    """Yield source frames `start`..`end` (inclusive, 0-based), each exactly once, in order.

    Movies seek to the keyframe before `start` and decode forward; a frame missing from a
    variable-rate movie repeats the one before it, as a player shows it. Errors (missing or
    corrupt source, range outside 0..frame_count-1) raise RestyleError before the first
    frame is yielded.
    """
    info = info or probe(source)
    if not (0 <= start <= end < info.frame_count):
        raise RestyleError(
            f"frames {start}-{end} are outside {info.path.name}: "
            f"valid frames are 0-{info.frame_count - 1}"
        )
    if info.kind == "movie":
        return _decode_movie(info, start, end)
    return _decode_images(info, start, end)


class _SeekedPastStart(Exception):
    """The seek landed after the first wanted frame; seek further back."""


_SEEK_BACKOFF_S = (0, 1, 4, 16, 64)  # seconds before the wanted frame, tried in turn


def _decode_movie(info: MediaInfo, start: int, end: int) -> Iterator[np.ndarray]:
    if info.start_pts is None:
        yield from _decode_counting(info, start, end)
        return
    assert info.time_base is not None
    # Seek targets, earliest last; None decodes from the beginning without seeking, which
    # always works. Some demuxers (MPEG-TS) land after the target, hence the backoff.
    # The middle of frame `start`'s slot: every frame that maps to `start` is at or before
    # it, so a backward seek never lands past it for want of timestamp rounding.
    start_time = info.start_pts + math.floor((start + Fraction(1, 2)) / info.fps / info.time_base)
    targets: list[int | None] = []
    for backoff in _SEEK_BACKOFF_S if start > 0 else ():
        target = start_time - math.ceil(backoff / info.time_base)
        if target <= info.start_pts:
            break
        targets.append(target)
    targets.append(None)
    for target in targets:
        container, stream = _open_movie(info.path)
        try:
            if target is not None:
                try:
                    container.seek(target, backward=True, stream=stream)
                except av.FFmpegError:
                    continue
            try:
                yield from _frames_by_pts(info, container, stream, start, end)
                return
            except _SeekedPastStart:
                continue
        finally:
            container.close()
    raise RestyleError(f"{info.path.name}: frame {start} cannot be decoded")


def _frames_by_pts(
    info: MediaInfo,
    container: av.container.InputContainer,
    stream: av.VideoStream,
    start: int,
    end: int,
) -> Iterator[np.ndarray]:
    assert info.start_pts is not None and info.time_base is not None
    out_format = _array_format(info)
    previous: av.VideoFrame | None = None  # last frame decoded, for VFR gaps
    previous_index = -1
    previous_pts: int | None = None
    wanted = start
    try:
        for frame in container.decode(stream):
            if frame.pts is None or (previous_pts is not None and frame.pts <= previous_pts):
                index = previous_index + 1  # broken timestamps: count on from the last one
            else:
                index = _pts_to_index(frame.pts, info.start_pts, info.time_base, info.fps)
                previous_pts = frame.pts
            if index < wanted:  # before the range, or a second frame in one slot
                previous, previous_index = frame, max(index, previous_index)
                continue
            if index > wanted and previous is None:
                raise _SeekedPastStart
            if index > wanted:  # a gap in a variable-rate movie: hold the last frame
                held = _to_array(previous, out_format)
                while wanted < index and wanted <= end:
                    yield held.copy()
                    wanted += 1
            if wanted > end:
                return
            yield _to_array(frame, out_format)
            wanted += 1
            previous, previous_index = frame, index
            if wanted > end:
                return
    except av.FFmpegError as exc:
        raise RestyleError(
            f"{info.path.name}: decoding failed near frame {wanted} ({_reason(exc)})"
        ) from None
    if previous is None:
        raise _SeekedPastStart
    raise RestyleError(f"{info.path.name}: frame {wanted} cannot be decoded (the stream ends)")


def _decode_counting(info: MediaInfo, start: int, end: int) -> Iterator[np.ndarray]:
    """For movies without usable timestamps: decode from the start and count frames."""
    out_format = _array_format(info)
    container, stream = _open_movie(info.path)
    index = 0
    try:
        for frame in container.decode(stream):
            if index >= start:
                yield _to_array(frame, out_format)
                if index == end:
                    return
            index += 1
    except av.FFmpegError as exc:
        raise RestyleError(
            f"{info.path.name}: decoding failed near frame {index} ({_reason(exc)})"
        ) from None
    finally:
        container.close()
    raise RestyleError(f"{info.path.name}: frame {index} cannot be decoded (the stream ends)")


def _array_format(info: MediaInfo) -> str:
    if info.bit_depth > 8:
        return "rgba64le" if info.has_alpha else "rgb48le"
    return "rgba" if info.has_alpha else "rgb24"


_AVCOL_SPC_UNSPECIFIED = 2


def _to_array(frame: av.VideoFrame, out_format: str) -> np.ndarray:
    # Untagged HD video is BT.709 by convention (players and encoders assume it); swscale
    # would otherwise use BT.601 and shift the colours.
    is_yuv = not frame.format.is_rgb and len(frame.format.components) >= 3
    if is_yuv and frame.colorspace == _AVCOL_SPC_UNSPECIFIED and frame.height >= 720:
        array = frame.to_ndarray(format=out_format, src_colorspace="ITU709")
    else:
        array = frame.to_ndarray(format=out_format)
    return np.ascontiguousarray(array)


def _decode_images(info: MediaInfo, start: int, end: int) -> Iterator[np.ndarray]:
    files = info.files[start : end + 1]
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="restyle-read")
    pending: deque[Future[np.ndarray]] = deque()
    try:
        ahead = iter(files)
        for path in ahead:
            pending.append(pool.submit(_read_frame, path, info))
            if len(pending) >= 4:
                break
        for path in ahead:
            yield pending.popleft().result()
            pending.append(pool.submit(_read_frame, path, info))
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read_frame(path: Path, info: MediaInfo) -> np.ndarray:
    """An image converted to the sequence's layout (RGB/RGBA, dtype of the first image)."""
    image = _read_image(path)
    if image.shape[:2] != (info.height, info.width):
        raise RestyleError(
            f"image {path} is {image.shape[1]}x{image.shape[0]}, but the sequence is "
            f"{info.width}x{info.height}"
        )
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    if channels == 1:
        code = cv2.COLOR_GRAY2RGBA if info.has_alpha else cv2.COLOR_GRAY2RGB
    elif channels == 2:  # gray + alpha
        gray, alpha = image[:, :, 0], image[:, :, 1:]
        image = np.concatenate([gray[:, :, None]] * 3 + ([alpha] if info.has_alpha else []), 2)
        code = None
    elif channels == 3:
        code = cv2.COLOR_BGR2RGBA if info.has_alpha else cv2.COLOR_BGR2RGB
    else:
        code = cv2.COLOR_BGRA2RGBA if info.has_alpha else cv2.COLOR_BGRA2RGB
    if code is not None:
        image = cv2.cvtColor(image, code)
    if image.dtype != info.dtype:  # a sequence mixing 8- and 16-bit files
        image = (
            image.astype(np.uint16) * 257
            if info.dtype == np.uint16
            else ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
        )
    return image


# ---------------------------------------------------------------------------------------
# Writing


class FrameWriter(Protocol):
    """Where stylised frames go. `write` may return before the frame is on disk; `close`
    waits for everything and raises any error; `abort` stops and removes only partial
    output. As a context manager it closes on success and aborts on an exception."""

    def write(self, index: int, frame: np.ndarray) -> None: ...

    def done(self, index: int) -> bool: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def __enter__(self) -> FrameWriter: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class _WriterContext:
    def __enter__(self):
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


def _check_frame(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.dtype not in (np.uint8, np.uint16):
        kind = frame.dtype if isinstance(frame, np.ndarray) else type(frame).__name__
        raise RestyleError(f"frames must be uint8 or uint16 arrays, not {kind}")
    if frame.ndim == 2:
        frame = frame[:, :, None]
    if frame.ndim != 3 or frame.shape[2] not in (1, 3, 4):
        raise RestyleError(f"frames must be HxW, HxWx3 or HxWx4, not {frame.shape}")
    return frame


_TEMP_SUFFIX = ".restyle-part"
_TEMP_NAME = re.compile(r"\A\..+\.[0-9a-f]{8}" + re.escape(_TEMP_SUFFIX) + r"\Z")
SEQUENCE_FORMATS = {"png": ".png", "jpg": ".jpg", "tif": ".tif"}


class ImageSequenceWriter(_WriterContext):
    """One image per frame, named from its source index, each written atomically.

    A frame is encoded on a small thread pool (OpenCV releases the GIL), written to a hidden
    temp file in the folder and renamed into place, so a crash never leaves a truncated
    frame and a rerun can skip every frame that `done` reports. `write` blocks only while
    more than 2 x `workers` frames are pending. The folder belongs to the job: frames are
    overwritten when written again; `abort` removes only this writer's temp files.

    PNG `compress_level` None keeps OpenCV's speed-tuned PNG (zlib level 1, Sub filter, RLE):
    about 2-3x faster than any explicit level, which also turns on adaptive filtering, for
    files of about the same size on textured frames. 0-9 trades speed for size.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        fmt: str = "png",
        name: str = "{index:06d}",
        workers: int = 2,
        compress_level: int | None = None,
        jpeg_quality: int = 95,
        size: tuple[int, int] | None = None,
    ) -> None:
        fmt = fmt.lower()
        if fmt not in SEQUENCE_FORMATS:
            raise RestyleError(
                f"image format {fmt!r} is not supported; use one of {', '.join(SEQUENCE_FORMATS)}"
            )
        try:
            names = {name.format(index=i) for i in (0, 1)}
        except (KeyError, IndexError, ValueError):
            names = set()
        if len(names) != 2 or any(os.sep in n or "/" in n for n in names):
            raise RestyleError(f"file name template {name!r} must use {{index}} and no folders")
        self.folder = Path(folder)
        self.fmt = fmt
        self.name = name
        self.size = size
        self._suffix = SEQUENCE_FORMATS[fmt]
        if fmt == "png" and compress_level is not None:
            self._params = [cv2.IMWRITE_PNG_COMPRESSION, int(compress_level)]
        elif fmt == "jpg":
            self._params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
        else:
            self._params = []
        _prepare_folder(self.folder)
        self._remove_stale_temps()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="restyle-write")
        self._slots = threading.Semaphore(2 * workers)
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._closed = False

    def path_for(self, index: int) -> Path:
        return self.folder / (self.name.format(index=index) + self._suffix)

    def done(self, index: int) -> bool:
        try:
            return self.path_for(index).stat().st_size > 0
        except OSError:
            return False

    def write(self, index: int, frame: np.ndarray) -> None:
        self._raise_error()
        if self._closed:
            raise RestyleError("the image writer is already closed")
        frame = _check_frame(frame)
        if self.size is not None and frame.shape[1::-1] != tuple(self.size):
            raise RestyleError(
                f"frame {index} is {frame.shape[1]}x{frame.shape[0]}, expected "
                f"{self.size[0]}x{self.size[1]}"
            )
        if self.fmt == "jpg" and (frame.dtype != np.uint8 or frame.shape[2] == 4):
            raise RestyleError("JPEG holds 8-bit RGB only; write PNG or TIFF for 16-bit or alpha")
        frame = frame.copy()  # the caller may reuse its buffer
        self._slots.acquire()
        try:
            future = self._pool.submit(self._store, index, frame)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(self._finished)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.shutdown(wait=True)
        self._raise_error()

    def abort(self) -> None:
        """Stop without finishing queued frames; frames already on disk stay (resumable)."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _finished(self, future: Future[None]) -> None:
        self._slots.release()
        if not future.cancelled() and future.exception() is not None:
            with self._lock:
                self._error = self._error or future.exception()

    def _raise_error(self) -> None:
        with self._lock:
            error = self._error
        if error is not None:
            raise error

    def _store(self, index: int, frame: np.ndarray) -> None:
        final = self.path_for(index)
        if frame.shape[2] == 3:
            frame = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        elif frame.shape[2] == 4:
            frame = cv2.cvtColor(frame, cv2.COLOR_RGBA2BGRA)
        try:
            ok, encoded = cv2.imencode(self._suffix, frame, self._params)
        except cv2.error as exc:
            raise RestyleError(f"cannot encode frame {index} as {self.fmt}: {exc}") from None
        if not ok:
            raise RestyleError(f"cannot encode frame {index} as {self.fmt}")
        temp = self.folder / f".{final.name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}"
        try:
            with open(temp, "wb") as stream:
                stream.write(encoded.tobytes())
                stream.flush()
                os.fsync(stream.fileno())  # a power cut must not leave an empty "done" frame
            os.replace(temp, final)
        except OSError as exc:
            _remove(temp)
            raise RestyleError(f"cannot write {final}: {_reason(exc)}") from None

    def _remove_stale_temps(self) -> None:
        """Temp files a crashed run of this writer left behind (hidden, distinctive names)."""
        for entry in os.scandir(self.folder):
            if _TEMP_NAME.match(entry.name) and entry.is_file():
                _remove(Path(entry.path))


def _remove(path: Path) -> None:
    """Delete one of our own temp files, if it is there."""
    with contextlib.suppress(OSError):
        path.unlink()


def _prepare_folder(folder: Path) -> None:
    """Create `folder` and prove it is writable, before any frame is processed."""
    if folder.exists() and not folder.is_dir():
        raise RestyleError(f"output {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe_path = tempfile.mkstemp(prefix=".restyle-probe-", dir=folder)
        os.close(handle)
        os.unlink(probe_path)
    except OSError as exc:
        raise RestyleError(f"cannot write to folder {folder}: {_reason(exc)}") from None


MovieCodec = Literal["h264", "prores", "ffv1"]

# codec -> (encoder, containers it is written to, default container)
MOVIE_CODECS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "h264": ("libx264", (".mp4", ".mov", ".mkv", ".m4v"), ".mp4"),
    "prores": ("prores_ks", (".mov", ".mkv"), ".mov"),
    "ffv1": ("ffv1", (".mkv", ".avi"), ".mkv"),
}

_CLOSE = object()


class MovieWriter(_WriterContext):
    """A movie encoded on its own thread, so encoding overlaps inference.

    Frames must arrive in order (consecutive indices). The movie is written to
    `<name>.part<suffix>` beside `path` and renamed on a successful `close`; `abort` or an
    error deletes the part file and never touches a file already at `path`. An existing
    `path` is only replaced when `overwrite` is set. Movies cannot resume: `done` is False.

    h264: libx264 yuv420p, `crf` quality (8-bit). prores: ProRes 422 HQ 10-bit, or 4444
    with alpha. ffv1: lossless RGB(A), 16-bit when given uint16 frames. Colour is written
    as BT.709 and tagged so.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        codec: MovieCodec,
        fps: FpsLike,
        width: int,
        height: int,
        crf: int = 18,
        alpha: bool = False,
        overwrite: bool = False,
        queue_size: int = 8,
    ) -> None:
        if codec not in MOVIE_CODECS:
            raise RestyleError(
                f"movie codec {codec!r} is not supported; use one of {', '.join(MOVIE_CODECS)}"
            )
        encoder, suffixes, _ = MOVIE_CODECS[codec]
        self.path = Path(path)
        self.codec = codec
        self.fps = _parse_fps(fps)
        self.width, self.height = int(width), int(height)
        self.alpha = alpha
        self.crf = int(crf)
        if self.path.suffix.lower() not in suffixes:
            raise RestyleError(
                f"{codec} movies are written as {' or '.join(suffixes)}, not {self.path.name!r}"
            )
        if self.width <= 0 or self.height <= 0:
            raise RestyleError(f"movie size {self.width}x{self.height} is not valid")
        if codec == "h264" and (self.width % 2 or self.height % 2):
            raise RestyleError(
                f"h264 needs an even width and height, not {self.width}x{self.height}; "
                "use prores, ffv1 or an image sequence"
            )
        if codec == "h264" and alpha:
            raise RestyleError("h264 cannot store alpha; use prores, ffv1 or PNG")
        if encoder not in av.codecs_available:
            raise RestyleError(f"this PyAV build has no {encoder} encoder; choose another codec")
        if self.path.is_dir():
            raise RestyleError(f"output {self.path} is a folder, not a movie file")
        if self.path.exists() and not overwrite:
            raise RestyleError(f"{self.path} already exists (choose another name or overwrite)")
        self.overwrite = overwrite
        self.temp_path = self.path.with_name(f"{self.path.stem}.part{self.path.suffix}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.temp_path.open("wb").close()  # FFmpeg opens the file lazily: prove it now
            self._container = av.open(str(self.temp_path), "w")
        except (OSError, av.FFmpegError) as exc:
            _remove(self.temp_path)
            raise RestyleError(f"cannot write movie {self.path}: {_reason(exc)}") from None
        try:
            self._stream = self._add_stream(encoder)
        except (av.FFmpegError, ValueError) as exc:
            self._container.close()
            _remove(self.temp_path)
            raise RestyleError(f"cannot set up {codec} encoding: {_reason(exc)}") from None
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._next_index: int | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._encode_loop, name="restyle-encode")
        self._thread.daemon = True
        self._thread.start()

    def _add_stream(self, encoder: str) -> av.VideoStream:
        stream = self._container.add_stream(encoder, rate=self.fps)
        stream.width, stream.height = self.width, self.height
        codec = stream.codec_context
        codec.time_base = 1 / self.fps
        if self.codec == "h264":
            stream.pix_fmt = "yuv420p"
            # veryfast: styled frames are all texture; "medium" cost 150 ms of CPU per 720p frame
            # here (40% of the network's time) for 7% smaller files. ProRes/FFV1 for masters.
            codec.options = {"crf": str(self.crf), "preset": "veryfast", "threads": "1"}
        elif self.codec == "prores":
            stream.pix_fmt = "yuva444p10le" if self.alpha else "yuv422p10le"
            codec.options = {"profile": "4444" if self.alpha else "hq", "vendor": "apl0"}
        else:
            stream.pix_fmt = "bgra" if self.alpha else "bgr0"  # 16-bit chosen at first frame
            codec.gop_size = 1  # every frame a keyframe: exact, fast seeking
            codec.options = {"level": "3", "slicecrc": "1"}
        if self.codec != "ffv1":
            codec.colorspace = 1  # BT.709 matrix, primaries, transfer; limited range
            codec.color_primaries = 1
            codec.color_trc = 1
            codec.color_range = 1
        codec.thread_type = "AUTO"
        return stream

    def done(self, index: int) -> bool:
        return False

    def write(self, index: int, frame: np.ndarray) -> None:
        self._raise_error()
        if self._closed:
            raise RestyleError("the movie writer is already closed")
        if self._next_index is not None and index != self._next_index:
            raise RestyleError(
                f"movie frames must be written in order: got {index}, expected {self._next_index}"
            )
        frame = _check_frame(frame)
        if frame.shape[:2] != (self.height, self.width):
            raise RestyleError(
                f"frame {index} is {frame.shape[1]}x{frame.shape[0]}, the movie is "
                f"{self.width}x{self.height}"
            )
        frame = frame.copy()  # encoded later on another thread
        while True:
            try:
                self._queue.put(frame, timeout=0.1)
                break
            except queue.Full:
                self._raise_error()
                if not self._thread.is_alive():
                    raise RestyleError("the movie encoder stopped") from None
        self._next_index = index + 1

    def close(self) -> None:
        if self._closed:
            self._raise_error()
            return
        if self._next_index is None:
            self.abort()
            raise RestyleError(f"no frames were written, so {self.path.name} was not created")
        self._closed = True
        self._put_control(_CLOSE)
        self._thread.join()
        if self._error is not None:
            _remove(self.temp_path)
            raise self._error
        try:
            if self.path.exists() and not self.overwrite:
                raise RestyleError(f"{self.path} appeared while encoding; kept nothing")
            os.replace(self.temp_path, self.path)
        except OSError as exc:
            raise RestyleError(f"cannot move the movie to {self.path}: {_reason(exc)}") from None
        finally:
            _remove(self.temp_path)

    def abort(self) -> None:
        self._closed = True
        self._stop.set()
        self._put_control(_CLOSE)
        self._thread.join()
        _remove(self.temp_path)

    def _put_control(self, item: object) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _encode_loop(self) -> None:
        container, stream = self._container, self._stream
        pts = 0
        try:
            while True:
                item = self._queue.get()
                if self._stop.is_set():
                    break
                if item is _CLOSE:
                    for packet in stream.encode(None):
                        container.mux(packet)
                    break
                video_frame = self._to_video_frame(item, first=pts == 0)  # type: ignore[arg-type]
                video_frame.pts = pts
                for packet in stream.encode(video_frame):
                    container.mux(packet)
                pts += 1
        except RestyleError as exc:
            self._error = exc
        except (av.FFmpegError, OSError, ValueError) as exc:
            self._error = RestyleError(f"encoding {self.path.name} failed: {_reason(exc)}")
        finally:
            try:
                container.close()
            except (av.FFmpegError, OSError) as exc:
                if self._error is None and not self._stop.is_set():
                    self._error = RestyleError(f"finishing {self.path.name} failed: {_reason(exc)}")
            if self._error is not None or self._stop.is_set():
                while True:  # unblock a writer waiting on a full queue
                    try:
                        self._queue.get_nowait()
                    except queue.Empty:
                        break

    def _to_video_frame(self, frame: np.ndarray, *, first: bool) -> av.VideoFrame:
        if frame.shape[2] == 1:
            frame = np.repeat(frame, 3, axis=2)
        if frame.shape[2] == 4 and not self.alpha:
            frame = frame[:, :, :3]
        elif frame.shape[2] == 3 and self.alpha:
            opaque = np.full(frame.shape[:2] + (1,), np.iinfo(frame.dtype).max, frame.dtype)
            frame = np.concatenate([frame, opaque], axis=2)
        deep = frame.dtype == np.uint16
        if self.codec == "ffv1" and first and deep:
            self._stream.pix_fmt = "gbrap16le" if self.alpha else "gbrp16le"
        source_format = {
            (False, False): "rgb24",
            (False, True): "rgba",
            (True, False): "rgb48le",
            (True, True): "rgba64le",
        }[(deep, self.alpha)]
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format=source_format)
        target = self._stream.pix_fmt
        if self.codec == "ffv1":
            return video_frame.reformat(format=target)
        return video_frame.reformat(format=target, dst_colorspace="ITU709", dst_color_range="MPEG")


def open_writer(
    output: str | os.PathLike[str],
    *,
    fmt: str,
    fps: FpsLike,
    size: tuple[int, int],
    alpha: bool = False,
    overwrite: bool = False,
    crf: int = 18,
    workers: int = 2,
) -> FrameWriter:
    """An image sequence in folder `output` (png, jpg, tif) or a movie file `output`
    (h264, prores, ffv1; a missing suffix gets the codec's usual one). Raises RestyleError
    for an unknown format or an unwritable output before any frame is processed."""
    fmt = fmt.lower()
    if fmt in SEQUENCE_FORMATS:
        return ImageSequenceWriter(output, fmt=fmt, workers=workers, size=size)
    if fmt in MOVIE_CODECS:
        path = Path(output)
        if not path.suffix:
            path = path.with_suffix(MOVIE_CODECS[fmt][2])
        writer = MovieWriter(
            path,
            codec=fmt,  # type: ignore[arg-type]
            fps=fps,
            width=size[0],
            height=size[1],
            crf=crf,
            alpha=alpha,
            overwrite=overwrite,
        )
        return writer
    choices = ", ".join([*SEQUENCE_FORMATS, *MOVIE_CODECS])
    raise RestyleError(f"output format {fmt!r} is not supported; use one of {choices}")
