"""A matte job: ``StyleJob``'s plan, checks, output rules, resume and cancel, with the matte
mapping in place of a style. Output is RGBA (alpha = the people), or with ``replace`` the
subject composited over a colour, a blurred copy, a picture or a clip."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import Cancelled, RestyleError, setting
from ..fields import frames_refusal, whole_number
from ..job import (
    _A_SETTING,
    _KEY_PARTS,
    _PATH_STAMPS,
    FILE_PARTS,
    JobPlan,
    JobResult,
    StyleJob,
    _check_format_holds,
    _is_or_in,
    file_stamp,
    finished_manifest,
    path_stamps,
    source_stamps,
)
from ..progress import TRAINING, CancelToken, Progress
from ..styles import StyleInfo
from ..writers import refuse_source_as_output
from .background import Background, BackgroundSpec, composite, parse_background
from .matte import (
    MASK,
    KeyframeCorrector,
    MatteCoherence,
    Matter,
    MatteSettings,
    alpha_share,
    nearly_empty_said,
    pooled_share,
    read_mask,
    sampled_share,
    unpainted_rgb,
    work_rgb,
)

MATTE = StyleInfo("matte", "Matte", "matte", "Person matte (MediaPipe selfie segmentation)")
MATTE_VERSION = 1  # bump when the same settings would give different pixels


def _painted_matte(frame, path):
    """A keyframe's painted matte: a picture's path (None was a TypeError from Path)."""
    if isinstance(path, str | os.PathLike) and str(path).strip():
        return path
    raise RestyleError(f"keyframe {frame}'s matte must be a picture's path, got {path!r}")


@dataclass
class MatteJob(StyleJob):
    """Matte frames ``start..end`` (0-based, inclusive) of ``source`` into ``output``."""

    style: str = "matte"
    temporal: float = 0.6
    replace: str | None = None  # "#RRGGBB", "blur", a picture or a clip
    refine: bool = True
    model: str = "auto"
    keyframes: dict | None = None  # source frame → painted matte (picture: alpha, else luma)
    train_seconds: float = 60.0  # time budget for learning the keyframes
    # The source frame shown over the background clip's first frame (None: ``start``). A Ray
    # chunk gets its whole run's start, so its clip does not restart at the chunk.
    background_start: int | None = None
    # Seconds the last run spent learning its keyframes (reading them and training), which
    # its frames' time leaves out; None: it learned none (no keyframes, finished before, Ray)
    learned_in: ClassVar[float | None] = None
    # The last run's matte coverage: the mean alpha of the range's frames (those written,
    # each measured; those kept from before, sampled from their files or, for a finished
    # movie, from its frames; a Ray run's, its chunks' pooled) as a share of the picture;
    # None where none was measured (a run cancelled, composited output kept from before)
    coverage: ClassVar[float | None] = None
    stage: ClassVar[str] = "matte"
    done_word: ClassVar[str] = "matted"
    # StyleJob's fields a matte never reads (max_side: Matter works at its network's input
    # and WORK_SIDE, whatever the job's size; it ran at full size and only changed the key)
    ignored: ClassVar[dict[str, str]] = {
        **dict.fromkeys(
            ("style", "strength", "scale", "max_side", "preserve_colors", "carry"),
            "does not style",
        ),
        "precision": "runs its network at the precision it chooses",
        "lookahead": "has a coherence of its own, which does not look ahead",
    }

    @property
    def matte_settings(self) -> MatteSettings:
        return MatteSettings(
            model=self.model, refine=self.refine, backend=self.backend, device=self.device
        )

    def background(self) -> BackgroundSpec | None:
        if self.replace is None:
            return None
        if not str(self.replace).strip():  # an unset "$BACKGROUND" must not write alpha instead
            raise RestyleError(
                f"{setting('replace')} is empty: give a picture, a clip, #RRGGBB or blur"
            )
        return parse_background(self.replace)

    def _check_options(self) -> None:
        super()._check_options()
        self.matte_settings.check()
        if self.background_start is not None and (
            refused := frames_refusal("background_start", self.background_start)
        ):
            raise RestyleError(refused)

    def _style_info(self) -> StyleInfo:
        self.background()  # a bad --replace is refused before the source is probed
        return MATTE

    def _check_source(self, fmt, info) -> None:
        background = self.background()
        if background is None and not fmt.alpha:
            raise RestyleError(
                f"{fmt.id} cannot store the matte's alpha; use png, tif, ffv1 or prores, "
                f"or {setting('replace')} to composite"
            )
        if background is not None:
            _check_format_holds(fmt, replace(info, has_alpha=False))
        if self.background_start is not None and self.background_start >= info.frame_count:
            last = info.frame_count - 1  # a source frame: the one the clip starts under
            raise RestyleError(
                f"background_start={self.background_start} is past the source's last frame "
                f"({last}): give the source frame shown over the background's first"
            )
        self._check_keyframes(info)

    def _refuse_inputs_as_output(self, out: Path, plan: JobPlan) -> None:
        """The background (read frame by frame while the output is written) and the painted
        keyframes (a matte frame painted over in place, then given as -k, was replaced by
        the new run's frame) are inputs too."""
        super()._refuse_inputs_as_output(out, plan)
        background = self.background()
        if background is not None and background.path is not None:
            from ..media import probe

            refuse_source_as_output(out, probe(background.path), "background")
        for frame, mask in sorted((self.keyframes or {}).items()):
            if _is_or_in(Path(mask), out):
                raise RestyleError(
                    f"keyframe {frame}'s matte {Path(mask).name} is in the output {out}; "
                    "keep painted mattes in another folder"
                )

    def _check_keyframes(self, info) -> None:
        if not self.keyframes:
            return
        if not isinstance(self.keyframes, dict):
            raise RestyleError(
                f"keyframes must be a dict {{frame: painted matte}}, got {self.keyframes!r}"
            )
        self.keyframes = {
            whole_number("a keyframe", f): _painted_matte(f, p) for f, p in self.keyframes.items()
        }
        from ..engines import torch_available

        if not torch_available():
            raise RestyleError("mattes from keyframes need PyTorch: pip install torch==2.13.0")
        from ..train.budget import time_budget_refusal
        from ..train.keyframes import check_keyframes

        if refusal := time_budget_refusal(self.train_seconds, "train_seconds"):
            raise RestyleError(refusal)

        check_keyframes(self.keyframes, info, what=MASK)  # training's checks, named a mask
        for frame, path in sorted(self.keyframes.items()):  # whole: a clear error now
            read_mask(Path(path), *info.size, frame)

    def _settings_key(self, style: StyleInfo, info) -> str:
        record = {"base": super()._settings_key(style, info), **self._matte_parts()}
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]

    def _made_from(self, plan: JobPlan) -> dict:
        """``StyleJob``'s, with the matte's parts of the key (named by ``_KEY_PARTS``'s rows
        when they differ: a refusal said 'other settings' for a repainted mask)."""
        made = super()._made_from(plan)
        with path_stamps(plan.path_stamps):  # as its key stamps files
            made["key"].update(json.loads(json.dumps(self._matte_parts(), sort_keys=True)))
        return made

    def _matte_parts(self) -> dict:
        """The matte's parts of the settings key (with StyleJob's as its "base")."""
        background = self.background()
        stamp = (
            _background_stamp(background.path, whole=background.kind == "picture")
            if background is not None
            else []
        )
        record = {
            "matte": MATTE_VERSION,
            "model": self.model,
            "refine": self.refine,
            "replace": background.label if background is not None else None,
            "replace_file": stamp,
            "keyframes": {
                str(f): file_stamp(Path(p), whole=True) for f, p in (self.keyframes or {}).items()
            },
            "train_seconds": self.train_seconds if self.keyframes else None,
        }
        # older keys stay valid; the clip started under the range's own start is the one a
        # run without it lays (a --ray run's frames folder, whose twin names it, is rerun)
        if self.background_start not in (None, self.start):
            record["background_start"] = self.background_start
        return record

    def run(self, progress=None, cancel: CancelToken | None = None, plan=None) -> JobResult:
        """``StyleJob.run``; Ctrl-C while learning the keyframes cancels the run (nothing is
        written yet) instead of waiting for the training budget to end."""
        self._cancel = cancel
        self.learned_in = self.coverage = self._measured = None
        result = super().run(progress, cancel, plan)
        if self._measured is not None and not result.cancelled:
            self._measured_over(self._measured.share(), self._measured.start, self._measured.end)
            result.warnings += self._warned()
        return result

    def _measured_over(self, share: float | None, start: int, end: int) -> None:
        self.coverage, self._range = share, (start, end)

    def _warned(self) -> list[str]:
        said = self.nearly_empty_said()
        return [said] if said else []

    def nearly_empty_said(self, frames: str | None = None) -> str:
        """The last run's warning of a matte keeping almost nothing, naming the range as
        ``frames`` ("frames 1-8"; default: its source frames, as the command line names
        them); '' where it kept enough (``matte.nearly_empty_said``: the one rule)."""
        if self.coverage is None:
            return ""
        if frames is None:
            from ..words import frames_named

            frames = frames_named(range(self._range[0], self._range[1] + 1))
        return nearly_empty_said(self.coverage, frames)

    def _place_locked(self, plan: JobPlan) -> tuple[JobPlan, JobResult | None]:
        """``StyleJob``'s; the movie these settings made, found finished (nothing to run, on
        one machine or on Ray), is measured from its own frames' alpha (``movie_share``) or,
        composited, matted again (``_kept_share``), so a rerun warns of a nearly empty
        matte as the run that made it did."""
        plan, finished = super()._place_locked(plan)
        if finished is not None:
            frames = range(plan.start, plan.end + 1)
            share = self._kept_share(frames, lambda i: None, plan, movie=plan.output)
            self._measured_over(share, plan.start, plan.end)
            finished.warnings += self._warned()
        return plan, finished

    def _kept_share(self, frames, read, plan: JobPlan, movie: Path | None = None):
        """The share over ``frames`` kept from before: their alpha sampled from their files
        (``read(i)``: frame i as written) or ``movie``; composited (``replace``: no alpha to
        read back), the network's matte of the source frames (``rematted_share``); None for
        composited frames of a matte learned from keyframes (only training makes it)."""
        if not frames:
            return None
        if self.replace is None:
            return movie_share(movie) if movie is not None else sampled_share(frames, read)
        if self.keyframes:
            return None
        return rematted_share(self.source, plan.info, frames, self.matte_settings, self._library())

    def coverage_between(self, first: int, last: int) -> float | None:
        """The last run's share over source frames ``first..last`` of its range (a Ray
        chunk's own frames, its warm-up left out: ``ray_runner._style_chunk`` reports it)."""
        measured = self._measured
        return measured.share(first, last) if measured is not None else None

    def chunks_warnings(self, reports: list[dict], landed, start: int, end: int) -> list[str]:
        """A Ray run's warning of a nearly empty matte, as one machine's run says it: the
        chunks' reported shares (each over its own frames, ``coverage_between``) pooled with
        a sample of the frames no chunk reported (landed before), from their files
        (``landed(i)``: frame i's path)."""
        parts, reported = [], set()
        for report in reports:
            if (measured := report.get("coverage")) is not None:
                share, first, last = measured
                parts.append((share, last - first + 1))
                reported.update(range(first, last + 1))
        if kept := [i for i in range(start, end + 1) if i not in reported]:
            plan = self._current_plan() or self.validate()
            parts.append((self._kept_share(kept, lambda i: file_frame(landed(i)), plan), len(kept)))
        self._measured_over(pooled_share(parts), start, end)
        return self._warned()

    # -- the hooks StyleJob's run calls ----------------------------------------------------
    def _ensure_builtins(self, plan: JobPlan, progress) -> None:
        from .matte_model import install_matte, matte_ready

        self._progress = progress  # training reports through it too
        library = self._library()
        if not matte_ready(library):
            if progress:
                progress(Progress(0, plan.total, stage="setup", message="converting the matte"))
            install_matte(library.builtin_dir)

    def _builds_network(self, plan: JobPlan) -> bool:
        """The matte network is read and compiled at every strength (``_stylizer``)."""
        return True

    def _stylizer(self, plan: JobPlan) -> Matter:
        matter = Matter(self._library(), self.matte_settings)
        info = plan.info  # load the network now: a bad device fails before any file exists
        matter.load(matter.settings.variant(info.width, info.height))
        self._matter = matter  # its keyframes are learned under the output's lock
        return matter

    def _prepare_locked(self, plan: JobPlan, progress, cancel) -> None:
        """Learn the keyframes once no other run holds the output (a run refused by the lock
        spent the whole training budget first). A rerun into a sequence whose every frame is
        written with these settings has nothing to matte: no training."""
        if not self.keyframes:
            return
        if finished_manifest(plan) is not None:
            self._matter.corrector = _not_learned
        else:
            self._matter.corrector = self._learn_keyframes(self._matter, plan)
            # the trainer's time, counted as the budget is (not torch's import and setup)
            self.learned_in = self._matter.corrector.trained_seconds

    def _learn_keyframes(self, matter: Matter, plan: JobPlan) -> KeyframeCorrector:
        """Train frame + automatic matte → painted matte on the keyframes (work size)."""
        pairs = []
        for index, (frame, data) in self._painted(plan).items():
            coarse = matter.auto_coarse(frame)
            painted = read_mask(self.keyframes[index], frame.shape[1], frame.shape[0], index, data)
            pairs.append(KeyframeCorrector.pair(work_rgb(frame, coarse.shape), coarse, painted))
        progress = getattr(self, "_progress", None)

        def report(p: Progress) -> None:  # seconds of the budget (0 of N frames stood still)
            if progress:
                progress(replace(p, stage=TRAINING, message="learning the keyframes"))

        cancel = getattr(self, "_cancel", None)
        corrector = KeyframeCorrector.train(
            pairs, seconds=self.train_seconds, progress=report, cancel=cancel
        )
        if cancel is not None and cancel.cancelled:
            raise Cancelled("cancelled while learning the keyframes")
        return corrector

    def _painted(self, plan: JobPlan) -> dict:
        """Each keyframe's (source frame, mask picture); masks still the unpainted frame
        refused as training refuses paintings (``keyframes.refuse_unpainted``)."""
        from ..media import decode_range
        from ..train.keyframes import read_painting, refuse_unpainted

        masks = {i: read_painting(Path(p), i, MASK) for i, p in sorted(self.keyframes.items())}
        read = {
            i: (next(iter(decode_range(self.source, i, i, info=plan.info))), data)
            for i, data in masks.items()
        }
        compared = {i: (_rgb8(f), unpainted_rgb(d)) for i, (f, d) in read.items()}
        refuse_unpainted(self.keyframes, {i: p for i, p in compared.items() if p[1] is not None})
        return read

    def _temporal(self):
        return MatteCoherence(self.temporal) if self.temporal > 0 else None

    def _output_alpha(self, info) -> bool:
        return self.replace is None

    def _wrap_writer(self, writer):
        plan = self._current_plan()
        first = plan.start if plan else self.start
        last = plan.end if plan else self.end
        background = self.background()
        if background is not None:
            start = first if self.background_start is None else self.background_start
            writer = CompositingWriter(writer, Background(background), start)
        read = getattr(writer, "read", lambda i: None)  # a movie keeps none from before

        def kept(frames: list[int]) -> float | None:
            return self._kept_share(frames, read, plan or self.validate())

        self._measured = CoverageWriter(writer, first, last, kept)  # outside: the RGBA matte
        return self._measured


