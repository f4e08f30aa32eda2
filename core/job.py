"""A stylisation job: what the CLI, Blender operators and scripts all run.

A job is plain data (copied out of Blender on the main thread). ``validate`` checks
everything that can be checked up front and returns a ``JobPlan`` (the resolved style, the
probed source, the range, the settings key, the output); ``run`` works from that plan, so
one Apply probes the source and resolves the style once.

Nothing is created on disk until the plan is made and the engine is loaded, and a run that
fails before its first frame removes what it made. A run holds an exclusive lock on its
output. Image sequences are resumable: frames are named by source frame index, a small
manifest records the settings that made them, and a resumed run rebuilds the coherence
state from the frames already written, so it matches an uninterrupted run. ``overwrite``
replaces older frames only as new ones are committed.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass, field, replace
from dataclasses import fields as dataclass_fields
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .device_words import device_refusal
from .engines import closed_on_error, encode_workers, preferred_batch
from .errors import PYTHON, Cancelled, RestyleError, say, setting
from .fields import coerce_fields, frames_refusal, grade_refusal, rate_refusal
from .fields import real as _real
from .formats import IMAGE_SUFFIXES
from .progress import CancelToken, Progress, ProgressCallback
from .strip_frames import StripColor
from .styles import WEIGHTS_FILE, StyleInfo, StyleLibrary, parse_mix
from .stylizer import StyleSettings, Stylizer, decided_precision, engine_line
from .words import count, frames_named
from .writers import (  # movie_frames_folder: imported from here too
    _FRAMES_AROUND,
    NAME_MAX,
    OUTPUT_FORMATS,
    OutputFormat,
    OutputLock,
    _name_too_long,
    check_frames_name,
    check_name_room,
    check_replaceable,
    check_writable,
    existing_parent,
    format_for_output,
    frame_file_written,
    frame_stem,
    made_facts,
    made_tag_of,
    made_with,
    movie_frames_folder,
    movie_path,
    os_junk,
    output_format,
    refuse_source_as_output,
    remove_stale_scratch,
    tag_facts,
    tag_parts,
    write_atomic,
)

if TYPE_CHECKING:
    from .media import Upright

MANIFEST = ".restyle.json"
PIPELINE_VERSION = 4  # bump when the same settings give other pixels (2: flat frames, bars;
# 3: strength mixed after coherence; 4: the coherence state is the written frame unmixed)
MAX_BATCH = 64
# What a run's first progress event says (stage 'setup'), before its network is built
BUILDING = "building the network"


def _precision_checking(engine, condition=None) -> str:
    """What the first frames wait for where ``engine`` checks a reduced precision against
    fp32 on its first batch (unsettled: ``stylizer.decided_precision``); '' where not, or
    where this machine keeps a verdict for the network and the style of ``condition``
    (``Settles.verdict_kept``: nothing is measured). It was under 'building the network',
    never named."""
    if not hasattr(engine, "decided") or engine.decided is not None:
        return ""
    if getattr(engine, "verdict_kept", lambda _: False)(condition):
        return ""
    precision = getattr(engine, "precision", "reduced precision")
    return f"checking {precision} against fp32 (once per network and style on this machine)"


def kept_from_before(reused: int, total: int, stage: str) -> Progress:
    """A resume's event before its first frame made: the frames of the range an earlier
    run left (a local run's ``_Run`` and a Ray driver's say the same)."""
    said = f"{count(reused, 'frame')} kept from before"
    return Progress(reused, total, stage=stage, message=said)


def check_0_based(start: int | None, end: int | None) -> None:
    """A negative bound is refused before the source is opened (frames count from 0)."""
    for option, frame in (("start", start), ("end", end)):
        if frame is not None and frame < 0:
            raise RestyleError(f"frames are 0-based: {setting(option)} is {frame}")


def check_types(job) -> None:
    """A script's values in the job's fields, read by each field's declared type
    (``fields.coerce_fields``, the one rule): the settings key, and so resuming, is the
    command line's, and a value of another type is one clear error."""
    coerce_fields(job)
    _check_paths(job)
    job.source, job.output = home_expanded(job.source), home_expanded(job.output)


def home_expanded(path):
    """'~/shots' is in the user's home, as a style picture's path and the library's are: a
    quoted one (from a farm's config) made a folder named '~' in the working folder."""
    if isinstance(path, str | os.PathLike) and os.fspath(path).startswith("~"):
        return os.path.expanduser(os.fspath(path))
    return path


def _check_paths(job) -> None:
    """Source and output are paths (a list of frame files for the source); '' is refused
    as the command line refuses it, never read as the current folder. A style picture and a
    background (``replace``) are read as paths too: each said by name, not a raw OSError."""
    sources = job.source if isinstance(job.source, list | tuple) else [job.source]
    for name, values in (("source", sources), ("output", [job.output])):
        for value in values:
            if name == "output" and value is None:
                continue
            if not isinstance(value, str | os.PathLike) or not str(value).strip():
                raise RestyleError(f"{name} must be a file or folder path, got {value!r}")
            if refusal := _unusable_path(os.fspath(value), len(values) == 1):
                said = setting(name) if name == "output" else name
                raise RestyleError(f"{said} {refusal}")
    if job.output is not None:  # before the output's name is read for its format
        refuse_source_as_output(job.output, job.source)
    for name, said in (("style", "style"), ("replace", setting("replace"))):
        value = getattr(job, name, None)  # a built-in's name or #RRGGBB passes as a path would
        if isinstance(value, str | os.PathLike) and (refusal := _unusable_path(os.fspath(value))):
            raise RestyleError(f"{said} {refusal}")


PATH_MAX = 4096  # bytes in a whole path Linux takes (its ENAMETOOLONG), the NUL included


def _unusable_path(path: str, ask: bool = True) -> str:
    """Why no file system takes ``path`` ('' if one may): a NUL, a name over NAME_MAX (an
    output's own name, as written: ``check_output_name``), a path over PATH_MAX, or
    (``ask``: one path, not a sequence's every file) the file system's own ENAMETOOLONG.
    Said before any file is read or written: os.stat's ValueError or OSError left Python."""
    if "\0" in path:
        return f"holds a NUL character: {path!r}"
    longest = max(Path(path).parts, key=lambda part: len(os.fsencode(part)), default="")
    if (size := len(os.fsencode(longest))) > NAME_MAX:
        return _name_too_long(longest, f"{size} bytes, at most {NAME_MAX}")
    size = len(os.fsencode(path))
    if size >= PATH_MAX:
        return f"is too long a path for the file system ({size} bytes, at most {PATH_MAX - 1})"
    if ask:
        try:
            os.lstat(path)
        except OSError as exc:  # ENOENT: not there yet, as an output is not
            if exc.errno == errno.ENAMETOOLONG:  # longer than the system takes (Linux: 4096)
                return f"is too long a path for the file system ({size} bytes)"
    return ""


def frame_name(plan, index: int) -> str:
    """A sequence's file name for source frame ``index`` (0-based): its source's own frame
    number where the source is a numbered image sequence (plate.1001.png's frame 0 is
    001001.png), else the index (``formats.frame_stem``, the one table of the names)."""
    return frame_stem(index, *frame_numbering(plan.info)) + plan.format.suffix


def frame_numbering(info) -> tuple[int, int]:
    """(first number, digits) ``frame_stem`` names a source's frames by: a numbered image
    sequence's (``MediaInfo.first_number``), else (0, 0): frame i is named i."""
    return getattr(info, "first_number", None) or 0, getattr(info, "number_digits", 0)


def finished_manifest(plan) -> dict | None:
    """A sequence's manifest when a run of ``plan`` keeps every frame of the range
    (``frame_kept``), its coherence not looking ahead (a mapping's never does: matte and
    stabilize ask): a rerun has nothing left to make. Else None."""
    if plan.format.movie or plan.output is None:
        return None
    record = _parse_manifest(_read_bytes(plan.output / MANIFEST))
    if record.get("key") != plan.key:
        return None
    stale = set(record.get("stale") or ())
    marked = set(record.get("no_lookahead") or ())
    name = lambda i: frame_name(plan, i)  # noqa: E731
    frames = range(plan.start, plan.end + 1)
    if all(frame_kept(plan.output, i, name, stale, marked, None) for i in frames):
        return record
    return None


def unlooked_end(plan, lookahead: bool) -> int | None:
    """The frame a run of ``plan`` ends on without its lookahead (``lookahead``: coherence
    looks ahead and no tail frame after the range is looked at): the range's last when the
    source goes on."""
    if not lookahead:
        return None
    return plan.end if plan.end + 1 < plan.info.frame_count else None


def reusable(plan, index: int, marked: set[str], end: int | None, name=None) -> bool:
    """Whether a run of ``plan`` ending without its lookahead at ``end`` (``unlooked_end``)
    keeps written frame ``index`` as far as the lookahead goes: a frame written as a range's
    end without its lookahead (``marked``: the manifest's 'no_lookahead') only where it and
    every frame after it to ``end`` were written so (a resume, a rerun of the range); a
    longer range styles it again, with the next frame, as one run does. Part of
    ``frame_kept``'s rule (``name``: how it names frame i; else ``frame_name`` of ``plan``)."""
    name = name or (lambda i: frame_name(plan, i))
    if name(index) not in marked:
        return True
    return (
        end is not None and index <= end and all(name(i) in marked for i in range(index, end + 1))
    )


def frame_kept(folder: Path, index: int, name, stale, marked, end: int | None) -> bool:
    """Whether a run keeps frame ``index`` written in ``folder`` (``name(i)``: its file
    name there) rather than making it: the file has something in it (``writers.
    frame_file_written``: an empty one is made again), not of older settings (``stale``)
    and kept as far as the lookahead goes (``reusable``: ``marked``, ``end``). The one rule
    of ``_Run.done``, ``finished_manifest``, ``StyleJob.outlook`` (--plan) and a Ray run's
    ``Landing.written``."""
    file = name(index)
    if file in stale or not frame_file_written(folder / file):
        return False
    return reusable(None, index, marked, end, name)


def movie_key(plan, audio: bool) -> str:
    """What a movie output was made with: the settings key, the range (a movie holds only
    its own frames), its frame rate (an image sequence's --fps: the same frames, another
    movie; not in the settings key, so a frame folder's frames stay reusable) and whether it
    carries the source's sound."""
    rate = Fraction(plan.info.fps)
    return f"{plan.key}:{plan.start}-{plan.end}:{rate}fps" + (":audio" if audio else "")


def finished_movie(plan, audio: bool, output: Path | None = None) -> bool:
    """The output movie is there and is the very file Restyle made with these settings (its
    record beside it, ``writers.made_with``): a rerun has nothing left to make."""
    output = output if output is not None else plan.output
    return bool(
        plan.format.movie
        and output is not None
        and made_with(output, movie_key(plan, audio), plan.total)
    )


def check_output_name(output, fmt) -> None:
    """The output's own name as a run writes it (``_said_path``: a movie's with the suffix
    ``movie_path`` adds) within ``writers.check_name_room``'s limit (a movie's frames
    folder: FRAMES_NAME_MAX), so every name Restyle gives the files beside it fits: refused
    before anything is written, by --plan as by the run (a 236-byte 'NAME.mp4' made of a
    232-byte 'NAME' passed, then its scratch file was 'File name too long' as the movie
    began)."""
    name = Path(_said_path(output, fmt)).name
    before, after = _FRAMES_AROUND
    frames = not fmt.movie and name.startswith(before) and name.endswith(after)
    check_name_room(name, setting("output"), given=Path(output).name, frames=frames)


def drop_frames_twin(twin) -> None:
    """A finished movie's frames folder (``twin``: the job as its frames land there), left by
    a --ray run of these settings (its mux refused, or cancelled and the movie finished
    since): deleted, only where it is Restyle's own, its manifest holding these settings'
    key, and every frame in it inside the movie's range (``drop_frames_within``); another's
    is kept."""
    folder = Path(twin.output)
    if not (folder / MANIFEST).is_file():
        return
    try:
        plan = twin.validate()  # as placed: an earlier Restyle's path form too
    except RestyleError:  # frames of other settings: not these settings' to delete
        return
    if _parse_manifest(_read_bytes(folder / MANIFEST)).get("key") == plan.key:
        frames = range(plan.start, plan.end + 1)
        drop_frames_within(folder, {frame_name(plan, i) for i in frames})


