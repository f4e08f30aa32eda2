"""Stabilization: a sequence mapping. A first pass tracks the camera; a per-frame warp then
streams through the same pipeline and writers as styles.

Camera path. Corners (``goodFeaturesToTrack``) tracked into the next frame (pyramidal
Lucas-Kanade) give, per frame pair, a robust RANSAC fit ``F_t`` (frame t → frame t-1 in
normalised coordinates: origin at the centre, frame height 1) of the mode's model: a
similarity for ``translation`` and ``similarity``, a homography for ``perspective``.

Smoothing is the L1-optimal camera path of Grundmann, Kwatra and Essa (CVPR 2011), solved
as a linear program: each frame's warp ``B_t`` (output → source frame t) is found so that
the stabilized path ``P_t = C_t B_t`` has minimal ``w1|DP| + w2|D²P| + w3|D³P|`` (L1 norms,
so the path is made of constant, linear and parabolic pieces, as a camera operator moves),
subject to the crop window mapping inside the frame (no empty border, ever) and bounds on
rotation, zoom and skew. ``smoothness`` below 1 adds a term keeping ``B_t`` near identity
(the path follows slow camera moves more closely); ``tripod`` keeps only ``|DP|`` so the
camera stands still wherever the crop allows; ``strength`` blends the warp with identity
(still inside the crop, as the constraints are convex). The path is solved per shot (it
resets at every cut) and in overlapping windows, so memory stays flat in clip length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import Cancelled, RestyleError, setting
from ..progress import CancelToken

MODES = ("translation", "similarity", "perspective")
ANALYSIS_SIDE = 480  # frames are tracked at this longest side (enough for sub-pixel fits)
MIN_TRACKED = 12  # fewer tracked corners than this: the frame pair counts as no motion
WINDOW = 300  # frames per linear program; consecutive windows overlap
OVERLAP = 60
PATH_WEIGHTS = (10.0, 1.0, 100.0)  # w1, w2, w3 of Grundmann et al.
TRIPOD_WEIGHTS = (1.0, 0.0, 0.0)
CENTRE_WEIGHT = 1e-3  # breaks ties only: far below the path terms
EDGE_PX = 1.0  # the crop window stays this far inside the frame (bilinear sampling)
PIPELINE_VERSION = 1  # bump when the same settings would give different pixels


@dataclass(frozen=True)
class StabilizeSettings:
    """Resolve's controls: mode, smoothness, strength, crop ratio, and a tripod look.

    ``crop`` is the largest fraction of the width and height that may be cropped away
    (the output is scaled back to the source size); less is cropped when the motion allows.
    """

    mode: str = "similarity"
    smoothness: float = 0.7
    crop: float = 0.1
    strength: float = 1.0
    tripod: bool = False

    def check(self) -> None:
        if self.mode not in MODES:
            raise RestyleError(f"unknown mode '{self.mode}': use {', '.join(MODES)}")
        if not 0.0 <= self.smoothness <= 1.0:
            raise RestyleError(f"{setting('smoothness', self.smoothness)} is out of range 0..1")
        if not 0.0 <= self.crop <= 0.5:
            raise RestyleError(f"{setting('crop', self.crop)} is out of range 0..0.5")
        if not 0.0 <= self.strength <= 1.0:
            raise RestyleError(
                f"{setting('stabilize_strength', self.strength)} is out of range 0..1"
            )


# -- coordinates ----------------------------------------------------------------------------
def normalizer(width: int, height: int, scale: float = 1.0) -> np.ndarray:
    """Pixel coordinates (of a copy resized by ``scale``) → normalised coordinates."""
    s = 1.0 / (scale * height)
    return np.array([[s, 0, -width / (2 * height)], [0, s, -0.5], [0, 0, 1]], dtype=np.float64)


def frame_box(width: int, height: int) -> tuple[float, float]:
    """Half-width and half-height of the frame in normalised coordinates, less the edge."""
    return width / (2 * height) - EDGE_PX / height, 0.5 - EDGE_PX / height


# -- motion between frames ------------------------------------------------------------------
def _analysis_rgb(frame: np.ndarray, scale: float) -> np.ndarray:
    """8-bit RGB at the analysis size (one area-resize of the full frame)."""
    rgb = frame if frame.ndim == 3 else frame[:, :, None]
    rgb = rgb[..., :3]
    if rgb.dtype == np.uint16:
        rgb = (rgb >> 8).astype(np.uint8)
    if scale != 1.0:
        size = (max(16, round(rgb.shape[1] * scale)), max(16, round(rgb.shape[0] * scale)))
        rgb = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA)
    if rgb.ndim == 2 or rgb.shape[2] == 1:
        rgb = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(rgb)


def analysis_scale(width: int, height: int) -> float:
    return min(1.0, ANALYSIS_SIDE / max(width, height))


def pair_motion(prev_gray: np.ndarray, gray: np.ndarray, mode: str) -> np.ndarray | None:
    """The 3x3 fit taking pixel coordinates of ``gray`` to ``prev_gray``'s, or None."""
    corners = cv2.goodFeaturesToTrack(
        prev_gray, maxCorners=400, qualityLevel=0.01, minDistance=8, blockSize=7
    )
    if corners is None or len(corners) < MIN_TRACKED:
        return None
    moved, status, _err = cv2.calcOpticalFlowPyrLK(
        prev_gray, gray, corners, None, winSize=(21, 21), maxLevel=3
    )
    ok = status.ravel() == 1
    if ok.sum() < MIN_TRACKED:
        return None
    src, dst = moved[ok].reshape(-1, 2), corners[ok].reshape(-1, 2)
    threshold = max(1.0, 1.5 * max(gray.shape) / ANALYSIS_SIDE)
    if mode == "perspective":
        fit, inliers = cv2.findHomography(src, dst, cv2.RANSAC, threshold)
        if fit is None or inliers is None or inliers.sum() < MIN_TRACKED:
            return None
        return fit / fit[2, 2]
    fit, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=threshold
    )
    if fit is None or inliers is None or inliers.sum() < MIN_TRACKED:
        return None
    return np.vstack([fit, [0.0, 0.0, 1.0]])


