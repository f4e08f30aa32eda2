"""The local affine colour head (models/affine_grid.py, ``generator_affine="grid"``).

Its grid is computed on whole frames and sliced per pixel: a training patch given the slice
of its whole frame must style as the frame does, the ONNX export must match torch, and a
style trained with it must apply through the command line.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from restyle.core.cli import main  # noqa: E402
from restyle.core.media import decode_range  # noqa: E402
from restyle.core.styles import StyleLibrary  # noqa: E402
from restyle.core.train.artifact import load_generator, read_style_meta  # noqa: E402
from restyle.core.train.keyframes import train_from_keyframes  # noqa: E402
from restyle.core.train.trainer import TrainConfig  # noqa: E402
from restyle.models.affine_grid import (  # noqa: E402
    CELL,
    AffineGridGenerator,
    generator_from_config,
    slice_at,
)
from restyle.models.fewshot import FewShotGenerator  # noqa: E402


def busy_head(seed: int = 0) -> AffineGridGenerator:
    """A small generator whose head is not the zero it starts at."""
    torch.manual_seed(seed)
    generator = AffineGridGenerator(3, 4, 1, "linear", "multiscale", 3).eval()
    torch.nn.init.normal_(generator.affine.coefficients.weight, std=0.1)
    return generator


@pytest.mark.parametrize(
    ("y", "x", "height", "width"), [(0, 0, 80, 112), (17, 33, 40, 24), (-24, -8, 64, 64)]
)
def test_slicing_a_window_is_the_upsampled_grid_there(y, x, height, width):
    grid = torch.rand(1, 5, 5, 7)  # cells of a 80 x 112 frame
    full = F.interpolate(grid, scale_factor=float(CELL), mode="bilinear", align_corners=False)
    pad = 32  # outside the frame the border cells hold, as the upsampling clamps
    full = F.pad(full, (pad, pad, pad, pad), mode="replicate")
    expected = full[:, :, y + pad : y + pad + height, x + pad : x + pad + width]
    assert slice_at(grid, y, x, height, width).shape == (1, 5, height, width)
    assert torch.allclose(slice_at(grid, y, x, height, width), expected, atol=1e-6)


def test_a_patch_given_its_frames_slice_styles_as_the_frame():
    generator = busy_head()
    frame = torch.rand(1, 3, 120, 200)
    frame[:, :, :, :40] = 1  # outside the patch: its own grid cannot see this
    with torch.no_grad():
        whole = generator(frame)
        guided = generator.guide(generator._pad(frame))
        grid = generator.affine.grid(generator.affine.pooled(guided))
        patch = guided[:, :, 16:112, 40:168]
        styled = generator.styled(patch, slice_at(grid, 16, 40, 96, 128))
        alone = generator.styled(patch)  # its own grid: another function
    inner = (slice(None), slice(None), slice(32, 64), slice(32, 96))
    frame_inner = whole[:, :, 48:80, 72:136]
    assert torch.allclose(styled[inner], frame_inner, atol=1e-5)
    assert (alone[inner] - frame_inner).abs().max() > 1e-3


def test_an_untrained_head_leaves_the_generator_unchanged():
    torch.manual_seed(1)
    generator = AffineGridGenerator(3, 4, 1, "linear", "multiscale", 3).eval()
    plain = FewShotGenerator(3, 4, 1, "linear", "multiscale", 3).eval()
    plain.load_state_dict(generator.state_dict(), strict=False)
    frame = torch.rand(2, 3, 50, 70)
    with torch.no_grad():
        assert generator(frame).shape == (2, 3, 50, 70)
        assert torch.allclose(generator(frame), plain(frame), atol=1e-6)
    assert generator.arch_config["affine"] == "grid"
    assert type(generator_from_config(generator.arch_config)) is AffineGridGenerator
    assert type(generator_from_config(plain.arch_config)) is FewShotGenerator


@pytest.fixture(scope="module")
def trained(pan_clip, tmp_path_factory):
    """A negative learned with the affine head from two keyframes of a panning clip."""
    library = StyleLibrary(tmp_path_factory.mktemp("library"), bundled=None)
    paint = tmp_path_factory.mktemp("paint")
    keyframes = {}
    for f in (2, 20):
        frame = next(iter(decode_range(pan_clip, f, f)))
        keyframes[f] = paint / f"{f:04d}.png"
        cv2.imwrite(str(keyframes[f]), cv2.cvtColor(255 - frame, cv2.COLOR_RGB2BGR))
    config = TrainConfig(
        threads=1,
        time_budget_s=60,
        clock="cpu",
        max_iterations=150,
        patch_size=32,
        generator_width=8,
        generator_blocks=1,
        val_every=50,
        generator_affine="grid",
    )
    folder = train_from_keyframes(pan_clip, keyframes, "Negative", library, config=config)
    return library, folder


def test_a_trained_head_exports_to_onnx_as_torch_runs_it(trained):
    import onnxruntime as ort

    _, folder = trained
    assert read_style_meta(folder)["arch_config"]["affine"] == "grid"
    generator = load_generator(folder)
    assert generator.affine.coefficients.weight.abs().max() > 0  # it learned something
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    for height, width in ((90, 160), (61, 83)):
        frame = torch.rand(1, 3, height, width)
        with torch.no_grad():
            expected = generator(frame).numpy()
        got = session.run(None, {"image": frame.numpy()})[0]
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 1e-4


def test_a_style_trained_with_the_head_applies_from_the_command_line(trained, pan_clip, tmp_path):
    library, _ = trained
    out = tmp_path / "styled"
    code = main(
        [
            "stylize",
            str(pan_clip),
            "-s",
            "Negative",
            "-o",
            str(out),
            "--start",
            "8",
            "--end",
            "11",
            "--library",
            str(library.root),
            "-q",
        ]
    )
    assert code == 0
    files = sorted(out.glob("*.png"))
    assert len(files) == 4
    for path, frame in zip(files, decode_range(pan_clip, 8, 11), strict=True):
        styled = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB).astype(int)
        truth = 255 - frame.astype(int)
        assert np.abs(styled - truth).mean() < np.abs(frame.astype(int) - truth).mean() / 3
