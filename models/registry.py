"""What the engines need to know about each network family, without importing torch.

A descriptor says how to feed a network (input range, size multiple, conditioning input),
whether half precision is safe, and how to build the torch module for export or the torch
engine. User-trained generators register here too, so they run through the same pipeline.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ArchSpec:
    """One network family: its module/class and its input/output contract."""

    name: str
    module: str
    cls: str  # the class, or a function building it
    size_multiple: int
    condition: str | None = None  # name of the conditioning input, if any
    condition_size: int = 0
    input_name: str = "image"
    output_name: str = "stylized"
    half_precision: bool = True
    config: dict[str, Any] = field(default_factory=dict)

    def build(self, **overrides: Any) -> Any:
        """Instantiate the torch module (imports torch)."""
        mod = importlib.import_module(f"{__package__}.{self.module}")
        return getattr(mod, self.cls)(**{**self.config, **overrides})

    def onnx_io(self) -> tuple[list[str], list[str], dict[str, dict[int, str]]]:
        """Input names, output names and dynamic axes for export."""
        spatial = {0: "n", 2: "h", 3: "w"}
        inputs = [self.input_name] + ([self.condition] if self.condition else [])
        axes: dict[str, dict[int, str]] = {self.input_name: spatial, self.output_name: spatial}
        if self.condition:
            axes[self.condition] = {0: "n"}
        return inputs, [self.output_name], axes


ARCHS: dict[str, ArchSpec] = {
    spec.name: spec
    for spec in (
        ArchSpec("multistyle26", "multistyle", "MultiStyleNet", 4, "style_weights", 26),
        ArchSpec("arbitrary_transformer", "arbitrary", "StyleTransformer", 4, "style_vector", 100),
        ArchSpec(
            "arbitrary_predictor",
            "arbitrary",
            "StylePredictor",
            1,
            input_name="style_image",
            output_name="style_vector",
            # Runs once per job; in bf16 its style vector moved enough to cost picture
            # styles 17 dB (32 dB against fp32 output), so it always runs in fp32.
            half_precision=False,
        ),
        ArchSpec("fewshot", "fewshot_spans", "build_generator", 1),  # by arch_config
        ArchSpec(
            "selfie_segmentation",
            "selfie_segmentation",
            "SelfieSegmentation",
            1,
            output_name="matte",
            half_precision=False,  # a tiny net: fp32 ONNX Runtime is fast enough everywhere
        ),
    )
}


def get_arch(name: str) -> ArchSpec:
    try:
        return ARCHS[name]
    except KeyError:
        raise KeyError(f"unknown network architecture '{name}'") from None
