"""Frames in, styled frames out, for one resolved style and one engine.

The work is split so the pipeline can overlap it: ``preprocess`` and ``postprocess`` are
thread-safe numpy/OpenCV code run on worker threads; ``infer`` is the network call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..models.arbitrary_prep import prepare_style_picture
from ..models.registry import ARCHS, get_arch
from .contrast import signal_contrast
from .engines import Engine, ModelFiles, closed_on_error, create_engine, explain
from .errors import RestyleError, setting
from .letterbox import Bars, BarTracker
from .styles import ONNX_FILE, WEIGHTS_FILE, StyleInfo, StyleLibrary


@dataclass(frozen=True)
class StyleSettings:
    """How to apply a style: the options users expect of a stylisation tool."""

    strength: float = 1.0
    scale: float | None = None
    max_side: int | None = None
    preserve_colors: bool = False
    tile: int = 2048  # frames whose processing size exceeds this on a side are tiled
    backend: str = "auto"
    device: str = "auto"
    precision: str = "auto"  # torch: bf16 on CPUs with native bf16, fp16 on CUDA
    carry: float = 1.0  # trained styles: how strongly painted keyframes are carried (core/carry.py)
    flat_contrast: float = 16 / 255  # frames flatter than this keep their source: flat_weight()
    letterbox: bool = True  # style only the picture inside black bars (core/letterbox.py)

    def check(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise RestyleError(f"{setting('strength', self.strength)} is out of range 0..1")
        if self.scale is not None and not 0.05 <= self.scale <= 4.0:
            raise RestyleError(f"{setting('scale', self.scale)} is out of range 0.05..4")
        if self.max_side is not None and not 32 <= self.max_side <= 16384:
            raise RestyleError(f"{setting('max_side', self.max_side)} is out of range 32..16384")
        if self.precision not in ("auto", "fp32", "fp16", "bf16"):
            raise RestyleError(f"unknown precision '{self.precision}': use auto, fp32, fp16, bf16")
        if not 0.0 <= self.carry <= 1.0:
            raise RestyleError(f"{setting('carry', self.carry)} is out of range 0..1")
        if not 0.0 <= self.flat_contrast <= 1.0:
            # the Python API's alone (no front end sets it): named as written there
            raise RestyleError(f"flat_contrast {self.flat_contrast} is out of range 0..1")
        if self.tile < 128:
            raise RestyleError(f"tile size must be at least 128, got {self.tile}")


@dataclass(frozen=True)
class NoNetwork:
    """The engine of a run at strength 0 (``Stylizer.gives_source``): none is started, as
    every frame finished is its source (no ONNX Runtime or PyTorch, no model loaded for
    nothing); the run's record says so (``line``, not ``engines.explain``'s)."""

    backend: str = "none"
    device: str = "cpu"
    line: str = "no network: at strength 0 every frame is its source"
    light: bool = True  # decoding and encoding only: encoding may use every core


NO_NETWORK = NoNetwork()


def engine_line(engine: Engine | NoNetwork) -> str:
    """What ran and why (a run's record): ``engines.explain``'s line, or ``NoNetwork``'s;
    an engine held to the precision frames were made with (``hold_precision``) says so, as
    one that could not be held to it (``held_engine``) says what made them."""
    line = getattr(engine, "line", "") or explain(engine)
    held = getattr(engine, "held_as", "")
    if not held:
        return line
    return f"{line[:-1]}; {held})" if line.endswith(")") else f"{line} ({held})"


def decided_precision(engine: Engine | NoNetwork) -> str | None:
    """The precision ``engine`` runs for good: fp32 (never checked, never changed), or a
    reduced one this machine's verdict for the network and style has kept (checked on the
    engine's first batch: ``precision.checked_batch``); None before that check (or with no
    network): the next frames may still switch it to fp32. The engine's one
    settled value (``precision.Settles.decided``, set in one assignment): read by the
    writer thread while a lane checks, ``precision`` and a flag read one after the other
    could pair the precision asked with a check that had just failed."""
    return getattr(engine, "decided", None)


def hold_precision(engine: Engine, made: dict) -> bool:
    """Hold ``engine`` to ``made``'s precision (the frames already there were made with it,
    or a Ray run decided it for every chunk), without a check of its own: a check on other
    first frames could decide otherwise, and the frames would differ from one run's. Held
    by precision, not by backend, at fp32: a folder begun in ONNX Runtime fp32 and resumed
    where auto picks OpenVINO runs OpenVINO at fp32, so the folder holds one precision
    (f5c9c57); its line names the engine that made the first frames where it differs. A
    reduced precision is held only on the backend and device that made the frames: its
    check against fp32 (35 dB) is of that engine (OpenVINO bf16 that passed says nothing of
    PyTorch bf16). False where ``engine`` runs another precision, or a reduced one made
    elsewhere: it runs as asked and checks as usual. ``made``: backend, device,
    precision, why, and the decided run's engine line (``line``) where a manifest kept it."""
    precision = getattr(engine, "precision", None)
    if precision != made.get("precision"):
        return False
    by = (made.get("backend"), made.get("device"))
    if precision != "fp32" and (engine.backend, engine.device) != by:
        return False  # the bar is checked per engine: bf16 that passed in one may not in another
    if hasattr(engine, "checked"):
        engine.checked = True
    if (engine.backend, engine.device) == by:
        engine.held_as = made.get("why", "")
    else:  # another made them: 'fp32, matching the frames already made by onnx on cpu'
        engine.held_as = f"{made.get('why', '')} by {by[0]} on {by[1]}"
    # the line of the run that decided it (a frames folder's manifest keeps it), where it
    # names this engine and precision
    line = made.get("line", "")
    if line.startswith(f"{engine.backend} {precision} on {engine.device}"):
        engine.held_line = line
    return True


