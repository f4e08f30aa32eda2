"""Round 21, late fixes of the day's review.

- The first-batch precision check on flat frames (a1a1ff0): a batch of only flat frames
  returned the reduced precision's output although fp32's had just been computed, and every
  such batch ran both precisions until a frame with content came (a black lead-in cost two
  runs a batch). Now such a batch runs fp32 alone and returns it, on every engine that checks
  (OpenVINO, PyTorch, ONNX Runtime's fp16, which judged flat frames too: one shared rule,
  ``precision.checked_batch``).
- A dashboard that redirected to another origin answering 401 was said to have refused the
  token, which never went there: the words now say the redirect.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_bf16_round21 import fake_bf16_torch_engine, frames, styled
from test_review_round21 import TOKEN, home, hosts, token_here  # noqa: F401 (fixtures)

from restyle.core import ray_auth, ray_submit
from restyle.core.errors import RestyleError
from restyle.models.registry import ARCHS


class Counted:
    """Counts the runs per precision of a stand-in network (``styled``)."""

    def __init__(self):
        self.runs: list[str] = []

    def __call__(self, images: np.ndarray, precision: str, bad: bool = False) -> np.ndarray:
        self.runs.append(precision)
        return styled(np.asarray(images), precision, bad)


def openvino(tiny_style, monkeypatch, counted, bad=False):
    pytest.importorskip("openvino")
    from restyle.core.engines.openvino_engine import OpenVinoEngine

    model = tiny_style / "styles" / "tiny" / "model.onnx"
    engine = OpenVinoEngine(model, ARCHS["fewshot"], "cpu", "fp32")
    engine.precision, engine.checked = "bf16", False  # as on a bf16 CPU
    monkeypatch.setattr(engine, "_infer", lambda images, _c, p: counted(images, p, bad))
    return engine, "bf16"


def torch(tiny_style, monkeypatch, counted, bad=False):
    def outputs(images, precision):
        return counted(images, precision, bad)

    return fake_bf16_torch_engine(tiny_style, monkeypatch, outputs), "bf16"


class Session:
    """An ONNX Runtime session stand-in running one precision."""

    def __init__(self, counted, precision, bad):
        self.counted, self.precision, self.bad = counted, precision, bad

    def run(self, _names, feeds):
        images = next(iter(feeds.values()))
        return [self.counted(images, self.precision, self.bad)]


def onnx(tiny_style, monkeypatch, counted, bad=False):
    from restyle.core.engines.onnx_engine import OnnxEngine

    model = tiny_style / "styles" / "tiny" / "model.onnx"
    engine = OnnxEngine(model, ARCHS["fewshot"], "cpu", workers=1, graph="plain")
    # as enable_fp16 leaves it on CUDA: one fp16 session, checked against an fp32 one
    engine._pool, engine.workers = None, 1
    engine.session = Session(counted, "fp16", bad)
    engine._fp32_session = Session(counted, "fp32", bad)
    engine.precision, engine.checked = "fp16", False
    return engine, "fp16"


ENGINES = [openvino, torch, onnx]


@pytest.mark.parametrize("make", ENGINES)
def test_a_flat_batch_runs_fp32_alone_and_returns_it(make, tiny_style, monkeypatch):
    counted = Counted()
    engine, reduced = make(tiny_style, monkeypatch, counted)
    try:
        black = frames("black", "grey")
        for _ in range(3):  # a black lead-in: one run a batch, fp32's
            out = engine.run(black)
            np.testing.assert_array_equal(out, styled(black, "fp32"))
        assert counted.runs == ["fp32"] * 3
        # unchecked still: the engine's precision is what it will run once content comes
        assert engine.precision == reduced and not engine.checked, engine.note
        counted.runs.clear()
        mixed = frames("black", "photo")
        out = engine.run(mixed)  # the check, on the frame that shows something
        assert sorted(counted.runs) == sorted([reduced, "fp32"])
        assert engine.checked and engine.precision == reduced, engine.note
        assert f"{reduced} checked" in engine.note
        np.testing.assert_array_equal(out, styled(mixed, reduced))
        counted.runs.clear()
        engine.run(black)  # checked: the reduced precision alone, flat or not
        assert counted.runs == [reduced]
    finally:
        engine.close()


@pytest.mark.parametrize("make", ENGINES)
def test_a_bad_reduced_output_after_a_flat_lead_in_falls_back(make, tiny_style, monkeypatch):
    counted = Counted()
    engine, reduced = make(tiny_style, monkeypatch, counted, bad=True)
    try:
        engine.run(frames("black"))
        assert not engine.checked
        mixed = frames("grey", "photo")
        out = engine.run(mixed)
        assert engine.checked and engine.precision == "fp32", engine.note
        assert f"{reduced} gave" in engine.note and "running fp32" in engine.note
        np.testing.assert_array_equal(out, styled(mixed, "fp32"))
    finally:
        engine.close()


# -- a dashboard's redirect to a host that refuses: no token went there ----------------------
@pytest.mark.usefixtures("private_home", "token_here")
@pytest.mark.parametrize("mode", ["token", None])
def test_a_refusal_after_a_redirect_elsewhere_says_the_redirect(request, monkeypatch, mode):
    """RAY_AUTH_MODE=token, the dashboard at 127.0.0.1 redirects to localhost (another origin),
    which answers 401: the token never went there (``_TokenStaysHome``), yet the words said
    'the Ray dashboard at http://127.0.0.1:... refused the token from .../.ray/auth_token:
    put the cluster's token where Ray looks'. Without token mode they said to set it, which
    would send nothing there either."""
    serve = request.getfixturevalue("hosts")  # test_review_round21's stand-in servers
    if mode:
        monkeypatch.setenv(ray_auth.MODE_ENV, mode)
    elsewhere = serve(lambda _path: (401, {}, b"Unauthorized: Missing authentication token"))
    away = f"http://localhost:{elsewhere.port}"
    dashboard = serve(lambda _path: (302, {"Location": f"{away}/api/version"}, b""))
    base = f"http://127.0.0.1:{dashboard.port}"
    with pytest.raises(RestyleError) as said:
        ray_submit._request(f"{base}/api/version")
    assert elsewhere.seen == [("/api/version", None)]  # as before: no token there
    assert dashboard.seen == [("/api/version", f"Bearer {TOKEN}" if mode else None)]
    words = str(said.value)
    assert words == (
        f"the Ray dashboard at {base} redirected to {away}, another origin, which gets no "
        "token and refused the request (401: Unauthorized: Missing authentication token): "
        "where that is the dashboard, give its address, and the token goes there"
    ), words
    assert "refused the token" not in words and "RAY_AUTH_MODE" not in words


# -- one wording for a cluster that asks for a token ------------------------------------------
@pytest.mark.parametrize("mode", [None, "disabled"])
def test_the_ray_heads_token_words_are_the_dashboards(monkeypatch, mode):
    """--ray's words for a head that asks for a token (ray_runner._token_message) said the
    same fact as ray_auth.set_the_mode (Blender's and the dashboard's) in a copy of its own:
    now they are its words, whatever RAY_AUTH_MODE is."""
    from restyle.core import ray_runner

    if mode is None:
        monkeypatch.delenv(ray_auth.MODE_ENV, raising=False)
    else:
        monkeypatch.setenv(ray_auth.MODE_ENV, mode)
    words = ray_runner._token_message("10.0.0.5:6379")
    assert words == (
        "the Ray cluster at '10.0.0.5:6379' asks for a token (token authentication): "
        f"{ray_auth.set_the_mode()}"
    )
    monkeypatch.setattr(ray_auth, "set_the_mode", lambda: "set the mode, as one place says")
    assert ray_runner._token_message("10.0.0.5:6379").endswith(": set the mode, as one place says")
