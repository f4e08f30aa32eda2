"""What the engines need to know about each network family, without importing torch.

A descriptor says how to feed a network (input range, size multiple, conditioning input),
whether half precision is safe, and how to build the torch module for export or the torch
engine. User-trained generators register here too, so they run through the same pipeline.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

# The arch_config "guides" of the few-shot generators whose span guides
# (models/fewshot_spans.py SPAN_SETS, named here without importing torch) run in fp32 only;
# the one table of their names (core/train/trainer.py checks its settings against it).
SPAN_GUIDES = ("spans", "spans-8-32", "spans-8", "spans-128-log")


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
    fp32_guides: tuple[str, ...] = ()  # a style's arch_config "guides" that rule half out
    # Whether auto takes bf16 on the CPU for this network's plain ONNX graph (no fast graph):
    # a built-in's plain graph is a library converted before its fast graph, kept as measured
    # then (f32); a trained style never has a fast graph, and its plain one runs bf16 (OpenVINO
    # rewrites an old export's row blur: openvino_engine.columns_for_rows). The rule that reads
    # these facts: core/engines/cpu.py ``cpu_bf16``. (A ``cpu_bf16`` switch here kept few-shot
    # generators off bf16 on the CPU until their guides' 1xK row blur, which neither OpenVINO
    # 2026.4.1 nor torch 2.13's oneDNN finished building in bf16, became a Kx1 one, dc51b71;
    # true for every network since, it went.)
    plain_bf16: bool = False

    def fp32_only(self, config: dict[str, Any] | None = None) -> str:
        """Why this network, with a style's ``arch_config``, runs in fp32 whatever precision
        is asked; "" where bf16/fp16 may run (each engine still checks it against fp32).

        Span styles: the search itself runs in fp32 inside the network, but a half-precision
        engine rounds the input before it (8-bit k/255 levels are not exact in fp16 or bf16),
        and the rounded steps moved span maps by up to 0.06 (a smooth 8-bit 640x360
        frame, fp16 or bf16) and 0.118 (a reviewer's footage). OpenVINO on the CPU lifts
        it for span styles: it holds the search and its input in f32 inside a bf16 network
        (``core.engines.openvino_engine.hold_span_search``)."""
        if not self.half_precision:
            return "this network runs in fp32 only"
        if (config or {}).get("guides") in self.fp32_guides:
            return "a style with span guides runs in fp32 only"
        return ""

    def allows_half(self, config: dict[str, Any] | None = None) -> bool:
        """Whether auto may pick bf16/fp16 for this network with this ``arch_config``."""
        return not self.fp32_only(config)

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
        # built by arch_config; span-guided styles run in fp32 (fp32_only)
        ArchSpec(
            "fewshot",
            "fewshot_spans",
            "build_generator",
            1,
            fp32_guides=SPAN_GUIDES,
            plain_bf16=True,
        ),
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
