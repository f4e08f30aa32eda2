"""Strength mixes the source in after temporal coherence (walkthrough: ``--strength 0`` under
coherence came out 35, 73, 65 levels off the source on vtest frames 0-2, and the source's
share of a partial mix was smeared by the warp). Coherence works on the styled picture; the
written frame is strength * coherent + (1 - strength) * source, so strength 0 is the source
exactly. Real footage (OpenCV's vtest, 320x240 frames as a PNG sequence), styled at 160 px."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from test_temporal_footage import footage

from restyle.core.job import StyleJob
from restyle.core.progress import CancelToken
from restyle.core.styles import StyleLibrary

STYLE = "comic-ink"
FRAMES = 6


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> StyleLibrary:
    return StyleLibrary(tmp_path_factory.mktemp("strength-library"))


@pytest.fixture(scope="module")
def walk(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """vtest frames 60.. (people walking) as a lossless sequence, and the frames."""
    frames = footage("vtest", 60, FRAMES)
    folder = tmp_path_factory.mktemp("walk")
    for k, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"walk_{k:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return folder, frames


def run(walk, output: Path, library, strength: float, **options) -> list[np.ndarray]:
    job = StyleJob(
        walk[0], output, STYLE, strength=strength, max_side=160, library=library, **options
    )
    job.run()
    return read(output)


def read(folder: Path) -> list[np.ndarray]:
    names = sorted(p for p in folder.iterdir() if p.suffix == ".png")
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in names]


def test_strength_zero_gives_the_source_back_under_coherence(walk, library, tmp_path):
    out = run(walk, tmp_path / "s0", library, 0.0)
    assert len(out) == FRAMES
    pairs = zip(out, walk[1], strict=True)
    off = [int(np.abs(o.astype(int) - f.astype(int)).max()) for o, f in pairs]
    assert off == [0] * FRAMES, off


@pytest.mark.parametrize("strength", [0.5, 0.25])
def test_a_partial_strength_mixes_the_source_after_coherence(walk, library, tmp_path, strength):
    """strength s: s * (the strength-1 frame, coherent) + (1 - s) * source, within rounding."""
    full = run(walk, tmp_path / "s1", library, 1.0)
    part = run(walk, tmp_path / "part", library, strength)
    for k, (o, c, f) in enumerate(zip(part, full, walk[1], strict=True)):
        expected = strength * c.astype(np.float32) + (1 - strength) * f.astype(np.float32)
        off = float(np.abs(o.astype(np.float32) - expected).max())
        assert off <= 0.5 + 1e-3, (k, off)


def test_a_resumed_partial_strength_run_matches_one_run(walk, library, tmp_path):
    """A resume rebuilds the coherence state from the written (mixed) frame: unmixed, the
    next frames come out as in one run, within a level (the mix was rounded)."""
    whole = run(walk, tmp_path / "whole", library, 0.5)
    token = CancelToken()

    def progress(p) -> None:
        if p.stage == "stylize" and p.done >= 3:
            token.cancel()

    def job() -> StyleJob:
        return StyleJob(walk[0], tmp_path / "resumed", STYLE, strength=0.5, max_side=160)

    first = job()
    first.library = library
    cut_short = first.run(progress=progress, cancel=token)
    assert cut_short.cancelled and 0 < cut_short.written < FRAMES
    again = job()
    again.library = library
    assert again.run().reused == cut_short.written
    resumed = read(tmp_path / "resumed")
    pairs = zip(resumed, whole, strict=True)
    off = [int(np.abs(a.astype(int) - b.astype(int)).max()) for a, b in pairs]
    assert max(off) <= 1, off
