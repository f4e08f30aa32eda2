"""The matte network port against MediaPipe's own outputs, and the matte's behaviour on a real
photograph of a person (scikit-image's astronaut, NASA, public domain)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core.mappings.matte import (
    Matter,
    MatteSettings,
    guided_coefficients,
    guided_upsample,
)
from restyle.core.mappings.matte_model import MATTE_MODELS, matte_files

REFERENCE = Path(__file__).parent / "data" / "selfie_reference.json"
SIZES = {"general": (256, 256), "landscape": (256, 144)}
# Boxes (x0, y0, x1, y1) in the 512x512 astronaut: clearly her, clearly not her.
PERSON = [(180, 60, 260, 150), (100, 260, 250, 450)]
BACKGROUND = [(0, 0, 120, 150), (330, 0, 512, 200)]


def _picture(name: str) -> np.ndarray:
    import skimage.data

    return getattr(skimage.data, name)()


def _net_input(rgb: np.ndarray, variant: str) -> np.ndarray:
    small = cv2.resize(rgb, SIZES[variant], interpolation=cv2.INTER_AREA)
    return (small.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]


def _grid(mask: np.ndarray, grid: int) -> np.ndarray:
    return cv2.resize(mask.astype(np.float32), (grid, grid), interpolation=cv2.INTER_AREA)


def test_tflite_reader_refuses_other_files():
    from restyle.models.tflite import TFLiteModel

    with pytest.raises(ValueError, match="TFL3"):
        TFLiteModel(b"\x00" * 16)


@pytest.mark.parametrize("variant", list(MATTE_MODELS))
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_port_matches_mediapipe(matte_library, variant, backend):
    """Our network (ONNX export and torch module) reproduces MediaPipe's masks."""
    from restyle.core.engines import ModelFiles, create_engine
    from restyle.models.registry import ARCHS

    if backend == "torch":
        pytest.importorskip("torch")
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    grid = reference["grid"]
    files = ModelFiles(
        ARCHS["selfie_segmentation"],
        matte_files(matte_library, variant, ".onnx"),
        matte_files(matte_library, variant, ".safetensors"),
    )
    engine = create_engine(files, backend, "cpu")
    for name in ("astronaut", "coffee"):
        ours = engine.run(_net_input(_picture(name), variant))[0, 0]
        expected = np.asarray(reference["masks"][f"{name}/{variant}"], np.float32)
        error = np.abs(_grid(ours, grid).ravel() - expected)
        assert error.max() < 2e-3, f"{name}/{variant}: max error {error.max():.5f}"


def test_matte_covers_the_person_on_a_real_photo(matte_library):
    astronaut = _picture("astronaut")
    for refine in (True, False):
        alpha = Matter(matte_library, MatteSettings(refine=refine)).matte(astronaut) / 255.0
        assert alpha.shape == astronaut.shape[:2]
        for x0, y0, x1, y1 in PERSON:
            assert alpha[y0:y1, x0:x1].mean() >= 0.9
        for x0, y0, x1, y1 in BACKGROUND:
            assert alpha[y0:y1, x0:x1].mean() <= 0.1


def test_matte_any_frame_size_and_depth(matte_library):
    """Odd sizes, portrait and landscape, 16-bit: the alpha has the frame's size and depth."""
    astronaut = _picture("astronaut")
    matter = Matter(matte_library)
    for width, height in ((37, 61), (333, 145), (640, 360)):
        frame = cv2.resize(astronaut, (width, height), interpolation=cv2.INTER_AREA)
        alpha = matter.matte(frame)
        assert alpha.shape == (height, width) and alpha.dtype == np.uint8
    deep = astronaut.astype(np.uint16) * 257
    alpha16 = matter.matte(deep)
    assert alpha16.dtype == np.uint16
    alpha8 = matter.matte(astronaut)
    assert np.abs(alpha16 / 65535.0 - alpha8 / 255.0).mean() < 0.01


def _transition(row: np.ndarray) -> tuple[int, int]:
    """(10%-90% width, first x above 50%) of a rising edge."""
    return int(np.argmax(row > 0.9) - np.argmax(row > 0.1)), int(np.argmax(row > 0.5))


def test_guided_filter_snaps_a_blurred_edge_to_the_picture():
    """A coarse, blurry matte near a sharp edge in the picture becomes sharper and moves onto
    the picture's edge; plain upsampling keeps it blurry and where it was."""
    height, width = 64, 256
    guide = np.zeros((height, width), np.float32)
    guide[:, 130:] = 1.0  # the picture's edge
    for offset in (0, 8):  # the coarse matte's edge: on the picture's edge, or 8 px off it
        truth = np.zeros_like(guide)
        truth[:, 130 + offset :] = 1.0
        coarse = cv2.GaussianBlur(truth, (0, 0), 6)
        coarse = cv2.resize(coarse, (width // 4, height // 4), interpolation=cv2.INTER_AREA)
        plain = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
        refined = guided_upsample(guide, coarse, radius=4, epsilon=1e-3)
        plain_width, plain_edge = _transition(plain[height // 2])
        refined_width, refined_edge = _transition(refined[height // 2])
        assert abs(refined_edge - 130) <= 1 and abs(plain_edge - 130 - offset) <= 1
        if offset == 0:
            assert refined_width <= plain_width / 2
    # A flat picture gives nothing to snap to: a constant matte stays constant.
    flat = np.full((32, 32), 0.5, np.float32)
    a, b = guided_coefficients(flat, np.full((32, 32), 0.7, np.float32), 3, 1e-3)
    assert np.allclose(a * 0.5 + b, 0.7, atol=1e-4)