# -- the first pass: motion and cuts --------------------------------------------------------
@dataclass
class CameraMotion:
    """Per frame of a range: ``motions[i]`` takes frame i to frame i-1 (normalised; the
    first is identity), ``cuts`` the offsets that start a new shot, and the frame size."""

    motions: np.ndarray
    cuts: list[int]
    width: int
    height: int
    tracked: int = 0  # frame pairs with a fit (the others count as no motion)

    def shots(self) -> list[tuple[int, int]]:
        """(start, end exclusive) offsets of every shot."""
        starts = [0, *[c for c in self.cuts if 0 < c < len(self.motions)]]
        ends = [*starts[1:], len(self.motions)]
        return list(zip(starts, ends, strict=True))


def track_camera(
    frames: Iterable[np.ndarray],
    mode: str = "similarity",
    *,
    find_cuts: bool = True,
    on_frame: Callable[[int], None] | None = None,
    cancel: CancelToken | None = None,
) -> CameraMotion:
    """One streaming pass: inter-frame fits and (optionally) cuts, by ``core.shots``."""
    from ..shots import FrameFeatures, detect_cuts

    motions: list[np.ndarray] = []
    features: list[FrameFeatures] = []
    cut_state = CutFeatures()
    previous = None
    size = None
    for count, frame in enumerate(frames):
        if cancel is not None and cancel.cancelled:
            raise Cancelled(f"cancelled while tracking, after {count} frames")
        if size is None:
            size = (frame.shape[1], frame.shape[0])
            scale = analysis_scale(*size)
            norm = normalizer(*size, scale)
            norm_inv = np.linalg.inv(norm)
        elif (frame.shape[1], frame.shape[0]) != size:
            raise RestyleError(f"frame {count} changes size; stabilize one size at a time")
        small = _analysis_rgb(frame, scale)
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        fit = None if previous is None else pair_motion(previous, gray, mode)
        motions.append(np.eye(3) if fit is None else norm @ fit @ norm_inv)
        if find_cuts:
            features.append(cut_state.add(small))
        previous = gray
        if on_frame is not None:
            on_frame(count + 1)
    if size is None:
        raise RestyleError("no frames to stabilize")
    cuts = detect_cuts(features) if len(features) > 1 else []
    tracked = sum(not np.array_equal(m, np.eye(3)) for m in motions[1:])
    return CameraMotion(np.array(motions), cuts, size[0], size[1], tracked)


