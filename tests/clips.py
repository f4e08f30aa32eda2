"""Media that tests generate for themselves: clips whose frames carry their own index, image
sequences, and a panning scene with known motion. Nothing here uses restyle.core.media, so
tests of that module compare it against an independent encoder and reader.

API:
- `index_frame(index, size, *, bit_depth=8, alpha=False)`: one frame carrying `index`.
- `read_index(frame)`: the index a frame carries (ValueError if it carries none).
- `encode_clip(path, frames, *, fps=24, codec="h264", gop=None)`: encode RGB(A) frames.
- `make_index_clip(path, n_frames, size=(160, 96), fps=24, codec="h264", gop=None)`.
- `make_image_sequence(folder, n, size=(160, 96), bit_depth=8, alpha=False, ...)`.
- `noise_shot(folder, count=4, *, seed=3, suffix="png")`: a shot of 64x48 random-noise frames
  (f_0000.png, ...) that styles in a moment; the same seed writes the same pictures.
- `pan_frames(n_frames, size, dx_per_frame)` / `make_pan_clip(path, n_frames, size, dx_per_frame)`:
  a camera panning right by `dx_per_frame` pixels a frame over a structured scene, so a
  scene point at column x in frame i sits at column x - dx_per_frame in frame i + 1.
- `make_variable_rate_clip(path, pts, *, rate=24, time_base=1/240)`: FFV1 index frames at
  uneven timestamps, the container told `rate` (a variable frame rate).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

INDEX_BITS = 12  # indices 0..4095
_CODE_ROWS = 2  # the bits, then their complement as a check


def _code_band_height(height: int) -> int:
    return max(8, height // 8)


def index_frame(
    index: int, size: tuple[int, int], *, bit_depth: int = 8, alpha: bool = False
) -> np.ndarray:
    """An RGB(A) frame whose top band encodes `index` as black/white blocks (bits, then
    their complement) that survive lossy coding, over a gradient and a disc that move."""
    if not 0 <= index < 2**INDEX_BITS:
        raise ValueError(f"index {index} does not fit in {INDEX_BITS} bits")
    width, height = size
    x = np.arange(width, dtype=np.float32)[None, :]
    y = np.arange(height, dtype=np.float32)[:, None]
    red = ((x + 3 * index) % width) / width
    green = np.broadcast_to(y / height, (height, width))
    blue = 0.5 + 0.25 * np.sin((x + y) / 9.0 + index / 5.0)
    image = np.stack(np.broadcast_arrays(red, green, blue), axis=2) * 200 + 20
    cx = int((index * 5) % width)
    cv2.circle(image, (cx, height * 2 // 3), max(4, height // 6), (240, 60, 40), -1)

    band = _code_band_height(height)
    cell = width // INDEX_BITS
    for bit in range(INDEX_BITS):
        on = (index >> bit) & 1
        x0 = bit * cell
        image[0:band, x0 : x0 + cell] = 255.0 if on else 0.0
        image[band : 2 * band, x0 : x0 + cell] = 0.0 if on else 255.0
    image = np.clip(image, 0, 255)
    if alpha:
        ramp = np.broadcast_to(64 + 191 * x / max(1, width - 1), (height, width))
        image = np.concatenate([image, ramp[:, :, None]], axis=2)
    if bit_depth == 16:
        return np.round(image * 257).astype(np.uint16)
    return np.round(image).astype(np.uint8)


def read_index(frame: np.ndarray) -> int:
    """Decode the index `index_frame` drew; raises ValueError if the code does not check."""
    height, width = frame.shape[:2]
    scale = 65535.0 if frame.dtype == np.uint16 else 255.0
    luma = frame[:, :, :3].astype(np.float32).mean(axis=2) / scale
    band = _code_band_height(height)
    cell = width // INDEX_BITS
    inset_x, inset_y = cell // 4, band // 4
    value = 0
    for bit in range(INDEX_BITS):
        x0, x1 = bit * cell + inset_x, (bit + 1) * cell - inset_x
        top = luma[inset_y : band - inset_y, x0:x1].mean()
        bottom = luma[band + inset_y : 2 * band - inset_y, x0:x1].mean()
        if abs(top - bottom) < 0.5:
            raise ValueError(f"bit {bit} is unreadable ({top:.2f} vs {bottom:.2f})")
        value |= int(top > bottom) << bit
    return value


_CODECS = {
    # name: (encoder, pixel format for RGB frames, pixel format for RGBA frames)
    "h264": ("libx264", "yuv420p", None),
    "mpeg4": ("mpeg4", "yuv420p", None),
    "ffv1": ("ffv1", "bgr0", "bgra"),
    "prores": ("prores_ks", "yuv422p10le", "yuva444p10le"),
}


def encode_clip(
    path: str | Path,
    frames: Iterable[np.ndarray],
    *,
    fps: int | Fraction = 24,
    codec: str = "h264",
    gop: int | None = None,
    bframes: int | None = None,
    crf: int = 16,
) -> Path:
    """Encode uint8 RGB (or RGBA for ffv1/prores) frames; the container follows the suffix.

    `gop` fixes the keyframe interval (h264 gets no scene-cut keyframes, so a long GOP stays
    long); `bframes` sets the B-frames (x264 default 3 otherwise; mpeg4 in AVI with B-frames
    starts its stream a frame before its first picture, as Blender reads such movies)."""
    path = Path(path)
    encoder, rgb_format, rgba_format = _CODECS[codec]
    container = av.open(str(path), "w")
    try:
        stream = None
        for pts, frame in enumerate(frames):
            has_alpha = frame.shape[2] == 4
            if stream is None:
                stream = container.add_stream(encoder, rate=Fraction(fps))
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = rgba_format if has_alpha else rgb_format
                if codec == "h264":
                    # cpu-independent: x264's AVX-512 code reads unwritten memory, so without
                    # it the same frames made different test movies (as in core/writers.py)
                    params = ["scenecut=0", "cpu-independent=1"]
                    if gop:
                        params += [f"keyint={gop}", f"min-keyint={gop}"]
                    if bframes is not None:
                        params.append(f"bframes={bframes}")
                    stream.codec_context.options = {
                        "crf": str(crf),
                        "preset": "veryfast",
                        "x264-params": ":".join(params),
                    }
                else:
                    if gop:
                        stream.codec_context.gop_size = gop
                    if bframes is not None:
                        stream.codec_context.max_b_frames = bframes
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgba" if has_alpha else "rgb24")
            video_frame.pts = pts
            for packet in stream.encode(video_frame):
                container.mux(packet)
        if stream is None:
            raise ValueError("no frames to encode")
        for packet in stream.encode(None):
            container.mux(packet)
    finally:
        container.close()
    return path


def make_index_clip(
    path: str | Path,
    n_frames: int,
    size: tuple[int, int] = (160, 96),
    fps: int | Fraction = 24,
    codec: str = "h264",
    gop: int | None = None,
    bframes: int | None = None,
) -> Path:
    """A clip whose frame i shows `index_frame(i, size)`; see `read_index`."""
    frames = (index_frame(i, size) for i in range(n_frames))
    return encode_clip(path, frames, fps=fps, codec=codec, gop=gop, bframes=bframes)


def make_image_sequence(
    folder: str | Path,
    n: int,
    size: tuple[int, int] = (160, 96),
    *,
    bit_depth: int = 8,
    alpha: bool = False,
    name: str = "frame_{:04d}.png",
    first: int = 1,
) -> list[Path]:
    """Write `n` index frames (frame k carries index k, numbered from `first` in the name)
    with OpenCV; returns the paths in order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n):
        frame = index_frame(k, size, bit_depth=bit_depth, alpha=alpha)
        code = cv2.COLOR_RGBA2BGRA if alpha else cv2.COLOR_RGB2BGR
        path = folder / name.format(first + k)
        if not cv2.imwrite(str(path), cv2.cvtColor(frame, code)):
            raise OSError(f"cannot write {path}")
        paths.append(path)
    return paths