def held_engine(build: Callable[[str], Engine], asked: str, made: dict | None) -> Engine:
    """The engine of a run that ``made`` would hold to a precision (``hold_precision``):
    the engine asked for (auto's, or the backend and device set), built at ``made``'s
    precision, where it can run it (whichever backend made the frames); else the engine as
    asked (``asked``: the precision set), its line saying what ``made`` was (``unheld``):
    a folder begun with OpenVINO bf16 and resumed where OpenVINO is missing (ONNX Runtime
    runs no bf16), or CUDA fp16 resumed on a CPU, runs there, the frames made are kept;
    bf16 made by OpenVINO and resumed in PyTorch runs PyTorch's own check.
    ``build(precision)``: the engine for that precision, else a RestyleError."""
    if made is None:
        return build(asked)
    engine = None
    with contextlib.suppress(RestyleError):  # this engine cannot run it: not held
        engine = build(made["precision"])
    if engine is not None and hold_precision(engine, made):
        return engine
    if engine is None or made["precision"] != asked:  # else it is the engine as asked
        getattr(engine, "close", lambda: None)()
        engine = build(asked)
    engine.held_as = made.get("unheld", "")
    return engine


def processing_size(width: int, height: int, settings: StyleSettings) -> tuple[int, int]:
    """The size frames are styled at; stroke size scales with it."""
    factor = settings.scale or 1.0
    if settings.max_side:
        factor = min(factor, settings.max_side / max(width, height))
    return max(32, round(width * factor)), max(32, round(height * factor))


def to_float(frame: np.ndarray) -> np.ndarray:
    """uint8/uint16 HxWxC → float32 RGB in [0,1]."""
    scale = 1.0 / (65535.0 if frame.dtype == np.uint16 else 255.0)
    return frame[..., :3].astype(np.float32) * scale


