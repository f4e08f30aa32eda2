"""Exact rewrites of the styling networks into shapes a CPU runs fast (exported as ``*.fast.onnx``).

The 26-style and arbitrary-style networks spend most of their CPU time outside their
convolutions: full-resolution tensors with 3-8 channels (the expand path, a 9x9 4→3 conv at
13 GFLOP/s where the 32-channel convs reach 150) and per-channel norm arithmetic that
streams whole frames through memory. The fast graphs compute the same function:

- The expand path runs at the residual trunk's resolution (1/4): each nearest-2x upsampling
  and full-resolution convolution becomes one 3x3 convolution on pixel-unshuffled tensors
  (16x the channels, 1/16 the pixels), the reflection padding becomes the same rows and
  columns gathered at the border, the instance norm takes its statistics over each original
  channel's sub-pixels, and one pixel shuffle makes the output frame.
- Every conditional norm is one InstanceNormalization whose scale and shift are the style's
  (computed from the condition input inside the graph, so one file serves every style).
- The contract path's stride-2 convolutions pad with the convolution's own zeros instead of
  a reflection-padded copy of their input (at 720p the first one's 32-channel input is a
  full-resolution frame): the output's first row and column, the only ones the reflected
  border reaches, are computed again from two-pixel strips and written over it. (26-style
  network only: the transformer's first output has 8 channels, and there it measured 1.00x.)

Contract: the condition is the same for every item of a batch (the engines run one style
per run); the output matches the plain network to float rounding (tests: ≥ 90 dB).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .arbitrary import StyleTransformer
from .multistyle import MultiStyleNet


def coarse_weight(w: torch.Tensor, b_in: int, up: int) -> torch.Tensor:
    """A stride-1 conv (odd kernel, reflection pad k//2), optionally after nearest-``up``
    upsampling, as a 3x3 conv between pixel-unshuffled tensors (factor ``b_in`` in,
    ``b_in * up`` out; channel = c * b² + row phase * b + column phase)."""
    co, ci, k, _ = w.shape
    p, b_out = k // 2, b_in * up
    out = torch.zeros(co * b_out * b_out, ci * b_in * b_in, 3, 3, dtype=w.dtype)
    for a in range(b_out):
        for dy in range(-p, p + 1):
            q, r = divmod((a + dy) // up, b_in)
            for b in range(b_out):
                for dx in range(-p, p + 1):
                    q2, s = divmod((b + dx) // up, b_in)
                    if not (-1 <= q <= 1 and -1 <= q2 <= 1):
                        raise ValueError("kernel too wide for one coarse pixel of padding")
                    out[
                        a * b_out + b :: b_out * b_out, r * b_in + s :: b_in * b_in, q + 1, q2 + 1
                    ] += w[:, :, dy + p, dx + p]
    return out


def _border_sources(b: int, up: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """For each sub-pixel phase of the coarse pad row above / below, the (coarse row, phase)
    it copies: reflection for a plain conv, the edge for one after 2x upsampling (with a
    3x3 kernel, reflecting the upsampled frame by one row repeats its first source row)."""
    top, bottom = [], []
    for j in range(b):
        src = (b - j) if up == 1 else 0  # fine row -(b - j) reflects to row b - j
        top.append(divmod(src, b))
        back = -2 - j if up == 1 else -1  # fine row n + j reflects to n - 2 - j
        bottom.append(divmod(back, b))
    return top, bottom


def strided_reflect_conv(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """A 3x3 stride-2 convolution of ``x`` reflection-padded by one, for even heights and
    widths, without copying ``x`` into a padded frame: only output row 0 and column 0 read
    the reflected border (row -1 is row 1), so they are recomputed from strips and
    scattered over the zero-padded result."""
    out = F.conv2d(x, w, stride=2, padding=1)
    top = F.conv2d(F.pad(x[:, :, :2], (1, 1, 1, 0), mode="reflect"), w, stride=2)
    left = F.conv2d(F.pad(x[:, :, :, :2], (1, 0, 1, 1), mode="reflect"), w, stride=2)
    out = out.scatter(2, torch.zeros_like(top, dtype=torch.long), top)
    return out.scatter(3, torch.zeros_like(left, dtype=torch.long), left)


def pad_coarse(x: torch.Tensor, channels: int, b: int, up: int) -> torch.Tensor:
    """One coarse pixel of padding around a pixel-unshuffled tensor, holding exactly the
    values the fine network's reflection padding would put under the kernel."""
    n, _, h, w = x.shape
    x6 = x.reshape(n, channels, b, b, h, w)
    top, bottom = _border_sources(b, up)
    rows = [
        torch.stack([x6[:, :, ph, :, row, :] for row, ph in t], 2)[:, :, :, :, None]
        for t in (top, bottom)
    ]
    x6 = torch.cat([rows[0], x6, rows[1]], 4)
    cols = [
        torch.stack([x6[:, :, :, ph, :, col] for col, ph in t], 3)[..., None] for t in (top, bottom)
    ]
    x6 = torch.cat([cols[0], x6, cols[1]], 5)
    return x6.reshape(n, channels * b * b, h + 2, w + 2)


def grouped_norm(
    x: torch.Tensor, channels: int, gamma: torch.Tensor, beta: torch.Tensor, eps: float
) -> torch.Tensor:
    """Instance norm of the fine tensor, on its pixel-unshuffled form: statistics per
    original channel over all of its sub-pixel phases."""
    n, c, h, w = x.shape
    y = F.instance_norm(
        x.reshape(n, channels, (c // channels) * h * w), weight=gamma, bias=beta, eps=eps
    )
    return y.reshape(n, c, h, w)


class CoarseLayer(nn.Module):
    """Upsample (optional), reflect-padded conv and instance norm of the fine network, run
    on pixel-unshuffled tensors at the coarse resolution."""

    def __init__(self, w: torch.Tensor, b_in: int, up: int) -> None:
        super().__init__()
        self.register_buffer("w", coarse_weight(w, b_in, up))
        self.cin, self.cout = w.shape[1], w.shape[0]
        self.b_in, self.up = b_in, up

    def forward(
        self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float
    ) -> torch.Tensor:
        x = pad_coarse(x, self.cin, self.b_in, self.up)
        return grouped_norm(F.conv2d(x, self.w), self.cout, gamma, beta, eps)


class FastMultiStyleNet(nn.Module):
    """MultiStyleNet's function, with the expand path at 1/4 resolution (module docstring)."""

    def __init__(self, net: MultiStyleNet) -> None:
        super().__init__()
        self.net = net
        e = net.expand
        self.expand = nn.ModuleList(
            [
                CoarseLayer(e[0].w.detach(), 1, 2),
                CoarseLayer(e[1].w.detach(), 2, 2),
                CoarseLayer(e[2].w.detach(), 4, 1),
            ]
        )

    @staticmethod
    def _norm(layer, x, style):
        norm = layer.norm
        gamma, beta = (style[:1] @ norm.gamma)[0], (style[:1] @ norm.beta)[0]
        return F.instance_norm(x, weight=gamma, bias=beta, eps=norm.eps)

    def _layer(self, layer, x, style):
        x = F.pad(x, (layer.pad,) * 4, mode="reflect")
        return self._norm(layer, F.conv2d(x, layer.w, stride=layer.stride), style)

    def forward(self, image: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        net, s = self.net, style_weights
        x = F.relu(self._layer(net.contract[0], image, s))
        for layer in net.contract[1:]:
            x = F.relu(self._norm(layer, strided_reflect_conv(x, layer.w), s))
        for first, second in net.res:
            x = x + self._layer(second, F.relu(self._layer(first, x, s)), s)
        for i, (fast, layer) in enumerate(zip(self.expand, net.expand, strict=True)):
            norm = layer.norm
            gamma, beta = (s[:1] @ norm.gamma)[0], (s[:1] @ norm.beta)[0]
            x = fast(x, gamma, beta, norm.eps)
            x = F.relu(x) if i < 2 else torch.sigmoid(x)
        return F.pixel_shuffle(x, 4)


class FastStyleTransformer(nn.Module):
    """StyleTransformer's function (float weights), expand path at 1/4 resolution and each
    hand-written conditional norm as one InstanceNormalization."""

    def __init__(self, net: StyleTransformer) -> None:
        super().__init__()
        if isinstance(net.input_quant, nn.Module) and not isinstance(net.input_quant, nn.Identity):
            raise ValueError("the int8-emulating transformer has no fast graph")
        self.net = net
        self.expand = nn.ModuleList(
            [
                CoarseLayer(net.expand1.conv.weight.detach(), 1, 2),
                CoarseLayer(net.expand2.conv.weight.detach(), 2, 2),
                CoarseLayer(net.expand3.conv.weight.detach(), 4, 1),
            ]
        )

    @staticmethod
    def _affine(layer, style):
        norm = layer.norm
        return norm.gamma(style[:1])[0], norm.beta(style[:1])[0], norm.eps

    def _style_layer(self, layer, x, style):
        p = layer.conv.kernel_size[0] // 2
        x = layer.conv(F.pad(x, (p, p, p, p), mode="reflect"))
        gamma, beta, eps = self._affine(layer, style)
        return F.instance_norm(x, weight=gamma, bias=beta, eps=eps)

    def forward(self, image: torch.Tensor, style_vector: torch.Tensor) -> torch.Tensor:
        net = self.net
        h, w = image.shape[-2:]
        x = F.pad(image, (0, (-w) % 4, 0, (-h) % 4), mode="reflect")
        x = net.contract3(net.contract2(net.contract1(x)))
        for block in net.residuals:
            x = x + self._style_layer(
                block.conv2, F.relu(self._style_layer(block.conv1, x, style_vector)), style_vector
            )
        layers = (net.expand1, net.expand2, net.expand3)
        for i, (fast, layer) in enumerate(zip(self.expand, layers, strict=True)):
            x = fast(x, *self._affine(layer, style_vector))
            x = F.relu(x) if i < 2 else torch.sigmoid(x)
        return F.pixel_shuffle(x, 4)[:, :, :h, :w]


FAST_MODULES = {"multistyle26": FastMultiStyleNet, "arbitrary_transformer": FastStyleTransformer}


def export_fast(name: str, module: nn.Module, plain: Path, example_inputs: tuple) -> Path | None:
    """Write the fast graph of ``module`` (loaded with weights) beside its plain ONNX file
    ``plain``, named after that file's digest; None for networks without one."""
    from ..core.engines.fast import fast_path_for, stale_fast_graphs
    from .export import export_onnx
    from .registry import ARCHS

    fast_cls = FAST_MODULES.get(name)
    if fast_cls is None:
        return None
    for old in stale_fast_graphs(plain):
        old.unlink(missing_ok=True)
    inputs, outputs, axes = ARCHS[name].onnx_io()
    target = fast_path_for(plain)
    return export_onnx(fast_cls(module.eval()), example_inputs, target, inputs, outputs, axes)
