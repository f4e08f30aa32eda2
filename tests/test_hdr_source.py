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


KR, KB = 0.2627, 0.0593  # BT.2020's luma weights of red and blue


def ycbcr_codes(signal, full_range: bool = False, bits: int = 10) -> np.ndarray:
    """ITU-R BT.2100's Y'CbCr codes (non-constant luminance; limited or full range) of
    R'G'B' signal (...x3, 0-1), as 3x... integers: written out here, not swscale's."""
    red, green, blue = np.moveaxis(np.asarray(signal, float), -1, 0)
    luma = KR * red + (1 - KR - KB) * green + KB * blue
    cb, cr = (blue - luma) / (2 * (1 - KB)), (red - luma) / (2 * (1 - KR))
    if full_range:
        top, middle = 2**bits - 1, 2 ** (bits - 1)
        codes = [top * luma, top * cb + middle, top * cr + middle]
    else:
        step = 2 ** (bits - 8)
        codes = [step * (16 + 219 * luma), step * (128 + 224 * cb), step * (128 + 224 * cr)]
    return np.round(codes).astype(np.uint16)


def signal_of_codes(codes: np.ndarray, full_range: bool = False, bits: int = 10) -> np.ndarray:
    """The R'G'B' signal (...x3) that Y'CbCr codes (3x...) stand for: BT.2100's inverse."""
    y, cb, cr = np.asarray(codes, float)
    if full_range:
        top, middle = 2**bits - 1, 2 ** (bits - 1)
        luma, cb, cr = y / top, (cb - middle) / top, (cr - middle) / top
    else:
        step = 2 ** (bits - 8)
        luma, cb, cr = (y / step - 16) / 219, (cb / step - 128) / 224, (cr / step - 128) / 224
    red, blue = luma + 2 * (1 - KR) * cr, luma + 2 * (1 - KB) * cb
    green = (luma - KR * red - KB * blue) / (1 - KR - KB)
    return np.stack([red, green, blue], axis=-1)