def drop_frames_within(folder: Path, inside: set[str]) -> bool:
    """A movie's --ray frames folder once the movie is finished (``inside``: the names of
    its range's frames there): deleted where every frame in it is among them; one holding
    frames outside the range (a longer --ray run's, cancelled: the settings key does not
    hold the range) is kept whole, for a --ray run of that range to resume from. Whether
    it went."""
    import shutil

    if not set(_frame_names(folder)) <= inside:
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def source_range(start: int, end: int | None, frame_count: int) -> tuple[int, int]:
    """The inclusive source frames ``start..end`` (``end`` None: the last), or the one
    line that says which bound is wrong."""
    check_0_based(start, end)
    last = frame_count - 1
    end = last if end is None else end
    if start > last:  # 'frame range 200..99 is outside ...' named an end the user never gave
        raise RestyleError(f"{setting('start', start)} is past the source's last frame {last}")
    if end > last:
        raise RestyleError(f"{setting('end', end)} is past the source's last frame {last}")
    if end < start:
        raise RestyleError(f"{setting('start', start)} is after {setting('end', end)}")
    return start, end


@dataclass
class JobResult:
    output: Path
    frame_files: list[Path] = field(default_factory=list)
    written: int = 0  # frames this run styled and kept (on cancel too)
    reused: int = 0
    # Of ``written``: frames that show the same source picture as the frame before them (a
    # variable-rate movie's held picture), written as that frame's styled result, not styled.
    repeated: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    cancelled: bool = False
    warping_error: float | None = None
    style: str = ""
    backend: str = ""
    device: str = ""
    # What ran and why (auto's choice, precision checks), in Python's words; ``engine_said``
    # words it for another front end from the text still marked (``errors.remedy``, a
    # setting), which ``set_engine`` keeps beside it.
    engine: str = ""
    _engine_marked: str = field(default="", init=False, repr=False, compare=False)
    warnings: list[str] = field(default_factory=list)
    # What the warnings are made of, for a Ray run to merge its chunks': source frames not
    # decoded cleanly (a damaged movie), and a variable rate's (frame, dropped) retiming.
    held: list[int] = field(default_factory=list)
    retimed: list[tuple[int, bool]] = field(default_factory=list)
    # The entries of ``warnings`` that ``frame_warnings`` made of ``held`` and ``retimed``
    # (and a cut-short source), as they stand there: a front end that numbers frames its
    # own way (Blender's scene frames) swaps exactly these, whatever their wording.
    frame_warned: list[str] = field(default_factory=list)
    repeats: list[int] = field(default_factory=list)  # the frames counted in ``repeated``
    # A rerun into the output these settings finished: nothing run, nothing written (a
    # movie's: ``finished_movie_result``; a folder's: every frame of the range reused). Not
    # a Ray rerun that reused every landed frame and muxed the movie.
    finished_before: bool = False
    # A numbered image sequence's first number (``MediaInfo.first_number``): frame i is its
    # frame first_number + i, and a frame folder names it so (``frame_name``). None else.
    first_number: int | None = None

    def set_engine(self, marked: str) -> None:
        """``engine`` from ``marked`` (``errors.remedy``'s or a setting's marks): Python's
        words in ``engine``, no control character a script could print."""
        self._engine_marked, self.engine = marked, say(marked, PYTHON)

    @property
    def engine_marked(self) -> str:
        """``engine`` still marked (what a Ray chunk reports); ``engine`` itself where it
        was set directly, after ``set_engine`` or without it."""
        kept = self._engine_marked
        return kept if kept and say(kept, PYTHON) == self.engine else self.engine

    def engine_said(self, front_end: str = PYTHON) -> str:
        """``engine`` in ``front_end``'s words (``errors.say``): no marks left."""
        return say(self.engine_marked, front_end)


@dataclass(frozen=True)
class JobPlan:
    """What ``validate`` found; ``run`` and the Blender operator work from it."""

    style: StyleInfo
    info: object  # core.media.MediaInfo
    start: int
    end: int
    key: str  # the settings hash: same source, style and settings -> same key
    format: OutputFormat
    output: Path | None = None  # the folder, or the movie file with its suffix
    fingerprint: tuple = ()
    path_stamps: bool = False  # key of an earlier Restyle's output (``StyleJob._stamped``)

    @property
    def total(self) -> int:
        return self.end - self.start + 1


