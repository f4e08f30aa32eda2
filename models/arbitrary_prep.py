"""Turn a style picture into the style predictor's input (numpy and OpenCV only).

Shared by the torch and ONNX paths, so it must not import torch.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..core.errors import RestyleError

# The style predictor was trained on 256x256 pictures.
STYLE_SIZE = 256


def prepare_style_picture(rgb_uint8: np.ndarray) -> np.ndarray:
    """Center-crop an HxWx3 uint8 RGB picture to a square, resize it to 256x256.

    Returns float32 NCHW [1, 3, 256, 256] in [0, 1]. Shrinking uses area averaging (no
    aliasing in fine brush strokes); the rare enlargement uses bilinear interpolation,
    because area interpolation degenerates to nearest-neighbour when enlarging.
    """
    if (
        not isinstance(rgb_uint8, np.ndarray)
        or rgb_uint8.dtype != np.uint8
        or rgb_uint8.ndim != 3
        or rgb_uint8.shape[2] != 3
    ):
        shape = getattr(rgb_uint8, "shape", None)
        dtype = getattr(rgb_uint8, "dtype", type(rgb_uint8).__name__)
        raise RestyleError(f"a style picture must be HxWx3 uint8 RGB, got {shape} {dtype}")
    h, w = rgb_uint8.shape[:2]
    side = min(h, w)
    if side == 0:
        raise RestyleError("the style picture is empty")
    top, left = (h - side) // 2, (w - side) // 2
    square = rgb_uint8[top : top + side, left : left + side]
    interpolation = cv2.INTER_AREA if side >= STYLE_SIZE else cv2.INTER_LINEAR
    resized = cv2.resize(square, (STYLE_SIZE, STYLE_SIZE), interpolation=interpolation)
    return np.ascontiguousarray(resized.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
