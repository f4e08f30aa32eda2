"""Our 26-style network reproduces the weights package's ONNX model, and our export ours."""

import numpy as np
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")

from restyle.models.convert import multistyle26_state, package_model_path  # noqa: E402
from restyle.models.export import export_onnx  # noqa: E402
from restyle.models.multistyle import MultiStyleNet  # noqa: E402
from restyle.models.registry import ARCHS  # noqa: E402


def photo_like(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, structured test picture (NCHW float in [0,1])."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([np.sin(xx * 7 + seed) * 0.5 + 0.5, yy, (xx * yy * 3) % 1], 0)
    img += rng.normal(0, 0.03, img.shape)
    return np.clip(img, 0, 1)[None].astype(np.float32)


@pytest.fixture(scope="module")
def net() -> MultiStyleNet:
    model = MultiStyleNet()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in multistyle26_state().items()})
    return model.eval()


@pytest.mark.parametrize("size", [(96, 128), (180, 320)])
@pytest.mark.parametrize("style", [0, 19])
def test_port_matches_package_onnx(net, size, style):
    session = ort.InferenceSession(
        str(package_model_path("multistyle26")), providers=["CPUExecutionProvider"]
    )
    image = photo_like(*size, seed=style)
    weights = np.zeros(26, np.float32)
    weights[style] = 1.0
    reference = session.run(None, {"image": image, "style_weights": weights})[0]
    with torch.inference_mode():
        ours = net(torch.from_numpy(image), torch.from_numpy(weights)[None]).numpy()
    assert np.abs(ours - reference).max() <= 2 / 255


def test_mixed_styles_differ_from_either(net):
    image = torch.from_numpy(photo_like(64, 64))
    a, b = torch.zeros(1, 26), torch.zeros(1, 26)
    a[0, 3], b[0, 17] = 1.0, 1.0
    with torch.inference_mode():
        out_a, out_b, mix = net(image, a), net(image, b), net(image, (a + b) / 2)
    assert (mix - out_a).abs().mean() > 0.01 and (mix - out_b).abs().mean() > 0.01


def test_own_export_matches_torch_at_other_sizes(net, tmp_path):
    path = tmp_path / "multistyle26.onnx"
    inputs, outputs, axes = ARCHS["multistyle26"].onnx_io()
    export_onnx(net, (torch.rand(1, 3, 64, 64), torch.rand(1, 26)), path, inputs, outputs, axes)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n, h, w in [(2, 72, 100), (1, 132, 96)]:
        image = np.concatenate([photo_like(h, w, seed=i) for i in range(n)])
        weights = np.random.default_rng(n).dirichlet(np.ones(26), n).astype(np.float32)
        ours = session.run(None, {"image": image, "style_weights": weights})[0]
        with torch.inference_mode():
            expected = net(torch.from_numpy(image), torch.from_numpy(weights)).numpy()
        assert ours.shape == (n, 3, h, w)
        assert np.abs(ours - expected).max() <= 1e-3