def ycbcr_frame(codes: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    """A frame of ``pix_fmt`` (planar, 16-bit samples) holding Y'CbCr ``codes`` (3xHxW) as
    they are; subsampled chroma takes every other code (flat patches: no filter needed)."""
    height, width = codes.shape[1:]
    frame = av.VideoFrame(width, height, pix_fmt)
    for plane, values in zip(frame.planes, codes, strict=True):
        rows = np.zeros((plane.height, plane.line_size // 2), np.uint16)
        rows[:, : plane.width] = values[:: height // plane.height, :: width // plane.width]
        plane.update(rows.tobytes())
    return frame


def coded_movie(
    path: Path,
    patches: list,
    transfer: int,
    x265: str = "",
    pix_fmt: str = "yuv444p10le",
    full_range: bool = False,
) -> Path:
    """Two frames of 16x16 patches of R'G'B' signal (0-1) in ``transfer`` and BT.2020,
    coded by hand as 10-bit Y'CbCr (limited or full range) and losslessly (x264, or x265
    with ``x265`` parameters)."""
    picture = np.concatenate([np.full((16, 16, 3), p, float) for p in patches], axis=1)
    codes = ycbcr_codes(picture, full_range)
    with av.open(str(path), "w") as container:
        if x265:
            options = {"x265-params": f"lossless=1:log-level=error:{x265}"}
            stream = container.add_stream("libx265", rate=24, options=options)
        else:
            stream = container.add_stream("libx264", rate=24, options={"qp": "0"})
        stream.width, stream.height = picture.shape[1], 16
        stream.pix_fmt = pix_fmt
        codec = stream.codec_context
        codec.color_trc, codec.color_primaries, codec.colorspace = transfer, 9, 9
        codec.color_range = 2 if full_range else 1
        for pts in range(2):
            frame = ycbcr_frame(codes, pix_fmt)
            frame.colorspace, frame.color_range = 9, codec.color_range
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
    # linear light: the 10-bit codes hold this red to 0.7 % (they stand for 0.4958 red),
    # and it reads as they stand for it
    assert red**2.4 == pytest.approx([100 / SDR_WHITE, 0, 0], abs=0.004)
    coded = pq_nits(signal_of_codes(ycbcr_codes(patches[0]))) / SDR_WHITE @ BT2020_TO_BT709.T
    assert red[0] ** 2.4 == pytest.approx(coded[0], abs=1e-4)
    assert green[0] < 0.002 and green[1] > green[2] > 0.1  # at BT.709's edge, still green
    green_luminance = 0.6780 * 100 / SDR_WHITE  # BT.2020 green's luminance, kept
    assert LUMA_709 @ green**2.4 == pytest.approx(green_luminance, rel=0.03)


def pq_nits(signal):
    """SMPTE ST 2084's EOTF (the definition, written out here): signal 0-1 to nits."""
    m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
    power = np.asarray(signal, float) ** (1 / m2)
    return 10000 * (np.maximum(power - c1, 0) / (c2 - c3 * power)) ** (1 / m1)


# greys of 50 (below BT.2390's knee), 100 and 203 nits, BT.709 red at 50 nits, a dim colour
CODED_PATCHES = [
    *grey_patches([50, 100, SDR_WHITE]),
    pq_signal(50 * RED_709_IN_2020),
    pq_signal([20, 60, 120]),
]


@pytest.mark.parametrize("full_range", [False, True], ids=["limited", "full"])
@pytest.mark.parametrize("pix_fmt", ["yuv420p10le", "yuv422p10le", "yuv444p10le"])
def test_10_bit_codes_read_as_bt2100_defines_them(tmp_path, pix_fmt, full_range):
    """FFmpeg's converter expands 10-bit limited range 0.4 % short (Y' 940 reads 0.9962) and
    full range 0.1 %: its PQ greys read up to 0.0055 (limited) and 0.0014 (full) under
    these levels. The codes are written by hand, so its error cannot cancel out."""
    from restyle.core.tonemap import ToneMap

    source = coded_movie(tmp_path / "pq.mkv", CODED_PATCHES, PQ, "", pix_fmt, full_range)
    signal = signal_of_codes(ycbcr_codes(np.array(CODED_PATCHES), full_range), full_range)
    coded = np.round(np.clip(signal, 0, 1) * 65535).astype(np.uint16)
    levels = patch_levels(source)
    assert levels == pytest.approx(ToneMap(PQ)(coded[None], np.uint16)[0] / 65535, abs=2e-4)
    grey_50 = sdr_signal(pq_nits(signal[0, 0]) / SDR_WHITE)  # below the knee: light kept
    assert levels[0] == pytest.approx([grey_50] * 3, abs=3e-4)


def test_4_2_0_chroma_sits_where_mpeg2_h264_and_hevc_put_it_unsignalled():
    """Left: on the even luma columns, halfway between two luma rows."""
    from restyle.core.tonemap import upsampled_chroma

    chroma = np.zeros((4, 4), np.uint16)
    chroma[2, 1] = 4096
    response = upsampled_chroma(chroma, 8, 8) / 4096
    assert np.array_equal(response[:, 2], [0, 0, 0, 0.25, 0.75, 0.75, 0.25, 0])
    assert np.array_equal(response[5], [0, 0.375, 0.75, 0.375, 0, 0, 0, 0])


def test_p010_reads_as_its_planar_twin():
    """p010 (hardware decoders' layout: Cb and Cr interleaved, codes in the high bits)."""
    from restyle.core.media import _hdr_signal

    codes = ycbcr_codes(np.concatenate([np.full((4, 4, 3), p) for p in CODED_PATCHES], 1))
    planar = ycbcr_frame(codes, "yuv420p10le")
    packed = av.VideoFrame(planar.width, planar.height, "p010le")
    chroma = np.stack([codes[1, ::2, ::2], codes[2, ::2, ::2]], axis=-1)
    for plane, values in zip(packed.planes, (codes[0], chroma.reshape(2, -1)), strict=True):
        rows = np.zeros((plane.height, plane.line_size // 2), np.uint16)
        rows[:, : values.shape[1]] = values << 6
        plane.update(rows.tobytes())
    for frame in (planar, packed):
        frame.colorspace, frame.color_range = 9, 1
    read = _hdr_signal(packed, wide_gamut=True)
    assert np.array_equal(read, _hdr_signal(planar, wide_gamut=True))
    expected = signal_of_codes(codes) * 65535
    assert np.abs(read[1::2, ::4] - expected[1::2, ::4]).max() <= 1  # chroma's own rows


@pytest.mark.parametrize("full_range", [False, True], ids=["limited", "full"])
def test_12_bit_codes_read_by_their_own_depth(full_range):
    from restyle.core.media import _hdr_signal

    signal = np.concatenate([np.full((4, 4, 3), p) for p in CODED_PATCHES], 1)
    codes = ycbcr_codes(signal, full_range, bits=12)
    frame = ycbcr_frame(codes, "yuv444p12le")
    frame.colorspace, frame.color_range = 9, 2 if full_range else 1
    expected = np.clip(signal_of_codes(codes, full_range, bits=12), 0, 1) * 65535
    assert np.abs(_hdr_signal(frame, wide_gamut=True) - expected).max() <= 1


def test_an_hdr_movies_alpha_passes_through_at_16_bits(tmp_path):
    path = tmp_path / "alpha.mkv"
    grey = ycbcr_codes(pq_signal(np.full(3, SDR_WHITE)))
    alpha = np.array([[0, 512, 1023, 1023]]).repeat(4, 1).repeat(16, 0)
    planes = np.concatenate([np.broadcast_to(grey[:, None, None], (3, 16, 16)), alpha[None]])
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuva444p10le"
        codec = stream.codec_context
        codec.color_trc, codec.color_primaries, codec.colorspace = PQ, 9, 9
        frame = ycbcr_frame(planes.astype(np.uint16), "yuva444p10le")
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    (read,) = decode_range(path, 0, 0)
    assert read.shape == (16, 16, 4) and read.dtype == np.uint16
    assert np.array_equal(read[0, ::4, 3], [0, round(512 * 65535 / 1023), 65535, 65535])
    assert 0.88 < read[0, 0, 0] / 65535 < 0.93  # reference white, as in the grey test


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


# ---------------------------------------------------------------------------------------
# The tone map's tables and float32 against the same maths written out in float64

BT2020_TO_BT709 = np.array(  # ITU-R BT.2087, linear light
    [[1.6605, -0.5876, -0.0728], [-0.1246, 1.1329, -0.0083], [-0.0182, -0.1006, 1.1187]]
)
LUMA_2020 = np.array([KR, 1 - KR - KB, KB])


def hlg_scene_light(signal):
    """ARIB STD-B67's inverse OETF: signal 0-1 to normalised scene light."""
    a = 0.17883277
    b, c = 1 - 4 * a, 0.5 - a * np.log(4 * a)
    high = (np.exp((np.maximum(signal, 0.5) - c) / a) + b) / 12
    return np.where(signal <= 0.5, signal**2 / 3, high)


def bt2390_nits(nits, peak):
    """ITU-R BT.2390's EETF in PQ relative to the peak, from the peak to 203 nits."""
    peak_pq = pq_signal(peak)
    relative = np.minimum(pq_signal(nits) / peak_pq, 1)
    target = pq_signal(SDR_WHITE) / peak_pq
    if target < 1:
        knee = 1.5 * target - 0.5
        t = np.clip((relative - knee) / (1 - knee), 0, 1)
        spline = (
            (2 * t**3 - 3 * t**2 + 1) * knee
            + (t**3 - 2 * t**2 + t) * (1 - knee)
            + (3 * t**2 - 2 * t**3) * target
        )
        relative = np.where(relative < knee, relative, spline)
    return np.minimum(pq_nits(relative * peak_pq), SDR_WHITE)


def reference_tone_map(codes, transfer, peak=1000.0):
    """tonemap.py's steps, straight from their definitions (float64, no tables): 16-bit
    R'G'B' codes to 16-bit SDR BT.709 codes."""
    signal = np.asarray(codes, float) / 65535
    if transfer == PQ:
        light = pq_nits(signal)
    else:  # BT.2100's OOTF at 1000 nits: 1000 Ys^0.2 times scene light
        scene = hlg_scene_light(signal)
        light = 1000 * scene * (scene @ LUMA_2020)[..., None] ** 0.2
    brightest = light.max(axis=-1)
    mapped = bt2390_nits(brightest, peak)
    gain = np.divide(mapped, brightest, out=np.ones_like(mapped), where=brightest > 0)
    light = light * (gain / SDR_WHITE)[..., None] @ BT2020_TO_BT709.T
    luminance = np.clip(light @ LUMA_709, 0, 1)[..., None]
    low, high = light.min(axis=-1, keepdims=True), light.max(axis=-1, keepdims=True)
    low, high = np.where(low < -1e-3, low, 0), np.where(high > 1 + 1e-3, high, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = np.minimum(
            np.where(low < 0, luminance / (luminance - low), 1),
            np.where(high > 1, (1 - luminance) / (high - luminance), 1),
        )
    light = luminance + keep * (light - luminance)
    return np.round(np.clip(light, 0, 1) ** (1 / 2.4) * 65535)


def spread_of_codes(rows: int) -> np.ndarray:
    """R'G'B' codes of every brightness: greys, near-greys (a few pixels outside BT.709)
    and colours of any saturation (most of them outside)."""
    rng = np.random.default_rng(7)
    grey = np.linspace(0, 65535, 256 * rows)[:, None].repeat(3, 1)
    tinted = grey * rng.uniform(0.85, 1.0, grey.shape)
    wild = rng.integers(0, 65536, grey.shape)
    return np.stack([grey, tinted, wild]).reshape(3, rows, 256, 3).astype(np.uint16)


@pytest.mark.parametrize("transfer, peak", [(PQ, 1000.0), (PQ, 4000.0), (HLG, 1000.0)])
def test_the_tone_map_matches_its_maths_in_float64(transfer, peak):
    """Within 5e-5 of SDR white in linear light: one 16-bit code at white, the display
    table's step (gamma 2.4's slope makes it tens of codes beside black); on average
    within half a code."""
    from restyle.core.tonemap import ToneMap

    for codes in spread_of_codes(40):
        fast = ToneMap(transfer, peak_nits=peak)(codes, np.uint16) / 65535
        exact = reference_tone_map(codes, transfer, peak) / 65535
        assert np.abs(fast**2.4 - exact**2.4).max() < 5e-5
        assert np.abs(fast - exact).mean() * 65535 < 0.5
