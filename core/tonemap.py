"""HDR (PQ, HLG) pictures tone-mapped to SDR BT.709, as a video tool shows HDR on SDR.

Restyle's models, previews and writers work in SDR BT.709, so an HDR movie's decoded
R'G'B' (full range, 16 bits a sample) is turned into the SDR picture it stands for:

1. linear display light in cd/m² (nits): the PQ EOTF (SMPTE ST 2084), or for HLG the
   inverse OETF and the reference OOTF of a 1000-nit display (ITU-R BT.2100: system gamma
   1.2 on the BT.2020 luminance, no black lift);
2. the ITU-R BT.2390 EETF (a Hermite knee in PQ space) on each pixel's brightest
   component, scaling all three by one factor so hue and saturation keep: the source's
   peak (its tagged MaxCLL or mastering peak, else 1000 nits) lands on the SDR white of
   203 nits, ITU-R BT.2408's HDR reference white, and below the knee nothing changes;
3. BT.2020 to BT.709 primaries (the ITU-R BT.2087 matrix), a colour outside BT.709
   desaturated towards its own luminance until it fits (hue and luminance kept);
4. encoded for a BT.709 display (the inverse BT.1886 EOTF, gamma 2.4: PQ and HLG above are
   display light, so the display's curve, not the camera's OETF, gives back the picture).

The R'G'B' comes from the frame's own Y'CbCr codes (`ycbcr_to_rgb`, `upsampled_chroma`;
media.py reads the planes), as ITU-R BT.2100 quantises them: FFmpeg's converter expands
10-bit limited range with a gain of 0.9962, which read PQ light about 2 % dark. 20 ms of a
1080p 4:2:0 frame against swscale's 26 (medians of 5, 2 shared AVX2 cores at load 9).

Per frame, numpy and OpenCV in float32, by strips of 32 rows that stay in the CPU's cache:
tables for the curves (by 16-bit code, the PQ gain by the brightest code, or by the square
root of linear light), OpenCV for the 3x3 matrices and per-pixel arithmetic, and the gamut
fit only where a strip needs it. Within 5e-5 of white (linear light) of the same maths in
float64 (tests/test_hdr_source.py keeps it). A 1080p 10-bit frame of real footage reads in
80-96 ms as PQ (100-130 ms with half its pixels outside BT.709; 112-129 and 204-229 before
the strips), HLG 124 (142), against 15-26 ms as SDR: medians of 5 alternating rounds in
two runs, 2 shared AVX2 cores, load 2-3.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

SDR_WHITE_NITS = 203.0  # ITU-R BT.2408: HDR reference white, where SDR's 100 % sits
DEFAULT_PEAK_NITS = 1000.0  # a PQ master's peak when untagged; HLG's nominal display peak
PQ, HLG = 16, 18  # FFmpeg's AVColorTransferCharacteristic values

# SMPTE ST 2084 constants
_M1, _M2 = 2610 / 16384, 2523 / 4096 * 128
_C1, _C2, _C3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
# ARIB STD-B67 (HLG) constants
_HLG_A = 0.17883277
_HLG_B = 1 - 4 * _HLG_A
_HLG_C = 0.5 - _HLG_A * np.log(4 * _HLG_A)
_HLG_GAMMA = 1.2  # BT.2100's system gamma at a 1000-nit display

_LUMA_2020 = np.array([0.2627, 0.6780, 0.0593], np.float32)
_LUMA_709 = np.array([0.2126, 0.7152, 0.0722], np.float32)
_BT2020_TO_BT709 = np.array(  # ITU-R BT.2087-0, linear light
    [[1.6605, -0.5876, -0.0728], [-0.1246, 1.1329, -0.0083], [-0.0182, -0.1006, 1.1187]],
    np.float32,
)
_BT1886_GAMMA = 2.4

# Y'CbCr's (Kr, Kb) by FFmpeg's AVColorSpace: BT.709, BT.601 (two tags), BT.2020 NCL
LUMA_WEIGHTS = {1: (0.2126, 0.0722), 5: (0.299, 0.114), 6: (0.299, 0.114), 9: (0.2627, 0.0593)}


@lru_cache(maxsize=8)
def ycbcr_to_rgb(kr: float, kb: float, bits: int, full_range: bool) -> np.ndarray:
    """The 3x4 affine matrix from Y'CbCr codes of `bits`, scaled to 16 bits (a code times
    2^(16 - bits)), to R'G'B' codes 0-65535: ITU-R BT.2100's (and BT.709's, BT.601's)
    quantisation, limited range (Y' 16-235, C 16-240 at 8 bits, times 4 at 10) or full
    (0 to 2^bits - 1), then the non-constant-luminance equations with `kr`, `kb`."""
    step = 2 ** (16 - bits)
    if full_range:
        black, luma_span, chroma_span = 0, (2**bits - 1) * step, (2**bits - 1) * step
    else:
        black, luma_span, chroma_span = 16 * 256, 219 * 256, 224 * 256
    kg = 1 - kr - kb
    to_rgb = np.array(  # E'Y, E'Cb, E'Cr to E'R, E'G, E'B
        [
            [1, 0, 2 * (1 - kr)],
            [1, -2 * kb * (1 - kb) / kg, -2 * kr * (1 - kr) / kg],
            [1, 2 * (1 - kb), 0],
        ]
    )
    scaled = to_rgb / np.array([luma_span, chroma_span, chroma_span])
    offset = -scaled @ np.array([black, 32768, 32768])
    return 65535 * np.column_stack([scaled, offset])


def upsampled_chroma(chroma: np.ndarray, width: int, height: int) -> np.ndarray:
    """A chroma plane subsampled by 1 or 2 on each axis, bilinear at luma size: sited as
    MPEG-2, H.264 and HEVC have it unless signalled (FFmpeg's "left"), on the even luma
    columns and, for 4:2:0, halfway between two luma rows."""
    rows, columns = chroma.shape
    if columns < width:  # luma column 2k is chroma sample k, 2k + 1 is halfway to k + 1
        doubled = np.empty((rows, 2 * columns), chroma.dtype)
        doubled[:, 0::2] = chroma
        if columns > 1:
            doubled[:, 1:-1:2] = cv2.addWeighted(chroma[:, :-1], 0.5, chroma[:, 1:], 0.5, 0)
        doubled[:, -1] = chroma[:, -1]
        chroma = doubled[:, :width]
    if rows < height:  # luma rows 2k and 2k + 1 are a quarter of a sample either side of k
        chroma = cv2.resize(chroma, (width, 2 * rows), interpolation=cv2.INTER_LINEAR)
        chroma = chroma[:height]
    return chroma


def pq_to_nits(signal: np.ndarray) -> np.ndarray:
    """The PQ EOTF: a PQ signal (0-1) to display light in nits (0-10000)."""
    power = np.power(np.clip(signal, 0, 1), 1 / _M2)
    return 10000 * np.power(np.maximum(power - _C1, 0) / (_C2 - _C3 * power), 1 / _M1)


def nits_to_pq(nits: np.ndarray) -> np.ndarray:
    """The inverse PQ EOTF: display light in nits to a PQ signal (0-1)."""
    power = np.power(np.clip(np.asarray(nits, np.float64) / 10000, 0, 1), _M1)
    return np.power((_C1 + _C2 * power) / (1 + _C3 * power), _M2)


def hlg_to_scene(signal: np.ndarray) -> np.ndarray:
    """The HLG inverse OETF: an HLG signal (0-1) to normalised scene light (0-1)."""
    signal = np.clip(signal, 0, 1)
    high = (np.exp((np.maximum(signal, 0.5) - _HLG_C) / _HLG_A) + _HLG_B) / 12
    return np.where(signal <= 0.5, signal * signal / 3, high)


def bt2390_eetf(relative: np.ndarray, target: float) -> np.ndarray:
    """ITU-R BT.2390's EETF on PQ values relative to the source's peak (0-1), for a target
    peak `target` on the same scale (black at 0 on both): identity below the knee
    1.5 target - 0.5, a Hermite spline from there to (1, target)."""
    knee = 1.5 * target - 0.5
    t = np.clip((relative - knee) / (1 - knee), 0, 1)
    t2, t3 = t * t, t * t * t
    spline = (
        (2 * t3 - 3 * t2 + 1) * knee + (t3 - 2 * t2 + t) * (1 - knee) + (3 * t2 - 2 * t3) * target
    )
    return np.where(relative < knee, relative, spline)


_STEPS = 65536  # table size: a uint16 index


def _sqrt_index(values: np.ndarray, scale: float) -> np.ndarray:
    """sqrt(values / scale) (values 0-scale) in table steps, 0-65535: finer near black."""
    root = cv2.sqrt(values if scale == 1 else values * np.float32(1 / scale))
    return cv2.multiply(root, (_STEPS - 1.0,) * 4, dtype=cv2.CV_16U)  # rounded, saturated


def _table_points(scale: float) -> np.ndarray:
    """The values `_sqrt_index` maps to each step."""
    return np.square(np.linspace(0, 1, _STEPS)) * scale


def _gain_of(nits: np.ndarray, peak: float) -> np.ndarray:
    """The tone curve as a factor by brightest component in nits (float64): multiplying a
    pixel's light in nits by it gives SDR linear light (1 = 203 nits)."""
    peak_pq = float(nits_to_pq(peak))
    relative = np.minimum(nits_to_pq(nits) / peak_pq, 1)  # above the peak: clipped
    target = float(nits_to_pq(SDR_WHITE_NITS)) / peak_pq
    curve = bt2390_eetf(relative, target) if target < 1 else relative  # dim: only scaled
    mapped = np.minimum(pq_to_nits(curve * peak_pq), SDR_WHITE_NITS)
    below_knee = np.full_like(nits, 1.0)  # black: 1/203, as below the knee
    return np.divide(mapped, nits, out=below_knee, where=nits > 0) / SDR_WHITE_NITS


@lru_cache(maxsize=8)
def _gain_table(peak: float) -> np.ndarray:
    """`_gain_of` by `_sqrt_index` of nits over 10000 (HLG: its brightest light is known
    only after the OOTF)."""
    factor = _gain_of(_table_points(10000), peak)
    factor[0] = factor[1]
    return factor.astype(np.float32)


@lru_cache(maxsize=2)
def _gain_steps(peak: float) -> tuple[np.ndarray, np.ndarray]:
    """`_gain_table` and each step's rise to the next (0 after the last)."""
    table = _gain_table(peak)
    return table, np.append(np.diff(table), np.float32(0))


@lru_cache(maxsize=8)
def _gain_by_code(peak: float) -> np.ndarray:
    """`_gain_of` by a PQ pixel's brightest 16-bit code: exact at every code."""
    return _gain_of(pq_to_nits(np.arange(_STEPS) / (_STEPS - 1)), peak).astype(np.float32)


@lru_cache(maxsize=2)
def _signal_table(transfer: int) -> np.ndarray:
    """A 16-bit code's light: nits (PQ) or normalised scene light (HLG)."""
    signal = np.arange(_STEPS) / (_STEPS - 1)
    light = pq_to_nits(signal) if transfer == PQ else hlg_to_scene(signal)
    return light.astype(np.float32)


@lru_cache(maxsize=2)
def _display_table(levels: int) -> np.ndarray:
    """The inverse BT.1886 EOTF (gamma 2.4) by `_sqrt_index` of linear light, as code
    values 0-`levels`: a table beats cv2.pow's exp and log by a third."""
    signal = np.power(_table_points(1), 1 / _BT1886_GAMMA)
    return np.round(signal * levels).astype(np.uint8 if levels == 255 else np.uint16)


def _brightest(planes: np.ndarray) -> np.ndarray:
    """The largest of the first axis' three planes (an image's ``np.moveaxis(x, -1, 0)``)."""
    return np.maximum(np.maximum(planes[0], planes[1]), planes[2])


@dataclass(frozen=True)
class ToneMap:
    """How one HDR source turns into SDR BT.709: its transfer (`PQ` or `HLG`), whether its
    primaries are BT.2020, and its peak in nits (PQ; HLG's is its nominal 1000)."""

    transfer: int
    wide_gamut: bool = True
    peak_nits: float = DEFAULT_PEAK_NITS

    def __call__(self, rgb: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """HxWx3 (or x4, alpha kept) uint16 R'G'B' in this transfer to SDR BT.709 in
        `dtype` (uint8 or uint16). By strips of rows, so that each step's float32 planes
        stay in the CPU's cache."""
        levels = 255 if np.dtype(dtype) == np.uint8 else 65535
        out = np.empty((*rgb.shape[:2], 3), np.uint8 if levels == 255 else np.uint16)
        for top in range(0, rgb.shape[0], _STRIP_ROWS):
            rows = slice(top, top + _STRIP_ROWS)
            out[rows] = self._strip(rgb[rows, :, :3], levels)
        if rgb.shape[2] == 4:
            alpha = rgb[..., 3:]
            alpha = alpha if levels == 65535 else ((alpha.astype(np.uint32) + 128) // 257)
            out = np.concatenate([out, alpha.astype(out.dtype)], axis=2)
        return out

    def _strip(self, codes: np.ndarray, levels: int) -> np.ndarray:
        table = _signal_table(self.transfer)
        light = table[codes]  # nits (PQ), scene light (HLG)
        # each transfer rises with its code: the brightest code is the brightest light
        brightest = _brightest(np.moveaxis(codes, -1, 0))
        if self.transfer == PQ:
            scale = _gain_by_code(float(self.peak_nits))[brightest]
        else:  # HLG's OOTF: display light is scene light times 1000 Ys^0.2
            luma = _LUMA_2020 if self.wide_gamut else _LUMA_709
            scale = cv2.pow(cv2.transform(light, luma[None]), _HLG_GAMMA - 1)
            scale *= np.float32(DEFAULT_PEAK_NITS)
            scale *= self._gain(table[brightest] * scale)
        cv2.multiply(light, cv2.merge([scale, scale, scale]), dst=light)
        if self.wide_gamut:
            light = cv2.transform(light, _BT2020_TO_BT709)
        light = _into_gamut(light, _LUMA_709)
        cv2.threshold(light, 0, 0, cv2.THRESH_TOZERO, dst=light)  # below 0: black
        return _display_table(levels)[_sqrt_index(light, 1)]

    def _gain(self, brightest_nits: np.ndarray) -> np.ndarray:
        """HLG's tone curve factor by its brightest display light (its peak: 1000 nits),
        interpolated between the table's steps: the gamut fit near white magnifies a
        step's error six times."""
        table, rise = _gain_steps(DEFAULT_PEAK_NITS)
        position = cv2.sqrt(brightest_nits * np.float32((_STEPS - 1) ** 2 / 10000))
        index = position.astype(np.int32)  # light to 10000 nits: 0-65535
        fraction = np.subtract(position, index, dtype=np.float32)
        fraction *= rise[index]
        fraction += table[index]
        return fraction


_STRIP_ROWS = 32  # 32 rows of 1920 float32 RGB: 740 kB


_GAMUT_SLACK = 1e-3  # linear light: closer to 0-1 is clipped when coded (no visible change)


def _into_gamut(light: np.ndarray, luma: np.ndarray) -> np.ndarray:
    """Linear RGB with components below 0 or above 1 moved towards its own luminance
    (clipped to 0-1) just far enough to fit: hue and luminance keep, saturation gives.
    Only the pixels outside are fitted when they are few (natural pictures), all at once
    when they are many; a hair outside is left for the coding to clip."""
    light = np.ascontiguousarray(light)  # the pixels' rows below are views of it
    inside = cv2.inRange(light, (-_GAMUT_SLACK,) * 3, (1 + _GAMUT_SLACK,) * 3)
    pixels = inside.size
    count = pixels - cv2.countNonZero(inside)
    if count == 0:
        return light
    if count > pixels // 8:
        return _fitted(light, luma)
    flat, outside = light.reshape(pixels, 3), np.flatnonzero(inside == 0)
    flat[outside] = _fitted(flat[outside][:, None, :], luma)[:, 0]
    return light


_TO_ZERO_ABOVE = cv2.THRESH_TOZERO_INV  # cv2.threshold: values above the threshold to 0


def _fitted(light: np.ndarray, luma: np.ndarray) -> np.ndarray:
    """`_into_gamut`'s fit of every pixel of an HxWx3 picture, by planes."""
    tiny = np.float32(1e-7)
    luminance = cv2.transform(light, luma[None])
    np.clip(luminance, 0, 1, out=luminance)
    red, green, blue = cv2.split(light)
    # how far below 0 and above 1, 0 within the slack as when fitted pixel by pixel
    low = cv2.threshold(cv2.min(cv2.min(red, green), blue), -_GAMUT_SLACK, 0, _TO_ZERO_ABOVE)[1]
    high = cv2.max(cv2.max(red, green), blue) - 1
    high = cv2.threshold(high, _GAMUT_SLACK, 0, cv2.THRESH_TOZERO)[1] + 1
    # luminance / (luminance - low): 1 where low is 0; likewise above 1
    keep = (luminance + tiny) / (luminance - low + tiny)
    np.minimum(keep, (1 - luminance + tiny) / (high - luminance + tiny), out=keep)
    rest = luminance * (1 - keep)
    fitted = cv2.add(cv2.multiply(light, cv2.merge([keep] * 3)), cv2.merge([rest] * 3))
    return np.clip(fitted.reshape(light.shape), 0, 1, out=fitted.reshape(light.shape))
