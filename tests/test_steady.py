"""The steady variant of the built-ins (models/steady.py, core/steady.py): the fine-tune
lowers the shift error, the variant is used only while current, bad input changes nothing."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

TINY = dict(steps=2, batch=1, patch=32, margin=4)


@pytest.fixture
def own_library(library, tmp_path):
    """A fresh library whose built-ins are the session's (read from its folder as bundled),
    so a steady variant written here is seen by no other test."""
    from restyle.core.styles import StyleLibrary

    return StyleLibrary(tmp_path / "lib", bundled=library.builtin_dir)


@pytest.fixture
def picture(tmp_path):
    """A textured photo-like picture (smooth colour fields plus grain)."""
    import cv2

    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)
    image = cv2.resize(small, (160, 120), interpolation=cv2.INTER_CUBIC)
    image = np.clip(image.astype(int) + rng.integers(-6, 7, image.shape), 0, 255).astype(np.uint8)
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), image)
    return path


def _state(library):
    from safetensors.torch import load_file

    return load_file(str(library.builtin_file("multistyle26", ".safetensors")))


def test_finetune_lowers_the_shift_error(library, picture):
    import cv2

    from restyle.models.multistyle import MultiStyleNet
    from restyle.models.steady import SteadySettings, finetune, shift_error

    frame = cv2.cvtColor(cv2.imread(str(picture)), cv2.COLOR_BGR2RGB)
    settings = SteadySettings(
        steps=12, batch=2, patch=48, margin=6, learning_rate=2e-3, shift_weight=10.0
    )
    state = _state(library)
    image = torch.from_numpy(frame[:52, :52].transpose(2, 0, 1)[None].astype(np.float32) / 255)
    styles = torch.tensor([19])

    def error(weights, upsample):
        net = MultiStyleNet(upsample=upsample).eval()
        net.load_state_dict(weights)
        with torch.no_grad():
            return sum(float(shift_error(net, image, styles, 0, d, 6)) for d in (1, 2, 3))

    tuned = finetune(state, [frame], settings)
    assert error(tuned, settings.upsample) < 0.8 * error(state, "nearest")


def test_variant_is_used_only_while_current(own_library, picture):
    from restyle.core.steady import STEADY_NAME, make_steady, steady_files
    from restyle.core.stylizer import StyleSettings, Stylizer
    from restyle.models.steady import SteadySettings

    style = own_library.resolve("starry-swirls")
    assert steady_files(own_library) is None  # none made yet: the plain network
    assert not Stylizer(style, own_library, StyleSettings(steady=True)).steady

    make_steady(own_library, [picture], SteadySettings(**TINY))
    files = steady_files(own_library)
    assert files is not None and files.config == {"upsample": "bilinear"}
    frame = np.full((64, 96, 3), 120, np.uint8)
    for backend in ("onnx", "torch"):
        steady = Stylizer(style, own_library, StyleSettings(backend=backend, steady=True))
        plain = Stylizer(style, own_library, StyleSettings(backend=backend))
        assert steady.steady and not plain.steady
        assert steady.stylize(frame).shape == frame.shape
    # Made from other source weights (the built-ins were converted again): stale, not used.
    record = own_library.builtin_dir / f"{STEADY_NAME}.json"
    meta = json.loads(record.read_text())
    record.write_text(json.dumps({**meta, "source": "0" * 16}))
    assert steady_files(own_library) is None
    assert not Stylizer(style, own_library, StyleSettings(steady=True)).steady
    record.unlink()  # an interrupted write leaves no record: not used either
    assert steady_files(own_library) is None


def test_setup_steady_bad_input_changes_nothing(own_library, tmp_path, capsys):
    from restyle.core.cli import main

    base = ["setup", "--library", str(own_library.root)]
    cases = [
        [*base, "--steady", str(tmp_path / "missing.mp4")],
        [*base, "--steady", str(tmp_path), "--steady-steps", "0"],
        [*base, "--bundle", str(tmp_path / "b"), "--steady", str(tmp_path)],
    ]
    for argv in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("restyle: error:")
    assert not (own_library.root).exists()


def test_settings_tag_names_every_setting():
    from restyle.models.steady import SteadySettings

    base = SteadySettings()
    tags = {base.tag()}
    for field, value in [("steps", 7), ("shift_weight", 2.0), ("upsample", "nearest")]:
        tags.add(replace(base, **{field: value}).tag())
    assert len(tags) == 4
