"""Run a network over overlapping tiles when a frame is too large to infer in one piece.

Tiles overlap and are blended with linear ramps, so seams do not show even though each
tile's instance-norm statistics differ a little.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def tile_starts(length: int, tile: int, overlap: int, multiple: int) -> list[int]:
    """Start offsets covering ``length`` with tiles of ``tile`` overlapping by ``overlap``."""
    if length <= tile:
        return [0]
    step = max(multiple, (tile - overlap) // multiple * multiple)
    starts = list(range(0, length - tile, step)) + [length - tile]
    return sorted(set(starts))


def ramp(length: int, overlap: int, at_start: bool, at_end: bool) -> np.ndarray:
    """Blend weights along one axis: rising over the overlap unless at the image border."""
    w = np.ones(length, np.float32)
    n = min(overlap, length // 2)
    if n > 0:
        edge = (np.arange(n, dtype=np.float32) + 0.5) / n
        if not at_start:
            w[:n] = edge
        if not at_end:
            w[-n:] = edge[::-1]
    return w


def run_tiled(
    fn: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    tile: int,
    overlap: int = 64,
    multiple: int = 4,
) -> np.ndarray:
    """Apply ``fn`` (NCHW → NCHW, same size) to ``image`` [N,C,H,W] tile by tile."""
    n, _, h, w = image.shape
    tile = max(multiple, tile // multiple * multiple)
    th, tw = min(tile, h), min(tile, w)
    out: np.ndarray | None = None
    norm = np.zeros((h, w), np.float32)
    ys, xs = tile_starts(h, th, overlap, multiple), tile_starts(w, tw, overlap, multiple)
    for y in ys:
        wy = ramp(th, overlap, y == 0, y + th >= h)
        for x in xs:
            wx = ramp(tw, overlap, x == 0, x + tw >= w)
            result = fn(np.ascontiguousarray(image[:, :, y : y + th, x : x + tw]))
            if out is None:
                out = np.zeros((n, result.shape[1], h, w), np.float32)
            weight = wy[:, None] * wx[None, :]
            out[:, :, y : y + th, x : x + tw] += result * weight
            norm[y : y + th, x : x + tw] += weight
    assert out is not None
    return out / norm
