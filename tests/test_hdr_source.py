"""HDR sources (PQ, HLG): Restyle styles a movie's coded values and writes SDR (BT.709), so a
PQ or HLG movie comes out flat and washed out. Not refused (a look may be wanted): one
warning, before the first frame, in --plan and in the run's warnings."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from restyle.core.job import StyleJob
from restyle.core.media import probe

PQ, HLG, BT709 = 16, 18, 1  # FFmpeg's AVColorTransferCharacteristic


def tagged_movie(path: Path, transfer: int) -> Path:
    """Four 10-bit H.264 frames in BT.2020, tagged with ``transfer``."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height = 64, 48
        stream.pix_fmt = "yuv420p10le"
        codec = stream.codec_context
        codec.color_trc, codec.color_primaries, codec.colorspace = transfer, 9, 9
        for pts in range(4):
            rgb = np.full((48, 64, 3), 90 + 30 * pts, np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p10le")
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(
    "transfer, words", [(PQ, "PQ (SMPTE ST 2084)"), (HLG, "HLG (ARIB STD-B67)")]
)
def test_an_hdr_movie_is_styled_with_one_warning(tmp_path, library, transfer, words):
    source = tagged_movie(tmp_path / "hdr.mp4", transfer)
    result = StyleJob(source, tmp_path / "out", "comic-ink", library=library, temporal=0).run()
    assert result.written == 4
    (warned,) = [w for w in result.warnings if "HDR" in w]
    assert words in warned and "as if SDR" in warned and warned == result.warnings[0]


def test_an_sdr_movie_in_bt2020_says_nothing(tmp_path, library):
    source = tagged_movie(tmp_path / "sdr.mp4", BT709)
    assert probe(source).transfer is None
    result = StyleJob(source, tmp_path / "out", "comic-ink", library=library, temporal=0).run()
    assert not [w for w in result.warnings if "HDR" in w]


def cli(library, *args: str) -> int:
    from restyle.core.cli import main

    return main([*args, "-s", "comic-ink", "--temporal", "0", "--library", str(library.root)])


def test_plan_says_it(tmp_path, library, capsys):
    source = tagged_movie(tmp_path / "hdr.mp4", PQ)
    out = tmp_path / "out"
    assert cli(library, "stylize", str(source), "-o", str(out), "--plan", "--json") == 0
    record = json.loads(capsys.readouterr().out)
    (warned,) = record["warnings"]
    assert "PQ (SMPTE ST 2084)" in warned
    assert cli(library, "stylize", str(source), "-o", str(out), "--plan") == 0
    assert f"warning: {warned}" in capsys.readouterr().out.splitlines()
    assert not out.exists()


def test_the_run_says_it_before_the_first_frame_and_once(tmp_path, library, capsys, monkeypatch):
    from restyle.core import job

    source = tagged_movie(tmp_path / "hdr.mp4", HLG)
    seen_before: list[str] = []
    execute = job._Run.execute

    def watched(run):
        seen_before.append(capsys.readouterr().err)
        return execute(run)

    monkeypatch.setattr(job._Run, "execute", watched)
    assert cli(library, "stylize", str(source), "-o", str(tmp_path / "out")) == 0
    after = capsys.readouterr().err
    assert seen_before[0].count("HLG (ARIB STD-B67)") == 1 and "HLG" not in after
    assert cli(library, "stylize", str(source), "-o", str(tmp_path / "o2"), "--json") == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sum("HLG (ARIB STD-B67)" in w for w in record["warnings"]) == 1
