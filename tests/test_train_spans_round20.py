"""Round 20: the short span ladder (``generator_guides="spans-8-32"``).

The span guides at edge costs 100 and 1000 and radii 8 and 32 only (8 channels, against
the full ladder's 12 with radius 128 too), computed by a cheaper binary search (walls
instead of bounds checks). Checked: the values on a tiny frame by hand, the search against
a brute-force count, the ONNX export against torch at sizes other than the export's, and a
style trained with the setting saved, rebuilt and styling frames through `restyle
stylize`'s path (ONNX Runtime).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_train_variant_round19 import _brute_force  # noqa: E402  (the round-19 reference)

from restyle.core.errors import RestyleError  # noqa: E402
from restyle.core.train import trainer  # noqa: E402
from restyle.core.train.artifact import load_generator, write_trained_style  # noqa: E402
from restyle.core.train.trainer import TrainConfig, train_style  # noqa: E402
from restyle.models.fewshot_spans import (  # noqa: E402
    SHORT_SPANS,
    SPAN_SETS,
    SpanGenerator,
    SpanGuides,
    build_generator,
    row_spans,
)


def _edge_frame() -> torch.Tensor:
    """1 x 3 x 4 x 24: flat grey, and from x = 12 on 0.015 lighter in every channel (a
    step of 0.045 summed: it costs 1 + 100 x 0.045 = 5.5 at edge cost 100, 46 at 1000)."""
    image = torch.full((1, 3, 4, 24), 0.5)
    image[..., 12:] = 0.515
    return image


def test_short_guides_on_a_tiny_frame():
    guides = SpanGuides("spans-8-32")
    assert guides.spans == SHORT_SPANS == ((100.0, 8), (100.0, 32), (1000.0, 8), (1000.0, 32))
    assert guides.channels == 11 + 8  # the multiscale guides, then rows and columns
    out = guides(_edge_frame())
    assert out.shape == (1, 3 + 19, 4, 24)
    spans = out[0, 14:, 0]  # row 0; per (cost, radius): the row span, then the column span
    # x = 11, left of the faint edge. Edge cost 100, radius 8: 8 pixels back (flat), and
    # forward the edge (5.5) and 2 more pixels (6.5, 7.5) before 8.5 > 8: 3; 12 of 17.
    assert spans[0, 11] * 17 == pytest.approx(12)
    # Radius 32: 11 back (the frame's border), the 12 pixels to the border forward: 24 of 65.
    assert spans[2, 11] * 65 == pytest.approx(24)
    # Edge cost 1000: the edge (46) stops both radii: 9 of 17 and 12 of 65.
    assert spans[4, 11] * 17 == pytest.approx(9)
    assert spans[6, 11] * 65 == pytest.approx(12)
    # x = 4: 4 back to the border, 7 on to the edge (12.5 away): 12 of 17.
    assert spans[0, 4] * 17 == pytest.approx(12)
    # x = 20, edge cost 1000: 8 back (flat to x = 12), 3 on to the border: 12 of 17.
    assert spans[4, 20] * 17 == pytest.approx(12)
    # Columns: 4 flat rows, every pixel counts them all, at any cost.
    for channel, radius in ((1, 8), (3, 32), (5, 8), (7, 32)):
        np.testing.assert_allclose(spans[channel].numpy() * (2 * radius + 1), 4, rtol=1e-6)


def test_the_walled_search_counts_as_brute_force_does():
    rng = np.random.default_rng(4)
    image = (rng.integers(0, 4, (3, 6, 90)) / 4).astype(np.float32)  # ties and flat runs
    image[:, 2:4, 20:70] = 0.5
    got = row_spans(torch.from_numpy(image)[None], SHORT_SPANS + ((1.0, 1), (0.0, 64)))
    for (cost, radius), span in zip(SHORT_SPANS + ((1.0, 1), (0.0, 64)), got, strict=True):
        want = _brute_force(image, cost, radius)
        np.testing.assert_allclose(span[0, 0].numpy() * (2 * radius + 1), want)


def test_short_span_generator_exports_to_onnx_for_any_size(tmp_path):
    import onnxruntime as ort

    from restyle.models.export import export_onnx

    torch.manual_seed(0)
    generator = SpanGenerator(3, 4, 1, "linear", "spans-8-32", 3).eval()
    assert generator.head[1].in_channels == 3 + 19
    path = export_onnx(
        generator,
        (torch.rand(1, 3, 64, 64),),
        tmp_path / "short.onnx",
        ["image"],
        ["stylized"],
        {"image": {0: "n", 2: "h", 3: "w"}, "stylized": {0: "n", 2: "h", 3: "w"}},
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


def test_the_settings_name_the_ladders_the_generator_knows():
    assert trainer.SPAN_GUIDES == tuple(SPAN_SETS)
    assert TrainConfig(generator_guides="spans-8-32").generator_guides == "spans-8-32"
    with pytest.raises(RestyleError, match="generator_guides must be one of"):
        TrainConfig(generator_guides="long-spans")
    with pytest.raises(RestyleError, match="generator_spans needs generator_guides"):
        TrainConfig(generator_spans=True, generator_guides="spans-8")  # one ladder at a time
    with pytest.raises(ValueError, match="guides are one of"):
        SpanGenerator(guides="multiscale")


def _frames() -> list[np.ndarray]:
    rng = np.random.default_rng(2)
    out = []
    for _ in range(2):
        blocks = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
        out.append(np.ascontiguousarray(blocks.repeat(3, 0).repeat(3, 1)[:48, :64]))
    return out


def trained_span_style(tmp_path, guides: str, name: str):
    """(frames, result, folder, library): a tiny style of ``guides`` trained on ``_frames``
    (inverted) and saved in a library under ``tmp_path``."""
    from restyle.core.styles import StyleLibrary

    frames = _frames()
    config = TrainConfig(
        threads=1,
        time_budget_s=60,
        clock="cpu",
        max_iterations=20,
        patch_size=16,
        generator_width=4,
        generator_blocks=1,
        val_every=10,
        generator_guides=guides,
    )
    result = train_style([(f, 255 - f) for f in frames], config=config)
    assert result.arch_config["guides"] == guides
    library = StyleLibrary(tmp_path / "library", bundled=None)
    folder = write_trained_style(
        library.trained_folder(name),
        result,
        name=name,
        source="clip.mp4",
        keyframes=[0, 1],
        thumbnail=np.zeros((32, 64, 3), np.uint8),
    )
    return frames, result, folder, library


def test_a_short_spans_style_trains_rebuilds_and_styles_frames(tmp_path):
    from restyle.core.job import StyleJob
    from restyle.core.media import decode_range

    frames, result, folder, library = trained_span_style(tmp_path, "spans-8-32", "Short")
    generator = load_generator(folder)
    assert isinstance(generator, SpanGenerator) and generator.guides.spans == SHORT_SPANS
    assert type(build_generator(**result.arch_config)) is SpanGenerator

    import cv2
    import onnxruntime as ort

    images = [f.transpose(2, 0, 1)[None].astype(np.float32) / 255 for f in frames]
    with torch.inference_mode():
        wanted = [generator(torch.from_numpy(image)).numpy() for image in images]
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for image, want in zip(images, wanted, strict=True):
        assert np.abs(session.run(None, {name: image})[0] - want).max() < 1e-4

    # Through `restyle stylize`'s path (ONNX Runtime, frame by frame, 8-bit PNGs out).
    source = tmp_path / "plate"
    source.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(source / f"{i:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    out = tmp_path / "styled"
    StyleJob(source, out, "Short", temporal=0.0, backend="onnx", library=library, carry=0.0).run()
    styled = list(decode_range(out, 0, 1))
    for frame, got, want in zip(frames, styled, wanted, strict=True):
        assert got.shape == frame.shape
        error = np.abs(got.astype(np.float64) - want[0].transpose(1, 2, 0) * 255)
        assert error.mean() < 1.5, error.mean()


def _blocks(height: int, width: int, seed: int) -> np.ndarray:
    """1 x 3 x height x width: 5-pixel squares of k/256 grey levels (exact in fp16)."""
    rng = np.random.default_rng(seed)
    levels = rng.integers(0, 256, (1, 3, height // 5 + 1, width // 5 + 1)) / 256
    image = levels.astype(np.float32).repeat(5, 2).repeat(5, 3)[..., :height, :width]
    return np.ascontiguousarray(image)


def _export(module, path):
    from restyle.models.export import export_onnx

    axes = {0: "n", 2: "h", 3: "w"}
    return export_onnx(
        module, (torch.rand(1, 3, 64, 64),), path, ["image"], ["out"], {"image": axes, "out": axes}
    )


@pytest.mark.parametrize("kind", ["spans-8", "spans"])
def test_a_span_generator_runs_in_the_fp16_copy_onnx_runtime_gets(tmp_path, kind):
    """precision auto on a GPU runs a trained style's fp16 copy (onnx_engine.fp16_model).
    The span search's distances and walls are far past fp16's 65504: converted with the
    rest, ONNX Runtime refused ("GatherElements op: Out of range value in index tensor").
    Measured with the search kept in fp32: at most 2.8e-4 from fp32 (sigmoid output)."""
    import onnxruntime as ort

    from restyle.core.engines.onnx_engine import fp16_model

    torch.manual_seed(0)
    generator = SpanGenerator(3, 4, 1, "sigmoid", kind, 2).eval()
    path = _export(generator, tmp_path / "spans.onnx")
    full = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    half = ort.InferenceSession(fp16_model(path), providers=["CPUExecutionProvider"])
    for height, width, seed in ((48, 64, 1), (40, 640, 2)):
        image = _blocks(height, width, seed)
        (want,) = full.run(None, {"image": image})
        (got,) = half.run(None, {"image": image})
        assert got.dtype == np.float32 and got.shape == want.shape
        assert np.abs(got - want).max() <= 2e-3


def test_the_fp16_copy_keeps_the_span_search_in_fp32(tmp_path):
    """The guides alone, the full ladder on a 640-pixel row: the converter casts a tensor
    to fp16 and back between two kept nodes unless told not to (the span maps were off by
    up to 0.99, a mean 0.08, that way). Measured: at most 4.5e-4 (the fp16 rounding of
    the maps at the end), the multiscale guides (converted) 4.4e-4."""
    import onnxruntime as ort

    from restyle.core.engines.onnx_engine import fp16_model

    guides = SpanGuides("spans").eval()
    path = _export(guides, tmp_path / "guides.onnx")
    full = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    half = ort.InferenceSession(fp16_model(path), providers=["CPUExecutionProvider"])
    image = _blocks(40, 640, 3)
    (want,) = full.run(None, {"image": image})
    (got,) = half.run(None, {"image": image})
    spans = slice(3 + guides.base.channels, None)
    assert np.abs(got[:, spans] - want[:, spans]).max() <= 1e-3


def test_a_span_generator_in_half_precision_gives_the_fp32_guides():
    """The torch engine's fp16 (model.half()): full_like(3e38) overflowed ("value cannot be
    converted to type c10::Half without overflow"). The search runs in fp32 whatever the
    network's dtype, the maps come back in it: on k/256 levels (exact in fp16) the span maps
    are the fp32 ones but for the fp16 rounding of count / (2 x radius + 1)."""
    torch.manual_seed(0)
    generator = SpanGenerator(3, 4, 1, "sigmoid", "spans", 2).eval()
    image = torch.from_numpy(_blocks(40, 200, 4))
    with torch.inference_mode():
        want = generator.guides(image)
        got = generator.half().guides(image.half())
        assert got.dtype == torch.float16
        spans = slice(3 + generator.guides.base.channels, None)
        torch.testing.assert_close(got[:, spans].float(), want[:, spans], atol=5e-4, rtol=0)
        try:
            styled = generator(image.half())
        except (RuntimeError, NotImplementedError) as error:  # a torch without CPU fp16 convs
            pytest.skip(f"this torch runs no fp16 convolution on the CPU: {error}")
    with torch.inference_mode():
        reference = generator.float()(image)
    assert styled.dtype == torch.float16
    assert (styled.float() - reference).abs().max() <= 1e-2


def test_the_span_search_stays_in_the_row_whatever_the_values():
    """A row's distance goes to inf after an inf pixel, and the search went through the
    walls (3e38 <= inf) and gathered past the row's end: distances are capped below the
    walls, so no gather leaves the walled row."""
    image = torch.full((1, 3, 2, 40), 0.5)
    image[0, 0, 0, 10] = float("inf")
    image[0, 1, 1, 20] = float("nan")
    for span in row_spans(image, SHORT_SPANS):
        assert span.shape == (1, 1, 2, 40)
        assert ((span[0, 0, 0] > 0) & (span[0, 0, 0] <= 1)).all()
