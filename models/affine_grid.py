"""A few-shot generator with a local affine colour head (after HDRNet, Gharbi et al. 2017).

A low-resolution branch sees the whole frame (its guided input averaged to 1/8, then
convolutions down to 1/16) and predicts a grid of affine colour coefficients: per 16-pixel
cell and per bin of a learned per-pixel guide intensity, a 3 x 4 matrix. Each full-resolution
pixel takes its coefficients from the grid by trilinear interpolation (bilinear in x and y,
linear between the two nearest intensity bins: "slicing") and applies them to its own RGB;
the result is added to the generator's output. Looks whose tone at a pixel depends on spans
longer than the generator's view (pencil sketch: a domain-transform count over ~60 px each
way) get that span from the grid branch, whose view is ~200 px.

Training computes the grid on whole keyframes (``grid``) and gives every patch the slice of
it under the patch (``slice_at``), so patches see the frame's context; styling a whole frame
slices with ``F.interpolate``, which the ONNX export turns into a Resize. The last layer of
the branch starts at zero, so an untrained head leaves the generator's output unchanged.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .fewshot import FewShotGenerator, _conv

CELL = 16  # pixels per grid cell
POOL = 8  # the branch's input: the guided frame averaged over POOL x POOL pixels
BINS = 8  # guide-intensity bins per cell
COEFFS = 12  # a 3 x 4 affine colour matrix
# "grid": BINS bins, training computes the grid on every keyframe and its mirror image;
# "grid-lite": 4 bins, the grid of the keyframe only, its slice mirrored for mirrored patches.
AFFINES = ("grid", "grid-lite")


class AffineGrid(nn.Module):
    """The grid branch and the per-pixel guide: ``channels`` guided input channels."""

    def __init__(self, channels: int, width: int = 16, bins: int = BINS) -> None:
        super().__init__()
        self.bins = bins
        self.register_buffer(
            "centres", torch.arange(bins, dtype=torch.float32).view(1, -1, 1, 1), persistent=False
        )
        c = width
        self.net = nn.Sequential(
            _conv(channels, 2 * c, 3),  # 1/8
            nn.LeakyReLU(0.2),
            _conv(2 * c, 2 * c, 3, stride=2),  # 1/16
            nn.LeakyReLU(0.2),
            _conv(2 * c, 2 * c, 3),
            nn.LeakyReLU(0.2),
            _conv(2 * c, 2 * c, 3),
            nn.LeakyReLU(0.2),
            _conv(2 * c, 2 * c, 3),
            nn.LeakyReLU(0.2),
        )
        self.coefficients = nn.Conv2d(2 * c, bins * COEFFS, 1)
        nn.init.zeros_(self.coefficients.weight)
        nn.init.zeros_(self.coefficients.bias)
        # The guide intensity: a learned pointwise mix of the guided input, started at luma.
        self.guide = nn.Conv2d(channels, 1, 1)
        with torch.no_grad():
            self.guide.weight.zero_()
            self.guide.weight[0, :3, 0, 0] = 4 * torch.tensor([0.299, 0.587, 0.114])
            self.guide.bias.fill_(-2.0)

    def pooled(self, guided: torch.Tensor) -> torch.Tensor:
        """The branch's input: ``guided`` padded to whole cells (edges replicated) and
        averaged over POOL x POOL pixels."""
        height, width = guided.shape[-2], guided.shape[-1]
        padded = F.pad(
            guided, (0, (CELL - width % CELL) % CELL, 0, (CELL - height % CELL) % CELL), "replicate"
        )
        return F.avg_pool2d(padded, POOL)

    def grid(self, pooled: torch.Tensor) -> torch.Tensor:
        """N x (bins * 12) x H/16 x W/16 coefficients from ``pooled`` input."""
        return self.coefficients(self.net(pooled))

    def apply(self, sliced: torch.Tensor, guided: torch.Tensor) -> torch.Tensor:
        """The affine term of every pixel of ``guided`` (N x C x H x W) given its sliced
        grid ``sliced`` (N x bins*12 x H x W): N x 3 x H x W."""
        n, height, width = guided.shape[0], guided.shape[-2], guided.shape[-1]
        intensity = torch.sigmoid(self.guide(guided)) * (self.bins - 1)
        weights = torch.relu(1 - (intensity - self.centres).abs())  # N x bins x H x W
        sliced = sliced.reshape(n, self.bins, COEFFS, height, width)
        matrix = (weights.unsqueeze(2) * sliced).sum(1).reshape(n, 3, 4, height, width)
        rgb = guided[:, :3].unsqueeze(1)
        return (matrix[:, :, :3] * rgb).sum(2) + matrix[:, :, 3]


def _interpolation(start: float, size: int, cells: int) -> tuple[int, np.ndarray]:
    """(first cell, size x n matrix): pixels ``start``.. ``start + size`` as weights of the
    n cells from the first, as a bilinear upsampling by CELL (half-pixel centres) weighs them,
    positions beyond the cells clamped to the border cells."""
    pixels = np.arange(size, dtype=np.float64) + start
    u = np.clip((pixels + 0.5) / CELL - 0.5, 0, cells - 1)
    low = np.floor(u).astype(np.int64)
    high = np.minimum(low + 1, cells - 1)
    first = int(low[0])
    matrix = np.zeros((size, int(high[-1]) - first + 1), dtype=np.float32)
    np.add.at(matrix, (np.arange(size), low - first), 1 - (u - low))
    np.add.at(matrix, (np.arange(size), high - first), u - low)
    return first, matrix


def slice_at(
    grid: torch.Tensor, y: int | float, x: int | float, height: int, width: int
) -> torch.Tensor:
    """The ``height`` x ``width`` pixels from (``y``, ``x``) of the frame ``grid`` (1 x K x
    Hc x Wc) was computed on, bilinearly interpolated as ``F.interpolate(grid,
    scale_factor=CELL, mode="bilinear")`` would give them (positions beyond the cells clamp
    to the border cells): 1 x K x height x width. Two small matrix products on the cells
    under the window (cheap to differentiate, unlike gathering from the whole grid)."""
    row0, rows = _interpolation(y, height, grid.shape[2])
    col0, cols = _interpolation(x, width, grid.shape[3])
    cells = grid[0, :, row0 : row0 + rows.shape[1], col0 : col0 + cols.shape[1]]
    rows_t = torch.from_numpy(rows).to(grid.device)
    cols_t = torch.from_numpy(cols).to(grid.device)
    return (rows_t @ cells @ cols_t.T)[None]


class AffineGridGenerator(FewShotGenerator):
    """``FewShotGenerator`` plus the local affine colour head (module docstring)."""

    def __init__(self, *args, affine: str = "grid", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if affine not in AFFINES:
            raise ValueError(f"affine must be one of {', '.join(AFFINES)}")
        self.affine_kind = affine
        guided = self.in_channels + (0 if self.guides is None else self.guides.channels)
        self.affine = AffineGrid(guided, bins=BINS if affine == "grid" else 4)

    @property
    def arch_config(self) -> dict[str, int | str]:
        return {**super().arch_config, "affine": self.affine_kind}

    def sliced(self, guided: torch.Tensor) -> torch.Tensor:
        """The whole frame's grid, computed on ``guided`` and sliced at its every pixel."""
        height, width = guided.shape[-2], guided.shape[-1]
        grid = self.affine.grid(self.affine.pooled(guided))
        full = F.interpolate(grid, scale_factor=float(CELL), mode="bilinear", align_corners=False)
        return full[:, :, :height, :width]

    def styled(self, guided: torch.Tensor, sliced: torch.Tensor | None = None) -> torch.Tensor:
        """As ``FewShotGenerator.styled``, plus the affine term; ``sliced``: the grid's
        coefficients at the input's pixels (training passes a patch those of its whole
        keyframe), None to compute them from ``guided`` as a whole frame."""
        if sliced is None:
            sliced = self.sliced(guided)
        base = self._linear(guided)
        y = base + self.affine.apply(sliced, guided)
        if self.output == "sigmoid":
            return torch.sigmoid(y)
        return y if self.training else y.clamp(0, 1)

    def _linear(self, guided: torch.Tensor) -> torch.Tensor:
        """``FewShotGenerator.styled`` before its output activation or clamp."""
        height, width = guided.shape[-2], guided.shape[-1]
        guided = self._pad(guided)
        levels = [self.act(self.head(guided))]
        for level in range(1, self.depth + 1):
            levels.append(self.act(getattr(self, f"down{level}")(levels[-1])))
        y = self.body(levels[-1])
        for level in range(self.depth, 0, -1):
            y = self.act(getattr(self, f"up{level}")(torch.cat((y, levels[level]), dim=1)))
            y = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
        rgb = guided[:, : self.in_channels]
        y = self.act(self.tail(torch.cat((y, levels[0], rgb), dim=1)))
        return self.out(y)[:, :, :height, :width]


def generator_from_config(config: dict) -> FewShotGenerator:
    """The generator a trained style's ``arch_config`` describes."""
    config = dict(config)
    affine = config.pop("affine", None)
    if affine is None:
        return FewShotGenerator(**config)
    return AffineGridGenerator(**config, affine=affine)
