"""Export a Restyle network to a single ONNX file that ONNX Runtime runs at any batch and size.

Torch is imported here only: exporting is a torch path, running the result is not.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

OPSET = 17


def export_onnx(
    module: Any,
    example_inputs: tuple,
    path: str | os.PathLike,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: dict[str, dict[int, str]],
) -> Path:
    """Trace ``module`` in eval mode and write one self-contained ONNX file, atomically."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = module.eval()
    fd, tmp = tempfile.mkstemp(suffix=".onnx.part", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            # Instance norm always uses input statistics in these networks; the exporter's
            # train-mode warning about it is expected.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                example_inputs,
                tmp,
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_axes=dynamic_axes,
                opset_version=OPSET,
                dynamo=False,
                do_constant_folding=True,
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
