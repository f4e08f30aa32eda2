"""HDR sources (PQ, HLG): read as the SDR BT.709 picture they stand for (tone-mapped with
ITU-R BT.2390's curve, the source's peak to BT.2408's 203-nit SDR white, BT.2020 desaturated
into BT.709), as Restyle styles and writes SDR. One warning says so, before the first
frame, in --plan and in the run's warnings. Levels are checked against the standards'
definitions (PQ's and HLG's signal for a light level, BT.2087's BT.709-in-BT.2020 colour,
BT.1886's display gamma), on tiny lossless 10-bit clips."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from restyle.core.job import StyleJob
from restyle.core.media import decode_range, probe

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
    assert words in warned and "tone-mapped to SDR BT.709" in warned
    assert warned == result.warnings[0]


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


# ---------------------------------------------------------------------------------------
# What an HDR picture reads as

SDR_WHITE = 203.0  # nits: ITU-R BT.2408's HDR reference white, where SDR's 100 % sits


def pq_signal(nits):
    """SMPTE ST 2084's inverse EOTF (the definition, written out here)."""
    m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
    y = (np.asarray(nits, float) / 10000) ** m1
    return ((c1 + c2 * y) / (1 + c3 * y)) ** m2


def sdr_signal(linear):
    """An SDR picture's code for linear light (1 = SDR white) on a BT.1886 display."""
    return np.asarray(linear, float) ** (1 / 2.4)


def coded_movie(path: Path, patches: list, transfer: int, x265: str = "") -> Path:
    """Two frames of 16x16 patches of R'G'B' signal (0-1) in ``transfer`` and BT.2020,
    coded losslessly as 10-bit 4:4:4 (x264, or x265 with ``x265`` parameters)."""
    picture = np.concatenate([np.full((16, 16, 3), p, float) for p in patches], axis=1)
    codes = np.round(picture * 65535).astype(np.uint16)
    with av.open(str(path), "w") as container:
        if x265:
            options = {"x265-params": f"lossless=1:log-level=error:{x265}"}
            stream = container.add_stream("libx265", rate=24, options=options)
        else:
            stream = container.add_stream("libx264", rate=24, options={"qp": "0"})
        stream.width, stream.height = picture.shape[1], 16
        stream.pix_fmt = "yuv444p10le"
        codec = stream.codec_context
        codec.color_trc, codec.color_primaries, codec.colorspace = transfer, 9, 9
        for pts in range(2):
            frame = av.VideoFrame.from_ndarray(codes, format="rgb48le")
            frame = frame.reformat(format="yuv444p10le", dst_colorspace=9, dst_color_range=1)
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def patch_levels(source: Path) -> np.ndarray:
    """Each 16x16 patch's mean R'G'B' (0-1) in the first frame Restyle reads."""
    (frame,) = decode_range(source, 0, 0)
    assert frame.dtype == np.uint16  # 10-bit: read at 16 bits, as deep SDR sources are
    return frame[4:12].reshape(8, -1, 16, 3)[:, :, 4:12].mean(axis=(0, 2)) / 65535


def grey_patches(nits: list[float]) -> list[np.ndarray]:
    return [np.full(3, pq_signal(n)) for n in nits]


def test_pq_greys_read_as_sdr_greys_with_the_highlights_rolled_off(tmp_path):
    nits = [1, 10, 50, 100, 203, 400, 1000, 4000]
    levels = patch_levels(coded_movie(tmp_path / "pq.mkv", grey_patches(nits), PQ))
    assert np.ptp(levels, axis=1).max() < 0.002  # greys stay grey
    grey = levels[:, 1]
    # below BT.2390's knee the light is kept: SDR white is 203 nits
    assert np.allclose(grey[:4], sdr_signal(np.array(nits[:4]) / SDR_WHITE), atol=0.004)
    # reference white near SDR white, a little under it: the knee starts below it
    assert 0.88 < grey[4] < 0.93
    assert np.all(np.diff(grey[:7]) > 0.01)  # highlights keep their steps up to the peak
    assert grey[6] > 0.999 and grey[7] > 0.999  # the untagged 1000-nit peak is SDR white


def test_a_tagged_max_cll_moves_the_peak(tmp_path):
    nits = [10, 1000, 4000]
    patches = grey_patches(nits)
    untagged = patch_levels(coded_movie(tmp_path / "plain.mkv", patches, PQ, x265="info=0"))
    tagged = coded_movie(tmp_path / "cll.mkv", patches, PQ, x265="max-cll=4000,400")
    assert probe(tagged).tone_map.peak_nits == 4000
    levels = patch_levels(tagged)
    assert levels[0, 1] == pytest.approx(untagged[0, 1], abs=0.004)  # below the knee
    assert 0.93 < levels[1, 1] < 0.99 and levels[2, 1] > 0.999  # 1000 nits is no longer white


