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

import math

import torch
import torch.nn.functional as F
from torch import nn

# The generator halves the resolution ``depth`` times; it pads its input to a multiple of
# 2**depth and crops the output back, so callers may pass any height and width.
DEPTHS = (2, 3)
# How the last layer becomes colour: "sigmoid" (styles trained before 2026-11), or "linear",
# clamped to [0, 1] outside training.
OUTPUTS = ("sigmoid", "linear")
# Extra inputs computed from the RGB frame inside the network: none, or Guides below.
GUIDES = ("none", "blur-gradients", "multiscale")


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


def _gaussian(sigma: float) -> torch.Tensor:
    radius = int(3 * sigma)
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    gauss = torch.exp(-0.5 * (t / sigma) ** 2)
    return (gauss / gauss.sum()).view(1, 1, 1, -1)


def _separable(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``x`` filtered per channel by the C x 1 x 1 x K ``kernel`` along both axes, borders
    replicated. (C fixed in the kernel, not read from ``x``: ONNX export needs it constant.)

    Both passes are K x 1 convolutions along columns; the row pass runs on the transposed
    frame. A per-channel 1 x K convolution along rows (the same sums) never finished compiling
    in bf16 in OpenVINO 2026.4.1's CPU plugin, nor building in torch 2.13's oneDNN (30+ min,
    AVX512-BF16 EPYC, 2026-12-02), while K x 1 built in under a second. Styles trained before
    this run it too (``gauss`` is not saved with the weights); their ONNX files keep the old
    graph, which core/engines/openvino_engine.py rewrites the same way."""
    r = kernel.shape[-1] // 2
    groups = kernel.shape[0]
    column = kernel.transpose(2, 3)
    x = F.pad(x.transpose(2, 3), (0, 0, r, r), mode="replicate")
    x = F.conv2d(x, column, groups=groups).transpose(2, 3)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), column, groups=groups)


class Guides(nn.Module):
    """Texler et al.'s extra inputs, computed inside the network so every engine feeds RGB,
    appended after the input channels.

    "blur-gradients": the frame blurred (Gaussian, sigma 3) and the horizontal and vertical
    Sobel gradients of its luma. "multiscale" adds how busy the picture is around each pixel:
    the log of the mean absolute colour difference to the next pixel, horizontally and
    vertically, over 1, 5 and 15 pixel squares. Sketch and hatching looks draw strokes
    where that is high; a network would need many layers and a wide view to measure it.
    """

    SIGMA = 3.0
    ENERGY_SIZES = (1, 5, 15)

    def __init__(self, kind: str = "blur-gradients") -> None:
        super().__init__()
        self.energy_sizes = self.ENERGY_SIZES if kind == "multiscale" else ()
        self.register_buffer(
            "gauss", _gaussian(self.SIGMA).expand(3, 1, 1, -1).contiguous(), persistent=False
        )
        sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8
        self.register_buffer("sobel", torch.stack((sobel, sobel.T))[:, None], persistent=False)
        self.register_buffer(
            "luma", torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1), persistent=False
        )

    @property
    def channels(self) -> int:
        return 5 + 2 * len(self.energy_sizes)

    def mirror_odd(self, in_channels: int) -> tuple[int, ...]:
        """Channels whose sign flips when the frame is mirrored left-right (the x gradient)."""
        return (in_channels + 3,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = x[:, :3]
        blurred = _separable(rgb, self.gauss)
        luma = (rgb * self.luma).sum(1, keepdim=True)
        gradients = F.conv2d(F.pad(luma, (1, 1, 1, 1), mode="replicate"), self.sobel)
        parts = [x, blurred, gradients]
        if self.energy_sizes:
            dx = (rgb[..., :, 1:] - rgb[..., :, :-1]).abs().sum(1, keepdim=True)
            dy = (rgb[..., 1:, :] - rgb[..., :-1, :]).abs().sum(1, keepdim=True)
            energy = torch.cat(
                (
                    F.pad(dx, (1, 0, 0, 0), mode="replicate"),
                    F.pad(dy, (0, 0, 1, 0), mode="replicate"),
                ),
                dim=1,
            )
            for size in self.energy_sizes:
                mean = energy
                if size > 1:
                    r = size // 2
                    mean = F.avg_pool2d(F.pad(energy, (r, r, r, r), mode="replicate"), size, 1)
                parts.append(_log_energy(mean))
        return torch.cat(parts, dim=1)


def _log_energy(energy: torch.Tensor) -> torch.Tensor:
    """Log scale from one 8-bit step (0) to a full black/white edge (~1)."""
    floor = 1.0 / 255
    return torch.log(energy + floor).sub(math.log(floor)).div(math.log(3 / floor))


class FewShotGenerator(nn.Module):
    """Image-to-image generator: NCHW in [0, 1] (RGB, then any guide channels) to NCHW RGB in [0, 1].

    Encoder at full, 1/2, 1/4 (and, with ``depth`` 3, 1/8) resolution, ``blocks`` residual
    blocks at the lowest, and a decoder that upsamples and concatenates the encoder features
    of each level (U-Net skips), ending with the input itself so colour detail survives.
    ``width`` is the channel count at full resolution (doubled per level up to 4x). Any
    height and width are accepted.
    """

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 16,
        blocks: int = 3,
        output: str = "sigmoid",
        guides: str = "none",
        depth: int = 2,
    ) -> None:
        super().__init__()
        if in_channels < 1 or width < 1 or blocks < 0:
            raise ValueError("in_channels and width must be positive, blocks non-negative")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}")
        if guides not in GUIDES:
            raise ValueError(f"guides must be one of {', '.join(GUIDES)}")
        if depth not in DEPTHS:
            raise ValueError(f"depth must be one of {', '.join(map(str, DEPTHS))}")
        self.in_channels = in_channels
        self.width = width
        self.blocks = blocks
        self.output = output
        self.guides_kind = guides
        self.depth = depth
        self.guides = None if guides == "none" else Guides(guides)
        c = width
        widths = [c * min(4, 2**level) for level in range(depth + 1)]  # c, 2c, 4c, 4c
        self.act = nn.LeakyReLU(0.2)
        self.head = _conv(in_channels + (0 if self.guides is None else self.guides.channels), c, 5)
        # Named down1.., up1.. as before depth existed, so older styles' weights still load.
        for level in range(1, depth + 1):
            self.add_module(f"down{level}", _conv(widths[level - 1], widths[level], 3, stride=2))
        self.body = nn.Sequential(*(ResidualBlock(widths[-1]) for _ in range(blocks)))
        # Decoder convolutions run at the lower resolution, then upsample: 4x cheaper than
        # upsampling first, and the next level's convolution smooths the interpolation.
        for level in range(1, depth + 1):
            self.add_module(f"up{level}", _conv(2 * widths[level], widths[level - 1], 3))
        self.tail = _conv(2 * c + in_channels, c, 3)
        self.out = nn.Conv2d(c, 3, 1)

    @property
    def size_multiple(self) -> int:
        return 2**self.depth

    @property
    def arch_config(self) -> dict[str, int | str]:
        """The constructor arguments, as stored with a trained style."""
        config = {"in_channels": self.in_channels, "width": self.width, "blocks": self.blocks}
        # Styles trained before these options existed load unchanged.
        if self.output != "sigmoid":
            config["output"] = self.output
        if self.guides is not None:
            config["guides"] = self.guides_kind
        if self.depth != 2:
            config["depth"] = self.depth
        return config

    def guide(self, x: torch.Tensor) -> torch.Tensor:
        """The input with its guide channels appended: what ``styled`` takes."""
        return x if self.guides is None else self.guides(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2], x.shape[-1]
        return self.styled(self.guide(self._pad(x)))[:, :, :height, :width]

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` padded to a multiple of the size the levels need, edges replicated.

        Always padded (possibly by zero) so a traced ONNX graph computes the padding from
        the input's shape instead of baking in the example's."""
        m = self.size_multiple
        height, width = x.shape[-2], x.shape[-1]
        return F.pad(x, (0, (m - width % m) % m, 0, (m - height % m) % m), mode="replicate")

    def styled(self, guided: torch.Tensor) -> torch.Tensor:
        """The network proper, on an input whose guides were computed already (training
        computes them once on whole keyframes, so a patch's guides are those of the frame)."""
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
