"""Installing a shared trained style without trusting it.

A packed style (zip) or style folder is checked before anything lands in the library:
entry count and unpacked size against limits *before* extracting (and again while
extracting, since a zip's sizes can lie), only plain files inside one folder (no absolute
paths, ``..``, links or devices), metadata numbers in range, a safe name that is not a
built-in's, and finally the weights are loaded and one tiny frame is run through the model.
Only then is the style moved into the library, atomically; nothing is executed (safetensors
and ONNX, never pickle) and nothing is written outside a staging folder in the library.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from .errors import RestyleError, setting
from .styles import META_FILE, ONNX_FILE, WEIGHTS_FILE

MAX_FILES = 64  # the model files, a thumbnail, and two PNGs per keyframe (core/carry.py)
MAX_BYTES = 128 * 1024 * 1024  # a trained style is a few MB; this leaves room, not a GB
MAX_META_BYTES = 1024 * 1024
# arch_config of the few-shot generator: what training can produce, with margin.
ARCH_LIMITS = {"in_channels": (1, 16), "width": (1, 128), "blocks": (0, 32), "depth": (2, 3)}
REQUIRED = (META_FILE, ONNX_FILE, WEIGHTS_FILE)  # a style's files it cannot run without
_CHUNK = 1 << 20


def install_style(library, path: Path, *, overwrite: bool = False) -> Path:
    """Check and install ``path``; returns the style's folder in ``library``."""
    from .train.artifact import refuse_a_stray_folder  # training says it too

    if not path.exists():
        raise RestyleError(f"{path} does not exist")
    library.styles_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=library.styles_dir))
    try:
        folder = staging / "style"
        if path.is_dir():
            _copy_folder(path, folder)
        elif zipfile.is_zipfile(path):
            _extract_zip(path, folder)
        else:
            raise RestyleError(f"{path} is not a packed style or a style folder")
        meta = check_style_folder(folder, path)
        target = library.trained_folder(meta["name"])
        if not overwrite:
            refuse_a_stray_folder(target, meta["name"], "install")
        _run_one_frame(folder, meta, path)
        _move_into_place(folder, target, overwrite, meta["name"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# -- unpacking ------------------------------------------------------------------------------
def _extract_zip(path: Path, folder: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = _check_members(archive.infolist(), path)
            folder.mkdir()
            total = 0
            for info, name in members:
                total = _extract_member(archive, info, folder / name, total, path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise RestyleError(f"{path} is a damaged or unsupported zip: {exc}") from None
    except RuntimeError as exc:  # encrypted members
        raise RestyleError(f"{path} cannot be read: {exc}") from None


def _check_members(infos: list[zipfile.ZipInfo], path: Path) -> list[tuple[zipfile.ZipInfo, str]]:
    """(entry, file name) of every file; refuses before anything is extracted."""
    if len(infos) > 2 * MAX_FILES:
        raise RestyleError(f"{path} holds {len(infos)} entries; a style has at most {MAX_FILES}")
    files, tops = [], set()
    for info in infos:
        parts = _safe_parts(info.filename, path)
        mode = info.external_attr >> 16
        if info.is_dir():
            if len(parts) != 1:
                raise RestyleError(f"{path} holds nested folders ({info.filename})")
            tops.add(parts[0])
            continue
        if stat.S_IFMT(mode) and not stat.S_ISREG(mode):  # links, devices, fifos
            raise RestyleError(f"{path} holds a link or special file: {info.filename}")
        if len(parts) != 2:
            raise RestyleError(f"{path} must hold one style folder with files: {info.filename}")
        tops.add(parts[0])
        files.append((info, parts[1]))
    if len(tops) != 1:
        raise RestyleError(f"{path} does not hold exactly one style folder")
    _check_budget([i.file_size for i, _ in files], [n for _, n in files], path)
    return files


def _safe_parts(name: str, path: Path) -> tuple[str, ...]:
    if "\\" in name or "\x00" in name or name.startswith("/") or ":" in name:
        raise RestyleError(f"{path} holds an unsafe path: {name!r}")
    parts = PurePosixPath(name).parts
    if not parts or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise RestyleError(f"{path} holds an unsafe path: {name!r}")
    return parts


def _check_budget(sizes: list[int], names: list[str], path: Path) -> None:
    if len(names) > MAX_FILES:
        raise RestyleError(f"{path} holds {len(names)} files; a style has at most {MAX_FILES}")
    if len(set(names)) != len(names):
        raise RestyleError(f"{path} holds the same file twice")
    if sum(sizes) > MAX_BYTES:
        raise RestyleError(
            f"{path} unpacks to {sum(sizes) / 2**20:.0f} MiB; a style may be at most "
            f"{MAX_BYTES // 2**20} MiB"
        )


def _extract_member(archive, info: zipfile.ZipInfo, dest: Path, total: int, path: Path) -> int:
    """Copy one entry, counting real bytes: a zip's stated sizes are not trusted."""
    written = 0
    with archive.open(info) as source, open(dest, "xb") as out:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            total += len(chunk)
            if written > info.file_size or total > MAX_BYTES:
                raise RestyleError(f"{path} unpacks to more than it says; not installed")
            out.write(chunk)
    return total


def _copy_folder(source: Path, folder: Path) -> None:
    entries = list(os.scandir(source))
    for entry in entries:
        if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            raise RestyleError(f"{source} holds something other than plain files: {entry.name}")
        _safe_parts(entry.name, source)
    sizes = [entry.stat(follow_symlinks=False).st_size for entry in entries]
    _check_budget(sizes, [e.name for e in entries], source)
    folder.mkdir()
    for entry in entries:
        shutil.copyfile(entry.path, folder / entry.name, follow_symlinks=False)


# -- checking ------------------------------------------------------------------------------
def check_style_folder(folder: Path, origin: Path) -> dict:
    """The style's metadata, checked: kind, format, architecture numbers and name."""
    from .styles import check_style_name
    from .train.artifact import read_style_meta

    missing = [n for n in REQUIRED if not (folder / n).is_file()]
    if missing:
        raise RestyleError(f"{origin} is not a complete trained style (no {', '.join(missing)})")
    if (folder / META_FILE).stat().st_size > MAX_META_BYTES:
        raise RestyleError(f"{origin}: style.json is too large")
    meta = read_style_meta(folder)
    config = meta["arch_config"]
    for key, value in config.items():  # other settings are words (e.g. output="sigmoid")
        if key not in ARCH_LIMITS and not (isinstance(value, str) and len(value) <= 32):
            raise RestyleError(f"{origin}: unknown setting {key}={value!r}")
    for key, (low, high) in ARCH_LIMITS.items():
        value = config.get(key)
        if value is not None and (type(value) is not int or not low <= value <= high):
            raise RestyleError(f"{origin}: {key}={value!r} is outside {low}..{high}")
    meta["name"] = check_style_name(meta.get("name", ""))
    return meta


def _run_one_frame(folder: Path, meta: dict, origin: Path) -> None:
    """Load the weights and style one tiny frame, so a broken style never installs."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    from .styles import StyleInfo
    from .stylizer import Stylizer

    try:
        weights = load_file(str(folder / WEIGHTS_FILE))
    except (SafetensorError, OSError, ValueError) as exc:
        raise RestyleError(f"{origin}: its weights cannot be read ({exc})") from None
    if not all(np.isfinite(w).all() for w in weights.values() if w.dtype.kind == "f"):
        raise RestyleError(f"{origin}: its weights hold non-finite numbers")
    info = StyleInfo(meta["name"], meta["name"], "trained", folder=folder, meta=meta)
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, ::2] = 200
    try:
        with Stylizer(info, _NoLibrary(), _cpu_onnx(), lanes=1) as stylizer:  # one frame
            styled = stylizer.stylize(frame)
    except RestyleError as exc:
        raise RestyleError(f"{origin}: the style does not run ({exc.neutral})") from None
    except Exception as exc:  # a crafted model: any failure means "not installed"
        raise RestyleError(f"{origin}: the style does not run ({type(exc).__name__})") from None
    if styled.shape != frame.shape or styled.dtype != np.uint8:
        raise RestyleError(f"{origin}: the style returns frames of the wrong shape")


def _cpu_onnx():
    from .stylizer import StyleSettings

    return StyleSettings(backend="onnx", device="cpu")


class _NoLibrary:
    """A trained style needs no built-in files."""

    def builtin_file(self, *_args):
        return None


def _move_into_place(folder: Path, target: Path, overwrite: bool, name: str) -> None:
    """Atomically: an old style of that name is moved aside first, deleted last."""
    from .train.artifact import style_name_at

    if target.exists() and not overwrite:
        raise RestyleError(
            f"a style named '{name}' already exists; {setting('overwrite', True)} replaces it"
        )
    retired = None
    if target.exists():
        if style_name_at(target) != name:  # a case variant's folder on macOS, a stray folder
            raise RestyleError(f"{target} is not the style '{name}'; not replacing it")
        retired = folder.parent / "retired"
        os.replace(target, retired)
    try:
        os.rename(folder, target)
    except OSError as exc:
        if retired is not None:
            os.replace(retired, target)
        raise RestyleError(f"cannot install into {target}: {exc.strerror or exc}") from None
    if retired is not None:
        with contextlib.suppress(OSError):
            shutil.rmtree(retired)


__all__ = ["install_style", "check_style_folder", "MAX_BYTES", "MAX_FILES"]


def install(library, path, overwrite: bool = False):
    """Add a shared style (a packed file or a style folder) to ``library`` after checking it:
    size and file-count limits before anything is unpacked, its metadata, its name, and one
    tiny frame run through it. Returns its ``StyleInfo``. (A function here rather than a
    ``StyleLibrary`` method: the checks need the stylizer, which needs the library.)"""
    target = install_style(library, Path(path), overwrite=overwrite)
    return library._trained_by_name(target.name)
