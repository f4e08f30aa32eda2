"""A variable-frame-rate source's warning gives the rate its frames really average (from
their decoded timestamps), not only the rate its container states: a Matroska phone clip
stamped 20 frames a second but told 24 fps is retimed at 24 fps, 4 slots in 24 repeated."""

from __future__ import annotations

import pytest

from restyle.core.job import StyleJob
from restyle.core.media import probe

from clips import make_variable_rate_clip


def _run(source, output, library):
    return StyleJob(source, output, "comic-ink", temporal=0.0, library=library).run()


def test_the_warning_gives_the_measured_average_not_the_containers_rate(library, tmp_path):
    # 20 frames 1/20 s apart (12 ticks of 1/240 s), told 24 fps: slots round(1.2 k)
    source = make_variable_rate_clip(tmp_path / "phone.mkv", range(0, 240, 12), rate=24)
    assert probe(source).fps == 24  # what the container states, as Matroska keeps it
    result = _run(source, tmp_path / "out", library)
    assert result.written == 24 and len(result.warnings) == 1
    warning = result.warnings[0]
    assert "frames are taken at 24 fps, the rate its container states" in warning
    assert "its frames average 20 fps" in warning
    assert "average rate, 24 fps" not in warning
    assert warning.endswith("; 4 frames repeat the one before (frames 3, 9, 15, 21)")
    assert "sound" not in warning and "early" not in warning  # no sound, no sync words
    # (with sound: test_audio's test of the sync words on a variable-rate clip)


def test_a_rate_the_container_measured_is_called_the_average(library, tmp_path):
    """MP4 states its stamps' average (here 240/11 fps): the figure is that one, once."""
    stamps = (0, 10, 20, 24, 30, 60, 70, 80, 90, 100)
    source = make_variable_rate_clip(tmp_path / "phone.mp4", stamps, rate=24)
    info = probe(source)
    assert info.fps == pytest.approx(240 / 11)
    result = _run(source, tmp_path / "out", library)
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert "frames are taken at its average rate, 21.82 fps;" in warning
    assert "the rate its container states" not in warning
    assert "; 1 source frame dropped and 1 frame repeats the one before (frame 4)" in warning
