"""MediaPipe's selfie segmentation network (Apache-2.0), as a PyTorch module.

A MobileNetV3-style encoder (inverted residuals, squeeze-excite, hard-swish) at strides 2..16,
an LR-ASPP head, and a decoder that upsamples ×2 three times, each time gating the encoder's
skip features with a squeeze-excite of their sum. Input: RGB in [0, 1], NCHW, 256×256 (the
general model) or 144×256 (the landscape model). Output: person probability, N×1×H×W.

Convolutions use TensorFlow's "SAME" padding (one pixel more at the bottom/right for even
sizes at stride 2), so the port reproduces the original network exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# (in, expanded, out, kernel, stride, hard-swish, squeeze-excite channels or 0)
ENCODER = (
    (16, 16, 16, 3, 2, False, 8),
    (16, 72, 24, 3, 2, False, 0),
    (24, 88, 24, 3, 1, False, 0),
    (24, 96, 32, 5, 2, True, 24),
    (32, 128, 32, 5, 1, True, 32),
    (32, 128, 32, 5, 1, True, 32),
    (32, 96, 32, 5, 1, True, 24),
    (32, 96, 32, 5, 1, True, 24),
)
SKIPS = (0, 2)  # encoder blocks whose outputs feed the decoder (strides 4 and 8)


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow 'SAME' padding: out = ceil(in / stride), the odd pixel at the bottom/right."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        size = int(size)
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, squeezed: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.expand(F.relu(self.reduce(x.mean((2, 3), keepdim=True)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class InvertedResidual(nn.Module):
    def __init__(self, cin, expanded, cout, kernel, stride, hard, squeezed) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.act = F.hardswish if hard else F.relu
        self.expand = nn.Conv2d(cin, expanded, 1)
        self.depthwise = nn.Conv2d(expanded, expanded, kernel, stride, groups=expanded)
        self.se = SqueezeExcite(expanded, squeezed) if squeezed else None
        self.project = nn.Conv2d(expanded, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.expand(x))
        y = self.act(self.depthwise(same_pad(y, self.kernel, self.stride)))
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + y if self.residual else y


class DecoderStage(nn.Module):
    """×2 upsampling; the skip features are gated by a squeeze-excite of skip + upsampled."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(cin, cout, 1)
        self.gate = SqueezeExcite(cout, cout)
        self.refine = nn.Conv2d(cout, cout, 1)
        self.refine_depthwise = nn.Conv2d(cout, cout, 3, groups=cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        x = self.project(x)
        y = skip * self.gate.gate(skip + x) + x
        y = F.relu(self.refine(y))
        return y + F.relu(self.refine_depthwise(same_pad(y, 3, 1)))


class SelfieSegmentation(nn.Module):
    """RGB [0, 1] → person probability at the input's size (256×256 or 144×256)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 2)
        self.encoder = nn.ModuleList(InvertedResidual(*spec) for spec in ENCODER)
        self.head_features = nn.Conv2d(32, 128, 1)
        self.head_gate = nn.Conv2d(32, 128, 1)
        self.decoder = nn.ModuleList(
            [DecoderStage(128, 24), DecoderStage(24, 16), DecoderStage(16, 16)]
        )
        self.segment = nn.ConvTranspose2d(16, 1, 2, 2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.hardswish(self.stem(same_pad(image, 3, 2)))
        skips = [x]
        for i, block in enumerate(self.encoder):
            x = block(x)
            if i in SKIPS:
                skips.append(x)
        gate = torch.sigmoid(self.head_gate(x.mean((2, 3), keepdim=True)))
        x = F.relu(self.head_features(x)) * gate
        for stage, skip in zip(self.decoder, reversed(skips), strict=True):
            x = stage(x, skip)
        return torch.sigmoid(self.segment(x))
