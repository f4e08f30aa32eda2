"""Dense optical flow (OpenCV DIS), backward warping and flow reliability masks.

Convention (OpenCV's): ``flow = estimator.flow(a, b)`` is defined on the pixels of ``a`` and
points into ``b``, so ``a(x) ≈ b(x + flow(x))`` and ``backward_warp(b, flow) ≈ a``.
Flow is smooth, so it is computed at a reduced resolution and scaled up: DIS at ~480 px on the
long side costs a few milliseconds and is as accurate for warping as full resolution.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def rgb8(frame: np.ndarray) -> np.ndarray:
    """The 8-bit RGB that flow and photometric checks want, whatever the depth and alpha."""
    rgb = frame[..., :3]
    return (rgb >> 8).astype(np.uint8) if rgb.dtype == np.uint16 else np.ascontiguousarray(rgb)


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 single-channel luma of an RGB uint8 image, an RGB float image in [0, 1] or a gray one."""
    if image.dtype != np.uint8:
        image = np.clip(np.asarray(image, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def work_size(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    """(height, width) scaled down so the long side is at most ``max_side``; never scaled up."""
    if not max_side or max(height, width) <= max_side:
        return height, width
    scale = max_side / max(height, width)
    return max(8, round(height * scale)), max(8, round(width * scale))


def shrink(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downscale so the long side is at most ``max_side``: Gaussian pyramid halvings, then a
    bilinear step of less than 2x (cleaner than plain bilinear, ~3x faster than INTER_AREA)."""
    height, width = image.shape[:2]
    small_h, small_w = work_size(height, width, max_side)
    if (small_h, small_w) == (height, width):
        return image
    while image.shape[0] >= 2 * small_h and image.shape[1] >= 2 * small_w:
        image = cv2.pyrDown(image)
    if image.shape[:2] == (small_h, small_w):
        return image
    return cv2.resize(image, (small_w, small_h), interpolation=cv2.INTER_LINEAR)


def resize_flow(flow: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resample a flow field to (height, width), scaling the vectors with the pixel grid."""
    h, w = flow.shape[:2]
    if (h, w) == (height, width):
        return flow
    resized = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    resized[:, :, 0] *= width / w
    resized[:, :, 1] *= height / h
    return resized


class FlowEstimator:
    """One DIS optical-flow object. OpenCV's DIS keeps internal buffers: use one per thread."""

    def __init__(
        self, preset: str = "fast", max_side: int | None = 480, finest_scale: int | None = None
    ) -> None:
        """``finest_scale`` overrides the preset's finest pyramid level (0 = full resolution;
        "fast" stops at 2, a quarter of the size, which misses small moving things)."""
        if preset not in PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}; use one of {sorted(PRESETS)}")
        self.preset = preset
        self.max_side = max_side
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])
        if finest_scale is not None:
            self._dis.setFinestScale(finest_scale)

    def flow(
        self, prev_gray: np.ndarray, next_gray: np.ndarray, *, full_size: bool = True
    ) -> np.ndarray:
        """Flow on ``prev_gray`` pointing into ``next_gray``: float32 [H, W, 2] in pixels.

        Both images are converted to uint8 gray if needed and downscaled to ``max_side``; with
        ``full_size=False`` the flow stays at that working size (vectors in working pixels).
        """
        prev_gray, next_gray = to_gray(prev_gray), to_gray(next_gray)
        if prev_gray.shape != next_gray.shape:
            raise ValueError(f"frame sizes differ: {prev_gray.shape} and {next_gray.shape}")
        height, width = prev_gray.shape
        prev_gray, next_gray = shrink(prev_gray, self.max_side), shrink(next_gray, self.max_side)
        flow = _dis_calc(self._dis, prev_gray, next_gray)
        return resize_flow(flow, height, width) if full_size else flow


MIN_DIS_SIDE = 32  # OpenCV's DIS raises, or even segfaults, on a side under ~32 px


def _dis_calc(dis, prev_gray: np.ndarray, next_gray: np.ndarray) -> np.ndarray:
    """DIS on frames of any size (1x1, 640x30...): a short side is padded by repeating its
    edge pixels, and the flow is cropped back."""
    height, width = prev_gray.shape
    pad_h, pad_w = max(0, MIN_DIS_SIDE - height), max(0, MIN_DIS_SIDE - width)
    if not pad_h and not pad_w:
        return dis.calc(prev_gray, next_gray, None)
    prev_gray, next_gray = (
        cv2.copyMakeBorder(g, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
        for g in (prev_gray, next_gray)
    )
    return np.ascontiguousarray(dis.calc(prev_gray, next_gray, None)[:height, :width])


class FarnebackEstimator:
    """Farnebäck's polynomial-expansion flow: an independent judge for a method that uses DIS.

    Same interface as ``FlowEstimator``; stateless, so one object may serve any thread.
    """

    def __init__(self, max_side: int | None = None) -> None:
        self.max_side = max_side

    def flow(
        self, prev_gray: np.ndarray, next_gray: np.ndarray, *, full_size: bool = True
    ) -> np.ndarray:
        """Flow on ``prev_gray`` pointing into ``next_gray``: float32 [H, W, 2] in pixels."""
        prev_gray, next_gray = to_gray(prev_gray), to_gray(next_gray)
        if prev_gray.shape != next_gray.shape:
            raise ValueError(f"frame sizes differ: {prev_gray.shape} and {next_gray.shape}")
        height, width = prev_gray.shape
        prev_gray, next_gray = shrink(prev_gray, self.max_side), shrink(next_gray, self.max_side)
        flow = cv2.calcOpticalFlowFarneback(prev_gray, next_gray, None, 0.5, 5, 15, 3, 5, 1.2, 0)
        return resize_flow(flow, height, width) if full_size else flow


def make_estimator(method: str = "dis", preset: str = "medium", max_side: int | None = None):
    """A flow estimator by name: "dis" (with a DIS preset) or "farneback"."""
    if method == "dis":
        return FlowEstimator(preset=preset, max_side=max_side)
    if method == "farneback":
        return FarnebackEstimator(max_side=max_side)
    raise ValueError(f"unknown flow method {method!r}; use 'dis' or 'farneback'")


@functools.lru_cache(maxsize=8)
def pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Read-only float32 x and y coordinates of every pixel (cached)."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    xs.flags.writeable = False
    ys.flags.writeable = False
    return xs, ys


@functools.lru_cache(maxsize=8)
def pixel_grid_map(height: int, width: int) -> np.ndarray:
    """The pixel grid as one read-only two-channel float32 map (x, y) for cv2.remap."""
    grid = np.ascontiguousarray(np.dstack(pixel_grid(height, width)))
    grid.flags.writeable = False
    return grid


def remap_maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute sampling coordinates (map_x, map_y) for cv2.remap: pixel grid plus flow."""
    xs, ys = pixel_grid(flow.shape[0], flow.shape[1])
    u, v = cv2.split(flow)
    return u + xs, v + ys


def backward_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` at x + flow(x) (bilinear, border replicated): brings b back onto a."""
    if image.shape[:2] != flow.shape[:2]:
        raise ValueError(f"image {image.shape[:2]} and flow {flow.shape[:2]} sizes differ")
    at = cv2.add(flow, pixel_grid_map(flow.shape[0], flow.shape[1]))  # one map, no split
    return cv2.remap(image, at, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _squared_norm(flow: np.ndarray) -> np.ndarray:
    u, v = cv2.split(flow)
    return u * u + v * v


def occlusion_mask(flow_fw: np.ndarray, flow_bw: np.ndarray) -> np.ndarray:
    """True where the forward-backward check fails (Sundaram et al. 2010, Ruder et al. 2016).

    ``flow_fw`` goes a → b (on a), ``flow_bw`` b → a (on b). With ŵ the backward flow sampled
    at x + w(x), a pixel is occluded when |w + ŵ|² > 0.01 (|w|² + |ŵ|²) + 0.5. Pixels whose
    target lies outside b have no correspondence and are marked occluded too.
    """
    map_x, map_y = remap_maps(flow_fw)
    bw_at_target = cv2.remap(
        flow_bw, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    mismatch = _squared_norm(flow_fw + bw_at_target)
    occluded = mismatch > 0.01 * (_squared_norm(flow_fw) + _squared_norm(bw_at_target)) + 0.5
    height, width = flow_fw.shape[:2]
    outside = (map_x < 0) | (map_x > width - 1) | (map_y < 0) | (map_y > height - 1)
    return occluded | outside


def motion_boundary_mask(flow: np.ndarray) -> np.ndarray:
    """True on motion boundaries: |∇u|² + |∇v|² > 0.01 |w|² + 0.002 (forward differences)."""
    gradient = np.zeros(flow.shape[:2], dtype=np.float32)
    for component in cv2.split(flow):
        along_x = component[:, :-1] - component[:, 1:]
        along_y = component[:-1, :] - component[1:, :]
        gradient[:, :-1] += along_x * along_x
        gradient[:-1, :] += along_y * along_y
    return gradient > 0.01 * _squared_norm(flow) + 0.002


def consistency_mask(
    flow_fw: np.ndarray, flow_bw: np.ndarray, *, motion_boundaries: bool = True
) -> np.ndarray:
    """True where ``flow_fw`` (a → b, on a) is reliable: not occluded, not on a motion boundary.

    This is the occlusion mask of Lai et al. 2018 (and Ruder et al. 2016), inverted.
    """
    unreliable = occlusion_mask(flow_fw, flow_bw)
    if motion_boundaries:
        unreliable |= motion_boundary_mask(flow_fw)
    return ~unreliable