class CutFeatures:
    """``core.shots`` cut features of each frame, without thumbnails or flow (not needed)."""

    SIDE = 160

    def __init__(self) -> None:
        self.previous: tuple[np.ndarray, np.ndarray] | None = None
        self.nothing = np.zeros((0,), np.uint8)

    def add(self, small_rgb: np.ndarray):
        from ..shots import FrameFeatures, content_value, histogram_distance, hsv_histogram

        h, w = small_rgb.shape[:2]
        size = (
            (self.SIDE, max(1, round(self.SIDE * h / w)))
            if w >= h
            else (max(1, round(self.SIDE * w / h)), self.SIDE)
        )
        hsv = cv2.cvtColor(
            cv2.resize(small_rgb, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2HSV
        )
        histogram = hsv_histogram(hsv)
        content = change = 0.0
        if self.previous is not None:
            content = content_value(self.previous[0], hsv)
            change = histogram_distance(self.previous[1], histogram)
        self.previous = (hsv, histogram)
        return FrameFeatures(content, change, 0.0, self.nothing)


# -- the L1-optimal path --------------------------------------------------------------------
def _basis(mode: str) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """B(p) = B0 + sum_k p_k E_k for the mode, and p at identity."""

    def e(*cells: tuple[int, int, float]) -> np.ndarray:
        m = np.zeros((3, 3))
        for r, c, v in cells:
            m[r, c] = v
        return m

    tx, ty = e((0, 2, 1)), e((1, 2, 1))
    if mode == "translation":
        return np.eye(3), [tx, ty], np.zeros(2)
    b0 = e((2, 2, 1))
    if mode == "similarity":
        zoom, turn = e((0, 0, 1), (1, 1, 1)), e((1, 0, 1), (0, 1, -1))
        return b0, [tx, ty, zoom, turn], np.array([0.0, 0.0, 1.0, 0.0])
    linear = [e((0, 0, 1)), e((1, 0, 1)), e((0, 1, 1)), e((1, 1, 1))]
    projective = [e((2, 0, 1)), e((2, 1, 1))]
    return b0, [tx, ty, *linear, *projective], np.array([0, 0, 1, 0, 0, 1, 0, 0], float)


def _bounds(settings: StabilizeSettings, box) -> list[tuple[float | None, float | None]]:
    """Limits on each parameter beyond the crop constraint: drift, rotation, zoom, skew.

    ``smoothness`` below 1 bounds how far the steadied camera may drift from the real one
    (a share of the crop margin), so slow moves are followed more closely.
    """
    share = 0.1 + 0.9 * settings.smoothness
    dx, dy = share * settings.crop * box[0], share * settings.crop * box[1]
    drift = [(-dx, dx), (-dy, dy)]
    if settings.mode == "translation":
        return drift
    if settings.mode == "similarity":
        return [*drift, (0.8, 1.25), (-0.15, 0.15)]
    skew, projective = (-0.1, 0.1), (-0.1, 0.1)
    return [*drift, (0.8, 1.25), skew, skew, (0.8, 1.25), projective, projective]


# The cells of F_{t+1} B_{t+1} - B_t that depend on the parameters (the rest are constant).
RESIDUAL_CELLS = {
    "translation": [(0, 2), (1, 2)],
    "similarity": [(0, 2), (1, 2), (0, 0), (1, 0)],
    "perspective": [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1)],
}


def _scipy():
    """SciPy's sparse matrices and HiGHS, or a clear error where they cannot load."""
    try:
        from scipy import sparse
        from scipy.optimize import linprog
    except ImportError as exc:  # e.g. a NumPy older than the SciPy wheel needs
        raise RestyleError(f"stabilization needs SciPy (scipy==1.17.1): {exc}") from None
    return sparse, linprog


