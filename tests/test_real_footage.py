"""Cuts and coherence on footage made of real photographs (camera moves, hard cuts)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("skimage")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from restyle.core.media import decode_range  # noqa: E402
from restyle.core.metrics import warping_error  # noqa: E402
from restyle.core.shots import detect_cuts  # noqa: E402

from sample_footage import make_sample_clip  # noqa: E402


@pytest.fixture(scope="module")
def spliced(tmp_path_factory) -> tuple[Path, list[int]]:
    path = tmp_path_factory.mktemp("footage") / "spliced.mp4"
    cuts = make_sample_clip(path, (320, 180), frames_per_shot=16, shots=3)
    return path, cuts


def test_detector_finds_the_planted_cuts(spliced):
    path, cuts = spliced
    assert detect_cuts(decode_range(path, 0, 47)) == cuts


def test_coherent_job_is_steadier_and_resets_at_cuts(library, spliced, tmp_path):
    from restyle.core.job import StyleJob

    path, cuts = spliced
    runs = {}
    for temporal in (0.0, 0.5):
        result = StyleJob(
            path,
            tmp_path / f"t{temporal}",
            "starry-swirls",
            temporal=temporal,
            library=library,
            measure=True,
        ).run()
        runs[temporal] = [f for f in decode_range(result.output, 0, 47)]
        assert result.warping_error is not None
    inputs = list(decode_range(path, 0, 47))
    plain = warping_error(inputs, runs[0.0], cuts=cuts)
    coherent = warping_error(inputs, runs[0.5], cuts=cuts)
    assert coherent < 0.6 * plain
    # Nothing crosses a cut either way (the previous shot's output, or the next shot's frame
    # that the lookahead looks at): each shot comes out exactly as when styled on its own.
    shots = [0, *cuts, len(inputs)]
    for first, end in zip(shots[:-1], shots[1:], strict=True):
        alone = StyleJob(
            path, tmp_path / f"shot{first}", "starry-swirls", start=first, end=end - 1,
            temporal=0.5, library=library,
        ).run()  # fmt: skip
        frames = list(decode_range(alone.output, 0, end - first - 1))
        assert all(np.array_equal(a, b) for a, b in zip(frames, runs[0.5][first:end], strict=True))
        assert not np.array_equal(runs[0.5][first + 1], runs[0.0][first + 1])
