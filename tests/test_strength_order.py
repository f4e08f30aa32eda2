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

from restyle.core.errors import RestyleError
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


def read(folder: Path, deep: bool = False) -> list[np.ndarray]:
    names = sorted(p for p in folder.iterdir() if p.suffix == ".png")
    flags = cv2.IMREAD_UNCHANGED if deep else cv2.IMREAD_COLOR
    return [cv2.cvtColor(cv2.imread(str(p), flags), cv2.COLOR_BGR2RGB) for p in names]


def test_strength_zero_gives_the_source_back_under_coherence(walk, library, tmp_path):
    out = run(walk, tmp_path / "s0", library, 0.0)
    assert len(out) == FRAMES
    pairs = zip(out, walk[1], strict=True)
    off = [int(np.abs(o.astype(int) - f.astype(int)).max()) for o, f in pairs]
    assert off == [0] * FRAMES, off


@pytest.mark.parametrize("strength", [0.5, 0.25])
def test_a_partial_strength_mixes_the_source_after_coherence(walk, library, tmp_path, strength):
    """strength s: s * (the strength-1 frame, coherent) + (1 - s) * source, within the
    rounding of the mix and of the coherence state carried on (the unmixed written frame,
    what a resume rebuilds: within half a level / s of the strength-1 state, its effect
    scaled back by s). Measured over vtest 60-83: at most 1.5 levels off (0.5) and 1.0
    (0.25), 0.36 / 0.28 on average; the mix before coherence was 4.5 / 6.75 levels off."""
    full = run(walk, tmp_path / "s1", library, 1.0)
    part = run(walk, tmp_path / "part", library, strength)
    means = []
    for k, (o, c, f) in enumerate(zip(part, full, walk[1], strict=True)):
        expected = strength * c.astype(np.float32) + (1 - strength) * f.astype(np.float32)
        off = np.abs(o.astype(np.float32) - expected)
        assert float(off.max()) <= 1.5 + 1e-3, (k, float(off.max()))
        means.append(float(off.mean()))
    assert max(means) <= 0.4, means


@pytest.mark.parametrize(
    ("strength", "deep"), [(0.5, False), (0.25, False), (0.0, False), (1.0, True), (0.5, True)]
)
def test_a_resumed_run_is_bit_identical_to_one_run(walk, library, tmp_path, strength, deep):
    """A resume rebuilds the coherence state from the written (mixed, rounded) frame, and an
    uninterrupted run carries exactly that state on too (``Stylizer.unmix`` of what it
    wrote): a resumed run is bit-identical to one run at every strength, 8- and 16-bit.
    Before, one run carried the unrounded coherent frame: at 0.5 frames 3-5 were 1 level off."""
    source = walk[0]
    if deep:  # the same frames as a 16-bit sequence (a 16-bit PNG output)
        source = tmp_path / "deep"
        source.mkdir()
        for k, frame in enumerate(walk[1]):
            deep_bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257
            cv2.imwrite(str(source / f"walk_{k:04d}.png"), deep_bgr)

    def job(output: Path) -> StyleJob:
        made = StyleJob(source, output, STYLE, strength=strength, max_side=160)
        made.library = library
        return made

    job(tmp_path / "whole").run()
    whole = read(tmp_path / "whole", deep)
    token = CancelToken()

    def progress(p) -> None:
        if p.stage == "stylize" and p.done >= 3:
            token.cancel()

    cut_short = job(tmp_path / "resumed").run(progress=progress, cancel=token)
    assert cut_short.cancelled and 0 < cut_short.written < FRAMES
    assert job(tmp_path / "resumed").run().reused == cut_short.written
    resumed = read(tmp_path / "resumed", deep)
    assert all(a.dtype == (np.uint16 if deep else np.uint8) for a in resumed)
    pairs = zip(resumed, whole, strict=True)
    off = [int(np.abs(a.astype(int) - b.astype(int)).max()) for a, b in pairs]
    assert off == [0] * FRAMES, off


@pytest.fixture
def counted(monkeypatch) -> dict[str, int]:
    """The calls the styling work makes: the network (every engine a Stylizer creates), the
    coherence's flow (``TemporalBlender.prepare``) and its blend (``apply``, ``keep``)."""
    from restyle.core import stylizer as stylizer_module
    from restyle.core.temporal import TemporalBlender

    calls = {"network": 0, "flow": 0, "blend": 0}
    made = stylizer_module.create_engine

    def create_engine(*args, **kwargs):
        engine = made(*args, **kwargs)
        run = engine.run

        def counted_run(*a, **k):
            calls["network"] += 1
            return run(*a, **k)

        engine.run = counted_run
        return engine

    monkeypatch.setattr(stylizer_module, "create_engine", create_engine)
    for name, kind in (("prepare", "flow"), ("apply", "blend"), ("keep", "blend")):
        real = getattr(TemporalBlender, name)

        def counting(self, *a, _real=real, _kind=kind, **k):
            calls[_kind] += 1
            return _real(self, *a, **k)

        monkeypatch.setattr(TemporalBlender, name, counting)
    return calls


def test_strength_zero_runs_no_network_and_no_coherence(walk, library, tmp_path, counted):
    """--strength 0 writes the source, as before, without styling it: the engine is never
    run, no flow is estimated, nothing is blended. (It ran the network and the coherence on
    every frame and threw their work away in the mix.) A cancelled run resumes the same."""
    out = run(walk, tmp_path / "s0", library, 0.0)
    assert counted == {"network": 0, "flow": 0, "blend": 0}
    assert [o.tobytes() for o in out] == [f.tobytes() for f in walk[1]]
    token = CancelToken()

    def progress(p) -> None:
        if p.stage == "stylize" and p.done >= 3:
            token.cancel()

    job = StyleJob(walk[0], tmp_path / "resumed", STYLE, strength=0.0, max_side=160)
    job.library = library
    cut_short = job.run(progress=progress, cancel=token)
    assert cut_short.cancelled and 0 < cut_short.written < FRAMES
    assert job.run().reused == cut_short.written
    assert [o.tobytes() for o in read(tmp_path / "resumed")] == [f.tobytes() for f in walk[1]]
    assert counted == {"network": 0, "flow": 0, "blend": 0}
    whole = job_at(walk, tmp_path / "resumed", library, 0.0)
    assert whole.outlook(whole.validate())["outcome"] == "finished"


def job_at(walk, output: Path, library, strength: float, **options) -> StyleJob:
    made = StyleJob(walk[0], output, STYLE, strength=strength, max_side=160, **options)
    made.library = library
    return made


def test_a_strength_zero_folder_is_not_reused_at_strength_one(walk, library, tmp_path, counted):
    """Strength is in the settings key: a folder made at strength 0 (no network) is refused
    at strength 1, and with --overwrite every frame is styled again, as one strength-1 run."""
    run(walk, tmp_path / "out", library, 0.0)
    full = run(walk, tmp_path / "s1", library, 1.0)
    assert counted["network"] > 0 and counted["flow"] > 0  # batches of frames
    with pytest.raises(RestyleError, match="other settings"):  # refused without --overwrite
        job_at(walk, tmp_path / "out", library, 1.0).validate()
    result = job_at(walk, tmp_path / "out", library, 1.0, overwrite=True).run()
    assert (result.reused, result.written) == (0, FRAMES)
    assert [o.tobytes() for o in read(tmp_path / "out")] == [f.tobytes() for f in full]
