"""The steady variant of the built-ins (core/steady.py): it follows sub-grid motion better
than the original network, runs on both engines, is used only while current, and bad input
changes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")


@pytest.fixture
def own_library(library, tmp_path):
    """A fresh library whose built-ins are the session's (read from its folder as bundled),
    so a steady variant written here is seen by no other test."""
    from restyle.core.styles import StyleLibrary

    return StyleLibrary(tmp_path / "lib", bundled=library.builtin_dir)


@pytest.fixture
def steady_library(own_library):
    from restyle.core.steady import make_steady

    make_steady(own_library)
    return own_library


def _textured(height: int, width: int) -> np.ndarray:
    """Smooth colour fields plus grain: photo-like, with texture everywhere."""
    import cv2

    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)
    image = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(image.astype(int) + rng.integers(-6, 7, image.shape), 0, 255).astype(np.uint8)


def _shift_psnr(stylizer, frame: np.ndarray, d: int) -> float:
    """PSNR of f(x moved left by d px) against f(x) moved left by d (8 px border left out)."""
    from restyle.core.metrics import psnr

    width = frame.shape[1] - 4
    base = stylizer.stylize(frame[:, :width])
    moved = stylizer.stylize(frame[:, d : d + width])
    return psnr(moved[8:-8, 8 : width - 8 - d], base[8:-8, 8 + d : width - 8])


def test_steady_variant_follows_sub_grid_motion(steady_library):
    from restyle.core.stylizer import StyleSettings, Stylizer

    style = steady_library.resolve("starry-swirls")
    frame = _textured(96, 132)
    plain = Stylizer(style, steady_library, StyleSettings(backend="onnx"))
    steady = Stylizer(style, steady_library, StyleSettings(backend="onnx", steady=True))
    for d in (1, 2):
        assert _shift_psnr(steady, frame, d) > _shift_psnr(plain, frame, d) + 3.0


def test_variant_runs_on_both_engines_alike(steady_library):
    from restyle.core.metrics import psnr
    from restyle.core.stylizer import StyleSettings, Stylizer

    style = steady_library.resolve("comic-ink")
    frame = _textured(64, 96)
    out = {}
    for backend in ("onnx", "torch"):
        settings = StyleSettings(backend=backend, precision="fp32", steady=True)
        stylizer = Stylizer(style, steady_library, settings)
        assert stylizer.steady
        out[backend] = stylizer.stylize(frame)
    assert psnr(out["onnx"], out["torch"]) > 40.0
    plain = Stylizer(style, steady_library, StyleSettings(backend="onnx")).stylize(frame)
    assert psnr(out["onnx"], plain) < 40.0  # a different network did run


def test_variant_is_used_only_while_current(own_library):
    from restyle.core.steady import STEADY_NAME, make_steady, steady_files
    from restyle.core.stylizer import StyleSettings, Stylizer

    style = own_library.resolve("starry-swirls")
    asked = StyleSettings(backend="onnx", steady=True)
    assert steady_files(own_library) is None  # none made yet: the plain network
    assert not Stylizer(style, own_library, asked).steady
    make_steady(own_library)
    assert Stylizer(style, own_library, asked).steady
    assert not Stylizer(style, own_library, StyleSettings(backend="onnx")).steady
    # Made from other source weights (the built-ins were converted again): stale, not used.
    record = own_library.builtin_dir / f"{STEADY_NAME}.json"
    meta = json.loads(record.read_text())
    record.write_text(json.dumps({**meta, "source": "0" * 16}))
    assert steady_files(own_library) is None
    assert not Stylizer(style, own_library, asked).steady
    record.unlink()  # an interrupted export leaves no record: not used either
    assert steady_files(own_library) is None


def test_setup_steady_bad_input_changes_nothing(own_library, tmp_path, capsys):
    from restyle.core.cli import main

    argv = ["setup", "--library", str(own_library.root), "--bundle", str(tmp_path / "b")]
    assert main([*argv, "--steady"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("restyle: error:")
    assert not own_library.root.exists() and not (tmp_path / "b").exists()


def test_steady_job_without_variant_notes_and_runs_plain(own_library, pan_clip, tmp_path, capsys):
    import argparse

    import cv2

    from restyle.core.cli import _note_missing_steady
    from restyle.core.job import StyleJob

    outputs = {}
    for steady in (True, False):
        out = tmp_path / f"steady-{steady}"
        job = StyleJob(pan_clip, out, "comic-ink", end=1, steady=steady, library=own_library)
        _note_missing_steady(job, argparse.Namespace(quiet=False))
        job.run()
        outputs[steady] = [cv2.imread(str(p)) for p in sorted(out.glob("*.png"))]
    assert "no current steady variant" in capsys.readouterr().err
    assert len(outputs[True]) == 2
    assert all(np.array_equal(a, b) for a, b in zip(outputs[True], outputs[False], strict=True))