@dataclass
class StyleJob:
    """Style frames ``start..end`` (0-based source indices, inclusive) of ``source``."""

    source: str | Path | Sequence[Path]
    output: str | Path | None
    style: str
    start: int = 0
    end: int | None = None
    strength: float = 1.0
    scale: float | None = None
    max_side: int | None = None
    preserve_colors: bool = False
    temporal: float = 0.5
    backend: str = "auto"
    device: str = "auto"
    precision: str = "auto"
    format: str | None = None  # None: from the output's extension (.mp4 h264...), else png
    library: StyleLibrary | str | os.PathLike | None = None  # a folder: StyleLibrary(folder)
    fps: Fraction | float | None = None
    batch_size: int | None = None
    overwrite: bool = False
    measure: bool = False
    lookahead: bool | None = None  # coherence looks one frame ahead; None: core's default
    carry: float = 1.0  # trained styles: carry the painted keyframes (0 off .. 1)
    # A Ray chunk split inside a shot: the frame after ``end`` is styled too, only for the
    # last frame's lookahead (never written), so the join matches a single-machine run.
    lookahead_tail: bool = False
    # Source frames where coherence starts afresh, besides its own test. None: the cuts are
    # found while streaming, by the rule a Ray plan splits at (core.shots); a Ray chunk gets
    # its plan's.
    cuts: tuple[int, ...] | None = None
    # A Ray chunk: source frames ``seen_from``..``start``-1 come before it in one run's stream
    # (ray_runner.history_start): decoded, not styled, so its letterbox tracker sees what one
    # run's saw there, and its first frame knows whether it repeats the picture before it.
    seen_from: int | None = None
    # A movie output carries the source's sound for exactly the frames written (a movie
    # source with an audio stream; image sequences have no sound).
    audio: bool = True
    # A movie's display matrix (phone footage) is applied on reading, as players show it;
    # "rotation" applies its rotation but not its mirror, as Blender 4.4+ shows it, and False
    # reads its pictures as stored, as Blender before 4.4 shows them (compat.py).
    upright: Upright = True
    # A movie whose stream starts before its first picture (mpeg4 with B-frames in AVI) is
    # read from its first picture, as players show it; True holds that picture over the
    # lead-in, as Blender's movie strips show it (media.MediaInfo.lead_in, compat.py).
    hold_lead_in: bool = False
    # A Blender strip's own Saturation and Multiply, applied to each frame read, so a strip
    # styles what it shows (None or the identity: the frames as decoded).
    strip_color: StripColor | None = None

    # What the job does to each frame: its progress's stage while it writes frames (the
    # command line's bar, Blender's progress line), and the run summaries' verb.
    stage: ClassVar[str] = "stylize"
    done_word: ClassVar[str] = "styled"
    # The settings a refusal of output made otherwise names (``_made_from``): SETTINGS rows.
    said_settings: ClassVar[tuple[str, ...]] = ("strength", "scale", "max_side", "temporal")
    # Fields a mapping never reads (StyleJob's, which it has as a subclass), each with why: a
    # value other than the field's default is refused, not run without a word
    # (StabilizeJob(style='starry-swirls') stabilized and said nothing of the style).
    ignored: ClassVar[dict[str, str]] = {}

    # -- checks ------------------------------------------------------------------------
    @property
    def settings(self) -> StyleSettings:
        return StyleSettings(
            strength=self.strength,
            scale=self.scale,
            max_side=self.max_side,
            preserve_colors=self.preserve_colors,
            carry=self.carry,
            backend=self.backend,
            device=self.device,
            precision=self.precision,
        )

    def _library(self) -> StyleLibrary:
        if self.library is None:
            self.library = StyleLibrary()
        elif isinstance(self.library, str | os.PathLike):  # a script's library folder
            self.library = StyleLibrary(self.library)
        elif not isinstance(self.library, StyleLibrary):
            raise RestyleError(f"library must be a StyleLibrary or a folder, got {self.library!r}")
        return self.library

    def _library_root(self) -> Path | None:
        """The library's folder as ``_library`` reads it (None: the default, or not a
        library), the job left as given."""
        if isinstance(self.library, StyleLibrary):
            return self.library.root
        if isinstance(self.library, str | os.PathLike):
            return Path(self.library).expanduser()
        return None

    def _fingerprint(self) -> tuple:
        """The job as validated; relative paths are read from the working folder, so a
        ``run`` from another one validates again there (never a plan of other files)."""
        fields = (str(v) for v in astuple(replace(self, library=None)))
        return (self._working_folder(), *fields)

    def _working_folder(self) -> str | None:
        """Where the job's relative paths are read from; None when all are absolute (a farm
        script's working folder may have been deleted, which absolute paths never need)."""
        relative = [p for p in self._paths() if not os.path.isabs(p)]
        if not relative:
            return None
        try:
            return os.getcwd()
        except FileNotFoundError:
            raise RestyleError(
                f"the working folder was deleted, so the relative path {relative[0]} cannot "
                "be found: give absolute paths, or run from a folder that exists"
            ) from None

    def _paths(self) -> list[str]:
        """The job's files and folders as given: source, output, library, a style picture."""
        sources = self.source if isinstance(self.source, list | tuple) else [self.source]
        paths = [*sources, self.output]
        if isinstance(self.library, str | os.PathLike):
            paths.append(self.library)
        elif isinstance(self.library, StyleLibrary):
            paths.append(self.library.root)
        style = os.path.expanduser(str(self.style))
        if os.sep in style or Path(style).suffix.lower() in IMAGE_SUFFIXES:  # as resolve does
            paths.append(style)
        return [os.path.expanduser(p) for p in paths if isinstance(p, str | os.PathLike)]

    def validate(self) -> JobPlan:
        """Check everything that can be checked before any work; raise RestyleError.

        With ``output`` None the plan has no output yet (Blender names the folder after
        ``plan.key``); ``place`` adds it."""
        plan = self.check_settings()
        if self.output is None:
            return replace(plan, fingerprint=self._fingerprint())
        return self.place(plan)

    def check_settings(self) -> JobPlan:
        """``validate`` but the output: the options, style, source and range (``--plan``
        then says what a run would do with the output, ``outlook``, rather than fail)."""
        from .media import probe

        self._working_folder()  # gone while a path is relative: said first, clearly
        _check_paths(self)  # before the output's name is read for its format
        self.output_format_id()
        fmt = output_format(self.format)
        if self.output is not None:  # as written: a movie's with the suffix it is given
            check_output_name(self.output, fmt)
        self._check_options()
        style = self._style_info()
        # A Ray task is given its driver's probe of the same source (every image's header
        # read once per run, not once per chunk).
        info = getattr(self, "_probed", None) or probe(
            self.source, fps=self.fps, upright=self.upright, hold_lead_in=self.hold_lead_in
        )
        if self.fps is not None and info.kind == "movie":  # it would be silently ignored
            fps = setting("fps")
            raise RestyleError(
                f"{fps} sets the rate of image sequences; {Path(info.path).name} is a movie "
                f"and keeps its own rate ({float(info.fps):g} fps): leave {fps} out"
            )
        start, end = self._frame_range(info)
        self._check_source(fmt, info)
        return JobPlan(style, info, start, end, self._settings_key(style, info), fmt)

    def output_format_id(self) -> str:
        """``format``, or as the command line reads OUTPUT (None: png), again when OUTPUT
        changed (a job run into a movie, then into a folder, kept the movie's format and
        wrote 'folder.mp4'). A format given in capitals is the command line's own id: 'PNG'
        keyed its frames apart, so the command line's rerun refused them as other settings."""
        if self.format is None or self.format == getattr(self, "_derived_format", None):
            self.format = "png" if self.output is None else format_for_output(self.output)
            self._derived_format = self.format
        self.format = output_format(self.format).id
        if self.output is not None:  # refused before the source is read, as a bad format
            check_frames_name(self.output, self.format)
        return self.format

    def outlook(self, plan: JobPlan, front_end: str = PYTHON, on_ray: bool = False) -> dict:
        """What a run of ``plan`` would do with its output, in place of ``place``'s error:
        ``outcome`` 'new', 'resume', 'finished', 'replace' (``overwrite``: frames or a movie
        made otherwise) or 'refused' (``reason``: the run's own error, naming the fix in
        ``front_end``'s words), with the frames a run would keep (``reused``), make and
        replace. ``on_ray``: a --ray run's, which resumes a movie from the frames a cancelled
        one kept in its frames folder (a local run styles the movie from the start). An
        output that is what the job reads is raised, as a bad option is (``_output_path``).
        Writes nothing."""
        fmt = output_format(self.format)
        movie, path = fmt.movie, _said_path(self.output, fmt)  # as a run's record names it
        record = {"path": path, "movie": movie, "outcome": "refused", "reason": None}
        record.update(reused=0, to_make=0, replaced=0)
        if self.output is not None:  # the input as the output: the plan's error, not outcome
            self._output_path(plan)
        try:
            placed = self.place(plan)
        except RestyleError as exc:
            return {**record, "reason": exc.said(front_end)}
        out = placed.output
        record["path"] = str(out)
        from .writers import lock_refusal

        held = lock_refusal(out)  # another run writes there now
        if held is not None:
            return {**record, "reason": held}
        if movie and finished_movie(placed, self.audio):  # --overwrite or not: the same movie
            return {**record, "outcome": "finished", "reused": plan.total}
        if movie:  # place refused one that exists without overwrite (but a finished one)
            kept = {"outcome": "new", "reused": 0}  # a local run styles it from the start
            if on_ray:  # as a --ray rerun keeps them
                kept = self._ray_frames_outlook(plan, front_end)
            if kept["outcome"] == "refused":
                return {**record, "reason": kept["reason"]}
            reused, replaced = kept["reused"], int(out.exists())
            outcome = "replace" if replaced else "resume" if reused else "new"
            record.update(reused=reused, to_make=plan.total - reused, replaced=replaced)
            return {**record, "outcome": outcome}
        names = [frame_name(plan, i) for i in range(plan.start, plan.end + 1)]
        present = {n for n in names if frame_file_written(out / n)}
        manifest = _parse_manifest(_read_bytes(out / MANIFEST))
        # none, or other settings, or another precision (overwrite given): all made again
        clash = precision_clash(manifest, placed.key, self.precision)
        if manifest.get("key") != placed.key or clash:
            outcome = "replace" if present else "new"
            return {**record, "outcome": outcome, "to_make": plan.total, "replaced": len(present)}
        stale = set(manifest.get("stale") or ()) & present
        marked = set(manifest.get("no_lookahead") or ())
        end = unlooked_end(plan, self._ends_unlooked())
        name = lambda i: frame_name(plan, i)  # noqa: E731
        frames = range(plan.start, plan.end + 1)
        reused = sum(frame_kept(out, i, name, stale, marked, end) for i in frames)
        outcome = "finished" if reused == plan.total else "resume" if reused else "new"
        if stale and outcome == "new":
            outcome = "replace"
        return {
            **record,
            "outcome": outcome,
            "reused": reused,
            "to_make": plan.total - reused,
            "replaced": len(stale),
        }

    def _ray_frames_outlook(self, plan: JobPlan, front_end: str) -> dict:
        """``outlook`` of the frames folder a cancelled --ray run into this movie left (``plan``
        checked): the frames of the range a --ray rerun keeps there (``reused``, by the one
        rule: ``frame_kept``) or its refusal of the folder (frames of other settings)."""
        twin = self._ray_frames(plan)
        if twin is None:
            return {"outcome": "new", "reused": 0}
        try:
            return twin.outlook(twin.check_settings(), front_end)
        except RestyleError as exc:
            return {"outcome": "refused", "reason": exc.said(front_end)}

    def _ray_frames(self, plan: JobPlan):
        """This job as its frames land on Ray for the movie ``plan`` makes (checked):
        ``frames_twin``, into ``movie_frames_folder`` in the format its manifest names (Ray's
        ``MOVIE_FRAMES_FORMAT``, which this module does not import); None where no run left
        a frames folder with a readable manifest there."""
        folder = movie_frames_folder(Path(self.output)).absolute()  # as ray_runner finds it
        fmt = _parse_manifest(_read_bytes(folder / MANIFEST)).get("format")
        if not (isinstance(fmt, str) and fmt in OUTPUT_FORMATS):
            return None
        return self._frames_twin(folder, fmt, plan)

    def _frames_twin(self, folder: Path, fmt: str, checked: JobPlan):
        """This job as its frames land in ``folder`` in format ``fmt`` (``ray_runner.
        frames_twin``); --overwrite replaces older frames there as new ones land, as on one
        machine. A replaced background is laid from the run's start (``checked``'s)."""
        twin = replace(self, output=folder, format=fmt)
        if getattr(twin, "replace", None) and twin.background_start is None:
            twin.background_start = checked.start
        twin._probed = checked.info  # the same source, read once
        return twin

    def _drop_ray_frames(self, twin) -> None:
        """The movie is finished (here, or before): the frames folder a cancelled --ray run
        of these settings left beside it goes (``drop_frames_twin``), as a --ray rerun drops
        it; under the movie's lock, and the folder's, which an earlier Restyle's --ray run
        took instead (held: kept)."""
        if twin is not None:
            with contextlib.suppress(RestyleError), OutputLock(twin.output):
                drop_frames_twin(twin)

    def _style_info(self) -> StyleInfo:
        """What the plan maps with (a mapping job gives its own, fixed info). A trained
        style's name asked of a library folder that does not exist says the folder (a
        fresh library of built-ins needs none: they are converted into it on first use)."""
        library = self._library()
        try:
            return library.resolve(self.style)
        except RestyleError as exc:
            style = str(self.style).strip()
            named = parse_mix(style) is None and os.sep not in style  # not a mix, not a path
            if library.root.exists() or not named or Path(style).suffix in IMAGE_SUFFIXES:
                raise
            if "(did you mean " in exc.neutral:  # a typo of a built-in: no library words
                raise
            raise RestyleError(
                f"{exc.neutral}; no style has been trained yet (none in the style library "
                f"{library.root})"
            ) from None

    def _check_source(self, fmt, info) -> None:
        """What needs the probed source: that ``fmt`` can store the frames made from it."""
        _check_format_holds(fmt, info)

    def place(self, plan: JobPlan, output: str | Path | None = None) -> JobPlan:
        """The plan with its output checked: never the source, never someone else's files."""
        if output is not None:  # placed later (Blender's way): not read by check_settings
            self.output = output
            check_frames_name(output, plan.format.id)
            check_output_name(output, plan.format)
        if self.output is None:
            raise RestyleError("no output given")
        path = self._output_path(plan)
        plan = self._stamped(plan, path)
        finished = finished_movie(plan, self.audio, path)  # kept, --overwrite or not
        now = {"made_from": self._made_from(plan), "frames": plan.total}
        now["movie_key"] = movie_key(plan, self.audio)
        _check_output(path, plan.format, plan.key, self.overwrite, finished, now)
        if not (plan.format.movie or self.overwrite):
            _check_precision(path, plan.key, self.precision)
        plan = replace(plan, output=path, fingerprint=self._fingerprint())
        self._plan = plan
        return plan

    def _output_path(self, plan: JobPlan) -> Path:
        """The output's path (a movie's with its suffix), never what the job reads: an
        error to ``place`` and to ``outlook`` alike (--plan exits 2 on it, as a run does),
        not a run's outcome."""
        path = movie_path(self.output, plan.format) if plan.format.movie else Path(self.output)
        refuse_source_as_output(path, plan.info)
        self._refuse_inputs_as_output(path, plan)
        return path

    def _stamped(self, plan: JobPlan, out: Path) -> JobPlan:
        """``plan`` keyed as the output at ``out`` was where an earlier Restyle made it of
        these very files at this very place (``file_stamp``'s path form, its settings key
        or its source's stamps kept there): it is reused, or refused in the same words,
        as before (refused: only without --overwrite, which replaces it all). Else
        ``plan``: keyed by what its files are (the project can move)."""
        if plan.path_stamps:  # placed before, maybe elsewhere
            plan = replace(plan, key=self._settings_key(plan.style, plan.info), path_stamps=False)
        if not out.exists():
            return plan
        if plan.format.movie:
            read = made_tag_of(out) if out.is_file() else None
            parts = tag_parts(read[0]) if read else None
            key = parts[1].split(":")[0] if parts else None
            made = lambda: tag_facts(read[0]).get("made_from")  # noqa: E731
        else:
            record = _parse_manifest(_read_bytes(out / MANIFEST))
            key, made = record.get("key"), lambda: record.get("made_from")
        if key is None or key == plan.key:
            return plan
        spelled = self._spelled(plan)
        if key == spelled.key:  # made before a picture style was keyed by its resolved path
            return spelled
        older = self.path_stamped(plan)
        source = self._made_from(older)["source"]
        then = made()
        same = isinstance(then, dict) and then.get("source") == source and not self.overwrite
        if key == older.key or same:
            return older
        return plan

    def path_stamped(self, plan: JobPlan) -> JobPlan:
        """``plan`` keyed as an earlier Restyle keyed it: its files by path, size and time
        (Blender named its folder so)."""
        with path_stamps():
            key = self._settings_key(plan.style, plan.info)
        return replace(plan, key=key, path_stamps=True)

    def _spelled(self, plan: JobPlan) -> JobPlan:
        """``plan`` keyed with a picture style's path as given (``_style_said``), as Restyle
        keyed it before 2026-12-02: the output it made is reused, not refused as another
        style's. ``plan`` itself for any other style."""
        if plan.style.kind != "picture":
            return plan
        token = _SPELLED.set(True)
        try:
            return replace(plan, key=self._settings_key(plan.style, plan.info))
        finally:
            _SPELLED.reset(token)

    def _made_from(self, plan: JobPlan) -> dict:
        """What output made otherwise is told by (kept in a manifest and a movie's tag;
        ``_made_otherwise`` words it): the source's files as the settings key stamps them,
        the style, and the settings a user sets."""
        if plan.path_stamps != _PATH_STAMPS.get():  # as its key: an earlier Restyle's form
            with path_stamps(plan.path_stamps):
                return self._made_from(plan)
        stamps = json.dumps(source_stamps(plan.info))
        settings = {k: getattr(self, k) for k in self.said_settings}
        source = hashlib.sha256(stamps.encode()).hexdigest()[:16]
        # The settings key's other parts (version, format, names, grade...), as JSON keeps
        # them, so a refusal names the one that differs; the source's stamps are ``source``.
        parts = self._key_record(plan.style, plan.info)
        parts = {k: v for k, v in parts.items() if k not in ("source", "style")}
        key = json.loads(json.dumps(parts, sort_keys=True))
        made = {"source": source, "job": self.stage, "style": plan.style.id, "settings": settings}
        made["key"] = key
        if not plan.path_stamps:  # the source known by what it is: moved, still the same
            made["stamps"] = "content"
            made["blocks"] = STAMP_BLOCKS  # read of a file (unreleased 2026-12-02: its ends)
        return made

    def _refuse_inputs_as_output(self, out: Path, plan: JobPlan) -> None:
        """The other files a run reads are never its output nor in its folder: a picture
        style kept among the frames was replaced by a new frame under --overwrite."""
        picture = plan.style.picture
        if picture is not None and _is_or_in(Path(picture), out):
            raise RestyleError(
                f"the style picture {Path(picture).name} is in the output {out}; "
                "keep it in another folder"
            )

    def _check_options(self) -> None:
        """Every option's range, so nothing hangs or is silently replaced later."""
        self._working_folder()  # gone while a path is relative: said first, clearly
        check_types(self)
        defaults = {f.name: f.default for f in dataclass_fields(self)}
        for name, why in self.ignored.items():
            if (value := getattr(self, name)) != defaults[name]:
                raise RestyleError(
                    f"{type(self).__name__} {why}: {name}={value!r} has no effect; leave it out"
                )
        self.settings.check()
        if self.scale is not None and self.max_side is not None:  # the command line's: either
            scale, side = setting("scale", self.scale), setting("max_side", self.max_side)
            raise RestyleError(f"{scale} and {side} both set the size styled at: give one")
        if refused := device_refusal(self.device):  # the spelling; the engine says the rest
            raise RestyleError(refused)
        root = self._library_root()
        if root is not None and root.exists() and not root.is_dir():
            raise RestyleError(
                f"the style library {root} is not a folder: give the folder of the styles"
            )
        for name in ("cuts", "seen_from"):  # a Ray chunk's, a script's: frames of the source
            if (frames := getattr(self, name)) is not None and (
                refused := frames_refusal(name, frames)
            ):
                raise RestyleError(refused)
        if self.seen_from is not None and self.seen_from > self.start:
            raise RestyleError(
                f"seen_from={self.seen_from} is after {setting('start', self.start)}: "
                "a chunk's history is the frames before its first"
            )
        if not 0.0 <= self.temporal <= 1.0:
            raise RestyleError(f"{setting('temporal', self.temporal)} is out of range 0..1")
        from .engines.choices import BACKENDS, words

        if self.backend not in words(BACKENDS):
            raise RestyleError(
                f"unknown backend '{self.backend}': use {', '.join(words(BACKENDS))}"
            )
        if self.batch_size is not None and not 1 <= self.batch_size <= MAX_BATCH:
            raise RestyleError(
                f"{setting('batch', self.batch_size)} is out of range 1..{MAX_BATCH}"
            )
        if self.fps is not None and (refused := rate_refusal(self.fps)):
            raise RestyleError(refused)  # 0, negative, nan and inf: none replaced
        check_0_based(self.start, self.end)
        color = self.strip_color
        if color is not None:
            if not isinstance(color, StripColor):
                raise RestyleError(f"strip_color must be a StripColor, got {color!r}")
            # Blender's ranges (fields.GRADE_RANGES), a Replace blend's opacity folded in
            for name in ("saturation", "multiply"):
                if refused := grade_refusal(name, _real(name, getattr(color, name))):
                    raise RestyleError(refused)  # the command line's words too

    def _frame_range(self, info) -> tuple[int, int]:
        """The range, or an error that says frames count from 0 where a sequence's files are
        numbered otherwise (a plate's plate.1001.png is frame 0: --start 1001 is past it),
        or that a sequence's file in it is missing (a range without the gap is fine)."""
        from .media import check_no_gap, counted_from_0

        try:
            start, end = source_range(self.start, self.end, info.frame_count)
        except RestyleError as exc:
            hint = counted_from_0(info)  # plate_v002.1001: 1001
            if not hint or max(self.start, self.end or 0) < info.frame_count:
                raise
            raise RestyleError(f"{exc.neutral} ({hint})") from None
        check_no_gap(info, start, end)
        return start, end

    def _settings_key(self, style: StyleInfo, info) -> str:
        record = self._key_record(style, info)
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]

    def _key_record(self, style: StyleInfo, info) -> dict:
        """What the settings key is the hash of (``_made_from`` keeps it to name a part)."""
        record = {
            "version": PIPELINE_VERSION,
            "source": source_stamps(info),
            "style": _style_said(style),
            "style_file": file_stamp(
                style.picture or (style.folder and style.folder / WEIGHTS_FILE), whole=True
            ),
            "strength": self.strength,
            "scale": self.scale,
            "max_side": self.max_side,
            "preserve_colors": self.preserve_colors,
            "temporal": self.temporal,
            "format": self.format,
        }
        if style.kind == "trained":  # older keys of other styles stay valid
            record["carry"] = self.carry
        if self._lookahead():  # causal keys stay valid
            from .temporal import LOOKAHEAD_WEIGHTS

            record["lookahead"] = list(LOOKAHEAD_WEIGHTS)
        if self.temporal > 0:  # the coherence's own revision: frame-by-frame keys stay valid
            from .temporal import REVISION

            record["coherence"] = REVISION
            if self.cuts is not None:  # cuts given (a Ray chunk, a script): other pixels
                record["cuts"] = sorted(self.cuts)
        if getattr(info, "quarter_turns", 0):  # turned on reading: frames made as stored differ
            record["upright"] = info.quarter_turns
        if getattr(info, "mirrored", False):  # mirrored on reading (players' view)
            record["mirrored"] = True
        if getattr(info, "lead_in", 0):  # read as Blender shows it: every frame shifted
            record["lead_in"] = info.lead_in
        color = self.strip_color
        if color is not None and not color.identity:  # other pixels; ungraded keys stay valid
            from .strip_frames import GRADE_REVISION

            record["strip_color"] = [color.saturation, color.multiply, color.as_float]
            record["strip_color"].append(color.saturates_in_float)  # Blender 5.2+'s order
            record["grade_revision"] = GRADE_REVISION
        tone_map = getattr(info, "tone_map", None)  # HDR: frames styled as if SDR differ
        if tone_map is not None:
            record["tone_map"] = [tone_map.transfer, tone_map.peak_nits]
        names = frame_stem(0, *frame_numbering(info))
        if names != frame_stem(0) and not output_format(self.format).movie:
            # Frames named by the source's numbers (001001.png), not from 0 as before: a
            # folder an older version named 000000.png... is of other settings (refused
            # without --overwrite, which replaces its frames), never mixed into.
            record["names"] = names
        return record

    # -- running -------------------------------------------------------------------------
    def run(
        self,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        plan: JobPlan | None = None,
    ) -> JobResult:
        """Run from ``plan`` (default: the one ``validate``/``place`` made, if the job is
        unchanged since, else a fresh one)."""
        plan = plan or self._current_plan() or self.validate()
        if plan.output is None:
            plan = self.place(plan)
        # The movie these settings made is finished, --overwrite or not: --overwrite replaces
        # output made otherwise (a farm passing it on every retry keeps the shortcut).
        if finished_movie(plan, self.audio):
            with OutputLock(plan.output):  # not being replaced by another run now
                plan, finished = self._place_locked(plan)
                if finished is not None:
                    self._drop_ray_frames(self._ray_frames(plan))
                    return finished
        self._ensure_builtins(plan, progress)
        self._starting(plan, progress)
        stylizer = self._stylizer(plan)  # a bad device fails here, before any file exists
        # Its engines end with the run, finished, cancelled or failed (threads, sessions,
        # OpenVINO's child): a long-lived process such as Blender runs many jobs.
        with contextlib.closing(stylizer):
            created = _make_parents(plan.output)
            try:
                with OutputLock(plan.output):
                    plan, finished = self._place_locked(plan)  # another run may have ended
                    # a cancelled --ray run's frames: Ray's twin is made before the 1st pass
                    ray_frames = self._ray_frames(plan) if plan.format.movie else None
                    if finished is not None:  # its movie landed since the check above
                        self._drop_ray_frames(ray_frames)
                        return finished
                    try:
                        self._prepare_locked(plan, progress, cancel)
                    except Cancelled:  # before any frame (as _Run's): like a finished run's
                        return _cancelled_result(plan, stylizer)
                    result = _Run(self, plan, stylizer, progress, cancel).execute()
                    if not result.cancelled:  # the movie finished: its Ray frames go
                        self._drop_ray_frames(ray_frames)
                    return result
            finally:
                _remove_empty(created)

    def _place_locked(self, plan: JobPlan) -> tuple[JobPlan, JobResult | None]:
        """Under the output's lock: the plan placed again (another run may have ended since
        it was placed) and, where the movie these settings made is there now (a farm's
        duplicate run finished it meanwhile), that movie's result: nothing left to run."""
        plan = self.place(plan)
        return plan, finished_movie_result(plan) if finished_movie(plan, self.audio) else None

    def _prepare_locked(self, plan: JobPlan, progress, cancel) -> None:
        """A mapping's first pass over the range (a stabiliser's tracking, a matte's
        keyframe training), run under the output's lock: a second run into the same output
        is refused before it, not after. Cancelled here, the run writes nothing."""

    def _manifest_facts(self) -> dict:
        """What a mapping keeps in a sequence's manifest beside the settings key (a
        stabiliser's cuts and kept area, for a rerun that skips its first pass)."""
        return {}

    def _current_plan(self) -> JobPlan | None:
        plan = getattr(self, "_plan", None)
        return plan if plan is not None and plan.fingerprint == self._fingerprint() else None

    def _ensure_builtins(self, plan: JobPlan, progress: ProgressCallback | None) -> None:
        library = self._library()
        suffix = ".onnx" if self.backend != "torch" else ".safetensors"
        # A built-in style at strength 0 starts no network (``Stylizer.gives_source``): none
        # to convert (nor PyTorch to convert it); a picture style's predictor runs at any.
        needed = plan.style.kind == "picture" or (
            plan.style.kind == "builtin" and self.strength > 0.0
        )
        if needed and not library.builtins_ready(suffix):
            from .builtins import install_builtins

            if progress:
                progress(Progress(0, plan.total, stage="setup", message="converting styles"))
            install_builtins(library.builtin_dir)

    def _starting(self, plan: JobPlan, progress: ProgressCallback | None) -> None:
        """The run's first progress event, before its network is built (a model read and
        compiled, its precision decided: half a minute on a 2-core CPU, when nothing was
        said): stage 'setup', nothing done yet; none where no network is built
        (``_builds_network``). A Ray driver says it before its precision check's network."""
        if progress and self._builds_network(plan):
            progress(Progress(0, plan.total, stage="setup", message=BUILDING))

    def _builds_network(self, plan: JobPlan) -> bool:
        """``_stylizer`` builds a network (a mapping says whether its own does: a matte's
        does, a stabiliser's warp does not). A built-in style at strength 0 starts none."""
        return plan.style.kind == "picture" or self.strength > 0.0

    def _temporal(self):
        """The coherence stage (a mapping may bring its own, e.g. mattes steady their alpha)."""
        if self.temporal <= 0:
            return None
        from .temporal import TemporalBlender

        return TemporalBlender(strength=self.temporal, lookahead=self._lookahead())

    def _ends_unlooked(self) -> bool:
        """Whether a range ending mid-source ends without its lookahead: coherence looks
        ahead and no tail frame is looked at (a Ray chunk's is)."""
        return self._lookahead() and not self.lookahead_tail

    def _lookahead(self) -> bool:
        """Whether coherence looks one frame ahead (core's default unless the job says)."""
        if self.temporal <= 0 or type(self)._temporal is not StyleJob._temporal:
            return False  # off, or a mapping's own coherence stage (mattes' does not)
        if self.lookahead is not None:
            return self.lookahead
        from .temporal import LOOKAHEAD

        return LOOKAHEAD

    def _output_alpha(self, info) -> bool:
        """Whether frames written carry alpha: a style keeps the source's, a matte adds one."""
        return info.has_alpha

    def _wrap_writer(self, writer):
        """A mapping that needs each frame's index (a compositor, a stabiliser's warp) wraps
        the writer; styles write directly."""
        return writer

    def _precision_made(self, plan: JobPlan) -> dict | None:
        """The precision this run is held to (``stylizer.hold_precision``): a Ray chunk's,
        as its driver decided it for every chunk (``ray_runner.decide_precision``); else,
        resuming a frames folder of these settings, the one its frames were made with (its
        manifest's ``precision``: fp32 after a failed bf16 check, or bf16 that passed it),
        so the frames left are made as the first run's were and the folder is one
        uninterrupted run's. The job asks auto or what the frames' run asked (or ran);
        another precision asked explicitly is refused as other settings are (``--overwrite``
        makes every frame again at it), and an engine here that cannot run the held one runs
        auto's choice (``stylizer.held_engine``: its line says what
        made the frames). None: the engine decides as usual. A movie is made whole by
        every run: nothing to match."""
        made = getattr(self, "_chunk_precision", None)
        if made is not None or plan.output is None or plan.format.movie:
            return made  # a chunk's: decided for this job's precision asked
        old = _parse_manifest(_read_bytes(Path(plan.output) / MANIFEST))
        facts = [old.get(k) for k in ("backend", "device", "precision")]
        if old.get("key") != plan.key or not all(isinstance(f, str) and f for f in facts):
            return None
        backend, device, precision = facts
        if self.precision not in ("auto", precision, old.get("precision_asked")):
            return None
        why = f"{precision}, matching the frames already made"
        # where this machine's engine cannot hold it: they are kept, and the line says so
        unheld = f"the frames already made ran {backend} {precision} on {device}, kept"
        made = dict(backend=backend, device=device, precision=precision, why=why, unheld=unheld)
        if isinstance(line := old.get("engine"), str):  # the manifest keeps it (_engine_facts)
            made["line"] = line
        return made

    def _stylizer(self, plan: JobPlan) -> Stylizer:
        from .media import decode_range

        # auto, or the same asked: held to it where this engine runs it (``held_engine``)
        made = self._precision_made(plan)
        stylizer = Stylizer(plan.style, self._library(), self.settings, made)
        with closed_on_error(stylizer):
            if plan.style.kind == "picture" and self.strength < 1.0:
                # the footage's own style from the whole source, not the range styled: a clip
                # styled whole or in parts (resumed, extended, Ray's chunks) mixes one style
                last = plan.info.frame_count - 1
                samples = {0, last // 2, last}
                stylizer.prepare(
                    [next(iter(decode_range(self.source, i, i, info=plan.info))) for i in samples]
                )
            elif plan.style.kind == "picture":
                stylizer.prepare([])
        return stylizer


def _said_path(output, fmt) -> str | None:
    """``output`` as ``place`` names it (a run's record: 'j_sty', not 'j_sty/' as typed),
    also where a run would refuse it; None where none is given."""
    if output is None:
        return None
    with contextlib.suppress(RestyleError):  # a movie's path that ends with '/'
        return str(movie_path(output, fmt) if fmt.movie else Path(output))
    return str(Path(output))


def finished_movie_result(plan: JobPlan) -> JobResult:
    """A rerun into the movie these settings made: nothing styled, every frame reused, no
    engine started; the engine named is the one that made it (its tag, ``made_facts``), ""
    for a movie that does not say (made before its tag kept it, or muxed by a Ray run)."""
    facts = made_facts(plan.output)
    said = {k: v for k in ("backend", "device") if isinstance(v := facts.get(k), str)}
    result = JobResult(
        plan.output,
        reused=plan.total,
        style=plan.style.id,
        finished_before=True,
        first_number=getattr(plan.info, "first_number", None),  # as the run that made it
        **said,
    )
    if isinstance(engine := facts.get("engine"), str):  # still marked: each front end words it
        result.set_engine(engine)
    return result


def _cancelled_result(plan: JobPlan, stylizer) -> JobResult:
    """A run cancelled before its first frame: nothing written, the engine named as in a
    finished run's result (--json reads the same)."""
    engine = stylizer.engine
    return JobResult(
        plan.output,
        cancelled=True,
        style=plan.style.id,
        backend=engine.backend,
        device=engine.device,
    )


class _Run:
    """One locked run of a plan: open the output, stream the frames, keep what finished."""

    def __init__(self, job, plan, stylizer, progress, cancel) -> None:
        self.job, self.plan, self.stylizer = job, plan, stylizer
        self.progress, self.cancel = progress, cancel
        self.folder_created = not plan.format.movie and not plan.output.exists()
        self.manifest: _Manifest | None = None
        self.held: list[int] = []  # source frames not in the stream (damaged movie)
        self.retimed: list[tuple[int, bool]] = []  # (frame, dropped): a variable rate
        # Frames to style -> the later frames that repeat its picture, written as its result.
        self.copies: dict[int, list[int]] = {}
        self.repeated = 0  # frames written as a copy so far
        self.repeats: list[int] = []  # which
        # A chunk's first frames that repeat the picture before it (styled here, its first
        # frame being in the chunk before): one run wrote them as copies, so they count so.
        self.restyled: set[int] = set()
        self._sent = 0  # frames handed to the writer this run
        self._ending: set[str] = set()  # frames this run ends on without lookahead

    def execute(self) -> JobResult:
        try:
            writer = self._open_writer()
        except BaseException:
            if self.folder_created:
                with contextlib.suppress(OSError):
                    self.plan.output.rmdir()
            raise
        todo = [i for i in range(self.plan.start, self.plan.end + 1) if not self.done(i)]
        reused = self.plan.total - len(todo)
        if reused and self.progress:  # said before the first frame made (a resume)
            self.progress(kept_from_before(reused, self.plan.total, self.job.stage))
        result = JobResult(
            Path(getattr(writer, "path", self.plan.output)),
            reused=reused,
            style=self.plan.style.id,
            backend=self.stylizer.engine.backend,
            device=self.stylizer.engine.device,
            first_number=getattr(self.plan.info, "first_number", None),
        )
        meter = self._meter()
        engine, condition = self.stylizer.engine, getattr(self.stylizer, "condition", None)
        if todo and self.progress and (checking := _precision_checking(engine, condition)):
            self.progress(Progress(reused, self.plan.total, stage="setup", message=checking))
        t0 = time.perf_counter()
        checked_before = getattr(engine, "check_seconds", 0.0)
        try:
            self._stream(len(todo), reused, meter)
            writer.close()
            if self.manifest is not None:
                # after its precision check
                self.manifest.record.update(self._engine_facts(), **self._precision_facts())
                self.manifest.finish()
        except Cancelled:
            self._keep_finished()
            result.cancelled = True
        except BaseException:
            self._keep_finished()
            raise
        finally:  # the frames' time: a precision check on the first batch is setup
            checking = getattr(engine, "check_seconds", 0.0) - checked_before
            result.seconds = max(0.0, time.perf_counter() - t0 - checking)
        result.written = self.writer.committed
        # Every frame of the range already there with these settings, nothing made: the
        # output was finished before, as --plan calls it (a movie's: finished_movie_result)
        result.finished_before = not (todo or result.written or result.cancelled)
        result.repeated = min(self.repeated, result.written)
        result.repeats = list(self.repeats)  # sent to the writer (a Ray run: those landed)
        result.fps = result.written / result.seconds if result.seconds else 0.0
        result.held, result.retimed = sorted(set(self.held)), list(self.retimed)
        from .media import source_warnings

        said = frame_warnings(self.plan, result.held, result.retimed, result.written)
        result.frame_warned = list(said)
        result.warnings = [*source_warnings(self.plan.info), *said]  # an HDR source first
        result.warnings += getattr(self.writer, "warnings", [])  # a movie's unreadable sound
        result.set_engine(engine_line(self.stylizer.engine))  # after the run: precision checks
        if meter is not None:
            result.warping_error = meter.value if meter.pairs else None
        if not self.plan.format.movie:
            result.frame_files = self._frame_files()
        return result

    # -- output ----------------------------------------------------------------------------
    def _open_writer(self):
        from .writers import open_writer

        plan = self.plan
        if plan.format.movie:
            remove_stale_scratch(plan.output)
        else:
            record, asked = self._manifest_record(), self.job.precision
            self.manifest = _Manifest(plan.output, plan.key, record, asked=asked)
            # decided already (fp32, or held to the frames'): after the key, as a check's
            self.manifest.record.update(self._precision_facts())
        info = plan.info
        self.writer = self.job._wrap_writer(
            open_writer(
                plan.output,
                fmt=plan.format.id,
                fps=info.fps,
                size=(info.width, info.height),
                alpha=self.job._output_alpha(info),
                pixel_aspect=info.pixel_aspect,
                timecode=info.timecode_at(plan.start),
                overwrite=self.job.overwrite,
                on_commit=self._committed,
                name=lambda i: frame_stem(i, *frame_numbering(info)),
                audio=self._audio_clip(),
                made_key=movie_key(plan, self.job.audio) if plan.format.movie else None,
                made_facts=self._made_facts if plan.format.movie else None,  # at its 1st frame
                **encode_workers(self.stylizer.engine),
            )
        )
        if self.manifest is not None:
            self.manifest.save()
        return self.writer

    def _made_facts(self) -> dict:
        """What a movie keeps in its tag of this run (``writers.made_tag``), for a rerun
        that finds it finished to report as this run does: the engine, a mapping's facts."""
        made_from = {"made_from": self.job._made_from(self.plan)}
        return {**self._engine_facts(), **made_from, **self.job._manifest_facts()}

    def _engine_facts(self) -> dict:
        """The engine this run styles with, as a movie's tag and a frames folder's manifest
        keep it (a --ray run's manifest keeps its chunks' the same way: d01c911); the
        manifest takes it again when the run ends, after the first batch's precision check
        (an fp16 that fell back to fp32 is said so)."""
        engine = self.stylizer.engine
        # held to the frames' precision: the line of the run that decided it, so a resumed
        # folder's record is an uninterrupted run's (the result says it was held)
        line = getattr(engine, "held_line", "") or engine_line(engine)
        return {"backend": engine.backend, "device": engine.device, "engine": line}

    def _audio_clip(self):
        """The source's sound that goes with the range, for a movie output (else None)."""
        if not (self.job.audio and self.plan.format.movie):
            return None
        from .audio import audio_clip  # PyAV's audio side only for movies with sound

        return audio_clip(self.plan.info, self.plan.start, self.plan.end)

    def _precision_facts(self) -> dict:
        """A frames folder's manifest keeps the precision its frames are made with, once it
        is decided (``decided_precision``), so a run that resumes it runs the same
        (``StyleJob._precision_made``); the job keeps it for a Ray chunk's report."""
        precision = decided_precision(self.stylizer.engine)
        if precision is None:
            return {}
        self.job._ran_precision = precision
        return {"precision": precision, "precision_asked": self.job.precision}

    def _manifest_record(self) -> dict:
        return {
            "style": self.plan.style.id,
            "style_name": self.plan.style.name,
            "format": self.plan.format.id,
            "strength": self.job.strength,
            "temporal": self.job.temporal,
            "made_from": self.job._made_from(self.plan),  # what a refusal names
            **self._engine_facts(),
            **self.job._manifest_facts(),
        }

    def _frame_name(self, index: int) -> str:
        return frame_name(self.plan, index)

    def done(self, index: int) -> bool:
        if self.manifest is None:  # a movie: made whole
            return self.writer.done(index)
        manifest, end = self.manifest, self._unlooked_end()
        return frame_kept(
            self.plan.output, index, self._frame_name, manifest.stale, manifest.no_lookahead, end
        )

    def _unlooked_end(self) -> int | None:
        """The frame this run ends on without its lookahead (``unlooked_end``)."""
        return unlooked_end(self.plan, self.job._ends_unlooked())

    def _mark_unlooked(self, index: int) -> None:
        """Before the last frame styled is written (with the copies of its picture that end
        the range): recorded as written without its lookahead when the range ends mid-shot."""
        end = self._unlooked_end()
        frames = (index, *self.copies.get(index, ()))
        if self.manifest is None or end is None or end not in frames:
            return
        self._ending = {self._frame_name(i) for i in frames}
        self.manifest.mark_no_lookahead(self._ending)

    def _committed(self, index: int) -> None:
        if self.manifest is not None:
            name = self._frame_name(index)
            self.manifest.replaced(name, looked=name not in self._ending)
            if "precision" not in self.manifest.record and (said := self._precision_facts()):
                # decided by the first batch's check: saved now, so a killed run's frames
                # are resumed at the precision they were made with
                self.manifest.record.update(self._engine_facts(), **said)
                self.manifest.save()

    def _keep_finished(self) -> None:
        """Keep every finished frame of a sequence; never leave a half-written movie. A run
        that wrote nothing leaves the output as it found it."""
        writer = self.writer
        if self.plan.format.movie:
            writer.abort()
            return
        try:
            writer.close()
        except Exception:
            writer.abort()
        if writer.committed:
            # as the run ended with it
            self.manifest.record.update(self._engine_facts(), **self._precision_facts())
            self.manifest.save()
            return
        self.manifest.restore()
        if self.folder_created:
            with contextlib.suppress(OSError):
                self.plan.output.rmdir()

    def _frame_files(self) -> list[Path]:
        out = self.plan.output
        return [
            out / self._frame_name(i)
            for i in range(self.plan.start, self.plan.end + 1)
            if (out / self._frame_name(i)).is_file()
        ]

    # -- frames ----------------------------------------------------------------------------
    def _stream(self, count: int, reused: int, meter) -> None:
        from .pipeline import run_pipeline

        temporal = self.job._temporal()
        total = self.plan.total

        def count_progress(p: Progress) -> None:
            if self.progress:
                stage = self.job.stage  # the frames of a matte are matted, not styled
                done = p.done + reused  # p: frames written, repeats included
                self.progress(Progress(done, total, p.fps, p.eta_s, stage, p.message))

        batch = self.job.batch_size or preferred_batch(self.stylizer.engine)
        try:
            run_pipeline(
                self._frames(temporal is not None, getattr(temporal, "lookahead", False)),
                self.stylizer,
                self._write,
                count,
                batch_size=batch,
                temporal=temporal,
                on_frame=self._on_frame(meter),
                progress=count_progress,
                cancel=self.cancel,
            )
        except Cancelled:  # one cancelled as the last frame was written: all were
            if self._sent < count:
                raise

    def _write(self, index: int, styled: np.ndarray) -> int:
        """Write a styled frame, then the frames that repeat its source picture, in order;
        how many were written (the pipeline's progress counts them all)."""
        self._mark_unlooked(index)
        self.writer.write(index, styled)
        self._sent += 1
        if index in self.restyled:
            self.repeated += 1
            self.repeats.append(index)
        copies = self.copies.pop(index, ())
        for later in copies:
            self.writer.write(later, styled)
            self.repeated += 1
            self.repeats.append(later)
            self._sent += 1
        return 1 + len(copies)

    def _frames(self, coherent: bool, lookahead: bool = False) -> Iterator:
        """The frames still to style, in order. Before the first frame after finished ones
        comes that finished frame as a warm-up (``Warm``), so the coherence state is exactly
        what an uninterrupted run had there. Under lookahead a finished frame right after one
        to style comes too (that frame's output looked ahead at it)."""
        from .media import decode_range

        plan = self.plan
        previous: tuple[int, np.ndarray] | None = None
        repeats: set[int] = set()  # frames that show the picture of the frame before them
        origin: int | None = None  # the frame to style whose picture a repeat shows

        def retimed(index: int, dropped: bool) -> None:
            if index >= plan.start:  # not of a chunk's history (the chunk before's)
                self.retimed.append((index, dropped))
            if not dropped:
                repeats.add(index)

        seen_from = plan.start if self.job.seen_from is None else self.job.seen_from
        seen_from = min(max(0, seen_from), plan.start)
        frames = decode_range(
            self.job.source,
            seen_from,
            plan.end,
            info=plan.info,
            on_held=lambda index: index < plan.start or self.held.append(index),
            on_retimed=retimed,
        )
        after_todo = False
        # A finished frame is shown to the stylizer (its letterbox tracker) in stream order, so
        # the frames after it are cropped as in an uninterrupted run (the reader's thread).
        see = getattr(self.stylizer, "see", None)
        # the frame before, as decoded; the history's last picture, not yet shown
        last, unseen = self._history(frames, seen_from, repeats, see)
        indices = range(plan.start, plan.end + 1)
        pending = None  # the frame to style, handed on once its repeats are known
        for index, (frame, cut) in zip(indices, self._shots(frames, coherent), strict=True):
            last, before = frame, last
            if unseen is not None:  # a chunk's first frame: repeats the history's picture?
                again = index in repeats and not cut and np.array_equal(frame, before)
                if again and not self.done(index):
                    self.restyled.add(index)  # styled in that picture's place
                elif see is not None:
                    see(unseen)
                unseen = None
            if index in repeats and not cut and origin is not None and not self.done(index):
                # A slot with no picture of its own holds the last one decoded: after a
                # second picture in the slot before (dropped there), that is a new picture.
                if before is not None and np.array_equal(frame, before):
                    self.copies.setdefault(origin, []).append(index)  # its result again
                    continue
            if pending is not None:  # its repeats are all known (the writer reads them)
                yield pending
                pending = None
            held = index in repeats and not cut and before is not None
            held = held and np.array_equal(frame, before)  # a copy in an uninterrupted run
            frame = self._graded(frame)  # after the cuts: a Ray plan finds them ungraded too
            if cut:  # nothing carried across a cut, looking back or ahead
                yield None
                previous, after_todo = None, False
            if self.done(index):
                if lookahead and after_todo:
                    yield self._warm(index, frame)  # styled again: its bars decided there
                else:
                    previous = (index, frame)
                    if see is not None and not held:  # letterbox bars: as one run saw them
                        see(frame)
                after_todo, origin = False, None
                continue
            origin = index
            after_todo = True
            if previous is not None:
                if coherent:  # no state to carry otherwise (a None would reset the bars)
                    yield self._warm(*previous)
                previous = None
            pending = index, frame
        if pending is not None:
            yield pending
        if lookahead and after_todo and self.job.lookahead_tail:
            yield from self._tail(last)

    def _history(self, frames: Iterator, first: int, repeats: set[int], see) -> tuple:
        """A Ray chunk's history, frames ``first``..start-1 (``StyleJob.seen_from``) taken
        from ``frames``: shown to the letterbox tracker as one run decided them (a held
        picture's repeats passed over), all but the last picture, which the chunk's first
        frame shows in its place when it repeats it. Returns the last frame as decoded and
        that picture (graded; None without a history)."""
        last = unseen = None
        # not strict: that would take the range's first frame from ``frames`` to check
        for index, frame in zip(range(first, self.plan.start), frames, strict=False):
            if index in repeats and last is not None and np.array_equal(frame, last):
                continue  # one run wrote it as a copy: never decided
            if see is not None and unseen is not None:
                see(unseen)
            last, unseen = frame, self._graded(frame)
        return last, unseen

    def _shots(self, frames: Iterator, coherent: bool) -> Iterator:
        """Each frame with whether it starts a shot: at the job's ``cuts``, or where
        ``core.shots`` finds them over the whole range (finished frames included, so a resumed
        run restarts where an uninterrupted one does), in the same decoding pass. Without
        coherence too while letterbox bars are looked for: a cut sets them afresh."""
        letterbox = getattr(getattr(self.stylizer, "settings", None), "letterbox", False)
        if not coherent and not letterbox:
            return ((frame, False) for frame in frames)
        if self.job.cuts is None:
            from .shots import mark_cuts

            return mark_cuts(frames)
        starts = set(self.job.cuts)
        indices = range(self.plan.start, self.plan.end + 1)
        return ((frame, i in starts) for i, frame in zip(indices, frames, strict=True))

    def _tail(self, last: np.ndarray | None) -> Iterator:
        """The frame after the range, for the last frame's lookahead only (``Warm`` without
        an output: styled, looked at, never written). Frames after the range that still hold
        the range's ``last`` picture (repeats, copies in a longer run) are passed over: the
        lookahead is at the next picture, as in one uninterrupted run."""
        from .media import decode_range
        from .pipeline import Warm

        start = self.plan.end + 1
        if start >= self.plan.info.frame_count:
            return
        repeats: set[int] = set()  # a movie's only: an image sequence holds no picture
        movie = self.plan.info.kind == "movie"
        frames = decode_range(
            self.job.source,
            start,
            self.plan.info.frame_count - 1 if movie else start,
            info=self.plan.info,
            on_retimed=lambda index, dropped: dropped or repeats.add(index),
        )
        with contextlib.closing(frames):
            for index, frame in enumerate(frames, start):
                if index in repeats and last is not None and np.array_equal(frame, last):
                    continue
                yield Warm(index, self._graded(frame), None)
                return

    def _graded(self, frame: np.ndarray) -> np.ndarray:
        """The frame as the Blender strip shows it (its Saturation and Multiply)."""
        color = self.job.strip_color
        return frame if color is None else color.apply(frame)

    def _warm(self, index: int, source: np.ndarray):
        from .pipeline import Warm

        written = self.writer.read(index)
        channels = 4 if self.job._output_alpha(self.plan.info) else 3  # a matte adds alpha
        if (
            written is None
            or written.shape != (*source.shape[:2], channels)
            or written.dtype != source.dtype
        ):
            return None  # unreadable: start afresh there
        return Warm(index, source, written)

    def _meter(self):
        if not self.job.measure:
            return None
        from .metrics import WarpingErrorMeter

        return WarpingErrorMeter(max_side=480)

    @staticmethod
    def _on_frame(meter):
        if meter is None:
            return None
        from .shots import is_hard_cut

        last: list = []

        def on_frame(index: int, source: np.ndarray, styled: np.ndarray) -> None:
            """Warping error over consecutive frames of one shot (never across a cut)."""
            if last and (last[0] != index - 1 or is_hard_cut(last[1], source)):
                meter.reset()
            last[:] = [index, source]
            meter.add(source[..., :3], styled[..., :3])

        return on_frame


class _Manifest:
    """A sequence folder's record: the settings key that made its frames and, while an
    ``overwrite`` is under way, the older frames not yet replaced (``stale``). Those are
    never reused, and are deleted only once the new run has finished the whole range."""

    def __init__(self, folder: Path, key: str, record: dict, asked: str | None = None) -> None:
        """``asked``: the precision the run asks; frames made at another (``precision_clash``:
        overwrite was validated) are all stale, as those of older settings."""
        self.path = folder / MANIFEST
        self.record = dict(record, key=key)
        self.old = _read_bytes(self.path)
        old = _parse_manifest(self.old)
        stale = {n for n in old.get("stale", []) if isinstance(n, str)}
        same = old.get("key") == key and not precision_clash(old, key, asked)
        if not same:  # older settings (overwrite was validated): all stale
            stale |= set(_frame_names(folder))
        self.stale = stale
        # Frames written as a range's last without their lookahead, the range ending mid-shot
        # (_Run._unlooked_end): a longer range styles them again.
        no_lookahead = old.get("no_lookahead", []) if same else []
        self.no_lookahead = {n for n in no_lookahead if isinstance(n, str)}
        self._lock = threading.Lock()
        self._saved = 0.0

    def replaced(self, name: str, looked: bool = True) -> None:
        """``name`` is written anew (``looked``: with its lookahead, if any)."""
        with self._lock:
            if looked:
                self.no_lookahead.discard(name)
            if name not in self.stale:
                return
            self.stale.discard(name)
            if time.monotonic() - self._saved < 0.5:
                return  # a crash before the next save only means redoing frames: safe
        self.save()

    def mark_no_lookahead(self, names: set[str]) -> None:
        """Recorded (saved now, before they are written) as ending a range mid-shot."""
        with self._lock:
            if names <= self.no_lookahead:
                return
            self.no_lookahead |= names
        self.save()

    def save(self) -> None:
        with self._lock:
            record = dict(self.record, stale=sorted(self.stale))
            if self.no_lookahead:
                record["no_lookahead"] = sorted(self.no_lookahead)
            self._saved = time.monotonic()
            write_atomic(self.path, json.dumps(record, indent=1).encode())

    def finish(self) -> None:
        """The whole range is written: what is still stale belongs to the old settings."""
        for name in sorted(self.stale):
            with contextlib.suppress(OSError):
                (self.path.parent / name).unlink()
        self.stale.clear()
        self.save()

    def restore(self) -> None:
        """Nothing was written: put the folder's manifest back as it was."""
        with contextlib.suppress(OSError):
            if self.old is None:
                self.path.unlink()
            else:
                write_atomic(self.path, self.old)


def frame_warnings(
    plan: JobPlan,
    held: list[int],
    retimed: list[tuple[int, bool]],
    written: int,
    at=frames_named,
) -> list[str]:
    """The warnings a run's frames call for, in order: a variable rate's retiming
    (``retimed``: (frame, dropped) pairs), the frames not decoded cleanly (``held``) and a
    cut-short source (the plan's), ``written`` frames kept. ``at`` names source frames (a
    list of indices) as the caller numbers them: Blender's scene frames; default, the
    source's (``frames_named``). Every front end words them from these facts, never from
    another's text (``JobResult.frame_warned``)."""
    return [
        *_variable_rate_warnings(plan, retimed, at),
        *_damage_warnings(plan, held, written, at),
    ]


def _damage_warnings(plan: JobPlan, held: list[int], written: int, at=None) -> list[str]:
    """What a damaged or cut-short movie cost, in words: which frames could not be decoded.
    ``at`` names source frames (a list of indices) as the caller numbers them: Blender's
    scene frames; default, the source's (as ``_variable_rate_warnings``)."""
    from .words import count

    info, warnings, at = plan.info, [], at or frames_named
    name = Path(info.path).name
    if held:
        warnings.append(
            f"{name}: {count(len(held), 'frame')} could not be decoded cleanly (around "
            f"{at(held)}: damaged, or missing from the stream) and may repeat the frame "
            f"before {'it' if len(held) == 1 else 'them'}"
        )
    if getattr(info, "truncated", False):
        lost = at(list(range(info.frame_count, info.declared_frames)))
        warnings.append(
            f"{name} is cut short or damaged: it declares {info.declared_frames} frames but "
            f"only the first {info.frame_count} decode (missing: {lost})"
        )
    if warnings:  # said once, after the last (a summary said '1 written' twice)
        warnings[-1] += f"; {written} written"
    return warnings


def missing_at_end(job, info) -> range:
    """Source frames a run to the source's end (``end`` not given) asked for and cannot
    make: those a cut-short movie declares past the last that decodes (a copy cut off in
    transfer). Empty where ``end`` was given: frames past it were never asked for. The
    command line exits 3 on them (a farm's run is not finished), also on a rerun."""
    if job.end is not None or not getattr(info, "truncated", False):
        return range(0)
    return range(info.frame_count, info.declared_frames)


MEASURED_RATE_FRAMES = 10  # a range this long at least says what its frames average


def _variable_rate_warnings(plan: JobPlan, retimed: list[tuple[int, bool]], at=None) -> list[str]:
    """A variable-rate movie decodes fine; its frames are retimed at the rate its container
    states (MP4: its frames' average; Matroska: whatever it was told). The warning gives the
    average its frames really keep over the range: the frames its timestamps put in the
    range's slots (slots + dropped - repeated) over the slots' time.

    It says what the frames then hold, as ``_Run._frames`` writes them: a slot with no frame
    of its own holds the last one decoded, a copy of the slot before (written as its result
    again: the summary's "repeated") unless the slot before had a second frame, which then
    shows here a frame late rather than being lost. ``at`` names source frames (a list of
    indices) as the caller numbers them: Blender's scene frames; default, the source's."""
    if not retimed:
        return []
    from .words import count

    repeated = sorted({i for i, dropped in retimed if not dropped})
    crowded = {i for i, d in retimed if d}  # slots a second frame was dropped from
    dropped = sum(1 for _, d in retimed if d)
    late = [i for i in repeated if i - 1 in crowded]
    # The range's first frame is styled (the picture it repeats is before the range), as
    # the summary counts it: only a frame after it is written as a copy of the one before.
    copies = [i for i in repeated if i - 1 not in crowded and i > plan.start]
    fps = float(plan.info.fps)
    measured = fps * (plan.total + dropped - len(repeated)) / plan.total
    taken = f"its average rate, {_rate(fps)} fps"
    # An average needs frames to measure: over 3 frames one repeat moved it by a third
    # (tree.avi's 301-303 'averaged 0 fps'); from 10, one frame moves it a tenth at most.
    if _rate(measured) != _rate(fps) and plan.total < MEASURED_RATE_FRAMES:
        taken = f"{_rate(fps)} fps, the rate its container states"
    elif _rate(measured) != _rate(fps):
        taken = f"{_rate(fps)} fps, the rate its container states (its frames average "
        taken += f"{_rate(measured)} fps)"

    at = at or frames_named
    said = [f"{count(dropped - len(late), 'source frame')} dropped"] if dropped > len(late) else []
    if late:
        shown = f"{len(late)}" if said else count(len(late), "source frame")
        said.append(f"{shown} shown a frame late ({at(late)})")
    if copies:
        verb = "repeats" if len(copies) == 1 else "repeat"
        said.append(f"{count(len(copies), 'frame')} {verb} the one before ({at(copies)})")
    listed = ", ".join(said[:-1]) + " and " + said[-1] if len(said) > 1 else "".join(said)
    words = f"{Path(plan.info.path).name} has a variable frame rate: frames are taken at {taken}"
    words += f"; {listed}" if listed else ""  # the range's first frame alone: nothing to list
    if _has_sound(plan.info.path):  # a silent movie has no sync to lose
        words += (
            "; a movie's sound keeps the source's timing, so sync is approximate: a picture "
            f"shows up to half a frame ({500 / float(plan.info.fps):.0f} ms) early, or late by "
            "up to its own gap where repeated"
        )
    return [words]


def _has_sound(path) -> bool:
    """Whether the movie at ``path`` has an audio stream (unreadable: said to have one)."""
    import av

    try:
        with av.open(str(path)) as container:
            return bool(container.streams.audio)
    except (OSError, av.FFmpegError):
        return True


def _rate(fps: float) -> str:
    """24.0 -> "24", 30000/1001 -> "29.97", 240/11 -> "21.82"."""
    return f"{fps:.2f}".rstrip("0").rstrip(".")


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _parse_manifest(data: bytes | None) -> dict:
    try:
        record = json.loads(data) if data else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _frame_names(folder: Path) -> list[str]:
    """Files in the folder named like Restyle frames, in any sequence format."""
    suffixes = {f.suffix for f in OUTPUT_FORMATS.values() if not f.movie}
    return (
        [p.name for p in folder.iterdir() if p.stem.isdigit() and p.suffix in suffixes]
        if folder.is_dir()
        else []
    )


# How a settings key knows a file (``file_stamp``): by what it is, not where it is, so a
# project moved or copied with its times kept (mv, cp -p) keeps its frames: its size and
# time and a hash of STAMP_BLOCKS evenly spaced STAMP_SAMPLE-byte blocks, the first and
# last among them (the whole file up to STAMP_BLOCKS blocks' size; a style's picture or
# weights and a painted keyframe whole at any size: ``file_stamp``'s ``whole``), read once
# per file as it is: a movie re-rendered in place with its size and time put back differs
# there too.
# 1 MiB read: 1.3 ms cached, 10-21 ms not (Megamind.avi, 2 GiB; measured at load 13).
# An earlier Restyle (before 2026-12) knew it by its resolved path, size and time:
# ``path_stamps`` gives that form, for output made so (``StyleJob._stamped``); one of
# 2026-12-02 (unreleased) read the first and last block only: ``_made_otherwise`` says so.
STAMP_SAMPLE = 64 * 1024
STAMP_BLOCKS = 16
_PATH_STAMPS = contextvars.ContextVar("restyle_path_stamps", default=False)
# (path, device, inode, size, times in ns): its sample hash; the change time (ctime) is
# new after any write, even with the modification time put back
_SAMPLES: dict[tuple, str] = {}
# A picture style keyed by its path as given, as before 2026-12-02 (``StyleJob._spelled``).
_SPELLED = contextvars.ContextVar("restyle_spelled_picture", default=False)


def _style_said(style: StyleInfo) -> str:
    """A style in a settings key: its id; a picture's by its file's name (a link's target's),
    its content told by ``file_stamp``: one picture keys alike however its path is spelled
    (relative from the command line, absolute from Blender or a Ray submission, '..' or a link
    in it) and wherever its project moved. An earlier Restyle's form (``path_stamps``) and the
    spelled one (``StyleJob._spelled``) keep the path as given."""
    if style.kind != "picture" or style.picture is None or _PATH_STAMPS.get() or _SPELLED.get():
        return style.id
    return "picture:" + Path(style.picture).resolve().name


def file_stamp(path: str | Path | None, whole: bool = False) -> list:
    """A file in a settings key: a changed or replaced file gives another key, a file moved
    or copied with its time kept the same one ([] if none). ``whole``: hashed whole, not
    sampled (``_sample_hash``), for a file the run reads whole anyway (a style's picture or
    weights, a painted keyframe): two pictures differing between the samples shared frames.
    A 20 MB PNG or JPEG hashes in 16-19 ms (page cache warm; decoding it: 70-320 ms)."""
    if path is None or not Path(path).exists():
        return []
    st = Path(path).stat()
    if _PATH_STAMPS.get():
        return [str(Path(path).resolve()), st.st_size, int(st.st_mtime)]
    return [st.st_size, int(st.st_mtime), _sample_hash(Path(path), st, whole)]


def source_stamps(info) -> list:
    """A source in a settings key: its first and last files' ``file_stamp`` (a movie's one
    file twice, as before: its key unchanged) and, for a sequence, every file between by
    name, size and time (``_between_stamp``): a picture repainted mid-sequence is another
    source. An earlier Restyle's form (``path_stamps``) knew the first and last only."""
    files = list(info.files) if getattr(info, "files", None) else [info.path]
    stamps = [file_stamp(Path(f)) for f in files[:1] + files[-1:]]
    if len(files) > 2 and not _PATH_STAMPS.get():
        stamps.append(_between_stamp(files[1:-1]))
    return stamps


def _between_stamp(files: Sequence) -> str:
    """A hash of each file's name, size and time in whole seconds (as ``file_stamp``'s, kept
    by mv and cp -p): one stat a file, nothing read (1,000 files: 9 ms of CPU, measured)."""
    digest = hashlib.sha256()
    for f in files:
        try:
            st = os.stat(f)
            said = f"{os.path.basename(f)}\0{st.st_size}\0{int(st.st_mtime)}\n"
        except OSError:  # gone: the probe or the run says so in its own words
            said = f"{os.path.basename(f)}\0gone\n"
        digest.update(said.encode())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def path_stamps(on: bool = True) -> Iterator[None]:
    """``file_stamp`` in an earlier Restyle's form (path, size, time) while ``on``."""
    token = _PATH_STAMPS.set(on)
    try:
        yield
    finally:
        _PATH_STAMPS.reset(token)


def _sample_hash(path: Path, st: os.stat_result, whole: bool = False) -> str:
    """A hash of the file's ``STAMP_BLOCKS`` evenly spaced ``STAMP_SAMPLE``-byte blocks,
    its first and last among them; a smaller file, or any ``whole``, whole ('' for a
    folder): a file of up to ``STAMP_BLOCKS`` blocks hashes alike both ways."""
    if not path.is_file():
        return ""
    times = (st.st_mtime_ns, st.st_ctime_ns)
    known = (str(path), st.st_dev, st.st_ino, st.st_size, *times, whole)
    if known in _SAMPLES:
        return _SAMPLES[known]
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            every = range(0, max(st.st_size, 1), STAMP_SAMPLE)
            for offset in every if whole else _sample_offsets(st.st_size):
                stream.seek(offset)
                digest.update(stream.read(STAMP_SAMPLE))
    except OSError:  # unreadable: the probe or the run says so in its own words
        return ""
    if len(_SAMPLES) > 1024:
        _SAMPLES.clear()
    _SAMPLES[known] = said = digest.hexdigest()[:16]
    return said


def _sample_offsets(size: int) -> range | list[int]:
    """Where ``_sample_hash`` reads its blocks: all of a file up to ``STAMP_BLOCKS`` blocks
    (one of two blocks or less is hashed as an earlier Restyle hashed it), else
    ``STAMP_BLOCKS`` blocks from its start to its end, evenly spaced, none overlapping."""
    if size <= STAMP_BLOCKS * STAMP_SAMPLE:
        return range(0, max(size, 1), STAMP_SAMPLE)
    step = (size - STAMP_SAMPLE) / (STAMP_BLOCKS - 1)
    return [round(i * step) for i in range(STAMP_BLOCKS)]


def _check_format_holds(fmt: OutputFormat, info) -> None:
    """Refuse what the format cannot store before anything is written."""
    what = "alpha" if info.has_alpha else "16-bit color" if info.bit_depth > 8 else None
    if fmt.id == "jpg" and what:
        raise RestyleError(f"JPEG cannot store this source's {what}; use png or tif")
    if fmt.id == "h264" and info.has_alpha:
        raise RestyleError("h264 cannot store this source's alpha; use prores, ffv1 or png")
    if fmt.id == "h264" and (info.width % 2 or info.height % 2):
        raise RestyleError(
            f"h264 needs an even width and height, not {info.width}x{info.height}; "
            "use prores, ffv1 or an image sequence"
        )


def _is_or_in(path: Path, out: Path) -> bool:
    """``path`` is the output, or a file in the output folder."""
    path, out = path.resolve(), out.resolve()
    return path == out or path.parent == out


def _check_output(
    out: Path,
    fmt: OutputFormat,
    key: str,
    overwrite: bool,
    finished: bool = False,
    now: dict | None = None,
) -> None:
    """``finished``: the movie there is the one these settings made (a rerun keeps it).
    ``now``: this run's ``made_from``, ``movie_key`` and ``frames``, for a refusal to say
    how the output there was made otherwise. A new folder's name was checked as the job
    read its output (``writers.check_frames_name``)."""
    if fmt.movie and finished:
        return
    if fmt.movie:
        if out.suffix.lower() not in fmt.suffixes:
            raise RestyleError(
                f"{fmt.id} movies are written as {' or '.join(fmt.suffixes)}, not {out.name!r}"
            )
        if out.is_dir():
            raise RestyleError(f"output {out} is a folder; give a movie file name")
        if out.exists() and not overwrite:
            # what it is, then the fix: 'exists; use --overwrite to replace it: it cannot
            # be read as a movie' read as if the damage were why to replace it
            why = _movie_made_otherwise(out, now or {})
            why = f" {why}" if why.startswith("but ") else f", {why}"
            raise RestyleError(
                f"output {out} exists{why}; use {setting('overwrite', True)} to replace it"
            )
        check_replaceable(out)
        check_writable(out.parent if str(out.parent) else Path("."))
        return
    if out.exists() and not out.is_dir():
        raise RestyleError(f"output {out} is a file; image sequences go into a folder")
    if not out.is_dir():  # a new folder
        check_writable(existing_parent(out))
        return
    manifest = out / MANIFEST
    if manifest.is_file():
        record = _parse_manifest(_read_bytes(manifest))
        if record.get("key") != key and not overwrite:
            raise RestyleError(_made_refusal(out, record, now))
    elif foreign := sorted(
        p.name for p in out.iterdir() if not (_ours(p.name) or os_junk(p.name))
    ):  # a folder holding only an OS's files (.DS_Store, Thumbs.db) is empty
        raise RestyleError(
            f"output folder {out} is not empty (it holds {foreign[0]}"
            + (f" and {len(foreign) - 1} more" if len(foreign) > 1 else "")
            + ") and was not made by Restyle; choose an empty or new folder"
        )
    check_writable(out)


def precision_clash(record: dict, key: str, asked: str | None) -> str | None:
    """The precision the frames of a folder (its manifest ``record``) were made with where
    a run of the settings ``key`` asking the precision ``asked`` would make the frames it
    adds at another: an explicit precision that is neither the one they ran (``precision``)
    nor the one their run asked (``precision_asked``: a bf16 asked that ran fp32 is asked
    again). Precision is not in the settings key (auto resumes at the frames' own:
    ``StyleJob._precision_made``), but it changes the pixels, so a folder holds one: None
    where it would (auto, the same, a folder that does not say)."""
    made = record.get("precision")
    if record.get("key") != key or not (isinstance(made, str) and made):
        return None
    if asked in (None, "auto", made, record.get("precision_asked")):
        return None
    return made


def _check_precision(out: Path, key: str, asked: str) -> None:
    """Frames in ``out`` made with these settings at another precision than the explicit
    one ``asked`` (``precision_clash``) are refused as other settings are: resumed at
    another, the folder would mix two and its manifest name one of them for all."""
    if not out.is_dir() or not _frame_names(out):
        return
    made = precision_clash(_parse_manifest(_read_bytes(out / MANIFEST)), key, asked)
    if made is not None:
        raise RestyleError(
            f"{out} holds frames made with other settings ({made} precision, now "
            f"{setting('precision', asked)}); choose another folder, use "
            f"{setting('precision', 'auto')} to resume at {made}, or use "
            f"{setting('overwrite', True)} to make them all again at {asked}"
        )


EARLIER = "by an earlier Restyle or with other settings"  # output kept no record of how


# A record kept before its job was (round 18) names the job only by its style: the mappings'
# jobs (core/mappings) kept their own names as the style, so a user style so named reads as them
OLD_JOB_STYLES = ("stabilize", "matte")


def _job_of(made: dict) -> str:
    """The job (its ``stage``: stylize, matte, stabilize) that made output, as its
    ``_made_from`` record says; an older record's, from its style."""
    job, style = made.get("job"), made.get("style")
    if isinstance(job, str):
        return job
    return style if style in OLD_JOB_STYLES else "stylize"


def _made_refusal(out: Path, record: dict, now: dict | None) -> str:
    """Why frames in ``out`` (its manifest ``record``) are not this run's, and what to do;
    a manifest that cannot be read (damaged JSON, not a record) is said so, not 'earlier'."""
    overwrite = setting("overwrite", True)
    if not record:
        return (
            f"{out} holds frames, but its record of how they were made ({MANIFEST}) is "
            f"damaged or unreadable; use {overwrite} to make them again, or choose another folder"
        )
    made = _made_otherwise(record.get("made_from"), (now or {}).get("made_from"))
    return f"{out} holds frames made {made}; choose another folder or use {overwrite}"


# A setting a record kept under an earlier name (a3a81b6: stabilize's strength got its own
# row), so output made before is still told by it
RENAMED_SETTINGS = {"stabilize_strength": "strength"}


def _made_otherwise(then: object, now: dict | None) -> str:
    """How output was made that this run's settings would not make (``_made_from``'s
    records, the one kept with it and this run's): from another source, or with other
    settings, the first that differs named ('with other settings (--strength 1, now 0.5)'),
    or by an earlier Restyle ('(pipeline version 3)'). Output made when a file's ends only
    were read (no 'blocks') whose source or style's file is known otherwise names which.
    Output made before a record was kept says 'by an earlier Restyle or with other
    settings'."""
    if not (isinstance(then, dict) and isinstance(now, dict)):
        return EARLIER
    if then.get("source") != now["source"] and "stamps" not in then:  # known by its path
        return (
            "from another source (another input, or this one changed, replaced or moved "
            "since: an earlier Restyle knew a source by its place)"
        )
    read = [n for n in FILE_PARTS if _key_part(then, n) != _key_part(now, n)]
    if (
        then.get("blocks") != now.get("blocks")
        and now.get("blocks")
        and (then.get("source") != now["source"] or read)
    ):  # its ends only: a file read at more places now is known otherwise
        ends = f"first and last {STAMP_SAMPLE // 1024} KiB only"
        again = f"Restyle now reads a file at {STAMP_BLOCKS} places"
        if then.get("source") == now["source"]:  # another file only (a picture repainted)
            name = read[0]  # the style's file, a matte's background or painted mask
            said = _key_part_otherwise(name, _key_part(then, name), _key_part(now, name))
            return f"{said}, or as an earlier Restyle knew it (by its {ends}; {again})"
        return (
            "from another source, or from this one as an earlier Restyle knew its files "
            f"(by their {ends}; {again})"
        )
    if then.get("source") != now["source"]:
        return "from another source (another input, or this one changed or replaced since)"
    if _job_of(then) != _job_of(now):  # not '(style stabilize, now comic-ink)'
        return f"by {_job_of(then)} (another job; this one is {_job_of(now)})"
    if then.get("style") != now["style"]:
        return f"with other settings (style {then.get('style')}, now {now['style']})"
    old = then.get("settings")
    old = old if isinstance(old, dict) else {}
    old = {**{new: old[was] for new, was in RENAMED_SETTINGS.items() if was in old}, **old}
    for name, value in now["settings"].items():
        if name in old and old[name] != value:
            return f"with other settings ({_change(name, old, now['settings'])})"
    parts, this = then.get("key"), now.get("key")
    if not (isinstance(parts, dict) and isinstance(this, dict)):
        return EARLIER  # kept before its key's parts were (277ca90)
    for name in (*_KEY_PARTS, *sorted(set(parts) | set(this))):
        if parts.get(name) != this.get(name):
            return _key_part_otherwise(name, parts.get(name), this.get(name))
    return "with other settings"


# The settings key's parts that stamp files other than the source (``file_stamp``), which
# an earlier Restyle read at their ends only: the style's here, a matte's background and
# painted masks (core/mappings/matte_job.py adds them)
FILE_PARTS = ["style_file"]


def _key_part(made: dict, name: str) -> object:
    """The settings key's part ``name`` as ``_made_from``'s record ``made`` kept it."""
    parts = made.get("key")
    return parts.get(name) if isinstance(parts, dict) else None


# A setting's None said in words: scale and max_side unset style frames at full size
_UNSET_WORDS = {"scale": "full size", "max_side": "full size"}
# Settings either of which is given, not both (a frame's size): one set in place of the
# other is named as each was given ('--scale 0.5, now --max-side 480')
_EITHER_OR = {"scale": "max_side", "max_side": "scale"}


def _change(name: str, then: dict, now: dict) -> str:
    """The setting ``name``'s change from the settings ``then`` to ``now``, each in the
    words the user gave: '--strength 1.0, now 0.5', 'full size, now --max-side 640',
    '--scale 0.5, now --max-side 480' (one size given in place of the other),
    '--preserve-colors off, now on' (a switch)."""
    old, new = then.get(name), now.get(name)
    other = _EITHER_OR.get(name)
    if other and new is None and now.get(other) is not None:
        return f"{setting(name, old)}, now {setting(other, now[other])}"
    if other and old is None and then.get(other) is not None:
        return f"{setting(other, then[other])}, now {setting(name, new)}"
    if isinstance(old, bool) or isinstance(new, bool):
        return f"{setting(name)} {'on' if old else 'off'}, now {'on' if new else 'off'}"
    unset = _UNSET_WORDS.get(name)  # else said by the setting's name: 'not set' named none
    if old is None:
        return f"{unset or f'made without {setting(name)}'}, now {setting(name, new)}"
    return (
        f"{setting(name, old)}, now {(unset or f'without {setting(name)}') if new is None else new}"
    )


def _revised(what: str, otherwise: str = "with other settings"):
    """A revision's words: both kept, an earlier Restyle's revision of ``what``; else
    (kept by one only) ``otherwise``, which may name the part's values as {old}, {new}."""

    def said(old: object, new: object) -> str:
        if old is not None and new is not None:
            return f"by an earlier Restyle (another revision of its {what})"
        on = {"old": "on" if old else "off", "new": "on" if new else "off"}
        return otherwise.format(**on)

    return said


def _version(old: object, new: object) -> str:
    if isinstance(old, int) and isinstance(new, int) and old > new:
        return f"by a later Restyle (pipeline version {old}, this one {new})"
    return f"by an earlier Restyle (pipeline version {old}, now {new})"


def _names(old: object, new: object) -> str:
    if old is None:  # c4bfffe: now by the source's numbers
        return "with other settings (frames named from 0 by an earlier Restyle)"
    return f"with other settings (frames named from {old}, now {new or '0'})"


_READ = "with the source read another way (its rotation, mirror or lead-in)"
# How output whose settings key's part differs was made, in the order a refusal looks for
# the part that differs (a pipeline version before its revisions, which an upgrade changes
# with it): _A_SETTING for a row of errors.SETTINGS, named as its change (``_change``: each
# front end's words), else the words, or what says them from the part (then, now).
_A_SETTING = None
_KEY_PARTS = {
    "format": _A_SETTING,
    "preserve_colors": _A_SETTING,
    "carry": _A_SETTING,
    "strip_color": "with another color grade (the strip's Saturation or Multiply)",
    "style_file": "with the style as it was before (its file changed since)",
    "version": _version,
    "names": _names,
    "lookahead": _revised("temporal coherence", "with other settings (lookahead {old}, now {new})"),
    "coherence": _revised("temporal coherence"),
    "grade_revision": _revised("color grade"),
    "cuts": "with other shot cuts",
    "tone_map": "with the source's HDR read otherwise (tone mapped another way)",
    "upright": _READ,
    "mirrored": _READ,
    "lead_in": _READ,
}


def _key_part_otherwise(name: str, old: object, new: object) -> str:
    """How output was made whose settings key's part ``name`` was ``old`` (``new`` now):
    its row of ``_KEY_PARTS``; a part it has no row for, 'with other settings'."""
    said = _KEY_PARTS.get(name, "with other settings")
    if said is _A_SETTING:
        return f"with other settings ({_change(name, {name: old}, {name: new})})"
    return said if isinstance(said, str) else said(old, new)


def _movie_made_otherwise(out: Path, now: dict) -> str:
    """Why the movie ``out`` is not the one this run makes (``now``: ``place``'s): not a
    movie, not Restyle's, cut or scaled since, or made otherwise (``_made_otherwise``, or
    the range, frame rate or sound ``movie_key`` adds)."""
    read = made_tag_of(out)
    if read is None:
        return "but cannot be read as a movie (damaged, truncated, or not a movie)"
    tag, size, count = read
    parts = tag_parts(tag)
    if parts is None:
        return "not made by Restyle"
    if "movie_key" not in now:
        return "made with other settings"
    if parts[1] == now["movie_key"]:  # made so, changed after
        if parts[2] != f"{size[0]}x{size[1]}":
            return f"scaled to {size[0]}x{size[1]} since Restyle made it at {parts[2]}"
        return f"cut or truncated since Restyle made it: {count} of {now['frames']} frames"
    then_key, *then = parts[1].split(":")
    now_key, *this = now["movie_key"].split(":")
    if then_key != now_key:
        return "made " + _made_otherwise(tag_facts(tag).get("made_from"), now.get("made_from"))
    if then[:1] != this[:1]:
        return f"made of other frames (source frames {then[0].replace('-', '..')})"
    if then[1:2] != this[1:2]:
        return f"made at another frame rate ({then[1].removesuffix('fps')} frames/s)"
    return "made with its source's sound" if "audio" in then else "made without sound"


def _ours(name: str) -> bool:
    """The manifest, or a hidden temp file a killed run of ours left."""
    return name == MANIFEST or (name.startswith(".") and "restyle" in name)


def _make_parents(output: Path) -> list[Path]:
    """Create the folders above ``output`` (the lock lives beside it); returns those made."""
    made = []
    parent = output.absolute().parent
    while not parent.exists():
        made.append(parent)
        parent = parent.parent
    for folder in reversed(made):
        try:
            folder.mkdir()
        except FileExistsError:
            pass
        except OSError as exc:
            raise RestyleError(f"cannot create {folder}: {exc.strerror or exc}") from None
    return made


def _remove_empty(folders: list[Path]) -> None:
    """Folders this run made that stayed empty (a failed run leaves nothing behind)."""
    for folder in folders:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()
