"""Shared pytest fixtures. Media fixtures are generated once per session (see clips.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests import the `clips` helper module

from clips import make_index_clip, make_pan_clip  # noqa: E402

CLIP_SIZE = (160, 96)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def index_clip_h264(media_dir: Path) -> Path:
    """60 frames of 160x96 h264 (B-frames, keyframe every 25) in MP4; frame i carries i."""
    return make_index_clip(media_dir / "index_h264.mp4", 60, CLIP_SIZE, gop=25)


@pytest.fixture(scope="session")
def index_clip_ffv1(media_dir: Path) -> Path:
    """40 frames of 160x96 lossless FFV1 in Matroska (keyframe every 10); frame i carries i."""
    return make_index_clip(media_dir / "index_ffv1.mkv", 40, CLIP_SIZE, codec="ffv1", gop=10)


@pytest.fixture(scope="session")
def pan_clip(media_dir: Path) -> Path:
    """24 frames of 160x96 h264 panning right by 2 px per frame."""
    return make_pan_clip(media_dir / "pan.mp4", 24, CLIP_SIZE, dx_per_frame=2.0)


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory):
    """A style library with the built-ins converted once per test session."""
    from restyle.core.builtins import install_builtins
    from restyle.core.styles import StyleLibrary

    lib = StyleLibrary(tmp_path_factory.mktemp("library"), bundled=None)
    install_builtins(lib.builtin_dir)
    return lib


@pytest.fixture(scope="session")
def matte_library(tmp_path_factory: pytest.TempPathFactory):
    """A library with the matte network converted once (from the mediapipe wheel on PyPI)."""
    from restyle.core.errors import RestyleError
    from restyle.core.mappings.matte_model import install_matte
    from restyle.core.styles import StyleLibrary

    lib = StyleLibrary(tmp_path_factory.mktemp("matte-library"), bundled=None)
    try:
        install_matte(lib.builtin_dir)
    except RestyleError as exc:  # offline and no RESTYLE_MEDIAPIPE_WHEEL
        pytest.skip(f"matte network unavailable: {exc}")
    return lib


@pytest.fixture
def placed(library, index_clip_h264, tmp_path):
    """A job for frames 0-3 into a folder, placed as Blender places it (the Ray tests)."""
    from restyle.core.job import StyleJob

    job = StyleJob(index_clip_h264, None, "comic-ink", start=0, end=3, library=library)
    plan = job.place(job.validate(), tmp_path / "out")
    plan.output.mkdir()
    return job, plan