def _difference(rows: int, width: int):
    sparse, _ = _scipy()

    eye = sparse.identity(width, format="csr")
    diff = sparse.diags([-1.0, 1.0], [0, 1], shape=(rows - 1, rows), format="csr")
    return sparse.kron(diff, eye, format="csr")


def _residual(motions: np.ndarray, basis, b0, cells) -> tuple:
    """R_t = F_{t+1} B(p_{t+1}) - B(p_t) over ``cells``, as (sparse A, c): R = A p + c."""
    sparse, _ = _scipy()

    n, k, m = len(motions), len(basis), len(cells)
    pick = np.array([r * 3 + c for r, c in cells])
    basis_vec = np.stack([b.ravel()[pick] for b in basis], axis=1)  # m x K
    rows, cols, vals = [], [], []
    constant = np.empty((n - 1) * m)
    for t in range(n - 1):
        f = motions[t + 1]
        moved = np.stack([(f @ b).ravel()[pick] for b in basis], axis=1)
        constant[t * m : (t + 1) * m] = (f @ b0 - b0).ravel()[pick]
        for block, sign, col in ((moved, 1.0, (t + 1) * k), (basis_vec, -1.0, t * k)):
            r, c = np.nonzero(block)
            rows.extend(t * m + r)
            cols.extend(col + c)
            vals.extend(sign * block[r, c])
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=((n - 1) * m, n * k))
    return matrix, constant


def solve_window(
    motions: np.ndarray,
    settings: StabilizeSettings,
    box: tuple[float, float],
    fixed: np.ndarray | None = None,
) -> np.ndarray:
    """Parameters p_t (n x K) of the L1-optimal warps B(p_t) of n frames (``motions[0]``
    is ignored). ``fixed``: parameters of the first frames, kept (continuity with the
    window before).

    The LP: variables p, R (free) and a positive/negative part for each term; equalities
    A p - R = -c and T R = s+ - s- for T in (I, D, D²); minimise sum w_T (s+ + s-); the
    crop corners stay inside the frame (inequalities); p within its bounds.
    """
    sparse, linprog = _scipy()

    b0, basis, identity = _basis(settings.mode)
    n, k = len(motions), len(basis)
    if n == 1:
        return identity[None, :].copy()
    cells = RESIDUAL_CELLS[settings.mode]
    a, c = _residual(motions, basis, b0, cells)
    nr = a.shape[0]
    weights = TRIPOD_WEIGHTS if settings.tripod else PATH_WEIGHTS
    no_p, no_r = sparse.csr_matrix((nr, n * k)), None
    terms = [(no_p, sparse.identity(nr, format="csr"), np.zeros(nr), weights[0])]
    if n > 2 and weights[1]:
        d1 = _difference(n - 1, len(cells))
        terms.append((no_p[: d1.shape[0]], d1, np.zeros(d1.shape[0]), weights[1]))
        if n > 3 and weights[2]:
            d2 = _difference(n - 2, len(cells)) @ d1
            terms.append((no_p[: d2.shape[0]], d2, np.zeros(d2.shape[0]), weights[2]))
    if fixed is None:  # ties (a still camera): the steady camera sits at the real one's mean
        mean = sparse.kron(np.ones((1, n)) / n, sparse.identity(k), format="csr")
        terms.append((mean, no_r, identity, CENTRE_WEIGHT))
    n_split = sum(2 * len(rhs) for _, _, rhs, _ in terms)
    n_vars = n * k + nr + n_split
    equalities = [sparse.hstack([a, -sparse.identity(nr), sparse.csr_matrix((nr, n_split))])]
    right = [-c]
    cost = [np.zeros(n * k + nr)]
    offset = 0
    for on_p, on_r, rhs, weight in terms:
        r = len(rhs)
        split = sparse.hstack(
            [
                sparse.csr_matrix((r, offset)),
                -sparse.identity(r),
                sparse.identity(r),
                sparse.csr_matrix((r, n_split - offset - 2 * r)),
            ]
        )
        on_r = sparse.csr_matrix((r, nr)) if on_r is None else on_r
        equalities.append(sparse.hstack([on_p, on_r, split]))
        right.append(rhs)
        cost.append(np.full(2 * r, weight))
        offset += 2 * r
    inclusion, limits = _inclusion(basis, b0, box, settings.crop)
    per_frame = sparse.kron(sparse.identity(n), sparse.csr_matrix(inclusion))
    upper = sparse.hstack([per_frame, sparse.csr_matrix((per_frame.shape[0], n_vars - n * k))])
    bounds = _bounds(settings, box) * n + [(None, None)] * nr + [(0, None)] * n_split
    if fixed is not None:
        for i, row in enumerate(fixed):
            for j, v in enumerate(row):
                bounds[i * k + j] = (v, v)
    result = linprog(
        np.concatenate(cost),
        A_ub=upper.tocsr(),
        b_ub=np.tile(-limits, n),
        A_eq=sparse.vstack(equalities, format="csr"),
        b_eq=np.concatenate(right),
        bounds=bounds,
        method="highs-ds",  # dual simplex: fastest here on these sparse, degenerate LPs
    )
    if result.status != 0:  # identity is always feasible; keep the frames unwarped if not
        return np.tile(identity, (n, 1)) if fixed is None else _pad(fixed, identity, n)
    return result.x[: n * k].reshape(n, k)


