"""A contact sheet: one frame rendered in every built-in style, labelled with style ids."""

from __future__ import annotations

import math

import cv2
import numpy as np

from .styles import StyleLibrary
from .stylizer import StyleSettings, Stylizer


def contact_sheet(
    frame: np.ndarray,
    library: StyleLibrary,
    *,
    tile_width: int = 320,
    columns: int = 6,
    settings: StyleSettings | None = None,
) -> np.ndarray:
    """Every built-in style applied to ``frame`` (uint8 RGB), in a labelled grid."""
    h, w = frame.shape[:2]
    tile_h = max(32, round(h * tile_width / w))
    small = cv2.resize(frame[..., :3], (tile_width, tile_h), interpolation=cv2.INTER_AREA)
    styles = library.builtins()
    tiles = [_label(small.copy(), "source")]
    for style in styles:
        tiles.append(_label(Stylizer(style, library, settings).stylize(small), style.id))
    rows = math.ceil(len(tiles) / columns)
    sheet = np.full((rows * tile_h, columns * tile_width, 3), 24, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[r * tile_h : (r + 1) * tile_h, c * tile_width : (c + 1) * tile_width] = tile
    return sheet


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    cv2.rectangle(tile, (0, tile.shape[0] - 18), (tile.shape[1], tile.shape[0]), (0, 0, 0), -1)
    cv2.putText(
        tile,
        text,
        (4, tile.shape[0] - 5),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.42,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return tile
