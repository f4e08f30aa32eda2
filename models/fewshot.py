"""Networks for styles learned from a few painted keyframes.

After Texler et al. 2020, "Interactive Video Stylization Using Few-Shot Patch-Based
Training": a small fully convolutional U-Net-like generator trained on patches of the
keyframes, and a PatchGAN critic it trains against. Both are sized to train and run on a
laptop CPU.

Neither network has normalisation layers. Batch or instance statistics taken over 32-pixel
training patches differ from those of a whole frame, so a normalised network trained on
patches behaves differently at inference; without them, the generator computes exactly the
same function on a patch as on the same pixels inside a frame (away from the borders), and it
exports to ONNX as plain convolutions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# The generator halves the resolution twice; it pads its input to this multiple and crops
# the output back, so callers may pass any height and width.
SIZE_MULTIPLE = 4
# How the last layer becomes colour: "sigmoid" (styles trained before 2026-11), or "linear",
# clamped to [0, 1] outside training.
OUTPUTS = ("sigmoid", "linear")
# Extra inputs computed from the RGB frame inside the network: none, or Guides below.
GUIDES = ("none", "blur-gradients")


def _conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    """Convolution with edge-replicating padding: borders see their own colour, not black,
    and (unlike reflection) it works down to 1x1 feature maps, so any frame size is fine."""
    return nn.Sequential(
        nn.ReplicationPad2d(kernel_size // 2),
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride),
    )


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _conv(channels, channels, 3)
        self.conv2 = _conv(channels, channels, 3)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class Guides(nn.Module):
    """Texler et al.'s extra inputs, computed inside the network so every engine feeds RGB:
    the frame blurred (Gaussian, sigma 3) and the horizontal and vertical Sobel gradients of
    its luma, appended after the input channels."""

    CHANNELS = 5
    SIGMA = 3.0

    def __init__(self) -> None:
        super().__init__()
        radius = int(3 * self.SIGMA)
        t = torch.arange(-radius, radius + 1, dtype=torch.float32)
        gauss = torch.exp(-0.5 * (t / self.SIGMA) ** 2)
        self.register_buffer("gauss", (gauss / gauss.sum()).view(1, 1, 1, -1), persistent=False)
        sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8
        self.register_buffer("sobel", torch.stack((sobel, sobel.T))[:, None], persistent=False)
        self.register_buffer(
            "luma", torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = x[:, :3]
        r = self.gauss.shape[-1] // 2
        kx = self.gauss.expand(3, 1, 1, -1)
        blurred = F.conv2d(F.pad(rgb, (r, r, 0, 0), mode="replicate"), kx, groups=3)
        blurred = F.conv2d(
            F.pad(blurred, (0, 0, r, r), mode="replicate"), kx.transpose(2, 3), groups=3
        )
        luma = (rgb * self.luma).sum(1, keepdim=True)
        gradients = F.conv2d(F.pad(luma, (1, 1, 1, 1), mode="replicate"), self.sobel)
        return torch.cat((x, blurred, gradients), dim=1)


class FewShotGenerator(nn.Module):
    """Image-to-image generator: NCHW in [0, 1] (RGB, then any guide channels) to NCHW RGB in [0, 1].

    Encoder at full, 1/2 and 1/4 resolution, ``blocks`` residual blocks at 1/4, and a decoder
    that upsamples and concatenates the encoder features of each level (U-Net skips), ending
    with the input itself so colour detail survives. ``width`` is the channel count at full
    resolution (doubled per level). Any height and width are accepted.
    """

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 16,
        blocks: int = 3,
        output: str = "sigmoid",
        guides: str = "none",
    ) -> None:
        super().__init__()
        if in_channels < 1 or width < 1 or blocks < 0:
            raise ValueError("in_channels and width must be positive, blocks non-negative")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}")
        if guides not in GUIDES:
            raise ValueError(f"guides must be one of {', '.join(GUIDES)}")
        self.in_channels = in_channels
        self.width = width
        self.blocks = blocks
        self.output = output
        self.guides = Guides() if guides == "blur-gradients" else None
        c = width
        self.act = nn.LeakyReLU(0.2)
        self.head = _conv(in_channels + (0 if self.guides is None else Guides.CHANNELS), c, 5)
        self.down1 = _conv(c, 2 * c, 3, stride=2)
        self.down2 = _conv(2 * c, 4 * c, 3, stride=2)
        self.body = nn.Sequential(*(ResidualBlock(4 * c) for _ in range(blocks)))
        # Decoder convolutions run at the lower resolution, then upsample: 4x cheaper than
        # upsampling first, and the next level's convolution smooths the interpolation.
        self.up2 = _conv(8 * c, 2 * c, 3)
        self.up1 = _conv(4 * c, c, 3)
        self.tail = _conv(2 * c + in_channels, c, 3)
        self.out = nn.Conv2d(c, 3, 1)

    @property
    def arch_config(self) -> dict[str, int | str]:
        """The constructor arguments, as stored with a trained style."""
        config = {"in_channels": self.in_channels, "width": self.width, "blocks": self.blocks}
        # Styles trained before these options existed load unchanged.
        if self.output != "sigmoid":
            config["output"] = self.output
        if self.guides is not None:
            config["guides"] = "blur-gradients"
        return config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2], x.shape[-1]
        # Always pad (possibly by zero) so a traced ONNX graph computes the padding from the
        # input's shape instead of baking in the example's.
        pad_h = (SIZE_MULTIPLE - height % SIZE_MULTIPLE) % SIZE_MULTIPLE
        pad_w = (SIZE_MULTIPLE - width % SIZE_MULTIPLE) % SIZE_MULTIPLE
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")

        full = self.act(self.head(x if self.guides is None else self.guides(x)))
        half = self.act(self.down1(full))
        quarter = self.act(self.down2(half))
        y = self.body(quarter)
        y = self.act(self.up2(torch.cat((y, quarter), dim=1)))
        y = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
        y = self.act(self.up1(torch.cat((y, half), dim=1)))
        y = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
        y = self.act(self.tail(torch.cat((y, full, x), dim=1)))
        y = self.out(y)[:, :, :height, :width]
        if self.output == "sigmoid":
            return torch.sigmoid(y)
        # Linear: no saturated sigmoid to kill the gradient where the target is white paper
        # or black ink; the range is enforced only outside training.
        return y if self.training else y.clamp(0, 1)


class PatchDiscriminator(nn.Module):
    """PatchGAN critic: one realism score per overlapping 34-pixel window of a styled patch.

    Unconditional (it sees only styled pixels): the L1 term already ties outputs to their
    sources, the critic only judges whether texture and strokes look like the keyframes'.
    """

    def __init__(self, in_channels: int = 3, width: int = 16) -> None:
        super().__init__()
        c = width
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, c, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * c, 4 * c, 4, stride=1, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(4 * c, 1, 4, stride=1, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