def _pad(fixed: np.ndarray, identity: np.ndarray, n: int) -> np.ndarray:
    return np.vstack([fixed, np.tile(identity, (n - len(fixed), 1))])


def _corners(box: tuple[float, float], crop: float) -> np.ndarray:
    hx, hy = box[0] * (1 - crop), box[1] * (1 - crop)
    return np.array([[-hx, -hy, 1], [hx, -hy, 1], [hx, hy, 1], [-hx, hy, 1]], dtype=np.float64)


def _inclusion(basis, b0, box, crop) -> tuple[np.ndarray, np.ndarray]:
    """Rows a and constants c such that a·p + c <= 0 says every crop corner lands inside
    the frame (u/w and v/w within the box; w > 0 within the parameter bounds)."""
    coeffs, consts = [], []
    for corner in _corners(box, crop):
        num = [np.array([(b @ corner)[i] for b in basis]) for i in range(3)]
        base = b0 @ corner
        for axis, half in ((0, box[0]), (1, box[1])):
            coeffs.append(num[axis] - half * num[2])
            consts.append(base[axis] - half * base[2])
            coeffs.append(-num[axis] - half * num[2])
            consts.append(-base[axis] - half * base[2])
    return np.array(coeffs), np.array(consts)


def smooth_shot(motions: np.ndarray, settings: StabilizeSettings, box) -> np.ndarray:
    """Warps B_t (n x 3 x 3) for one shot, solved window by window (flat memory)."""
    b0, basis, identity = _basis(settings.mode)
    n = len(motions)
    params = np.empty((n, len(basis)))
    start, fixed = 0, None
    while True:
        stop = min(n, start + WINDOW)
        solved = solve_window(motions[start:stop], settings, box, fixed)
        if stop == n:
            params[start:] = solved
            break
        keep = stop - OVERLAP
        params[start:keep] = solved[: keep - start]
        start, fixed = keep - 3, params[keep - 3 : keep].copy()
    params = identity + settings.strength * (params - identity)
    return b0 + np.einsum("nk,kij->nij", params, np.stack(basis))


def window_scale(warps: np.ndarray, box, crop: float) -> float:
    """The largest window (1 = the whole frame) every warp keeps inside the frame.

    At least ``1 - crop``, which the path's constraints guarantee; more when the motion
    allows, so no more is cropped than needed. Found by bisection over all warps at once.
    """
    lo, hi = 1.0 - crop, 1.0
    if _inside(warps, box, hi):
        return hi
    for _ in range(20):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _inside(warps, box, mid) else (lo, mid)
    return lo


