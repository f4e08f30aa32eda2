"""A trained style on disk: one folder that the style library lists and both engines run.

    <folder>/style.json          what it is (no torch needed to read it)
    <folder>/weights.safetensors the generator's weights (safetensors: no pickle to trust)
    <folder>/model.onnx          the generator for ONNX Runtime, dynamic batch/height/width
    <folder>/thumbnail.png       a small picture of the style for the library
    <folder>/keyframe-NNNNNN-source.png, -painted.png
                                 each keyframe's source frame and painting, lossless, at the
                                 training size: core/carry.py moves the painting onto the
                                 frames that show the same scene ("carry" in style.json;
                                 older styles have none and are applied by the network alone)

The folder is built next to its final place and renamed into it, so a crash never leaves a
half-written style where the library would find it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import RestyleError, setting
from ..styles import (  # a style's file names: styles' one table, imported from here too
    META_FILE,
    ONNX_FILE,
    THUMBNAIL_FILE,
    WEIGHTS_FILE,
    check_style_name,
    not_a_style,
    what_a_stray_holds,
)
from ..writers import give_default_permissions

if TYPE_CHECKING:
    import torch

    from .trainer import TrainResult

FORMAT = 1
KIND = "trained"
ARCH = "fewshot"
THUMBNAIL_SIZE = 256  # longest side, in pixels
INPUT_NAME = "image"
OUTPUT_NAME = "stylized"


def read_style_meta(folder: str | os.PathLike) -> dict[str, Any]:
    """The parsed ``style.json`` of a trained style folder; RestyleError if it is not one."""
    path = Path(folder) / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RestyleError(f"{folder} is not a trained style: it has no {META_FILE}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RestyleError(f"Cannot read {path}: {error}") from None
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise RestyleError(f"{path} does not describe a trained style")
    if meta.get("format") != FORMAT:
        raise RestyleError(
            f"{path} is format {meta.get('format')!r}; this Restyle reads format {FORMAT}"
        )
    if meta.get("arch") != ARCH or not isinstance(meta.get("arch_config"), dict):
        raise RestyleError(f"{path} names an architecture this Restyle does not know")
    return meta


def load_generator(folder: str | os.PathLike, device: str = "cpu") -> torch.nn.Module:
    """The trained generator of a style folder, in eval mode, on ``device``."""
    from safetensors.torch import load_file

    from ...models.fewshot_spans import build_generator

    meta = read_style_meta(folder)
    try:
        generator = build_generator(**meta["arch_config"])
        generator.load_state_dict(load_file(Path(folder) / WEIGHTS_FILE, device=device))
    except (OSError, TypeError, ValueError, RuntimeError) as error:
        raise RestyleError(f"Cannot load the trained style in {folder}: {error}") from None
    return generator.to(device).eval()


def _generator_from_result(result: TrainResult) -> torch.nn.Module:
    import torch

    from ...models.fewshot_spans import build_generator

    generator = build_generator(**result.arch_config)
    generator.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in result.state_dict.items()}
    )
    return generator.eval()


def _write_thumbnail(path: Path, image: np.ndarray) -> None:
    import cv2

    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise RestyleError("The thumbnail must be an 8-bit RGB image")
    scale = THUMBNAIL_SIZE / max(image.shape[:2])
    if scale < 1:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, png = cv2.imencode(".png", np.ascontiguousarray(image[:, :, ::-1]))
    if not ok:
        raise RestyleError("Could not encode the style thumbnail")
    path.write_bytes(png.tobytes())


def _write_keyframes(
    folder: Path, frames: list[int], pairs: list[tuple[np.ndarray, np.ndarray]] | None
) -> list[dict]:
    """The keyframes as PNGs in the style folder, for carrying (core/carry.py)."""
    from ..carry import Keyframe, write_keyframes

    if not pairs:
        return []
    if len(pairs) != len(frames):
        raise RestyleError("one (source, painted) pair is needed per keyframe")
    return write_keyframes(
        folder, [Keyframe(int(f), s, p) for f, (s, p) in zip(frames, pairs, strict=True)]
    )


def _not_replaceable(folder: Path) -> str | None:
    """Why training cannot replace what is at ``folder`` (something is there), the one rule
    of ``refuse_a_taken_name`` (before training) and ``write_trained_style`` (after): a link
    (never written through), no folder, or a style.json this Restyle does not read as a
    trained style of its format and architecture (``read_style_meta``'s words); None: a
    trained style ``overwrite`` replaces."""
    if folder.is_symlink():
        return f"it is a link to {os.readlink(folder)}"
    if not folder.is_dir():
        return "it is not a folder"
    try:
        read_style_meta(folder)
    except RestyleError as error:
        return error.neutral
    return None


def refuse_a_taken_name(folder: Path, name: str, overwrite: bool) -> None:
    """Refuse training the style ``name`` into the library's ``folder`` before anything is
    read or trained: a folder there that is no style is said to be so
    (``refuse_a_stray_folder``), with or without ``overwrite``; a style there that training
    cannot replace (``_not_replaceable``: a link, an old format, another architecture) is
    said to be so, with or without it, as ``write_trained_style`` would refuse it after the
    whole training; any other style there without ``overwrite`` is a taken name
    (``style_exists``)."""
    refuse_a_stray_folder(folder, name, "train")
    if not (folder.exists() or folder.is_symlink()):
        return
    if why := _not_replaceable(folder):
        raise RestyleError(
            f"a style named '{name.strip()}' already exists and training cannot replace it "
            f"({why}): use another name"
        )
    if not overwrite:
        raise style_exists(name)


# What a stray folder blocks (``refuse_a_stray_folder``'s ``redo``), and the style's fate
_MADE = {"install": "installed", "train": "saved"}


def refuse_a_stray_folder(target: Path, name: str, redo: str = "install") -> None:
    """Something at ``target`` that is no style (a folder an interrupted delete left) is said
    to be so, for installing or training (``redo``) a style ``name`` there: 'already exists;
    --overwrite replaces it' was said, and --overwrite refused."""
    if not target.exists() or style_name_at(target) is not None:
        return
    held = what_a_stray_holds(target)  # as 'restyle styles delete' names it
    raise RestyleError(
        f"{not_a_style(target)}{held}: '{name}' would be {_MADE[redo]} there, so move or "
        f"remove it by hand, then {redo} again"
    )


def style_name_at(folder: Path) -> str | None:
    """The name in ``folder``'s style.json, of any format or kind (None: no style there):
    what tells a style from a stray folder (``refuse_a_stray_folder``), not whether training
    may replace it (``_not_replaceable``)."""
    try:
        meta = json.loads((folder / "style.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta.get("name", folder.name) if isinstance(meta, dict) else None


def style_exists(name: str) -> RestyleError:
    """The refusal of a style name already taken, for every front end to raise: training
    (``keyframes.train_from_keyframes``), the artifact's own last check (a style saved under
    the name while this one trained) and Blender's Train, each in its own words for the
    option that replaces it (``setting``: --overwrite, Replace Existing)."""
    return RestyleError(
        f"a style named '{name.strip()}' already exists; use another name or "
        f"{setting('overwrite_style', True)}"
    )


def write_trained_style(
    folder: str | os.PathLike,
    result: TrainResult,
    *,
    name: str,
    source: str,
    keyframes: list[int],
    thumbnail: np.ndarray,
    overwrite: bool = False,
    pairs: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> Path:
    """Write ``result`` as a trained style folder at ``folder``, atomically; returns the folder.

    ``source`` names the clip the style was trained on, ``keyframes`` its painted frame
    numbers, ``thumbnail`` an RGB uint8 picture (shrunk to 256 pixels). An existing style
    folder is replaced only with ``overwrite=True``; anything else at ``folder`` never is.
    ``pairs``, (source, painted) uint8 RGB per keyframe in ``keyframes`` order, are stored
    as PNGs so applying the style can carry the paintings (core/carry.py).
    """
    import torch
    from safetensors.numpy import save_file

    from ...models.export import export_onnx

    folder = Path(folder)
    check_style_name(name or "")  # its words and rules are the library's, said once
    if folder.exists() or folder.is_symlink():
        # Not a style: refused as such either way (a stray folder said 'already exists; use
        # another name or overwrite=True', and overwrite refused). Training and Blender's
        # Train said the library's words before training (``refuse_a_taken_name``); this
        # folder may be anywhere (Python), so not 'in the style library'.
        if _not_replaceable(folder):
            raise RestyleError(f"{folder} exists and is not a trained style; not replacing it")
        if not overwrite:
            raise style_exists(name)  # a style saved under the name while this one trained

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part", dir=folder.parent))
    try:
        weights = {k: np.ascontiguousarray(v) for k, v in result.state_dict.items()}
        save_file(weights, str(staging / WEIGHTS_FILE), metadata={"arch": ARCH})

        generator = _generator_from_result(result)
        example = torch.rand(1, result.arch_config["in_channels"], 64, 64)
        export_onnx(
            generator,
            (example,),
            staging / ONNX_FILE,
            [INPUT_NAME],
            [OUTPUT_NAME],
            {INPUT_NAME: {0: "n", 2: "h", 3: "w"}, OUTPUT_NAME: {0: "n", 2: "h", 3: "w"}},
        )
        _write_thumbnail(staging / THUMBNAIL_FILE, thumbnail)
        carry = _write_keyframes(staging, keyframes, pairs)

        meta = {
            "format": FORMAT,
            "kind": KIND,
            "name": name.strip(),
            "arch": ARCH,
            "arch_config": dict(result.arch_config),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": source,
            "keyframes": [int(k) for k in keyframes],
            "training": {**result.figures.as_dict(), "config": asdict(result.config)},
        }
        if carry:
            meta["carry"] = carry
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        give_default_permissions(staging)

        if folder.exists():
            # Move the old style aside first, so a failure here leaves one complete style.
            retired = Path(
                tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent)
            )
            os.replace(folder, retired / folder.name)
            try:
                os.replace(staging, folder)
            except OSError:
                os.replace(retired / folder.name, folder)
                raise
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder
