"""A stylisation job: what the CLI, Blender operators and scripts all run.

A job is plain data (copied out of Blender on the main thread), checked up front by
``validate`` so bad input fails before anything is written, then ``run`` streams the range
through the pipeline. Image-sequence output is resumable: frames are named by source frame
index and a small manifest records the settings that made them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import Cancelled, RestyleError
from .progress import CancelToken, Progress, ProgressCallback
from .styles import StyleInfo, StyleLibrary
from .stylizer import StyleSettings, Stylizer

SEQUENCE_FORMATS = ("png", "jpg", "tif")
MOVIE_FORMATS = ("h264", "prores", "ffv1")
MANIFEST = ".restyle.json"
FRAME_NAME = "{index:06d}"
PIPELINE_VERSION = 1  # bump when the same settings would give different pixels


@dataclass
class JobResult:
    output: Path
    frame_files: list[Path] = field(default_factory=list)
    written: int = 0
    reused: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    cancelled: bool = False
    warping_error: float | None = None
    style: str = ""
    backend: str = ""
    device: str = ""


@dataclass
class StyleJob:
    """Style frames ``start..end`` (0-based source indices, inclusive) of ``source``."""

    source: str | Path | Sequence[Path]
    output: str | Path
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
    format: str = "png"
    library: StyleLibrary | None = None
    fps: Fraction | float | None = None
    batch_size: int | None = None
    overwrite: bool = False
    measure: bool = False

    # -- checks ------------------------------------------------------------------------
    @property
    def settings(self) -> StyleSettings:
        return StyleSettings(
            strength=self.strength,
            scale=self.scale,
            max_side=self.max_side,
            preserve_colors=self.preserve_colors,
            backend=self.backend,
            device=self.device,
            precision=self.precision,
        )

    def _library(self) -> StyleLibrary:
        if self.library is None:
            self.library = StyleLibrary()
        return self.library

    def validate(self) -> tuple[StyleInfo, object, int, int]:
        """Check everything cheap to check; raise RestyleError before any work is done."""
        from .media import probe

        self.settings.check()
        if not 0.0 <= self.temporal <= 1.0:
            raise RestyleError(f"temporal coherence must be between 0 and 1, got {self.temporal}")
        if self.format not in SEQUENCE_FORMATS + MOVIE_FORMATS:
            raise RestyleError(
                f"unknown output format '{self.format}': use one of "
                + ", ".join(SEQUENCE_FORMATS + MOVIE_FORMATS)
            )
        if self.backend not in ("auto", "onnx", "torch"):
            raise RestyleError(f"unknown backend '{self.backend}': use auto, onnx or torch")
        style = self._library().resolve(self.style)
        info = probe(self.source, fps=self.fps) if self.fps else probe(self.source)
        last = info.frame_count - 1
        start = self.start
        end = last if self.end is None else self.end
        if start < 0 or end < start or end > last:
            raise RestyleError(
                f"frame range {start}..{end} is outside the source's frames 0..{last}"
            )
        self._check_output(self._settings_key(style, info))
        return style, info, start, end

    def _settings_key(self, style: StyleInfo, info) -> str:
        def stamp(p: Path | None) -> list:
            if p is None or not Path(p).exists():
                return []
            st = Path(p).stat()
            return [str(Path(p).resolve()), st.st_size, int(st.st_mtime)]

        files = list(info.files) if getattr(info, "files", None) else [info.path]
        record = {
            "version": PIPELINE_VERSION,
            "source": [stamp(Path(f)) for f in files[:1] + files[-1:]],
            "style": style.id,
            "style_file": stamp(
                style.picture or (style.folder and style.folder / "weights.safetensors")
            ),
            "strength": self.strength,
            "scale": self.scale,
            "max_side": self.max_side,
            "preserve_colors": self.preserve_colors,
            "temporal": self.temporal,
            "format": self.format,
        }
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]

    def _check_output(self, key: str) -> None:
        out = Path(self.output)
        if self.format in MOVIE_FORMATS:
            if out.is_dir():
                raise RestyleError(f"output {out} is a folder; give a movie file name")
            if out.exists() and not self.overwrite:
                raise RestyleError(f"output {out} exists; use --overwrite to replace it")
            parent = out.parent if str(out.parent) else Path(".")
            _check_writable(parent)
            return
        if out.exists() and not out.is_dir():
            raise RestyleError(f"output {out} is a file; image sequences go into a folder")
        if out.is_dir():
            manifest = out / MANIFEST
            if manifest.is_file():
                try:
                    old = json.loads(manifest.read_text(encoding="utf-8")).get("key")
                except (OSError, ValueError):
                    old = None
                if old != key and not self.overwrite:
                    raise RestyleError(
                        f"{out} holds frames made with other settings; "
                        "choose another folder or use --overwrite"
                    )
            elif any(out.iterdir()):
                raise RestyleError(
                    f"output folder {out} is not empty and was not made by Restyle; "
                    "choose an empty or new folder"
                )
            _check_writable(out)
        else:
            _check_writable(_existing_parent(out))

    # -- running -------------------------------------------------------------------------
    def run(
        self, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
    ) -> JobResult:
        from .media import decode_range
        from .pipeline import run_pipeline
        from .writers import open_writer

        style, info, start, end = self.validate()
        library = self._library()
        if style.kind in ("builtin", "picture") and not library.builtins_ready(
            ".onnx" if self.backend != "torch" else ".safetensors"
        ):
            from .builtins import install_builtins

            if progress:
                progress(Progress(0, end - start + 1, stage="setup", message="converting styles"))
            install_builtins(library.builtin_dir)

        key = self._settings_key(style, info)
        out = Path(self.output)
        sequence = self.format in SEQUENCE_FORMATS
        if sequence:
            out.mkdir(parents=True, exist_ok=True)
            if self.overwrite:
                _remove_frames(out, self.format)
            _write_manifest(out, key, self, style)
        stylizer = Stylizer(style, library, self.settings)
        if style.kind == "picture" and self.strength < 1.0:
            mid = (start + end) // 2
            stylizer.prepare(
                [next(iter(decode_range(self.source, i, i, info=info))) for i in {start, mid, end}]
            )
        elif style.kind == "picture":
            stylizer.prepare([])

        writer = open_writer(
            out,
            fmt=self.format,
            fps=info.fps,
            size=(info.width, info.height),
            alpha=info.has_alpha,
            overwrite=self.overwrite,
        )
        out = Path(getattr(writer, "path", out))
        total = end - start + 1
        todo = [i for i in range(start, end + 1) if not writer.done(i)]
        reused = total - len(todo)
        temporal = None
        if self.temporal > 0:
            from .temporal import TemporalBlender

            temporal = TemporalBlender(strength=self.temporal)
        meter = None
        if self.measure:
            from .metrics import WarpingErrorMeter

            meter = WarpingErrorMeter(max_side=480)

        def frames() -> Iterator[tuple[int, np.ndarray] | None]:
            expected = None
            for index, frame in zip(
                range(start, end + 1), decode_range(self.source, start, end, info=info), strict=True
            ):
                if writer.done(index):
                    expected = None
                    continue
                if expected is not None and index != expected:
                    yield None
                expected = index + 1
                yield index, frame

        def count_progress(p: Progress) -> None:
            if progress:
                progress(Progress(p.done + reused, total, p.fps, p.eta_s, p.stage, p.message))

        on_frame = None
        if meter is not None:
            from .shots import is_hard_cut

            last: list = []

            def on_frame(index: int, source: np.ndarray, styled: np.ndarray) -> None:
                """Warping error over consecutive frames of one shot (never across a cut)."""
                if last and (last[0] != index - 1 or is_hard_cut(last[1], source)):
                    meter.reset()
                last[:] = [index, source]
                meter.add(source[..., :3], styled[..., :3])

        t0 = time.perf_counter()
        batch = self.batch_size or (1 if stylizer.engine.device == "cpu" else 4)
        result = JobResult(
            out,
            reused=reused,
            style=style.id,
            backend=stylizer.engine.backend,
            device=stylizer.engine.device,
        )
        try:
            stats = run_pipeline(
                frames(),
                stylizer,
                writer.write,
                len(todo),
                batch_size=batch,
                temporal=temporal,
                on_frame=on_frame,
                progress=count_progress,
                cancel=cancel,
            )
            writer.close()
        except Cancelled:
            _finish_partial(writer, sequence)
            result.cancelled = True
            stats = None
        except BaseException:
            _finish_partial(writer, sequence)
            raise
        result.seconds = time.perf_counter() - t0
        result.written = stats.written if stats else 0
        result.fps = result.written / result.seconds if result.seconds else 0.0
        if meter is not None:
            result.warping_error = meter.value if meter.pairs else None
        if sequence:
            result.frame_files = [
                out / f"{FRAME_NAME.format(index=i)}.{self.format}"
                for i in range(start, end + 1)
                if (out / f"{FRAME_NAME.format(index=i)}.{self.format}").is_file()
            ]
        return result


def _finish_partial(writer, sequence: bool) -> None:
    """Keep every finished frame of a sequence; never leave a half-written movie."""
    if sequence:
        try:
            writer.close()
        except Exception:
            writer.abort()
    else:
        writer.abort()


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def _check_writable(folder: Path) -> None:
    """Probe with a real temporary file: permission bits do not tell the whole story."""
    folder = _existing_parent(folder)
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise RestyleError(f"cannot write to {folder}: {exc.strerror or exc}") from None


def _write_manifest(out: Path, key: str, job: StyleJob, style: StyleInfo) -> None:
    record = {
        "key": key,
        "style": style.id,
        "style_name": style.name,
        "format": job.format,
        "strength": job.strength,
        "temporal": job.temporal,
    }
    tmp = out / (MANIFEST + ".part")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, out / MANIFEST)


def _remove_frames(out: Path, fmt: str) -> None:
    for f in out.glob(f"[0-9]*.{fmt}"):
        if f.stem.isdigit():
            f.unlink()
