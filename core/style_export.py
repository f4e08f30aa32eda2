"""Export one style as a self-contained ONNX file: image in, styled image out.

Built-in and picture styles have their conditioning (style weights, style vector) baked in,
so the file runs anywhere ONNX Runtime does without Restyle.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from ..models.registry import ARCHS, get_arch
from .errors import RestyleError
from .styles import ONNX_FILE, StyleInfo, StyleLibrary
from .writers import check_file_suffix, current_umask


def export_style(style: StyleInfo, library: StyleLibrary, path: Path) -> Path:
    """Write ``path`` (a .onnx file) for ``style``; needs torch except for trained styles."""
    from .engines import torch_available

    path = Path(path)
    check_file_suffix(path, ".onnx")
    if style.kind == "trained":
        assert style.folder is not None
        shutil.copyfile(style.folder / ONNX_FILE, path)
        return path
    if not torch_available():
        raise RestyleError(
            "exporting a built-in or picture style needs PyTorch: pip install torch==2.13.0"
        )
    import torch
    from safetensors.torch import load_file

    from ..models.export import export_onnx
    from .stylizer import Stylizer

    name = "multistyle26" if style.kind == "builtin" else "arbitrary_transformer"
    if not library.builtins_ready(".safetensors"):
        from .builtins import install_builtins

        install_builtins(library.builtin_dir)
    weights = library.builtin_file(name, ".safetensors")
    assert weights is not None
    spec = get_arch(name)
    module = spec.build()
    module.load_state_dict(load_file(str(weights)))
    if style.kind == "builtin":
        condition = np.asarray([style.weights], np.float32)
    else:
        with Stylizer(style, library) as stylizer:  # its engine ends here, not at gc
            stylizer.prepare([])
            condition = stylizer.condition
    baked = _Baked(module, torch.from_numpy(np.asarray(condition, np.float32)))
    spatial = {0: "n", 2: "h", 3: "w"}
    export_onnx(
        baked,
        (torch.rand(1, 3, 64, 64),),
        path,
        ["image"],
        ["stylized"],
        {"image": spatial, "stylized": spatial},
    )
    os.chmod(path, 0o666 & ~current_umask())  # a file to share: not mkstemp's private 0600
    return path


def _Baked(module, condition):  # noqa: N802 - builds a torch module lazily
    import torch

    class Baked(torch.nn.Module):
        """The network with its style input fixed."""

        def __init__(self) -> None:
            super().__init__()
            self.net = module
            self.register_buffer("condition", condition)

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return self.net(image, self.condition.expand(image.shape[0], -1))

    return Baked()


__all__ = ["export_style", "ARCHS"]
