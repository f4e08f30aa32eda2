"""Round 19: edge-aware span guides for keyframe-trained styles (``generator_spans``).

The spans are checked against a brute-force count, for mirror symmetry (training mirrors
patches), through ONNX Runtime at sizes other than the export's, and through a short
training run to the style folder and back.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from restyle.core.errors import RestyleError  # noqa: E402
from restyle.core.train.artifact import load_generator, write_trained_style  # noqa: E402
from restyle.core.train.trainer import TrainConfig, train_style  # noqa: E402
from restyle.models.fewshot import FewShotGenerator  # noqa: E402
from restyle.models.fewshot_spans import (  # noqa: E402
    SpanGenerator,
    row_spans,
    span_guides,
)


def _brute_force(image: np.ndarray, edge_cost: float, radius: int) -> np.ndarray:
    """The count of pixels along each row within ``radius`` of domain-transform distance."""
    step = np.abs(np.diff(image, axis=2)).sum(0)
    distance = np.cumsum(1 + np.float32(edge_cost) * np.pad(step, ((0, 0), (1, 0))), axis=1)
    height, width = distance.shape
    count = np.zeros((height, width))
    for y in range(height):
        for x in range(width):
            near = np.abs(np.arange(width) - x) <= radius
            count[y, x] = (near & (np.abs(distance[y] - distance[y, x]) <= radius)).sum()
    return count


def _blocky(height: int, width: int, seed: int = 0) -> np.ndarray:
    """3 x H x W float32 in [0, 1]: flat blocks of random colour, edges between them."""
    rng = np.random.default_rng(seed)
    blocks = rng.random((3, height // 3 + 1, width // 3 + 1))
    return np.ascontiguousarray(blocks.repeat(3, 1).repeat(3, 2)[:, :height, :width], np.float32)


@pytest.mark.parametrize("edge_cost, radius", [(100.0, 8), (1000.0, 32), (10.0, 3), (0.0, 5)])
def test_row_spans_count_the_pixels_within_the_distance(edge_cost, radius):
    image = _blocky(5, 41)
    (got,) = row_spans(torch.from_numpy(image)[None], ((edge_cost, radius),))
    want = _brute_force(image, edge_cost, radius)
    np.testing.assert_allclose(got[0, 0].numpy() * (2 * radius + 1), want)


def test_flat_rows_span_the_whole_radius_and_edges_cut_them():
    image = np.full((3, 4, 60), 0.5, np.float32)
    image[:, :, 30:] = 0.9  # an edge between x = 29 and 30
    (span,) = row_spans(torch.from_numpy(image)[None], ((1000.0, 8),))
    counts = span[0, 0, 0].numpy() * 17
    assert counts[15] == 17  # flat both ways
    assert counts[0] == 9  # the frame's border cuts it
    assert counts[29] == 9 and counts[30] == 9  # the edge cuts it


def test_span_guides_are_mirror_symmetric_and_columns_are_transposed_rows():
    image = torch.from_numpy(_blocky(24, 30, seed=1))[None]
    guides = span_guides(image)
    mirrored = span_guides(image.flip(-1)).flip(-1)
    torch.testing.assert_close(guides, mirrored, rtol=0, atol=0)
    transposed = span_guides(image.transpose(-1, -2)).transpose(-1, -2)
    torch.testing.assert_close(guides[:, 0::2], transposed[:, 1::2], rtol=0, atol=0)


def test_span_generator_exports_to_onnx_for_any_size(tmp_path):
    import onnxruntime as ort

    from restyle.models.export import export_onnx

    torch.manual_seed(0)
    generator = SpanGenerator(3, 4, 1, "linear", "spans", 3).eval()
    path = export_onnx(
        generator,
        (torch.rand(1, 3, 64, 64),),
        tmp_path / "spans.onnx",
        ["image"],
        ["stylized"],
        {"image": {0: "n", 2: "h", 3: "w"}, "stylized": {0: "n", 2: "h", 3: "w"}},
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for height, width in ((61, 83), (120, 300)):
        image = torch.from_numpy(_blocky(height, width, seed=height))[None]
        with torch.inference_mode():
            want = generator(image).numpy()
        (got,) = session.run(["stylized"], {"image": image.numpy()})
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-4


def _frames() -> list[np.ndarray]:
    return [(_blocky(48, 64, seed=s).transpose(1, 2, 0) * 255).astype(np.uint8) for s in (2, 3)]


def _spans_config(iterations: int) -> TrainConfig:
    """A spans generator 4 wide, trained ``iterations`` steps on 16-px patches."""
    return TrainConfig(
        threads=1,
        time_budget_s=60,
        clock="cpu",
        max_iterations=iterations,
        patch_size=16,
        generator_width=4,
        generator_blocks=1,
        val_every=min(10, iterations),
        generator_spans=True,
    )


def _saved(result, folder):
    kept = dict(source="clip.mp4", keyframes=[0, 1], thumbnail=np.zeros((32, 64, 3), np.uint8))
    return write_trained_style(folder, result, name="Spans", **kept)


def test_span_setting_trains_saves_and_loads_the_span_generator(tmp_path):
    frames = _frames()
    pairs = [(f, 255 - f) for f in frames]
    config = _spans_config(30)
    result = train_style(pairs, config=config)
    assert result.arch_config["guides"] == "spans"
    folder = _saved(result, tmp_path / "spans")
    generator = load_generator(folder)
    assert isinstance(generator, SpanGenerator)
    image = torch.from_numpy(frames[0].transpose(2, 0, 1)[None].astype(np.float32) / 255)
    plain = train_style(pairs, config=replace(config, generator_spans=False))
    assert plain.arch_config["guides"] == TrainConfig().generator_guides  # round 23: a span
    with torch.inference_mode():
        assert generator(image).shape == (1, 3, 48, 64)


def test_the_torch_engine_builds_a_spans_style(tmp_path):
    """The torch engine builds a trained style from the registry's ``fewshot`` entry and
    the style's ``arch_config``: a spans style was built as a plain generator and failed to
    load its weights (``--backend torch``)."""
    from restyle.core.engines.torch_engine import TorchEngine
    from restyle.core.train.artifact import WEIGHTS_FILE
    from restyle.models.registry import get_arch

    frames = _frames()
    result = train_style([(f, 255 - f) for f in frames], config=_spans_config(5))
    folder = _saved(result, tmp_path / "spans")
    engine = TorchEngine(
        get_arch("fewshot"), folder / WEIGHTS_FILE, "cpu", "fp32", config=result.arch_config
    )
    image = frames[0].transpose(2, 0, 1)[None].astype(np.float32) / 255
    with torch.inference_mode():
        expected = load_generator(folder)(torch.from_numpy(image)).numpy()
    assert np.abs(engine.run(image) - expected).max() < 1e-5


def test_spans_are_off_by_default_and_need_guides():
    assert TrainConfig().generator_spans is False
    assert issubclass(SpanGenerator, FewShotGenerator)
    with pytest.raises(RestyleError, match="generator_spans needs generator_guides"):
        TrainConfig(generator_spans=True, generator_guides="none")
