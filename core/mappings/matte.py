"""The matte mapping: frames in, RGBA frames out (the source's colour, alpha = the people).

Same shape as ``Stylizer``, so it runs on the same pipeline and writers: ``preprocess``
(resize to the network's input), ``infer`` (the selfie segmentation network) and
``postprocess`` (coarse matte → full-resolution alpha). The coarse matte lives at a small
*work size* (long side ``WORK_SIDE``) with the frame's aspect; a fast guided filter (He & Sun
2015) fitted there against the frame's luma carries it to full resolution, so edges follow
the picture at any frame size for the cost of one multiply-add per full-resolution pixel.

Coherence (``MatteCoherence``) uses the existing flow machinery: a ``TemporalBlender`` run at
the work size (flow, forward-backward and photometric checks, resets at cuts) steadies the
matte's low frequencies along the motion, and the correction is added to the full-resolution
alpha, leaving edge detail to the current frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...models.registry import ARCHS
from ..engines import ModelFiles, create_engine
from ..errors import RestyleError
from ..flow import shrink, work_size
from .matte_model import MATTE_MODELS, matte_files

WORK_SIDE = 320
LANDSCAPE_ASPECT = 1.3  # ``model="auto"``: frames at least this wide use the landscape network
INPUT_SIZES = {"general": (256, 256), "landscape": (256, 144)}  # (width, height)

# A matte that keeps less than this share of the picture (its mean alpha over the frames)
# leaves a background in place of nearly the whole frame. Measured on vtest.avi (768x576, a
# wide street shot, people far away), frames 1-8: 0.17-0.39% per frame, 0.27% on average
# (frames 301-308: 0.57-0.97%); Megamind.avi's close-up, frames 2-8: 23.7-24.5% (its frame
# 1 is black: 0). The job measures every frame it writes and up to ``COVERAGE_SAMPLES`` of
# those kept from before; Replace Background reads that many of a strip's files.
NEARLY_EMPTY = 0.01
COVERAGE_SAMPLES = 8


def alpha_share(frame: np.ndarray) -> float | None:
    """The mean alpha of an RGBA frame as a share of the picture (0..1); None without alpha."""
    if frame is None or frame.ndim != 3 or frame.shape[2] != 4:
        return None
    alpha = frame[..., 3]
    if alpha.dtype.kind == "u":
        return float(alpha.mean(dtype=np.float64)) / float(np.iinfo(alpha.dtype).max)
    if alpha.dtype.kind == "f":
        return float(alpha.mean(dtype=np.float64))
    return None


def sampled_share(frames: Sequence[int], read: Callable[[int], object]) -> float | None:
    """The mean alpha share of up to ``COVERAGE_SAMPLES`` of ``frames``, spread over them,
    each read by ``read(frame)`` (a frame, or None where it cannot be read); None where no
    sample has alpha (composited output, files gone)."""
    count = min(COVERAGE_SAMPLES, len(frames))
    step = len(frames) / count if count else 0
    shares = [alpha_share(read(frames[int(k * step)])) for k in range(count)]
    shares = [s for s in shares if s is not None]
    return sum(shares) / len(shares) if shares else None


def pooled_share(parts: Iterable[tuple[float | None, int]]) -> float | None:
    """The mean share over a range from its parts, each (its mean share, its frames): each
    frame weighs alike; a part without a share (nothing measured) is left out."""
    known = [(share, frames) for share, frames in parts if share is not None and frames > 0]
    frames = sum(n for _, n in known)
    return sum(share * n for share, n in known) / frames if frames else None


def nearly_empty_said(share: float | None, frames: str) -> str:
    """The one rule: a matte keeping less than ``NEARLY_EMPTY`` of the picture over
    ``frames`` is warned of (``nearly_empty_words``); '' where it keeps more, or where
    nothing was measured (``share`` None)."""
    return "" if share is None or share >= NEARLY_EMPTY else nearly_empty_words(share, frames)


def nearly_empty_words(share: float, frames: str) -> str:
    """What is said of a matte keeping ``share`` (< ``NEARLY_EMPTY``) of the picture over
    ``frames`` ("frames 1-8", in the front end's numbering): one warning, every front end's."""
    return (
        f"the matte keeps almost nothing ({share:.1%} of the picture, {frames}), so a new "
        "background replaces nearly the whole frame: the matte network wants people near, "
        "head in view"
    )


@dataclass(frozen=True)
class MatteSettings:
    """model: general, landscape or auto (by aspect); refine: guided-filter the edges."""

    model: str = "auto"
    refine: bool = True
    radius: int = 4  # guided filter radius, in work-size pixels
    epsilon: float = 1e-3
    backend: str = "auto"
    device: str = "auto"

    def check(self) -> None:
        if self.model not in ("auto", *MATTE_MODELS):
            raise RestyleError(
                f"unknown matte model '{self.model}': use auto, general or landscape"
            )
        if self.radius < 1 or self.epsilon <= 0:
            raise RestyleError("the guided filter needs radius >= 1 and epsilon > 0")

    def variant(self, width: int, height: int) -> str:
        if self.model != "auto":
            return self.model
        return "landscape" if width >= LANDSCAPE_ASPECT * height else "general"


# -- the guided filter ---------------------------------------------------------------------
def _box(image: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(image, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def guided_coefficients(
    guide: np.ndarray, matte: np.ndarray, radius: int, epsilon: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel (a, b), box-averaged, of the local linear model matte ≈ a·guide + b.

    Both float32 [0, 1], same size. Where the guide is flat the matte is smoothed; where it
    has an edge, the matte's transition snaps to it.
    """
    mean_i = _box(guide, radius)
    mean_p = _box(matte, radius)
    var_i = _box(guide * guide, radius) - mean_i * mean_i
    cov_ip = _box(guide * matte, radius) - mean_i * mean_p
    a = cov_ip / (var_i + np.float32(epsilon))
    b = mean_p - a * mean_i
    return _box(a, radius), _box(b, radius)


def guided_upsample(
    guide_full: np.ndarray, matte_small: np.ndarray, radius: int, epsilon: float
) -> np.ndarray:
    """The fast guided filter: coefficients fitted at the matte's size, applied at the guide's."""
    height, width = guide_full.shape[:2]
    small_h, small_w = matte_small.shape[:2]
    guide_small = cv2.resize(guide_full, (small_w, small_h), interpolation=cv2.INTER_AREA)
    a, b = guided_coefficients(guide_small, matte_small, radius, epsilon)
    a = cv2.resize(a, (width, height), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(b, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.multiply(a, guide_full) + b


def luma(frame: np.ndarray) -> np.ndarray:
    """float32 [0, 1] luma of a uint8/uint16 RGB(A) frame."""
    rgb = np.ascontiguousarray(frame[..., :3])
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return gray.astype(np.float32) * np.float32(1 / (65535 if gray.dtype == np.uint16 else 255))


def to_alpha(matte: np.ndarray, dtype) -> np.ndarray:
    """float [0, 1] → uint8/uint16 alpha plane."""
    peak = 65535.0 if dtype == np.uint16 else 255.0
    return (
        cv2.convertScaleAbs(matte, alpha=255.0)
        if peak == 255.0
        else (np.clip(matte * peak + 0.5, 0, peak).astype(np.uint16))
    )


# -- the mapping ---------------------------------------------------------------------------
class Matter:
    """Applies the person matte to frames of any size (the ``Stylizer`` interface)."""

    def __init__(self, library, settings: MatteSettings | None = None) -> None:
        self.settings = settings or MatteSettings()
        self.settings.check()
        self.library = library
        self._engines: dict[str, object] = {}
        self.corrector: KeyframeCorrector | None = None  # a matte learned from keyframes

    def load(self, variant: str):
        """The engine for one network variant, created on first use."""
        engine = self._engines.get(variant)
        if engine is None:
            files = ModelFiles(
                ARCHS["selfie_segmentation"],
                matte_files(self.library, variant, ".onnx"),
                matte_files(self.library, variant, ".safetensors"),
            )
            if files.onnx is None and files.weights is None:
                raise RestyleError("the matte network is not installed: run 'restyle setup'")
            engine = create_engine(files, self.settings.backend, self.settings.device)
            self._engines[variant] = engine
        return engine

    def close(self) -> None:
        """End the engines that hold a process now (the ``Stylizer`` interface)."""
        for engine in self._engines.values():
            getattr(engine, "close", lambda: None)()

    @property
    def engine(self):
        """The engine of the variant used last (or the general one): backend and device."""
        if not self._engines:
            return self.load("general")
        return next(reversed(self._engines.values()))

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        """Frame → network input [3, h, w] in [0, 1] (the variant is known from the shape)."""
        height, width = frame.shape[:2]
        size = INPUT_SIZES[self.settings.variant(width, height)]
        rgb = cv2.resize(np.ascontiguousarray(frame[..., :3]), size, interpolation=cv2.INTER_AREA)
        if rgb.dtype == np.uint16:
            return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) * (1 / 65535)
        return cv2.dnn.blobFromImage(rgb, 1 / 255.0)[0]

    def infer(self, batch: np.ndarray) -> np.ndarray:
        _, _, height, width = batch.shape
        variant = next(v for v, size in INPUT_SIZES.items() if size == (width, height))
        return self.load(variant).run(batch)

    def coarse(self, output: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """Network output → float32 matte at the work size, with the frame's aspect."""
        small_h, small_w = work_size(frame.shape[0], frame.shape[1], WORK_SIDE)
        return cv2.resize(output[0], (small_w, small_h), interpolation=cv2.INTER_LINEAR)

    def full_matte(self, coarse: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """Coarse matte → float32 alpha at the frame's size (guided or plain bilinear)."""
        height, width = frame.shape[:2]
        if self.settings.refine:
            s = self.settings
            return guided_upsample(luma(frame), coarse, s.radius, s.epsilon)
        return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)

    def auto_coarse(self, frame: np.ndarray) -> np.ndarray:
        """The network's coarse matte of one frame (what keyframe training corrects)."""
        return self.coarse(self.infer(self.preprocess(frame)[None])[0], frame)

    def postprocess(self, output: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """RGBA: the source's colour with alpha = the matte (the source's depth)."""
        coarse = self.coarse(output, frame)
        if self.corrector is not None:
            coarse = self.corrector(work_rgb(frame, coarse.shape), coarse)
        matte = self.full_matte(coarse, frame)
        rgb = np.ascontiguousarray(frame[..., :3])
        return cv2.merge([*cv2.split(rgb), to_alpha(matte, rgb.dtype)])

    def matte(self, frame: np.ndarray) -> np.ndarray:
        """One frame's alpha plane, synchronously (stills, tests)."""
        return self.postprocess(self.infer(self.preprocess(frame)[None])[0], frame)[..., 3]


def work_rgb(frame: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The frame as uint8 RGB at the work size ``shape`` (height, width)."""
    rgb = np.ascontiguousarray(frame[..., :3])
    if rgb.dtype == np.uint16:
        rgb = (rgb >> 8).astype(np.uint8)
    return cv2.resize(rgb, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


class KeyframeCorrector:
    """A matte learned from painted keyframes with the few-shot trainer (core/train).

    It learns, at the work size, frame + automatic matte (a fourth channel) → painted matte,
    so the automatic matte is the starting point the painting corrects, and a subject that
    is not a person can be learned outright. Needs torch.
    """

    def __init__(self, state_dict: dict, arch_config: dict) -> None:
        import torch

        from ...models.fewshot import FewShotGenerator

        self.generator = FewShotGenerator(**arch_config).eval()
        self.generator.load_state_dict(
            {k: torch.from_numpy(np.asarray(v)) for k, v in state_dict.items()}
        )
        self.trained_seconds: float | None = None  # train's: TrainFigures.seconds

    @staticmethod
    def pair(rgb_small: np.ndarray, coarse: np.ndarray, painted: np.ndarray) -> tuple:
        """One training pair: (RGB + automatic matte, painted matte as RGB), uint8, work size."""
        guide = to_alpha(coarse, np.uint8)[..., None]
        target = to_alpha(
            cv2.resize(painted, coarse.shape[::-1], interpolation=cv2.INTER_AREA), np.uint8
        )
        return np.concatenate([rgb_small, guide], axis=2), cv2.merge([target] * 3)

    @classmethod
    def train(cls, pairs, *, seconds: float, seed: int = 0, progress=None, cancel=None):
        from ..train.trainer import TrainConfig, train_style

        # the guides its quality was measured with (span guides: keyframe styles' default)
        config = TrainConfig(time_budget_s=seconds, seed=seed, generator_guides="multiscale")
        result = train_style(pairs, config=config, progress=progress, cancel=cancel)
        corrector = cls(result.state_dict, result.arch_config)
        corrector.trained_seconds = result.figures.seconds  # on the budget's clock
        return corrector

    def __call__(self, rgb_small: np.ndarray, coarse: np.ndarray) -> np.ndarray:
        import torch

        planes = np.concatenate([rgb_small.astype(np.float32) / 255.0, coarse[..., None]], axis=2)
        with torch.no_grad():
            out = self.generator(torch.from_numpy(planes.transpose(2, 0, 1).copy())[None])
        return np.clip(out[0].mean(0).numpy(), 0.0, 1.0).astype(np.float32)


class MatteCoherence:
    """Flow-guided coherence for mattes, on the pipeline's temporal stage.

    ``prepare`` runs a ``TemporalBlender`` on work-size copies of the source frames (flow,
    reliability, cut detection); ``apply_frame`` steadies the work-size matte along the flow
    and adds that correction to the full-resolution alpha of an RGBA frame.
    """

    def __init__(self, strength: float = 0.6, work_side: int = WORK_SIDE) -> None:
        from ..temporal import TemporalBlender

        self.work_side = work_side
        self.blender = TemporalBlender(strength=strength, flow_side=work_side)
        self._last: tuple[np.ndarray, np.ndarray] | None = None  # (source, its work-size copy)

    def prepare(self, prev_source: np.ndarray | None, source: np.ndarray):
        """Guidance from work-size copies (the previous frame's copy is kept, not remade)."""
        small = shrink(source, self.work_side)
        prev_small = None
        if prev_source is not None:
            last = self._last
            reuse = last is not None and last[0] is prev_source
            prev_small = last[1] if reuse else shrink(prev_source, self.work_side)
        self._last = (source, small)
        return self.blender.prepare(prev_small, small)

    def reset(self) -> None:
        self.blender.reset()

    def apply_frame(self, guide, frame: np.ndarray) -> np.ndarray:
        """The frame with its alpha steadied; a frame without alpha (an already composited
        one, replayed on resume) cannot restore the state, so the next frame starts afresh."""
        if frame.ndim != 3 or frame.shape[2] != 4:
            self.blender.reset()
            return frame
        height, width = frame.shape[:2]
        peak = np.float32(65535 if frame.dtype == np.uint16 else 255)
        alpha = frame[..., 3]
        small = _work_alpha(alpha, guide, peak)
        steady = self.blender.apply(guide, small)
        if steady is small:
            return frame
        delta = cv2.resize(steady - small, (width, height), interpolation=cv2.INTER_LINEAR)
        out = frame.copy()
        out[..., 3] = np.clip(alpha.astype(np.float32) + delta * peak + 0.5, 0, peak).astype(
            frame.dtype
        )
        # The state is the written alpha, as a resumed run rebuilds it from the written frame:
        # so its frames are an uninterrupted run's, exactly.
        self.blender.keep(_work_alpha(out[..., 3], guide, peak))
        return out


def _work_alpha(alpha: np.ndarray, guide, peak: np.float32) -> np.ndarray:
    """A full-size alpha plane at the guide's work size, float32 in [0, 1]."""
    small = cv2.resize(alpha, (guide.width, guide.height), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / peak


MASK = "mask"  # a matte's painted keyframe in training's refusals (keyframes.painting)


def unpainted_rgb(data: np.ndarray) -> np.ndarray | None:
    """A mask picture's RGB as uint8, as ``keyframes.refuse_unpainted`` compares it with its
    source frame; None where it cannot be the frame left unpainted: grey, or its alpha
    (not all opaque) is the painted matte."""
    if data.ndim != 3:
        return None
    peak = 65535 if data.dtype == np.uint16 else 255
    if data.shape[2] == 4 and (data[..., 3] != peak).any():
        return None
    rgb = np.ascontiguousarray(data[..., 2::-1])
    return (rgb // 257).astype(np.uint8) if rgb.dtype == np.uint16 else rgb


def read_mask(
    path: Path, width: int, height: int, frame: int | None = None, data=None
) -> np.ndarray:
    """A painted matte (any picture: its alpha if it has one, else its luma) → float32 [0, 1]
    at ``width`` x ``height``: another size of that aspect is scaled, another aspect refused
    as training refuses a painting (``keyframes.refuse_other_aspect``). ``frame``: the
    keyframe, named in refusals; ``data``: the picture as ``keyframes.read_painting`` read it."""
    from ..train.keyframes import read_painting, refuse_other_aspect

    data = read_painting(path, frame, MASK) if data is None else data
    refuse_other_aspect(Path(path), data.shape[1::-1], (width, height), frame, MASK)
    peak = 65535.0 if data.dtype == np.uint16 else 255.0
    if data.ndim == 3 and data.shape[2] == 4:
        plane = data[..., 3]
    elif data.ndim == 3:
        plane = cv2.cvtColor(data, cv2.COLOR_BGR2GRAY)
    else:
        plane = data
    plane = plane.astype(np.float32) / np.float32(peak)
    if plane.shape != (height, width):
        plane = cv2.resize(plane, (width, height), interpolation=cv2.INTER_LINEAR)
    return plane
