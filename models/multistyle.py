"""The 26-style network of Dumoulin et al. 2017, "A Learned Representation for Artistic Style".

One image transformation network whose instance norms are *conditional*: every norm layer
holds a (gamma, beta) pair per style, and a style is a weight vector over the 26 pairs, so
styles can be mixed. Input and output are NCHW RGB in [0, 1]; height and width must be
multiples of 4 (the engines reflect-pad to that).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NUM_STYLES = 26


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose scale and shift are a weighted mix of per-style parameters."""

    def __init__(self, channels: int, num_styles: int = NUM_STYLES, eps: float = 1e-5) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(num_styles, channels))
        self.beta = nn.Parameter(torch.zeros(num_styles, channels))
        self.eps = eps

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        gamma = (style_weights @ self.gamma)[:, :, None, None]
        beta = (style_weights @ self.beta)[:, :, None, None]
        return F.instance_norm(x, eps=self.eps) * gamma + beta


class ConvNormLayer(nn.Module):
    """Optional nearest 2x upsampling, reflection padding, convolution, conditional norm."""

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int = 1, upsample: bool = False
    ) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(cout, cin, kernel, kernel))
        self.norm = ConditionalInstanceNorm(cout)
        self.stride = stride
        self.pad = kernel // 2
        self.upsample = upsample

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = F.pad(x, (self.pad,) * 4, mode="reflect")
        return self.norm(F.conv2d(x, self.w, stride=self.stride), style_weights)


class MultiStyleNet(nn.Module):
    """Contract (3 layers), 6 residual blocks, expand (3 layers), sigmoid."""

    def __init__(self, channels: int = 32, residual_blocks: int = 6) -> None:
        super().__init__()
        c = channels
        self.contract = nn.ModuleList(
            [ConvNormLayer(3, c, 9), ConvNormLayer(c, c, 3, 2), ConvNormLayer(c, c, 3, 2)]
        )
        self.res = nn.ModuleList(
            nn.ModuleList([ConvNormLayer(c, c, 3), ConvNormLayer(c, c, 3)])
            for _ in range(residual_blocks)
        )
        self.expand = nn.ModuleList(
            [
                ConvNormLayer(c, c // 4, 3, upsample=True),
                ConvNormLayer(c // 4, c // 8, 3, upsample=True),
                ConvNormLayer(c // 8, 3, 9),
            ]
        )

    def forward(self, image: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        """``image`` [N,3,H,W] in [0,1], ``style_weights`` [N,26] → stylised [N,3,H,W]."""
        x = image
        for layer in self.contract:
            x = F.relu(layer(x, style_weights))
        for first, second in self.res:
            x = x + second(F.relu(first(x, style_weights)), style_weights)
        x = F.relu(self.expand[0](x, style_weights))
        x = F.relu(self.expand[1](x, style_weights))
        return torch.sigmoid(self.expand[2](x, style_weights))