def from_float(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    """float RGB in [0,1] → the dtype of ``like``, keeping its alpha channel if any."""
    peak = 65535.0 if like.dtype == np.uint16 else 255.0
    return _with_alpha(np.clip(rgb * peak + 0.5, 0, peak).astype(like.dtype), like)


def _with_alpha(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    if like.ndim == 3 and like.shape[2] == 4:
        return np.concatenate([rgb, like[..., 3:4]], axis=2)
    return rgb


def flat_weight(frame: np.ndarray, flat_contrast: float) -> float:
    """How much of the styled frame to keep (0..1), the rest being the source frame.

    The style networks normalise each feature map to unit variance (instance norm), so they
    answer a frame by its contrast, not its level: a fade to black comes out as bright and
    as textured as the full picture until its last frame, and a black or flat frame (zero or
    noise-level variance) as the network's bias pattern or amplified noise, a bright grid.
    Where ``signal_contrast`` is below ``flat_contrast`` (full-scale units) the styled frame
    is mixed with the source by a smoothstep of contrast / flat_contrast, so a black or flat
    frame is the source itself and a fade's last steps fade to it; at or above it the weight
    is exactly 1 and the frame is styled exactly as before. The default, 16/255 (16 levels),
    is about a third of the least real footage measured (45-60 levels: OpenCV's vtest,
    Megamind, tree) and twice the contrast below which the styled output stops following
    the picture (a fading vtest frame's output: ~30 dB from the full frame's at 7.5 levels,
    21 dB at 3). A linear fade x1 -> x0.02 over 30 frames then fades over its last 8.
    0 turns the weight off."""
    if flat_contrast <= 0.0:
        return 1.0
    t = min(signal_contrast(frame) / flat_contrast, 1.0)
    return t * t * (3.0 - 2.0 * t)


def keep_colors(styled: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Styled luminance with the source's chroma (float RGB in [0,1])."""
    s = cv2.cvtColor(styled, cv2.COLOR_RGB2YCrCb)
    c = cv2.cvtColor(source, cv2.COLOR_RGB2YCrCb)
    c[..., 0] = s[..., 0]
    return np.clip(cv2.cvtColor(c, cv2.COLOR_YCrCb2RGB), 0.0, 1.0)


def picture_tensor(rgb: np.ndarray) -> np.ndarray:
    """A style picture (or a frame) as the predictor's input: centre square, 256 px, NCHW."""
    if rgb.dtype == np.uint16:
        rgb = (rgb // 257).astype(np.uint8)
    return prepare_style_picture(np.ascontiguousarray(rgb[..., :3]))


class Stylizer:
    """Applies one style to frames of one size."""

    def __init__(
        self,
        style: StyleInfo,
        library: StyleLibrary,
        settings: StyleSettings | None = None,
        made: dict | None = None,
        *,
        lanes: int | None = None,
    ) -> None:
        """``made``: the precision the frames of a resumed folder or a Ray run's chunks are
        held to where the engine can run it (``held_engine``), else None. ``lanes``: frames
        the caller styles at once (``create_engine``): 1 for one frame at a time from one
        thread (a contact sheet, an install's check), default the pipeline's."""
        self.lanes = lanes
        self.style = style
        self.settings = settings or StyleSettings()
        self.settings.check()
        self.library = library
        self.condition: np.ndarray | None = None
        self._picture_vector: np.ndarray | None = None
        self.carrier = None
        self._predictor: Engine | None = None
        self.bars = BarTracker()  # letterbox/pillarbox bars, steady over the frames styled
        self.engine = NO_NETWORK if self.gives_source else self._engine(made)
        with closed_on_error(self):  # a bad picture or keyframe: the engines end here
            if style.kind == "builtin":
                self.condition = np.asarray([style.weights], np.float32)
            elif style.kind == "picture":
                self._predictor = create_engine(
                    self._builtin_files("arbitrary_predictor"),
                    self.settings.backend,
                    self.settings.device,
                    self.settings.precision,
                )
                self._picture_vector = self.style_vector(read_picture(style.picture))
            self.carrier = self._carrier()
        self.bars.reset()  # the keyframes calibrated above are no frames of the stream

    def close(self) -> None:
        """End the engines' threads, sessions and processes now (``Engine.close``), not
        whenever the garbage collector reaches them; ``with Stylizer(...)`` closes too."""
        for engine in (self.engine, self._predictor):
            getattr(engine, "close", lambda: None)()

    def __enter__(self) -> Stylizer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- setup ---------------------------------------------------------------------------
    def _engine(self, made: dict | None) -> Engine:
        settings, model = self.settings, self._model_files()

        def build(precision: str) -> Engine:
            # held to another precision than the one asked: the line says the one asked
            words = {} if precision == settings.precision else {"asked": settings.precision}
            if self.lanes:  # a one-frame caller's (``lanes``); else the engine's own
                words["lanes"] = self.lanes
            return create_engine(model, settings.backend, settings.device, precision, **words)

        return held_engine(build, settings.precision, made)

    def _builtin_files(self, name: str) -> ModelFiles:
        return ModelFiles(
            ARCHS[name],
            self.library.builtin_file(name, ".onnx"),
            self.library.builtin_file(name, ".safetensors"),
        )

    def _model_files(self) -> ModelFiles:
        if self.style.kind == "builtin":
            return self._builtin_files("multistyle26")
        if self.style.kind == "picture":
            return self._builtin_files("arbitrary_transformer")
        folder = self.style.folder
        assert folder is not None
        meta = self.style.meta
        return ModelFiles(
            get_arch(meta.get("arch", "fewshot")),
            folder / ONNX_FILE,
            folder / WEIGHTS_FILE,
            dict(meta.get("arch_config", {})),
        )

    def _carrier(self):
        """Trained styles that stored their keyframes carry the paintings onto the frames,
        calibrated on the network's own output for them (a corrupt keyframe file fails
        here, before any work)."""
        if self.style.kind != "trained" or self.settings.carry <= 0.0 or self.gives_source:
            return None
        from .carry import KeyframeCarrier, read_keyframes

        assert self.style.folder is not None
        keyframes = read_keyframes(self.style.folder, self.style.meta or {})
        if not keyframes:
            return None
        carrier = KeyframeCarrier(keyframes, self.settings.carry)
        carrier.calibrate(self.stylize)  # self.carrier is still None: the network alone
        return carrier

    def style_vector(self, rgb: np.ndarray) -> np.ndarray:
        return self._predictor.run(picture_tensor(rgb))[:, :100].reshape(1, 100)

    def prepare(self, samples: list[np.ndarray]) -> None:
        """Picture styles: strength moves between the footage's own style and the picture's.

        The footage's style vector is averaged over ``samples``: the first, middle and last
        frames of the whole source (``job``), so it is the same for every frame and every
        range of the clip (a Ray chunk, a resume) and cannot flicker.
        """
        if self._picture_vector is None:
            return
        s = self.settings.strength
        if s >= 1.0 or not samples:
            self.condition = self._picture_vector
            return
        own = np.mean([self.style_vector(f) for f in samples], axis=0)
        self.condition = (s * self._picture_vector + (1.0 - s) * own).astype(np.float32)

    @property
    def blend_strength(self) -> float:
        """Strength as a plain mix with the source (picture styles mix style vectors)."""
        return 1.0 if self.style.kind == "picture" else self.settings.strength

    @property
    def gives_source(self) -> bool:
        """Strength 0 (a plain mix): every finished frame is its source, whatever the network
        or coherence made (``finish``), so neither runs (the pipeline, ``stylize``)."""
        return self.blend_strength <= 0.0

    # -- per frame -----------------------------------------------------------------------
    def _bars(self, frame: np.ndarray, recall: bool = False) -> Bars | None:
        """The frame's letterbox/pillarbox bars (None: none, or turned off). Frames are
        decided in the order they are preprocessed (``BarTracker``); postprocess recalls
        the decision its preprocess made."""
        if not self.settings.letterbox:
            return None
        bars = self.bars.recall(frame) if recall else self.bars.decide(frame)
        return bars or None

    def _size(self, frame: np.ndarray, bars: Bars | None) -> tuple[int, int]:
        """Processing size of the frame, or of its active picture at the frame's scale."""
        h, w = frame.shape[:2]
        pw, ph = processing_size(w, h, self.settings)
        if bars is None:
            return pw, ph
        y0, y1, x0, x1 = bars.active(h, w)
        if (pw, ph) == (w, h):
            return x1 - x0, y1 - y0
        return max(32, round((x1 - x0) * pw / w)), max(32, round((y1 - y0) * ph / h))

    def input_shape(self, frame: np.ndarray) -> tuple[int, int, int]:
        """The shape of ``preprocess(frame)``: [3,h,w] at processing size, padded."""
        pw, ph = self._size(frame, self._bars(frame))
        m = self.engine.arch.size_multiple
        return 3, ph + (-ph) % m, pw + (-pw) % m

    def preprocess(self, frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Source frame → network input [3,h,w] at processing size, padded to the multiple.

        ``out``: a float32 array of ``input_shape(frame)`` to write it into, and return (the
        pipeline reuses its arrays: a fresh one a frame cost page faults)."""
        bars = self._bars(frame)
        pw, ph = self._size(frame, bars)
        if bars is not None:  # style the active picture alone, as if it were the frame
            y0, y1, x0, x1 = bars.active(*frame.shape[:2])
            frame = frame[y0:y1, x0:x1]
        h, w = frame.shape[:2]
        m = self.engine.arch.size_multiple
        hp, wp = ph + (-ph) % m, pw + (-pw) % m
        rgb = frame[..., :3]
        if (pw, ph) != (w, h):  # resize before converting: fewer bytes to touch
            interp = cv2.INTER_AREA if pw < w else cv2.INTER_CUBIC
            rgb = cv2.resize(rgb, (pw, ph), interpolation=interp)
        if (hp, wp) != (ph, pw):
            rgb = cv2.copyMakeBorder(rgb, 0, hp - ph, 0, wp - pw, cv2.BORDER_REFLECT_101)
        return planar_float(rgb, out)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        cond = None
        if self.condition is not None:
            cond = np.repeat(self.condition, len(batch), axis=0)
        _, _, h, w = batch.shape
        if max(h, w) > self.settings.tile:
            return np.concatenate(
                [
                    _tiled(self.engine, batch[i : i + 1], cond, self.settings.tile)
                    for i in range(len(batch))
                ]
            )
        return self.engine.run(batch, cond)

    def postprocess(self, output: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """Network output [3,h,w] → styled frame with the source's size, dtype and alpha;
        for flat or dark frames mixed with the source by ``flat_weight`` (the styled picture
        of a flat frame is the frame: coherence then carries that, never the network's grid).
        Not mixed by strength: that is ``finish``'s, after temporal coherence, so coherence
        works on the styled picture alone and strength 0 is the source exactly.
        Letterbox/pillarbox bars (the output then holds the active picture alone) are the
        source's, exactly."""
        bars = self._bars(frame, recall=True)
        h, w = frame.shape[:2]
        pw, ph = self._size(frame, bars)
        planes = list(output[:, :ph, :pw])
        if bars is None:
            y0, y1, x0, x1 = 0, h, 0, w
            picture = frame
        else:
            y0, y1, x0, x1 = bars.active(h, w)
            picture = frame[y0:y1, x0:x1]
        ah, aw = picture.shape[:2]
        s = flat_weight(picture, self.settings.flat_contrast)
        if frame.dtype == np.uint8 and s >= 1.0 and not self.settings.preserve_colors:
            # The common case, kept cheap: scale, round and saturate per plane, then merge.
            rgb8 = cv2.merge([cv2.convertScaleAbs(p, alpha=255.0) for p in planes])
            if (pw, ph) != (aw, ah):
                rgb8 = cv2.resize(rgb8, (aw, ah), interpolation=cv2.INTER_LINEAR)
            if bars is not None:
                rgb8 = _into_bars(rgb8, frame[..., :3], bars)
            if self.carrier is not None:
                rgb8 = self.carrier.apply(frame, rgb8)
            return _keep_bars(_with_alpha(rgb8, frame), frame, bars)
        rgb = cv2.merge(planes)
        if (pw, ph) != (aw, ah):
            rgb = cv2.resize(rgb, (aw, ah), interpolation=cv2.INTER_LINEAR)
        if bars is not None:
            rgb = _into_bars(rgb, to_float(frame), bars)
        if self.carrier is not None:
            rgb = self.carrier.apply(frame, rgb)
        source = None
        if self.settings.preserve_colors:
            source = to_float(frame)
            rgb = keep_colors(rgb, source)
        if s < 1.0:
            source = to_float(frame) if source is None else source
            rgb = cv2.addWeighted(rgb, s, source, 1.0 - s, 0.0)
        return _keep_bars(from_float(rgb, frame), frame, bars)

    def new_shot(self) -> None:
        """A cut in the stream (the pipeline calls it where coherence restarts): the next
        frames' bars are decided afresh, not grown into over GROW_AFTER frames."""
        self.bars.new_shot()

    def see(self, frame: np.ndarray) -> None:
        """A frame of the stream not styled here (an earlier run finished it): the bar
        tracker takes it in, in stream order, as an uninterrupted run's did."""
        if self.settings.letterbox:
            self.bars.see(frame)

    def keep_bars(self, frame: np.ndarray, styled: np.ndarray) -> np.ndarray:
        """``styled`` (this frame's finished output, after any temporal coherence, which
        may pull styled pixels a few rows into a bar) with the frame's bars put back."""
        bars = self.bars.known(frame, forget=True) if self.settings.letterbox else None
        return (
            styled if not bars or styled.shape != frame.shape else _keep_bars(styled, frame, bars)
        )

    def finish(self, frame: np.ndarray, styled: np.ndarray) -> np.ndarray:
        """The written frame: ``styled`` (postprocess's, after any temporal coherence) with
        the frame's bars put back (``keep_bars``), then mixed with the source by strength.
        Last, so coherence never warps the source's share: strength 0 is the source exactly
        and strength s is s * coherent + (1 - s) * source. A new array when mixed (the
        coherence state is then ``unmix`` of the written frame, in every run)."""
        styled = self.keep_bars(frame, styled)
        s = self.blend_strength
        if s >= 1.0 or styled.shape != frame.shape:
            return styled
        rgb = cv2.addWeighted(styled[..., :3], s, frame[..., :3], 1.0 - s, 0.0)
        return _with_alpha(rgb, styled)

    def unmix(self, frame: np.ndarray, written: np.ndarray) -> np.ndarray:
        """The coherent frame a written frame was mixed from by ``finish``: the coherence
        state after it, in an uninterrupted run as in a resumed one (the pipeline's
        ``_carry``). Exact at strength 1; otherwise within half a level / strength (the mix
        was rounded), saturated to the dtype's range (OpenCV's saturating arithmetic), so a
        small strength cannot blow the state up. At strength 0 the written frame, which is
        the source: every output is then the source whatever the state, and the source is
        the one state both runs have without dividing by 0."""
        s = self.blend_strength
        if s >= 1.0 or s <= 0.0 or written.shape != frame.shape:
            return written
        rgb = cv2.addWeighted(written[..., :3], 1.0 / s, frame[..., :3], 1.0 - 1.0 / s, 0.0)
        return _with_alpha(rgb, written)

    def stylize(self, frame: np.ndarray) -> np.ndarray:
        """One frame, synchronously (stills, thumbnails, tests): postprocess, then finish."""
        if self.gives_source:
            return self.finish(frame, frame)
        try:
            styled = self.postprocess(self.infer(self.preprocess(frame)[None])[0], frame)
            return self.finish(frame, styled)
        finally:  # a caller may refill the same array with the next frame
            self.bars.known(frame, forget=True)


def _into_bars(picture: np.ndarray, source: np.ndarray, bars: Bars) -> np.ndarray:
    """The styled active ``picture`` placed into (a copy of) the frame-sized ``source``."""
    y0, y1, x0, x1 = bars.active(*source.shape[:2])
    full = np.array(source, copy=True)
    full[y0:y1, x0:x1] = picture
    return full


def _keep_bars(styled: np.ndarray, frame: np.ndarray, bars: Bars | None) -> np.ndarray:
    """``styled`` with the frame's bars put back exactly (after the keyframe carrier, the
    colour transfer and the strength mix, which could move them by a level or more)."""
    if bars is None:
        return styled
    h, w = frame.shape[:2]
    y0, y1, x0, x1 = bars.active(h, w)
    styled[:y0] = frame[:y0]
    styled[y1:] = frame[y1:]
    styled[:, :x0] = frame[:, :x0]
    styled[:, x1:] = frame[:, x1:]
    return styled


def planar_float(rgb: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """HWC uint8/uint16 → CHW float32 in [0, 1], a plane at a time (into ``out`` if given):
    the same numbers as OpenCV's ``blobFromImage(rgb, 1 / 255)`` at a fifth of its CPU time
    (720p: 2.3 ms, not 12.7)."""
    out = np.empty((3, *rgb.shape[:2]), np.float32) if out is None else out
    scale = np.float32(1 / (65535 if rgb.dtype == np.uint16 else 255))
    for channel in range(3):
        np.multiply(rgb[..., channel], scale, out=out[channel], dtype=np.float32)
    return out


def _tiled(engine: Engine, image: np.ndarray, cond: np.ndarray | None, tile: int) -> np.ndarray:
    from .tiling import run_tiled

    return run_tiled(lambda t: engine.run(t, cond), image, tile, 64, engine.arch.size_multiple)


def read_picture(path) -> np.ndarray:
    """Any picture file as uint8/uint16 RGB (first three channels)."""
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise RestyleError(f"cannot read the style picture {path}: not an image or corrupt")
    if data.ndim == 2:
        data = cv2.cvtColor(data, cv2.COLOR_GRAY2BGR)
    if data.dtype not in (np.uint8, np.uint16):
        data = np.clip(data.astype(np.float32), 0, 1)
        data = (data * 255 + 0.5).astype(np.uint8)
    return cv2.cvtColor(data[..., :3], cv2.COLOR_BGR2RGB)
