"""Training and validation patches cut from a few (source frame, painted keyframe) pairs.

A few keyframes are all the data there is, so validation cannot be a separate set of
frames without withholding something the artist painted. Instead each keyframe is cut into
a grid of patch-sized tiles, a seeded fraction of the tiles is held out, and training
patches are drawn only from windows that do not touch a held-out tile: validation then
measures how well the mapping carries to pixels the generator never saw, while every
keyframe still teaches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import RestyleError


def _refuse_too_small(width: int, height: int, patch: int) -> None:
    """A keyframe holds two ``patch``-pixel tiles side by side: one may be held out for
    validation and the other still trains (a keyframe of one tile that lost it left no
    training patch). Said for the front ends, which have no patch-size setting."""
    if min(width, height) >= patch and max(width, height) >= 2 * patch:
        return
    raise RestyleError(
        f"Keyframes of {width}x{height} are too small to train on: training learns from "
        f"{patch}-pixel squares of the keyframes and holds some out to check its progress, "
        f"so each keyframe needs at least {2 * patch}x{patch} pixels ({patch}x{2 * patch} "
        "upright); train on larger frames (Python: a smaller TrainConfig.patch_size)"
    )


@dataclass(frozen=True)
class Tile:
    """A held-out square: ``size`` pixels from (``y``, ``x``) of keyframe ``keyframe``."""

    keyframe: int
    y: int
    x: int
    size: int


def to_chw_float(image: np.ndarray) -> np.ndarray:
    """uint8 HxWxC to float32 CxHxW in [0, 1]."""
    return np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)


def _window_is_clear(blocked: np.ndarray, size: int) -> np.ndarray:
    """For every top-left corner, whether the ``size`` window there has no blocked pixel."""
    integral = np.zeros((blocked.shape[0] + 1, blocked.shape[1] + 1), dtype=np.int64)
    integral[1:, 1:] = blocked.cumsum(0).cumsum(1)
    window_sum = (
        integral[size:, size:]
        - integral[:-size, size:]
        - integral[size:, :-size]
        + integral[:-size, :-size]
    )
    return window_sum == 0


class PatchSampler:
    """Draws aligned (source, target) patch batches, never overlapping the validation tiles.

    ``sources`` are uint8 HxWxC frames (RGB, then any guide channels), or float32 CxHxW
    arrays (the frames with guides computed already); ``targets`` the painted uint8 HxWx3
    keyframes of the same size. Batches come back as float32 NCHW in [0, 1]. Channels in
    ``mirror_odd`` change sign when a patch is mirrored (a horizontal gradient). All
    randomness comes from ``rng``, so a seed fixes every batch.
    """

    def __init__(
        self,
        sources: Sequence[np.ndarray],
        targets: Sequence[np.ndarray],
        patch_size: int,
        *,
        rng: np.random.Generator,
        val_fraction: float = 0.1,
        max_val_tiles: int = 64,
        flip: bool = True,
        mirror_odd: Sequence[int] = (),
    ) -> None:
        if len(sources) != len(targets) or not sources:
            raise RestyleError("Training needs at least one (frame, keyframe) pair")
        self.patch_size = patch_size
        self.flip = flip
        self.rng = rng
        self.mirror_odd = list(mirror_odd)
        self.sources = [s if s.dtype == np.float32 else to_chw_float(s) for s in sources]
        self.targets = [to_chw_float(t) for t in targets]
        for source in self.sources:
            _refuse_too_small(source.shape[2], source.shape[1], patch_size)
        self.val_tiles = self._choose_val_tiles(val_fraction, max_val_tiles)
        self._corners = self._training_corners()
        # Hard-example mining: per keyframe, the cumulative sampling weight of each allowed
        # corner (None: uniform), and the share of every batch drawn by those weights.
        self._weights: list[np.ndarray | None] = [None] * len(self.sources)
        self.hard_share = 0.0

    def set_errors(self, errors: Sequence[np.ndarray], share: float) -> None:
        """Draw ``share`` of each batch where the generator is worst: ``errors`` are per-pixel
        HxW errors of every keyframe, and a window's weight is its mean error."""
        p = self.patch_size
        for k, error in enumerate(errors):
            integral = np.zeros((error.shape[0] + 1, error.shape[1] + 1), dtype=np.float64)
            integral[1:, 1:] = error.cumsum(0).cumsum(1)
            window = integral[p:, p:] - integral[:-p, p:] - integral[p:, :-p] + integral[:-p, :-p]
            allowed, _ = self._corners[k]
            weight = window.ravel()[allowed]
            self._weights[k] = np.cumsum(weight + 1e-9 * weight.max() + 1e-12)
        self.hard_share = share

    def _choose_val_tiles(self, fraction: float, most: int) -> list[Tile]:
        p = self.patch_size
        grid = [
            Tile(k, row * p, col * p, p)
            for k, source in enumerate(self.sources)
            for row in range(source.shape[1] // p)
            for col in range(source.shape[2] // p)
        ]
        count = min(most, max(1, round(fraction * len(grid))))
        # Fewer than the tiles: every keyframe holds two (_refuse_too_small).
        picked = self.rng.choice(len(grid), size=count, replace=False)
        return [grid[i] for i in sorted(picked)]

    def _training_corners(self) -> list[tuple[np.ndarray, int]]:
        """Per keyframe: flat indices of allowed top-left corners, and the row stride."""
        p = self.patch_size
        corners = []
        for k, source in enumerate(self.sources):
            blocked = np.zeros(source.shape[1:], dtype=np.uint8)
            for tile in self.val_tiles:
                if tile.keyframe == k:
                    blocked[tile.y : tile.y + tile.size, tile.x : tile.x + tile.size] = 1
            clear = _window_is_clear(blocked, p)
            allowed = np.flatnonzero(clear)
            if allowed.size == 0:
                raise RestyleError(
                    "A keyframe has no room for training patches next to its validation "
                    "patches; train on larger frames (Python: a smaller TrainConfig.patch_size)"
                )
            corners.append((allowed, clear.shape[1]))
        return corners

    @property
    def in_channels(self) -> int:
        return self.sources[0].shape[0]

    def sample(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """A random batch: (sources N x C x P x P, targets N x 3 x P x P), float32."""
        p = self.patch_size
        rng = self.rng
        keyframes = rng.integers(len(self.sources), size=batch_size)
        picks = rng.random(batch_size)
        flips = rng.random(batch_size) < 0.5 if self.flip else np.zeros(batch_size, dtype=bool)
        source_batch = np.empty((batch_size, self.in_channels, p, p), dtype=np.float32)
        target_batch = np.empty((batch_size, 3, p, p), dtype=np.float32)
        hard = np.arange(batch_size) < round(self.hard_share * batch_size)
        for i, (k, pick, flip) in enumerate(zip(keyframes, picks, flips, strict=True)):
            allowed, stride = self._corners[k]
            weights = self._weights[k]
            if hard[i] and weights is not None:
                index = min(int(np.searchsorted(weights, pick * weights[-1])), allowed.size - 1)
            else:
                index = int(pick * allowed.size)
            y, x = divmod(int(allowed[index]), stride)
            source = self.sources[k][:, y : y + p, x : x + p]
            target = self.targets[k][:, y : y + p, x : x + p]
            if flip:
                # Mirroring left-right keeps the style's strokes plausible; rotations would not.
                source, target = source[:, :, ::-1], target[:, :, ::-1]
            source_batch[i] = source
            if flip and self.mirror_odd:
                source_batch[i, self.mirror_odd] *= -1
            target_batch[i] = target
        return source_batch, target_batch

    def validation_batch(self, margin: int) -> tuple[np.ndarray, np.ndarray]:
        """Held-out tiles: (sources with ``margin`` pixels of context on every side, targets).

        The context lets the generator see the surroundings it would see inside a whole
        frame; frame borders are mirrored, as the generator itself does.
        """
        padded = [
            np.pad(s, ((0, 0), (margin, margin), (margin, margin)), mode="reflect")
            for s in self.sources
        ]
        sources = np.stack(
            [
                padded[t.keyframe][
                    :, t.y : t.y + t.size + 2 * margin, t.x : t.x + t.size + 2 * margin
                ]
                for t in self.val_tiles
            ]
        )
        targets = np.stack(
            [
                self.targets[t.keyframe][:, t.y : t.y + t.size, t.x : t.x + t.size]
                for t in self.val_tiles
            ]
        )
        return sources, targets