def test_hlg_reference_white_reads_as_pq_reference_white(tmp_path):
    """BT.2408: 75 % HLG and 58 % PQ (203 nits) are the same reference white."""
    hlg = patch_levels(coded_movie(tmp_path / "hlg.mkv", [np.full(3, 0.75)], HLG))
    pq = patch_levels(coded_movie(tmp_path / "pq.mkv", grey_patches([SDR_WHITE]), PQ))
    assert hlg[0] == pytest.approx(pq[0], abs=0.004)


# BT.709's red primary in BT.2020 (ITU-R BT.2087's BT.709 to BT.2020 matrix, first column)
RED_709_IN_2020 = np.array([0.6274, 0.0691, 0.0164])
LUMA_709 = np.array([0.2126, 0.7152, 0.0722])


def test_bt2020_colours_come_to_bt709_and_a_wider_one_is_desaturated_into_it(tmp_path):
    red_nits = 100 * RED_709_IN_2020  # BT.709 red at 100 nits, written in BT.2020
    green_nits = np.array([0, 100, 0])  # BT.2020's green: outside BT.709
    patches = [pq_signal(red_nits), pq_signal(green_nits)]
    red, green = patch_levels(coded_movie(tmp_path / "wide.mkv", patches, PQ))
    assert red**2.4 == pytest.approx([100 / SDR_WHITE, 0, 0], abs=0.003)  # linear light
    assert green[0] < 0.002 and green[1] > green[2] > 0.1  # at BT.709's edge, still green
    green_luminance = 0.6780 * 100 / SDR_WHITE  # BT.2020 green's luminance, kept
    assert LUMA_709 @ green**2.4 == pytest.approx(green_luminance, rel=0.03)


def test_hdr_frames_read_the_same_through_a_seek_and_as_stored(tmp_path):
    source = coded_movie(tmp_path / "pq.mkv", grey_patches([SDR_WHITE, 1000]), PQ)
    first = list(decode_range(source, 0, 1))
    assert np.array_equal(first[1], next(iter(decode_range(source, 1, 1))))
    assert np.array_equal(first[0], next(iter(decode_range(source, 0, 0, upright=False))))


@pytest.mark.parametrize("pix_fmt, out_format", [("yuv420p10le", "rgb48le"), ("yuv420p", "rgb24")])
def test_sdr_movies_read_exactly_as_before(tmp_path, pix_fmt, out_format):
    """No tone map for SDR: Restyle's frames are PyAV's conversion, bit for bit."""
    path = tmp_path / "sdr.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, pix_fmt
        stream.codec_context.color_trc = BT709
        ramp = np.linspace(0, 255, 64 * 48 * 3).reshape(48, 64, 3).astype(np.uint8)
        for pts in range(3):
            frame = av.VideoFrame.from_ndarray(ramp, format="rgb24").reformat(format=pix_fmt)
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert probe(path).tone_map is None
    with av.open(str(path)) as container:
        expected = [f.to_ndarray(format=out_format) for f in container.decode(video=0)]
    read = list(decode_range(path, 0, 2))
    assert all(np.array_equal(a, b) for a, b in zip(read, expected, strict=True))


def test_the_tone_map_keeps_alpha_and_codes_8_bit_sources_in_8_bits():
    """An 8-bit HDR source (rare) reads as uint8; an alpha channel passes through."""
    from restyle.core.tonemap import ToneMap

    rgba = np.zeros((2, 3, 4), np.uint16)
    rgba[..., :3] = round(pq_signal(SDR_WHITE) * 65535)
    rgba[..., 3] = [[0, 32768, 65535]] * 2
    deep, shallow = ToneMap(PQ)(rgba, np.uint16), ToneMap(PQ)(rgba, np.uint8)
    assert (deep.dtype, shallow.dtype) == (np.uint16, np.uint8)
    assert np.array_equal(deep[..., 3], rgba[..., 3])
    assert np.array_equal(shallow[..., 3], [[0, 128, 255]] * 2)
    assert abs(int(shallow[0, 0, 0]) - round(int(deep[0, 0, 0]) / 257)) <= 1


def test_the_mastering_displays_peak_stands_in_for_a_missing_max_cll(tmp_path):
    display = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(20000000,50)"
    patches = grey_patches([SDR_WHITE])
    source = coded_movie(tmp_path / "mastered.mkv", patches, PQ, x265=f"master-display={display}")
    assert probe(source).tone_map.peak_nits == 2000  # L: max in 0.0001 nits
    plain = coded_movie(tmp_path / "plain.mkv", patches, PQ, x265="info=0")
    assert probe(plain).tone_map.peak_nits == 1000
