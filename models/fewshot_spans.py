"""Edge-aware span guides for the few-shot generator (``TrainConfig.generator_spans``).

For every pixel, how far the picture runs along its row and along its column before enough
colour change has piled up: the count of pixels within a domain-transform distance
``radius`` (Gastal and Oliveira 2011) on either side, where a step between neighbours costs
1 + ``edge_cost`` x the sum of its absolute RGB differences (0..1). In a flat area the count
is 2 x ``radius`` + 1 (less near the frame's border); an edge close by cuts it short. Looks
whose tone depends on long edge-bounded stretches of a row (a pencil sketch's shading counts
exactly such pixels) need this, and a convolutional network with a ~150-pixel view cannot
measure it over a whole frame. Like the other guides it is computed inside the network, on
the whole frame (training computes it once per keyframe), so every engine feeds RGB.

Computed per pixel by binary lifting over the row's cumulative distance (a few gathers per
radius, no loop over pixels), so it exports to ONNX (GatherElements) for any frame size and
costs O(pixels x log radius).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .fewshot import FewShotGenerator, Guides, _conv

# (edge_cost, radius in pixels): two decades of edge sensitivity, radii a factor 4 apart.
# Not fitted to any look: a generic ladder.
SPANS: tuple[tuple[float, int], ...] = (
    (100.0, 8),
    (100.0, 32),
    (100.0, 128),
    (1000.0, 8),
    (1000.0, 32),
    (1000.0, 128),
)


def _reach(distance: torch.Tensor, radius: int, forward: bool) -> torch.Tensor:
    """Pixels (0..radius) reachable from each pixel along the last axis, forwards or
    backwards, before the cumulative ``distance`` grows by more than ``radius``."""
    length = distance.shape[-1]
    index = torch.arange(length, device=distance.device).expand_as(distance)
    reach = torch.zeros_like(index)
    step = 1 << (radius.bit_length() - 1)
    while step:
        candidate = reach + step
        target = index + candidate if forward else index - candidate
        inside = (candidate <= radius) & (target >= 0) & (target <= length - 1)
        at = torch.gather(distance, -1, target.clamp(0, length - 1))
        gap = (at - distance) if forward else (distance - at)
        reach = torch.where(inside & (gap <= radius), candidate, reach)
        step >>= 1
    return reach


def row_spans(rgb: torch.Tensor, spans=SPANS) -> list[torch.Tensor]:
    """Span counts along the last axis of N x 3 x H x W ``rgb``, one N x 1 x H x W map per
    (edge_cost, radius) of ``spans``, scaled to 0..1 by the flat-area count."""
    step = (rgb[..., 1:] - rgb[..., :-1]).abs().sum(1, keepdim=True)
    step = F.pad(step, (1, 0, 0, 0))  # the first pixel: nothing before it
    maps: dict[tuple[float, int], torch.Tensor] = {}
    for edge_cost in dict.fromkeys(cost for cost, _ in spans):
        distance = torch.cumsum(1.0 + edge_cost * step, dim=-1)
        for cost, radius in spans:
            if cost == edge_cost:
                count = _reach(distance, radius, True) + _reach(distance, radius, False) + 1
                maps[(cost, radius)] = count.to(rgb.dtype) / (2 * radius + 1)
    return [maps[span] for span in spans]


def span_guides(rgb: torch.Tensor, spans=SPANS) -> torch.Tensor:
    """N x 2·len(spans) x H x W: for each (edge_cost, radius), the row span, then the
    column span. Symmetric, so a mirrored frame's spans are the frame's spans mirrored."""
    rows = row_spans(rgb, spans)
    columns = [c.transpose(-1, -2) for c in row_spans(rgb.transpose(-1, -2), spans)]
    return torch.cat([m for pair in zip(rows, columns, strict=True) for m in pair], dim=1)


class SpanGuides(nn.Module):
    """The "multiscale" guides (models/fewshot.py Guides), then the span guides."""

    def __init__(self) -> None:
        super().__init__()
        self.base = Guides("multiscale")
        self.spans = SPANS

    @property
    def channels(self) -> int:
        return self.base.channels + 2 * len(self.spans)

    def mirror_odd(self, in_channels: int) -> tuple[int, ...]:
        return self.base.mirror_odd(in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.base(x), span_guides(x[:, :3], self.spans)), dim=1)


class SpanGenerator(FewShotGenerator):
    """FewShotGenerator with the span guides after the "multiscale" ones: ``guides`` "spans"
    (what its ``arch_config`` says, so a style folder rebuilds it)."""

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 16,
        blocks: int = 3,
        output: str = "sigmoid",
        guides: str = "spans",
        depth: int = 2,
    ) -> None:
        if guides != "spans":
            raise ValueError("SpanGenerator's guides are 'spans'")
        super().__init__(in_channels, width, blocks, output, "multiscale", depth)
        self.guides_kind = "spans"
        self.guides = SpanGuides()
        self.head = _conv(self.in_channels + self.guides.channels, self.width, 5)


def generator_class(arch_config: dict) -> type[FewShotGenerator]:
    """The class that builds a trained style's generator from its ``arch_config``."""
    return SpanGenerator if arch_config.get("guides") == "spans" else FewShotGenerator


def build_generator(**arch_config) -> FewShotGenerator:
    """A trained style's generator from its ``arch_config`` (the registry's ``fewshot``
    builder, so the torch engine loads a spans style as the ONNX export does)."""
    return generator_class(arch_config)(**arch_config)
