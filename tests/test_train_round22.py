"""Round 22: one long span on a log scale (``generator_guides="spans-128-log"``).

A pencil sketch shades each pixel by how far the picture runs along its row and column
before an edge: OpenCV's pencilSketch is 0.05 x the count of such pixels, clipped to white.
The guide for it is one span at edge cost 1000 and radius 128, given as log(count) /
log(257) so the small counts near edges (the strokes) are not squeezed into the bottom
8 % of the channel. Checked: the values by hand and against a brute-force count, that the
earlier ladders keep their linear scale (their styles load and style as before), the ONNX
export, and a style trained with the setting saved, rebuilt and styling through ONNX Runtime.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_train_spans_round20 import trained_span_style  # noqa: E402
from test_train_variant_round19 import _brute_force  # noqa: E402  (the round-19 reference)

from restyle.core.train import trainer  # noqa: E402
from restyle.core.train.artifact import load_generator  # noqa: E402
from restyle.core.train.trainer import TrainConfig  # noqa: E402
from restyle.models.fewshot_spans import (  # noqa: E402
    LONG_SPANS,
    NEAR_SPANS,
    SPAN_SETS,
    SpanGenerator,
    SpanGuides,
    build_generator,
    row_spans,
    span_guides,
)


def _edge_frame() -> torch.Tensor:
    """1 x 3 x 4 x 40: grey, and from x = 12 on 0.1 lighter in every channel (a step of
    0.3 summed: 1 + 1000 x 0.3 = 301, past the radius 128), and from x = 30 on 0.01 more
    (a faint edge: 1 + 1000 x 0.03 = 31, within it)."""
    image = torch.full((1, 3, 4, 40), 0.5)
    image[..., 12:] = 0.6
    image[..., 30:] = 0.61
    return image


def test_the_long_span_on_a_log_scale_by_hand():
    guides = SpanGuides("spans-128-log")
    assert guides.spans == LONG_SPANS == ((1000.0, 128),)
    assert guides.channels == 11 + 2  # the multiscale guides, then the row and column span
    out = guides(_edge_frame())
    assert out.shape == (1, 3 + 13, 4, 40)
    row, column = out[0, 14, 0], out[0, 15, 0]
    scale = math.log(257)
    # x = 0..11: the strong edge stops every count, the border the other side: 12 pixels.
    for x in (0, 5, 11):
        assert row[x].item() == pytest.approx(math.log(12) / scale, abs=1e-6)
    # x = 12..39: the faint edge costs 31 (plus 1 a pixel): all 28 pixels lie within 128.
    for x in (12, 29, 30, 39):
        assert row[x].item() == pytest.approx(math.log(28) / scale, abs=1e-6)
    # Columns: 4 flat rows, every pixel counts all 4.
    np.testing.assert_allclose(column.numpy(), math.log(4) / scale, rtol=1e-6)
    # A pixel alone between two strong edges is 0, a whole flat radius each way is 1.
    lone = torch.full((1, 3, 1, 300), 0.2)
    lone[..., 150] = 0.9
    (span,) = row_spans(lone, LONG_SPANS, log=True)
    assert span[0, 0, 0, 150].item() == 0.0
    assert span[0, 0, 0, 0].item() == pytest.approx(math.log(129) / scale)
    long_flat = torch.full((1, 3, 1, 600), 0.3)
    assert row_spans(long_flat, LONG_SPANS, log=True)[0][0, 0, 0, 300].item() == pytest.approx(1)


def test_the_log_counts_are_the_logs_of_the_brute_force_counts():
    rng = np.random.default_rng(5)
    image = (rng.integers(0, 6, (3, 5, 300)) / 255).astype(np.float32)  # faint noise
    image[:, :, 100:] += 0.3  # and a strong edge
    image[:, 1:3, 110:300] = 0.8  # a long flat stretch
    (got,) = row_spans(torch.from_numpy(image)[None], LONG_SPANS, log=True)
    want = np.log(_brute_force(image, 1000.0, 128)) / math.log(257)
    np.testing.assert_allclose(got[0, 0].numpy(), want, atol=1e-6)
    assert want.min() < 0.3 and want.max() > 0.9  # both ends of the scale are exercised


def test_the_earlier_ladders_keep_their_linear_scale():
    """Styles trained before round 22 rebuild the guides they were trained with."""
    frame = _edge_frame()
    for kind in ("spans", "spans-8-32", "spans-8"):
        guides = SpanGuides(kind)
        assert not guides.fp32.log
        np.testing.assert_array_equal(
            guides(frame)[:, 14:].numpy(), span_guides(frame, SPAN_SETS[kind]).numpy()
        )
    (near,) = row_spans(frame, NEAR_SPANS[:1])
    assert near[0, 0, 0, 11].item() * 17 == pytest.approx(9)  # count / 17, not its log
    assert SpanGuides("spans-128-log").fp32.log


def test_the_setting_names_the_ladder():
    assert "spans-128-log" in trainer.SPAN_GUIDES == tuple(SPAN_SETS)
    assert TrainConfig(generator_guides="spans-128-log").generator_guides == "spans-128-log"


def test_a_long_span_generator_exports_to_onnx_for_any_size(tmp_path):
    import onnxruntime as ort

    from restyle.models.export import export_onnx

    torch.manual_seed(0)
    generator = SpanGenerator(3, 4, 1, "linear", "spans-128-log", 3).eval()
    assert generator.head[1].in_channels == 3 + 13
    axes = {0: "n", 2: "h", 3: "w"}
    path = export_onnx(
        generator,
        (torch.rand(1, 3, 64, 64),),
        tmp_path / "long.onnx",
        ["image"],
        ["stylized"],
        {"image": axes, "stylized": axes},
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    for height, width in ((61, 83), (90, 300)):
        blocks = rng.random((1, 3, height // 5 + 1, width // 5 + 1)).astype(np.float32)
        image = np.ascontiguousarray(blocks.repeat(5, 2).repeat(5, 3)[..., :height, :width])
        with torch.inference_mode():
            want = generator(torch.from_numpy(image)).numpy()
        (got,) = session.run(["stylized"], {"image": image})
        assert got.shape == want.shape == (1, 3, height, width)
        assert np.abs(got - want).max() <= 1e-4


def test_a_long_span_style_trains_rebuilds_and_styles_frames(tmp_path):
    import onnxruntime as ort

    frames, result, folder, _ = trained_span_style(tmp_path, "spans-128-log", "Long")
    generator = load_generator(folder)
    assert isinstance(generator, SpanGenerator) and generator.guides.spans == LONG_SPANS
    assert generator.guides.fp32.log
    assert type(build_generator(**result.arch_config)) is SpanGenerator

    images = [f.transpose(2, 0, 1)[None].astype(np.float32) / 255 for f in frames]
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for image in images:
        with torch.inference_mode():
            want = generator(torch.from_numpy(image)).numpy()
        assert np.abs(session.run(None, {name: image})[0] - want).max() < 1e-4