def noise_shot(folder: Path, count: int = 4, *, seed: int = 3, suffix: str = "png") -> Path:
    """``count`` 64x48 frames of random noise (``np.random.default_rng(seed)``) written as
    ``folder``/f_0000.<suffix>, ...; the folder is made if need be. Returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        cv2.imwrite(
            str(folder / f"f_{i:04d}.{suffix}"), rng.integers(0, 256, (48, 64, 3), np.uint8)
        )
    return folder


def _scene(width: int, height: int, seed: int) -> np.ndarray:
    """A wide synthetic 'photograph': sky and ground gradients, buildings with windows,
    discs, lines and text, all with sharp edges and texture a flow estimator can lock on."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    sky = (1 - y) * np.array([235, 190, 120], np.float32) + y * np.array([90, 140, 210], np.float32)
    image = np.broadcast_to(sky, (height, width, 3)).copy()
    horizon = int(height * 0.62)
    ground_y = np.linspace(0, 1, height - horizon, dtype=np.float32)[:, None, None]
    image[horizon:] = (1 - ground_y) * np.array([70, 120, 60]) + ground_y * np.array([40, 70, 30])
    x = 0
    while x < width:
        w = int(rng.integers(height // 6, height // 2))
        top = int(rng.integers(height // 6, horizon - 4))
        colour = tuple(int(c) for c in rng.integers(40, 220, 3))
        cv2.rectangle(image, (x, top), (x + w, horizon), colour, -1)
        step = max(4, height // 20)
        for wy in range(top + step, horizon - step, 2 * step):
            for wx in range(x + step // 2, x + w - step, 2 * step):
                lit = (255, 230, 140) if rng.random() < 0.5 else (30, 30, 50)
                cv2.rectangle(image, (wx, wy), (wx + step - 1, wy + step - 1), lit, -1)
        x += w + int(rng.integers(2, height // 8 + 3))
    for _ in range(max(3, width // 80)):
        centre = (int(rng.integers(0, width)), int(rng.integers(horizon, height)))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.circle(image, centre, int(rng.integers(3, max(4, height // 8))), colour, -1)
    for k in range(0, width, max(40, height // 2)):
        cv2.line(image, (k, height - 1), (k + height // 3, horizon), (200, 200, 200), 1)
        text = f"R{k // 10:03d}"
        cv2.putText(
            image, text, (k + 3, height - 4), cv2.FONT_HERSHEY_SIMPLEX,
            max(0.3, height / 300), (250, 250, 250), 1, cv2.LINE_AA,
        )  # fmt: skip
    return np.clip(image, 0, 255).astype(np.uint8)


def pan_frames(
    n_frames: int, size: tuple[int, int] = (160, 96), dx_per_frame: float = 2.0, *, seed: int = 0
) -> list[np.ndarray]:
    """Frames of a camera panning right by `dx_per_frame` px/frame (negative: left), so
    frame[i + 1][:, x] == frame[i][:, x + dx] (sub-pixel shifts are bilinear)."""
    width, height = size
    travel = math.ceil(abs(dx_per_frame) * max(0, n_frames - 1))
    scene = _scene(width + travel + 2, height, seed)
    origin = 0.0 if dx_per_frame >= 0 else float(travel)
    frames = []
    for i in range(n_frames):
        shift = origin + i * dx_per_frame
        matrix = np.float32([[1, 0, -shift], [0, 1, 0]])
        frames.append(cv2.warpAffine(scene, matrix, (width, height), flags=cv2.INTER_LINEAR))
    return frames


def make_pan_clip(
    path: str | Path,
    n_frames: int,
    size: tuple[int, int] = (160, 96),
    dx_per_frame: float = 2.0,
    *,
    fps: int | Fraction = 24,
    codec: str = "h264",
) -> Path:
    """`pan_frames` encoded as a movie."""
    return encode_clip(path, pan_frames(n_frames, size, dx_per_frame), fps=fps, codec=codec)


def flicker(frames: list[np.ndarray], amount: float = 16.0, seed: int = 1) -> list[np.ndarray]:
    """Per-frame independent blotchy colour noise: what an unsteady per-frame style does."""
    rng = np.random.default_rng(seed)
    out = []
    for frame in frames:
        h, w = frame.shape[:2]
        noise = rng.normal(0.0, amount, (h // 4, w // 4, 3)).astype(np.float32)
        noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_LINEAR)
        out.append(np.clip(frame + noise + rng.normal(0, 5, 3), 0, 255).astype(np.uint8))
    return out


def make_late_index_clip(
    path: str | Path,
    n_frames: int,
    first_pts: int,
    size: tuple[int, int] = (160, 96),
    bframes: int = 0,
) -> Path:
    """x264 index frames whose timestamps start at `first_pts` frames, not 0 (a movie cut
    out of a longer one). In AVI, FFmpeg's muxer starts the stream at 0 anyway and leaves
    empty chunks for the gap (without B-frames after the first picture: decode timestamps
    0, first_pts + 1, first_pts + 2, ...)."""
    return make_stamped_index_clip(path, range(first_pts, first_pts + n_frames), size, bframes)


def make_stamped_index_clip(
    path: str | Path,
    stamps: Iterable[int],
    size: tuple[int, int] = (160, 96),
    bframes: int = 0,
) -> Path:
    """x264 index frames timed `stamps` frames (frame k carries index k): a gap in them is
    a dropped frame. In AVI, FFmpeg's muxer writes an empty chunk for each frame missing."""
    path = Path(path)
    encoder, rgb_format, _ = _CODECS["h264"]
    container = av.open(str(path), "w")
    try:
        stream = container.add_stream(encoder, rate=Fraction(24))
        stream.width, stream.height = size
        stream.pix_fmt = rgb_format
        stream.codec_context.options = {
            "crf": "16",
            "preset": "veryfast",
            "x264-params": f"scenecut=0:cpu-independent=1:bframes={bframes}",
        }
        for i, stamp in enumerate(stamps):
            frame = av.VideoFrame.from_ndarray(index_frame(i, size), format="rgb24")
            frame.pts = stamp
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    finally:
        container.close()
    return path


def make_variable_rate_clip(
    path: str | Path,
    pts: Iterable[int],
    *,
    rate: int | Fraction = 24,
    time_base: Fraction = Fraction(1, 240),
    size: tuple[int, int] = (64, 48),
) -> Path:
    """FFV1 index frames stamped `pts` (in `time_base`), the container told `rate`: a
    variable frame rate (frame k carries index k). Matroska keeps `rate` as the stream's
    rate whatever the stamps average; MP4 states the stamps' own average."""
    path = Path(path)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=Fraction(rate))
        stream.width, stream.height = size
        stream.pix_fmt = "bgr0"
        stream.codec_context.time_base = time_base
        for k, stamp in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(index_frame(k, size), format="rgb24")
            frame.pts = stamp
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