def _inside(warps: np.ndarray, box, scale: float) -> bool:
    corners = _corners(box, 1.0 - scale)  # n x 3 homogeneous
    mapped = np.einsum("nij,cj->nci", warps, corners)
    w = mapped[..., 2]
    if (w <= 0).any():
        return False
    x, y = mapped[..., 0] / w, mapped[..., 1] / w
    tol = 1e-6
    return bool((np.abs(x) <= box[0] + tol).all() and (np.abs(y) <= box[1] + tol).all())


@dataclass
class StabilizationPlan:
    """What the second pass needs: one pixel warp (output → source) per frame of the range,
    and how much of each frame is kept. Plain data; a few numbers per frame."""

    warps: np.ndarray  # n x 3 x 3, output pixel → source pixel
    kept_area: list[float]  # per shot: fraction of the frame area shown
    cuts: list[int]
    width: int
    height: int
    perspective: bool = False

    def warp(self, offset: int, frame: np.ndarray) -> np.ndarray:
        """Frame ``offset`` of the range, warped (same size, dtype and channels)."""
        size = (self.width, self.height)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        matrix = self.warps[offset]
        channels = frame.shape[2] if frame.ndim == 3 else 1
        if channels > 4:
            raise RestyleError(f"frames with {channels} channels cannot be warped")
        if self.perspective:
            out = cv2.warpPerspective(
                frame, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE
            )
        else:
            out = cv2.warpAffine(
                frame, matrix[:2], size, flags=flags, borderMode=cv2.BORDER_REPLICATE
            )
        return out.reshape(frame.shape)


def plan_stabilization(motion: CameraMotion, settings: StabilizeSettings) -> StabilizationPlan:
    """Smooth the path shot by shot (it resets at every cut) into per-frame pixel warps."""
    settings.check()
    width, height = motion.width, motion.height
    box = frame_box(width, height)
    norm = normalizer(width, height)
    norm_inv = np.linalg.inv(norm)
    warps = np.empty_like(motion.motions)
    kept = []
    for start, stop in motion.shots():
        shot = smooth_shot(motion.motions[start:stop], settings, box)
        scale = window_scale(shot, box, settings.crop)
        kept.append(scale * scale)
        zoom = np.diag([scale, scale, 1.0])
        warps[start:stop] = norm_inv @ shot @ zoom @ norm
    return StabilizationPlan(
        warps, kept, list(motion.cuts), width, height, settings.mode == "perspective"
    )


# -- measuring ------------------------------------------------------------------------------
def jitter(motion: CameraMotion, window: int = 9) -> dict[str, float]:
    """Residual jitter: the high-pass part of the inter-frame camera path, per shot.

    Each frame pair's motion (the frame centre's shift in pixels, the rotation in degrees)
    minus its centred moving average over ``window`` frames; the root mean square over all
    pairs inside shots (a cut's pair is not a motion).
    """
    shifts, turns = [], []
    for start, stop in motion.shots():
        f = motion.motions[start + 1 : stop]
        if len(f) < 2:
            continue
        d = f[:, :2, 2] / f[:, 2:3, 2] * motion.height
        a = np.degrees(np.arctan2(f[:, 1, 0], f[:, 0, 0]))
        kernel = np.ones(min(window, len(f))) / min(window, len(f))
        for series, out in ((d[:, 0], shifts), (d[:, 1], shifts), (a, turns)):
            padded = np.pad(series, len(kernel) // 2, mode="edge")
            low = np.convolve(padded, kernel, mode="valid")[: len(series)]
            out.append(series - low)
    if not shifts:
        return {"shift_px": 0.0, "rotation_deg": 0.0}
    sx = np.concatenate(shifts[0::2]) if len(shifts) > 1 else shifts[0]
    sy = np.concatenate(shifts[1::2]) if len(shifts) > 1 else np.zeros_like(sx)
    return {
        "shift_px": float(np.sqrt(np.mean(sx**2 + sy**2))),
        "rotation_deg": float(np.sqrt(np.mean(np.concatenate(turns) ** 2))),
    }