def _rgb8(frame):
    """A decoded frame as uint8 RGB, as ``keyframes.shown_frame`` gives training's."""
    rgb = frame[..., :3]
    return (rgb // 257).astype(np.uint8) if rgb.dtype == np.uint16 else rgb


def _masks(old: object, new: object) -> str:
    """Output made with other painted masks in words: other keyframes, or one repainted."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return "with other painted masks"
    if sorted(old, key=int) != sorted(new, key=int):
        return f"with other keyframes ({_frames_said(old)}, now {_frames_said(new)})"
    frame = next(f for f in sorted(new, key=int) if old[f] != new[f])
    return f"with another mask for keyframe {frame} (another file, or it changed since)"


def _frames_said(stamps: dict) -> str:
    frames = sorted(stamps, key=int)
    if not frames:
        return "none"
    return f"keyframe{'' if len(frames) == 1 else 's'} {', '.join(frames)}"


def _values(words: str):
    """A key part's words naming its values as {old} and {new} (a switch as on or off)."""

    def said(old: object, new: object) -> str:
        def word(value: object) -> object:
            return ("on" if value else "off") if isinstance(value, bool) else value

        return words.format(old=word(old), new=word(new))

    return said


def _refined(old: object, new: object) -> str:
    """'with other settings (edges refined, now not refined)': the switch in words each
    front end reads alike (the command line's is --no-refine, the opposite of its value);
    output made with refinement off names the setting that turns it off again, in each
    front end's words ('rerun with --no-refine to match', refine=False)."""

    def said(refined: object) -> str:
        return "edges refined" if refined else "edges not refined"

    changed = f"with other settings ({said(old)}, now {said(new).removeprefix('edges ')})"
    if old is False and new is True:
        return f"{changed}; rerun with {setting('refine', False)} to match"
    return changed


def _background_file(old: object, new: object) -> str:
    """The background's file changed, or (as ``job._made_otherwise`` says of a source whose
    files an earlier Restyle read at their ends only) an image sequence background stamped
    in an earlier Restyle's form: the folder's own stamp, or none for a pattern (1241845),
    where ``_background_stamp`` now gives each picture's (a list of stamps)."""

    def by_its_files(stamp: object) -> bool:
        return isinstance(stamp, list) and bool(stamp) and isinstance(stamp[0], list)

    if by_its_files(new) and not by_its_files(old):
        return (
            "with another background, or with this one as an earlier Restyle knew its files "
            "(by its folder's own stamp only; Restyle now stamps every picture in it)"
        )
    return "with the background as it was before (its file changed since)"


# How matte output made otherwise is said by the part of its settings key that differs
# (``_matte_parts``): rows of stylize's table (job._KEY_PARTS), which says every refusal's
_KEY_PARTS.update(
    {
        "matte": _values("by another Restyle (matte version {old}, now {new})"),
        "model": _A_SETTING,  # '(--model auto, now general)', as stylize's settings
        "refine": _refined,
        "replace": _A_SETTING,
        "replace_file": _background_file,
        "keyframes": _masks,
        "train_seconds": _values("with another time budget for the keyframes ({old}, now {new})"),
        "background_start": "with the background clip started at another frame",
    }
)
FILE_PARTS.extend(["replace_file", "keyframes"])  # read at their ends only before 3bcce39


def _not_learned(rgb_small, coarse):
    raise RestyleError("internal: a frame was matted after the keyframes were skipped")


# (path, its folder's device, inode and time in ns): the background sequence's probe, its
# file list kept until a file is added, removed or renamed there (a repaint is restamped)
_BACKGROUND_PROBES: dict[tuple, object] = {}


def _background_stamp(path: Path | None, whole: bool = False) -> list:
    """A background in the settings key: a picture or movie file by ``file_stamp`` (a still
    picture, ``whole``: hashed whole, as a style's picture is, read whole anyway; a movie
    sampled), an image folder or pattern by ``source_stamps``, as a source is, so a
    picture repainted mid-sequence is another background (the folder's own stamp saw no
    repaint; a pattern's none at all); an earlier Restyle's form (``path_stamps``): as it
    was stamped then."""
    if path is None or Path(path).is_file() or _PATH_STAMPS.get():
        return file_stamp(path, whole=whole)
    st = (Path(path) if Path(path).is_dir() else Path(path).parent).stat()
    known = (os.path.abspath(path), st.st_dev, st.st_ino, st.st_mtime_ns)
    if known not in _BACKGROUND_PROBES:  # 300 HD pictures: 153 ms; stamped 4 times a run
        from ..media import probe

        if len(_BACKGROUND_PROBES) > 64:
            _BACKGROUND_PROBES.clear()
        _BACKGROUND_PROBES[known] = probe(path)
    return source_stamps(_BACKGROUND_PROBES[known])


def movie_share(movie: Path) -> float | None:
    """A finished movie's matte coverage, sampled from its frames' alpha (``sampled_share``:
    up to ``COVERAGE_SAMPLES`` of them, spread over it: 291 ms for a 96-frame 768x576 ffv1,
    most of a finished rerun's 272 ms, load 2.2); None for a movie without alpha
    (composited: its matte cannot be read back) or one that cannot be read."""
    from ..errors import RestyleError
    from ..media import decode_range, probe

    try:
        info = probe(movie)
    except RestyleError:
        return None
    if not info.has_alpha:
        return None

    def read(index: int):
        try:
            return next(iter(decode_range(movie, index, index, info=info)))
        except RestyleError:
            return None

    return sampled_share(range(info.frame_count), read)


def rematted_share(source, info, frames, settings: MatteSettings, library) -> float | None:
    """The share of composited output (its alpha is gone) over ``frames``: the network's
    matte of up to ``COVERAGE_SAMPLES`` of their source frames, made again with the job's
    settings, without coherence (which steadies the matte, hardly moves its mean), on ONNX
    Runtime on the CPU (8 frames of vtest, started, decoded and matted: 313 ms, load 2.2);
    None where it cannot be made (the network gone)."""
    from ..errors import RestyleError
    from ..media import decode_range

    matter = Matter(library, replace(settings, backend="onnx", device="cpu"))

    def read(index: int):
        frame = next(iter(decode_range(source, index, index, info=info)))
        return matter.postprocess(matter.infer(matter.preprocess(frame)[None])[0], frame)

    try:
        return sampled_share(frames, read)
    except RestyleError:
        return None
    finally:
        matter.close()


def file_frame(path: Path):
    """A frame file as stored (its alpha last, whatever the channel order); None if
    unreadable."""
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None


class CoverageWriter:
    """Measures the alpha of each frame it hands on (a mean over the frame: 0.56 ms at
    768x576, 1.6 ms at 1080p, against the matte's 40 ms a frame on vtest: 1.4%); ``share``
    adds the frames of ``start..end`` kept from before, by ``kept_share`` (``MatteJob.
    _kept_share``: up to ``COVERAGE_SAMPLES`` of them read back, 8 PNGs at 768x576 in 82 ms,
    or matted again where composited)."""

    def __init__(self, writer, start: int, end: int, kept_share=None) -> None:
        self._writer = writer
        self.start, self.end = start, end
        self.kept_share = kept_share  # frames kept from before -> their share (or None)
        self.shares: dict[int, float] = {}

    def write(self, index: int, frame) -> None:
        share = alpha_share(frame)
        if share is not None:
            self.shares[index] = share
        self._writer.write(index, frame)

    def share(self, first: int | None = None, last: int | None = None) -> float | None:
        """The mean alpha share over frames ``first..last`` (default: the range); None where
        none had alpha."""
        first = self.start if first is None else first
        frames = range(first, (self.end if last is None else last) + 1)
        written = [self.shares[i] for i in frames if i in self.shares]
        kept = [i for i in frames if i not in self.shares]
        sampled = self.kept_share(kept) if kept and self.kept_share is not None else None
        mean = sum(written) / len(written) if written else None
        return pooled_share([(mean, len(written)), (sampled, len(kept))])

    def __getattr__(self, name: str):
        return getattr(self._writer, name)


class CompositingWriter:
    """Lays each RGBA frame over its background, then hands it to the real writer."""

    def __init__(self, writer, background: Background, start: int) -> None:
        self._writer = writer
        self.background = background
        self.start = start

    def write(self, index: int, frame) -> None:
        behind = self.background.behind(index - self.start, frame)
        self._writer.write(index, composite(frame, behind))

    def __getattr__(self, name: str):
        return getattr(self._writer, name)
