"""A matte that keeps almost nothing is said by the job, so every front end says it: the
command line printed nothing and a farm's run made an empty matte unsaid (only Blender's
Matte read the finished strip's files). The job measures the frames it writes and samples
those kept from before (a resume, a finished rerun).

Footage: real photographs (scikit-image, public domain) panned 3 px a frame: NASA's
rocket on its pad (no one in it: the matte keeps ~0.01%) and the astronaut (she fills
the frame: ~54%)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from restyle.core.cli import main
from restyle.core.mappings.matte import NEARLY_EMPTY
from restyle.core.mappings.matte_job import MatteJob
from restyle.core.writers import open_writer

SIZE = (352, 288)
WORDS = "the matte keeps almost nothing ("


def _photo(name: str) -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(cv2.resize(getattr(skimage.data, name)(), SIZE))


def photo_clip(path, names):
    """One frame of each photo in ``names``, panned 3 px a frame, as a lossless movie."""
    with open_writer(path, fmt="ffv1", fps=24, size=SIZE) as writer:
        for i, name in enumerate(names):
            writer.write(i, np.roll(_photo(name), 3 * i, axis=1))
    return path


@pytest.fixture
def home(matte_library, monkeypatch):
    monkeypatch.setenv("RESTYLE_HOME", str(matte_library.root))
    return matte_library


@pytest.fixture(scope="module")
def rocket(tmp_path_factory):
    return photo_clip(tmp_path_factory.mktemp("matte24") / "rocket.mkv", ["rocket"] * 4)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Frames 0-3 the astronaut, 4-7 the rocket."""
    names = ["astronaut"] * 4 + ["rocket"] * 4
    return photo_clip(tmp_path_factory.mktemp("matte24") / "mixed.mkv", names)


def _warned(text: str) -> list[str]:
    return [line for line in text.splitlines() if WORDS in line]


def test_the_command_line_warns_of_a_nearly_empty_matte(home, rocket, tmp_path, capsys):
    out = tmp_path / "matte"
    assert main(["matte", str(rocket), "-o", str(out)]) == 0
    (line,) = _warned(capsys.readouterr().err)  # once
    assert line.startswith("restyle: warning: the matte keeps almost nothing (0.0% of the")
    assert "frames 0-3), so a new background replaces nearly the whole frame" in line
    assert "the matte network wants people near, head in view" in line
    # run again: every frame kept from before (read back from its files), said again
    assert main(["matte", str(rocket), "-o", str(out), "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["reused"] == 4
    assert [w for w in record["warnings"] if w.startswith(WORDS)] == [line.split(": ", 2)[2]]


def test_people_filling_the_frame_are_not_warned_of(home, mixed, tmp_path, capsys):
    out = tmp_path / "matte"
    assert main(["matte", str(mixed), "-o", str(out), "--end", "3"]) == 0
    assert _warned(capsys.readouterr().err) == []
    job = MatteJob(source=mixed, output=out, end=3, library=home)
    result = job.run()
    assert result.finished_before and job.coverage > 0.3, job.coverage
    assert not [w for w in result.warnings if w.startswith(WORDS)]


def test_a_resume_counts_the_frames_kept_from_before(home, mixed, tmp_path):
    """Frames 0-3 (the astronaut) kept, 4-7 (the rocket, empty) made now: the matte over
    0-7 keeps a quarter of the picture, no warning (the frames written alone warned)."""
    out = tmp_path / "matte"
    MatteJob(source=mixed, output=out, end=3, library=home).run()
    job = MatteJob(source=mixed, output=out, library=home)
    result = job.run()
    assert (result.reused, result.written) == (4, 4)
    assert 0.15 < job.coverage < 0.4, job.coverage
    assert not [w for w in result.warnings if w.startswith(WORDS)]
    alone = MatteJob(source=mixed, output=tmp_path / "empty", start=4, library=home)
    result = alone.run()
    assert alone.coverage < NEARLY_EMPTY
    (said,) = [w for w in result.warnings if w.startswith(WORDS)]
    assert "frames 4-7)" in said
