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

Computed per pixel by binary lifting over the row's cumulative distance (two gathers per
step, log2(radius) + 1 steps per span, no loop over pixels), so it exports to ONNX
(GatherElements) for any frame size and costs O(pixels x log radius) per span.
"""

from __future__ import annotations

import math

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
# Shorter ladders, cheaper to style (round 20, docs/performance/keyframes.md): the same two
# edge costs at radii 8 and 32 (8 channels), or 8 only (4). In a quadratic fit of the
# pencil look the short radii carried nearly all of the full ladder's gain.
SHORT_SPANS: tuple[tuple[float, int], ...] = ((100.0, 8), (100.0, 32), (1000.0, 8), (1000.0, 32))
NEAR_SPANS: tuple[tuple[float, int], ...] = ((100.0, 8), (1000.0, 8))
# One long span, its counts on a log scale (round 22, docs/performance/keyframes.md): a
# look that shades by how far the picture runs before an edge (a pencil sketch) needs the
# long radius, and the small counts near edges, where the shading happens, are what matters.
# On the 0..1 scale of the others they are squeezed into the bottom 8 %, which a network
# learns slowly; log(count) / log(2 x radius + 1) spreads them (a count of 20 is at 0.54).
LONG_SPANS: tuple[tuple[float, int], ...] = ((1000.0, 128),)
# A style's ``guides`` (its arch_config) -> its ladder.
SPAN_SETS: dict[str, tuple[tuple[float, int], ...]] = {
    "spans": SPANS,
    "spans-8-32": SHORT_SPANS,
    "spans-8": NEAR_SPANS,
    "spans-128-log": LONG_SPANS,
}
# The ladders whose counts are given on the log scale above (the others: count / (2r + 1)).
LOG_SCALED = frozenset({"spans-128-log"})


def row_spans(rgb: torch.Tensor, spans=SPANS, log: bool = False) -> list[torch.Tensor]:
    """Span counts along the last axis of N x 3 x H x W ``rgb``, one N x 1 x H x W map per
    (edge_cost, radius) of ``spans``, scaled to 0..1 by the flat-area count (with ``log``:
    log(count) / log(flat-area count), 0 for a pixel alone between edges).

    Binary lifting per span: from each pixel, steps of halving size (the radius's power of
    two down to 1) are taken forwards and backwards while the cumulative distance stays
    within the radius. Each edge cost's distances are walled by out-of-reach values on
    either side, so a step is one gather, one comparison and one choice, with no bounds
    checks, and no cap at the radius at each step: every pixel costs at least 1 (capped once
    at the end, for float rounding on long rows). (Round 19 checked bounds and the cap at
    every step: ~2x the operators for the same counts;
    stacking the spans as channels of one search was slower still in ONNX Runtime.)

    Searched in float32 whatever ``rgb``'s dtype, the maps returned in ``rgb``'s: a row's
    distances reach 1 + 3 x edge_cost per pixel (~2e6 on a 640-pixel row at cost 1000), and
    the walls sit at 3e38, far past fp16's 65504 (an fp16 search overflowed to inf, stepped
    past the walls and gathered out of range). Distances are capped at 1e38, below the
    walls, so no step lands on a wall whatever the values do (an inf pixel; NaN compares
    false): every index gathered lies inside the walled row."""
    dtype = rgb.dtype
    rgb = rgb.float()
    step = (rgb[..., 1:] - rgb[..., :-1]).abs().sum(1, keepdim=True)
    step = F.pad(step, (1, 0, 0, 0))  # the first pixel: nothing before it
    longest = max(radius for _, radius in spans)
    maps: dict[tuple[float, int], torch.Tensor] = {}
    for edge_cost in dict.fromkeys(cost for cost, _ in spans):
        distance = torch.cumsum(1.0 + edge_cost * step, dim=-1).clamp(max=1.0e38)
        wall = torch.full_like(distance[..., :1], 3.0e38).expand(*distance.shape[:-1], longest)
        walled = torch.cat((-wall, distance, wall), dim=-1)
        start = (torch.arange(distance.shape[-1], device=rgb.device) + longest).expand_as(distance)
        for cost, radius in spans:
            if cost != edge_cost:
                continue
            ahead, behind = distance + radius, distance - radius
            forward = backward = start
            size = 1 << (radius.bit_length() - 1)
            while size:
                candidate = forward + size
                at = torch.gather(walled, -1, candidate)
                forward = torch.where(at <= ahead, candidate, forward)
                candidate = backward - size
                at = torch.gather(walled, -1, candidate)
                backward = torch.where(at >= behind, candidate, backward)
                size >>= 1
            # At most the radius each way, whatever float rounding of a long row does.
            reach = (forward - start).clamp(max=radius) + (start - backward).clamp(max=radius)
            count = (reach + 1).to(rgb.dtype)
            if log:
                maps[(cost, radius)] = (torch.log(count) / math.log(2 * radius + 1)).to(dtype)
            else:
                maps[(cost, radius)] = (count / (2 * radius + 1)).to(dtype)
    return [maps[span] for span in spans]


def span_guides(rgb: torch.Tensor, spans=SPANS, log: bool = False) -> torch.Tensor:
    """N x 2·len(spans) x H x W: for each (edge_cost, radius), the row span, then the
    column span (on row_spans' ``log`` scale). Symmetric, so a mirrored frame's spans are
    the frame's spans mirrored."""
    rows = row_spans(rgb, spans, log)
    columns = [c.transpose(-1, -2) for c in row_spans(rgb.transpose(-1, -2), spans, log)]
    return torch.cat([m for pair in zip(rows, columns, strict=True) for m in pair], dim=1)


class SpanSearch(nn.Module):
    """span_guides of a ladder as a module (no weights). SpanGuides holds it as ``fp32``, so
    its ONNX nodes are named '/guides/fp32/...' and core/engines' fp16 copy of the network
    (onnx_engine.fp16_model) keeps them in float32, as row_spans does in torch."""

    def __init__(self, spans: tuple[tuple[float, int], ...], log: bool = False) -> None:
        super().__init__()
        self.spans = spans
        self.log = log

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return span_guides(rgb, self.spans, self.log)


class SpanGuides(nn.Module):
    """The "multiscale" guides (models/fewshot.py Guides), then the span guides of the
    ladder ``kind`` names in SPAN_SETS."""

    def __init__(self, kind: str = "spans") -> None:
        super().__init__()
        self.base = Guides("multiscale")
        self.spans = SPAN_SETS[kind]
        self.fp32 = SpanSearch(self.spans, log=kind in LOG_SCALED)

    @property
    def channels(self) -> int:
        return self.base.channels + 2 * len(self.spans)

    def mirror_odd(self, in_channels: int) -> tuple[int, ...]:
        return self.base.mirror_odd(in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.base(x), self.fp32(x[:, :3])), dim=1)


class SpanGenerator(FewShotGenerator):
    """FewShotGenerator with the span guides after the "multiscale" ones: ``guides`` names
    a ladder of SPAN_SETS (what its ``arch_config`` says, so a style folder rebuilds it)."""

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 16,
        blocks: int = 3,
        output: str = "sigmoid",
        guides: str = "spans",
        depth: int = 2,
    ) -> None:
        if guides not in SPAN_SETS:
            raise ValueError(f"SpanGenerator's guides are one of {', '.join(SPAN_SETS)}")
        super().__init__(in_channels, width, blocks, output, "multiscale", depth)
        self.guides_kind = guides
        self.guides = SpanGuides(guides)
        self.head = _conv(self.in_channels + self.guides.channels, self.width, 5)


def generator_class(arch_config: dict) -> type[FewShotGenerator]:
    """The class that builds a trained style's generator from its ``arch_config``."""
    return SpanGenerator if arch_config.get("guides") in SPAN_SETS else FewShotGenerator


def build_generator(**arch_config) -> FewShotGenerator:
    """A trained style's generator from its ``arch_config`` (the registry's ``fewshot``
    builder, so the torch engine loads a spans style as the ONNX export does)."""
    return generator_class(arch_config)(**arch_config)
