"""A contact sheet: one frame rendered in every built-in style, labelled with style ids."""

from __future__ import annotations

import math

import cv2
import numpy as np

from .styles import StyleLibrary
from .stylizer import StyleSettings, Stylizer

CAPTION = 26  # px under each tile: the id stays readable and covers none of the picture
BACKGROUND = 24


def contact_sheet(
    frame: np.ndarray,
    library: StyleLibrary,
    *,
    tile_width: int = 320,
    columns: int = 6,
    settings: StyleSettings | None = None,
) -> np.ndarray:
    """Every built-in style applied to ``frame`` (uint8 RGB), in a labelled grid.

    Each style runs at twice the tile's size (at most the frame's own), then shrinks to the
    tile: strokes scale with the size a style runs at, and at tile size they would hide the
    subject.
    """
    h, w = frame.shape[:2]
    tile_h = max(32, round(h * tile_width / w))
    work_w = min(w, 2 * tile_width)
    work = cv2.resize(frame[..., :3], (work_w, round(h * work_w / w)), interpolation=cv2.INTER_AREA)
    tiles = [_caption(_shrink(work, tile_width, tile_h), "source")]
    styles = library.builtins()
    # one engine (styles: conditions), one frame at a time: one lane of every thread
    with Stylizer(styles[0], library, settings, lanes=1) as stylizer:
        for style in styles:
            stylizer.condition = np.asarray([style.weights], np.float32)
            tiles.append(_caption(_shrink(stylizer.stylize(work), tile_width, tile_h), style.id))
    return _grid(tiles, columns)


def _shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _grid(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    th, tw = tiles[0].shape[:2]
    rows = math.ceil(len(tiles) / columns)
    sheet = np.full((rows * th, columns * tw, 3), BACKGROUND, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[r * th : (r + 1) * th, c * tw : (c + 1) * tw] = tile
    return sheet


def _caption(tile: np.ndarray, text: str) -> np.ndarray:
    """The tile with ``text`` in a bar below it, scaled to fit the tile's width."""
    bar = np.full((CAPTION, tile.shape[1], 3), BACKGROUND, np.uint8)
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, 1
    (text_w, _), _ = cv2.getTextSize(text, font, 1.0, thickness)
    scale = min(0.6, (tile.shape[1] - 8) / max(1, text_w))
    cv2.putText(bar, text, (4, CAPTION - 8), font, scale, (235, 235, 235), thickness, cv2.LINE_AA)
    return np.vstack([tile, bar])
