"""Black, flat and fading frames keep their source (walkthrough: a black frame came out of
every style as a bright grid, ~140/255 with std 50-70, and a fade to black stayed as bright
and textured as the full picture until its last frame). The style networks normalise each
feature map to unit variance, so a frame with no contrast above its noise gets the network's
bias pattern; ``stylizer.flat_weight`` mixes such frames back to the source, and leaves
frames with real contrast exactly as they were."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core.errors import RestyleError
from restyle.core.media import decode_range
from restyle.core.styles import BUILTIN_STYLES, StyleLibrary
from restyle.core.stylizer import StyleSettings, Stylizer

from clips import encode_clip  # tests/, on the path from conftest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from real_footage import FootageUnavailable, real_clip, real_picture  # noqa: E402

SIZE = (192, 144)  # the network's answer to a flat frame is the same at any size
STYLES = [sid for sid, _ in BUILTIN_STYLES]
FADE_STYLES = ["comic-ink", "amber-watercolour", "ink-wash"]


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> StyleLibrary:
    return StyleLibrary(tmp_path_factory.mktemp("flat-library"))  # built-ins from models/builtin


@pytest.fixture(scope="module")
def builtin(library):
    with Stylizer(library.resolve("comic-ink"), library, StyleSettings(backend="onnx")) as st:
        yield st


def use(st: Stylizer, library: StyleLibrary, style: str) -> Stylizer:
    """The one 26-style network, conditioned on ``style`` (what Stylizer's constructor does)."""
    st.condition = np.asarray([library.resolve(style).weights], np.float32)
    return st


def footage(name: str, index: int) -> np.ndarray:
    try:
        path = real_clip(name)
    except FootageUnavailable as exc:
        pytest.skip(str(exc))
    return np.ascontiguousarray(next(iter(decode_range(path, index, index)))[..., :3])


def picture_style(library) -> Stylizer:
    try:
        picture = real_picture("starry-night")
    except FootageUnavailable as exc:
        pytest.skip(str(exc))
    return Stylizer(library.resolve(str(picture)), library, StyleSettings(backend="onnx"))


def flat_frames() -> dict[str, np.ndarray]:
    w, h = SIZE
    noisy = np.random.default_rng(1).normal(12.0, 2.0, (h, w, 3))
    return {
        "black": np.zeros((h, w, 3), np.uint8),
        "grey 12": np.full((h, w, 3), 12, np.uint8),
        "navy": np.full((h, w, 3), (20, 30, 70), np.uint8),
        "white": np.full((h, w, 3), 255, np.uint8),
        "grey 12, noise 2": np.clip(noisy + 0.5, 0, 255).astype(np.uint8),
    }


def styled(st: Stylizer, frames: list[np.ndarray]) -> list[np.ndarray]:
    outputs = st.infer(np.stack([st.preprocess(f) for f in frames]))
    return [st.postprocess(o, f) for o, f in zip(outputs, frames, strict=True)]


def worst_level(out: np.ndarray, source: np.ndarray) -> int:
    return int(np.abs(out.astype(int) - source.astype(int)).max())


@pytest.mark.parametrize("style", STYLES)
def test_flat_frames_keep_their_source_in_every_builtin_style(builtin, library, style):
    frames = flat_frames()
    outs = styled(use(builtin, library, style), list(frames.values()))
    off = {k: worst_level(o, f) for (k, f), o in zip(frames.items(), outs, strict=True)}
    assert max(off.values()) <= 3, f"{style}: levels off the source {off}"


def test_flat_frames_keep_their_source_in_a_picture_style(library):
    frames = flat_frames()
    with picture_style(library) as st:
        st.prepare([])
        outs = styled(st, list(frames.values()))
    off = {k: worst_level(o, f) for (k, f), o in zip(frames.items(), outs, strict=True)}
    assert max(off.values()) <= 3, f"starry_night: levels off the source {off}"


def test_black_stays_black_on_torch_at_any_strength_with_colours_kept(library):
    pytest.importorskip("torch")
    black = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    for strength, keep in ((1.0, False), (0.5, False), (1.0, True)):
        settings = StyleSettings(backend="torch", strength=strength, preserve_colors=keep)
        with Stylizer(library.resolve("comic-ink"), library, settings) as st:
            assert st.engine.backend == "torch"
            assert worst_level(st.stylize(black), black) <= 3, (strength, keep)


def test_a_black_16_bit_frame_with_alpha_stays_black(builtin, library):
    frame = np.zeros((SIZE[1], SIZE[0], 4), np.uint16)
    frame[..., 3] = 65535
    out = use(builtin, library, "comic-ink").stylize(frame)
    assert out.dtype == np.uint16 and out.shape == frame.shape
    assert int(out[..., :3].max()) <= 3 * 257 and (out[..., 3] == 65535).all()


def fade(frame: np.ndarray, count: int = 30) -> list[np.ndarray]:
    """x1.0 -> x0.02 in ``count`` even steps, as an editor's fade to black."""
    levels = [1.0 - 0.98 * i / (count - 1) for i in range(count)]
    return [np.clip(frame.astype(np.float32) * k + 0.5, 0, 255).astype(np.uint8) for k in levels]


@pytest.mark.parametrize("style", [*FADE_STYLES, "starry-night"])
def test_a_fade_to_black_fades(builtin, library, style):
    frame = cv2.resize(footage("vtest", 100), SIZE, interpolation=cv2.INTER_AREA)
    steps = fade(frame)
    if style == "starry-night":
        with picture_style(library) as st:
            st.prepare([])
            means = [o.mean() for o in styled(st, steps)]
    else:
        means = [o.mean() for o in styled(use(builtin, library, style), steps)]
    rises = [round(b - a, 2) for a, b in zip(means[:-1], means[1:], strict=True) if b > a + 0.5]
    assert not rises, f"{style}: the output brightens along the fade: {[round(m) for m in means]}"
    assert abs(means[-1] - steps[-1].mean()) <= 3, f"{style}: last frame {means[-1]:.1f}"
    assert means[-4] - means[-1] >= 10, f"{style}: no fade at the end {[round(m) for m in means]}"


def test_a_fade_to_black_fades_through_a_coherent_job(library, tmp_path):
    """Coherence (default 0.5, with lookahead) blends the finished frames: a fade still
    darkens monotonically and the black it ends on stays black."""
    from restyle.core.job import StyleJob

    frame = cv2.resize(footage("vtest", 100), SIZE, interpolation=cv2.INTER_AREA)
    steps = [*fade(frame), *[np.zeros_like(frame)] * 3]
    clip = encode_clip(tmp_path / "fade.mkv", steps, codec="ffv1")
    result = StyleJob(clip, tmp_path / "out", "comic-ink", library=library).run()
    assert result.written == len(steps)
    means = [cv2.imread(str(p)).mean() for p in sorted((tmp_path / "out").rglob("*.png"))]
    assert len(means) == len(steps)
    rises = [round(b - a, 2) for a, b in zip(means[:-1], means[1:], strict=True) if b > a + 0.5]
    assert not rises, [round(m) for m in means]
    assert max(means[-3:]) <= 3 and abs(means[-4] - steps[-4].mean()) <= 3, means[-4:]
    assert means[0] > 100, means[0]  # the full picture is still styled


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("clip,index", [("vtest", 300), ("megamind", 200), ("tree", 30)])
def test_real_frames_are_styled_as_before(builtin, library, clip, index):
    """The previous finish of a uint8 frame at full strength (each plane x255, rounded and
    saturated) computed here from the network's own output: a real frame differs by no
    more than rounding."""
    frame = footage(clip, index)
    for style in FADE_STYLES:
        st = use(builtin, library, style)
        output = st.infer(st.preprocess(frame)[None])[0]
        pw, ph = frame.shape[1], frame.shape[0]
        before = np.clip(np.rint(output[:, :ph, :pw].transpose(1, 2, 0) * 255.0), 0, 255)
        assert psnr(st.postprocess(output, frame), before) >= 50.0, (clip, style)


def test_cli_black_still_stays_black(library, tmp_path):
    """The walkthrough's repro: a black 720x528 PNG through `restyle stylize`."""
    from restyle.core.cli import main

    source = tmp_path / "black.png"
    cv2.imwrite(str(source), np.zeros((528, 720, 3), np.uint8))
    out = tmp_path / "out"
    args = ["stylize", str(source), "-s", "comic-ink", "-o", str(out), "--temporal", "0"]
    assert main([*args, "--library", str(library.root)]) == 0
    (written,) = out.rglob("*.png")
    picture = cv2.imread(str(written))
    assert picture.shape == (528, 720, 3) and int(picture.max()) <= 3, picture.mean()


def test_flat_contrast_is_checked():
    with pytest.raises(RestyleError, match="flat_contrast"):
        StyleSettings(flat_contrast=-0.1).check()
