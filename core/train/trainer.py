"""Train a few-shot style: learn the mapping from source frames to their painted keyframes.

Patch-based training after Texler et al. 2020: the generator sees random aligned patches of
the keyframes (with their guide channels) and is pulled towards the painted pixels by an L1
loss; a PatchGAN critic can pull towards the keyframes' texture (off by default: on looks
made by fixed filters it cost PSNR and 40 % of each iteration; their VGG perceptual loss
needs pretrained weights Restyle cannot ship). The rate anneals over the run; when the
smoothed validation loss on held-out tiles stops improving for a while (core/train/stopping.py),
the rate is lowered, and only a plateau after the last drop stops training, as do the time
budget and the user cancelling; the best validated weights are returned in every case.
A benchmark can watch those weights on frames the run never sees (``HeldOutWatch``); that
watch never steers the run, which learns and stops on the user's keyframes alone.

Torch is imported inside the functions: this module is on the training path only.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ...models.registry import SPAN_GUIDES  # the span ladders' names (torch-free, one table)
from ..engines import cpu as cpu_features
from ..engines.torch_engine import TORCH_DEVICES, pick_device
from ..errors import RestyleError
from ..fields import coerce_fields
from ..progress import CancelToken, Progress, ProgressCallback
from ..torch_tuning import tune_cpu_allocator
from .budget import time_budget_refusal
from .patches import PatchSampler, to_chw_float
from .stopping import PlateauRule

if TYPE_CHECKING:
    import torch

# models/fewshot.py GUIDES, repeated so the settings check needs no torch (a test ties them).
GUIDES = ("none", "blur-gradients", "multiscale")
# TrainConfig's generator_guides unless set (generator_spans=True replaces it by "spans").
DEFAULT_GUIDES = "spans-128-log"
StopReason = Literal["patience", "time_budget", "max_iterations", "cancelled"]
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a training run learns and how long it may take."""

    seed: int = 0
    time_budget_s: float = 300.0
    # What the budget (and every duration reported) is counted in: "wall" seconds, or this
    # process's "cpu" seconds, for benchmarks on a shared machine whose load would otherwise
    # shrink the budget (with one torch thread on an idle machine the two are the same).
    clock: Literal["wall", "cpu"] = "wall"
    # The time.perf_counter() moment a "wall" budget counts from (Blender's Train: the click,
    # so reading the frames and setting up come out of it too); None: the loop's start.
    budget_from: float | None = None
    # A hard cap on iterations, for reproducible runs (the time budget still applies).
    max_iterations: int | None = None
    # 64-pixel patches: the generator's receptive field is ~70 pixels, and filters with a
    # wide spatial support (stylization, pencil sketch) need that context to be learned.
    patch_size: int = 64
    batch_size: int = 8
    lr: float = 1e-3
    # Adam's momentum for the generator. 0.9 (the usual value for regression) against the
    # GAN-style 0.5: +0.4 dB on pencil sketch, +0.2 dB on stylization at 80 CPU-s (vtest).
    beta1: float = 0.9
    l1_weight: float = 1.0
    # L1 on horizontal and vertical pixel differences. Off by default: on a 640x360 clip
    # styled by a fixed filter it cost 1.1 dB PSNR at 1200 iterations instead of sharpening.
    gradient_weight: float = 0.0
    # The critic pulls towards the keyframes' texture where L1 alone would average strokes
    # into blur; kept small because on a deterministic target it costs ~0.6 dB PSNR.
    adversarial_weight: float = 0.0
    adversarial_loss: Literal["lsgan", "hinge"] = "lsgan"
    generator_width: int = 16
    generator_blocks: int = 3
    # "linear": a sigmoid output saturated on white-paper looks and stopped learning.
    generator_output: str = "linear"
    # Extra inputs computed inside the network (models/fewshot.py Guides). Texler et al.'s
    # "blur-gradients" gave +1.7 dB on the pencil-sketch look; "multiscale" adds how busy
    # the picture is at three scales: at 80 CPU-s on vtest (24 frames), with depth 3,
    # pencil sketch 16.0 -> 19.5 dB (vtest) and 20.5 -> 24.2 dB (megamind, with beta1 0.9).
    # "spans-8-32" and "spans-8" add shorter ladders of the span guides below (8 and 4
    # channels; round 20): cheaper to style than generator_spans' 12, not the default
    # (docs/performance/keyframes.md). "spans-128-log", the default since round 23, adds one
    # long span (edge cost 1000, radius 128) on a log scale (2 channels; round 22): at 80
    # CPU-s (24 frames, bf16) pencil sketch with carry +0.3 to +1.0 dB on vtest and megamind
    # (2 seeds), the other 6 clip x look cases -0.5 (vtest grade, at 43 dB) to +0.7 dB
    # (2 seeds, round 23), and at 300 CPU-s pencil sketch 29.2-29.3 dB with carry (1 seed);
    # styling costs more: span styles run fp32 (registry.SPAN_GUIDES), OpenVINO 1.8x the
    # plain style's bf16 time, ONNX Runtime 1.2-1.4x. Styles saved with other guides keep
    # theirs (their arch_config); matte training keeps "multiscale" (core/mappings/matte.py).
    generator_guides: str = DEFAULT_GUIDES
    # Halvings of the resolution: 3 widens the generator's view from ~80 to ~150 pixels and,
    # with the residual blocks at 1/8, makes an iteration ~15 % cheaper (+0.7 dB on pencil).
    generator_depth: int = 3
    # Edge-aware span guides (models/fewshot_spans.py): how far each pixel's row and column
    # run within a domain-transform distance, at 2 edge costs x 3 radii (12 more channels).
    # At 80 CPU-s (24 frames, two random starts) pencil sketch with carry: vtest 25.8 ->
    # 26.5-27.1 dB, megamind 25.4 -> 26.3-26.6 (network alone +1.1 to +2.5), but styling a
    # frame costs 2.7x the CPU (ONNX Runtime, 640x360: 0.30 -> 0.80 s): off by default
    # (docs/performance/keyframes.md, round 19).
    generator_spans: bool = False
    discriminator_width: int = 16
    flip: bool = True
    # Hard-example mining: this share of every batch is drawn where the generator's error on
    # the keyframes is highest (refreshed at every validation; ~4 % of the time); 0 draws
    # uniformly. 0.5 at 80 CPU-s (vtest): pencil 20.8 -> 21.0 dB, stylization 21.8 -> 22.1.
    hard_share: float = 0.5
    # Validation: the share of keyframe tiles held out, and how often they are scored.
    val_fraction: float = 0.1
    val_every: int = 100
    # Stopping (core/train/stopping.py): a plateau is patience_s seconds (of the run's clock)
    # in which the validation loss, smoothed over the last `smooth` validations, did not fall
    # by min_improvement (relative; 1 % of L1 is ~0.09 dB). A plateau multiplies the rate by
    # lr_decay, up to lr_drops times; the next one stops training. A plateau at a high rate
    # is often the optimiser bouncing around a minimum it reaches once the rate is lower.
    patience_s: float = 60.0
    min_improvement: float = 0.01
    smooth: int = 5
    lr_drops: int = 2
    lr_decay: float = 0.3
    # Anneal the rate over the run (cosine down to 5 %): the last, small steps settle the
    # fine detail that a constant rate keeps shaking.
    lr_anneal: bool = True
    # Share of the run over which the rate first rises linearly from 5 % to ``lr`` (a
    # one-cycle schedule with the cosine above); 0 starts at the full rate.
    lr_warmup: float = 0.0
    preview_every_s: float = 5.0
    progress_every_s: float = 0.5
    device: str = "auto"
    # CPU threads for torch; None uses every core this process may run on but one (at least
    # one). With every core busy, torch's threads wait on each other: on a shared 2-core
    # machine two threads ran 3-10x slower than one.
    threads: int | None = None
    # The arithmetic of the training step. "bf16": the generator's (and critic's) forward
    # pass runs under torch.autocast in bfloat16, the losses in float32, and the weights,
    # their gradients and Adam stay float32 (the style is saved float32, as ever); validation,
    # hard-example mining and previews run in float32. "fp32": all float32. "auto": bf16 on
    # a CPU that computes bf16 natively (AVX512-BF16 or AMX, core/engines/cpu.py), fp32
    # elsewhere (on GPUs too: not measured). 2-core AMD EPYC with AVX512-BF16, one thread:
    # 1.32x the iterations per CPU-second (92.8 -> 70.3 ms, median of 5 alternated), and at
    # 80 CPU-s, vtest pencil sketch, 857 -> 1197 iterations, held-out PSNR with carry 26.39 ->
    # 26.68 dB (docs/performance/keyframes.md, round 21).
    precision: Literal["auto", "fp32", "bf16"] = "auto"

    def __post_init__(self) -> None:
        coerce_fields(self)  # the jobs' rule: time_budget_s='5' or True, device=5 refused
        problems = []
        if refusal := time_budget_refusal(self.time_budget_s):
            problems.append(refusal)
        if self.max_iterations is not None and self.max_iterations < 1:
            problems.append("max_iterations must be at least 1")
        if self.patch_size < 8 or self.patch_size % 4:
            problems.append("patch_size must be a multiple of 4, at least 8")
        if self.batch_size < 1:
            problems.append("batch_size must be at least 1")
        if not self.lr > 0:
            problems.append("lr must be positive")
        if not 0 <= self.beta1 < 1:
            problems.append("beta1 must be in [0, 1)")
        if min(self.l1_weight, self.gradient_weight, self.adversarial_weight) < 0:
            problems.append("loss weights must not be negative")
        if self.adversarial_loss not in ("lsgan", "hinge"):
            problems.append("adversarial_loss must be 'lsgan' or 'hinge'")
        if not 0 <= self.lr_warmup < 1:
            problems.append("lr_warmup must be in [0, 1)")
        if not 0 <= self.hard_share <= 1:
            problems.append("hard_share must be in [0, 1]")
        if not 0 < self.val_fraction < 0.5:
            problems.append("val_fraction must be between 0 and 0.5")
        if self.val_every < 1 or self.smooth < 1:
            problems.append("val_every and smooth must be at least 1")
        if not self.patience_s > 0 or not 0 <= self.min_improvement < 1:
            problems.append("patience_s must be positive and min_improvement in [0, 1)")
        if self.lr_drops < 0 or not 0 < self.lr_decay < 1:
            problems.append("lr_drops must not be negative and lr_decay must be in (0, 1)")
        if self.generator_output not in ("sigmoid", "linear"):
            problems.append("generator_output must be 'sigmoid' or 'linear'")
        if self.generator_guides not in GUIDES + SPAN_GUIDES:
            problems.append(f"generator_guides must be one of {', '.join(GUIDES + SPAN_GUIDES)}")
        if self.generator_spans and self.generator_guides not in ("multiscale", DEFAULT_GUIDES):
            problems.append("generator_spans needs generator_guides 'multiscale'")
        if self.generator_depth not in (2, 3):
            problems.append("generator_depth must be 2 or 3")
        if self.patch_size % 2**self.generator_depth:
            problems.append("patch_size must be a multiple of 2**generator_depth")
        if self.clock not in ("wall", "cpu"):
            problems.append("clock must be 'wall' or 'cpu'")
        if self.device.partition(":")[0] not in TORCH_DEVICES:
            problems.append(f"device must be one of {', '.join(TORCH_DEVICES)} (cuda:N too)")
        if self.threads is not None and self.threads < 1:
            problems.append("threads must be at least 1")
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {', '.join(PRECISIONS)}")
        if problems:
            raise RestyleError("Invalid training settings: " + "; ".join(problems))


@dataclass(frozen=True)
class TrainFigures:
    """What a run did, for the style's metadata and the user."""

    iterations: int
    seconds: float
    seconds_per_iteration: float
    train_l1: float | None  # mean L1 on training patches since the last-but-one validation
    val_l1: float  # L1 of the returned weights on the held-out tiles
    best_iteration: int
    stopped_because: StopReason
    device: str
    # (iteration, seconds, validation L1) of every validation, in order: the learning curve.
    val_history: tuple[tuple[int, float, float], ...] = ()
    # Iterations at which a plateau lowered the learning rate.
    lr_dropped_at: tuple[int, ...] = ()
    # The training step's arithmetic ("auto" resolved): "fp32" or "bf16".
    precision: str = "fp32"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HeldOutCheck:
    """The weights the run would return if it stopped now, tried on the held-out frames."""

    iteration: int
    seconds: float  # of the run's clock, every check's own time left out
    val_l1: float  # the best validation L1 so far: that of the weights tried
    best_iteration: int  # where those weights were kept
    styled: tuple[np.ndarray, ...]  # HeldOutWatch.frames styled, in order, uint8 HxWx3
    final: bool = False  # after the loop: the weights train_style returns


@dataclass(frozen=True)
class HeldOutWatch:
    """Frames the run never trains on, styled by the best weights so far at the first
    validation ``every_s`` seconds after the last check, and once more with the returned
    weights, each check handed to ``on_check``: held-out quality along the training curve,
    for a benchmark. The checks take no random draws and their time is left out of the
    run's clock (budget, plateaus, figures): a watched run learns and stops as it would
    unwatched (the same weights with a fixed seed and ``max_iterations``)."""

    frames: Sequence[np.ndarray]  # uint8 HxWxC, the training frames' channels
    on_check: Callable[[HeldOutCheck], None]
    every_s: float = 30.0


@dataclass(frozen=True)
class TrainResult:
    """The best generator weights (numpy, CPU), how to rebuild it, and the run's figures."""

    state_dict: dict[str, np.ndarray]
    arch_config: dict[str, int]
    figures: TrainFigures
    config: TrainConfig = field(default_factory=TrainConfig)

    @property
    def checkpointed(self) -> bool:
        """Whether the run reached its first validation checkpoint (``val_every``
        iterations). A run cancelled before it holds weights barely trained, or the initial
        ones: not a style to save."""
        return self.figures.iterations >= self.config.val_every


def training_precision(precision: str, device_type: str) -> str:
    """The step's arithmetic for TrainConfig's ``precision`` on a ``device_type`` ("cpu",
    "cuda", ...): "auto" is "bf16" on a CPU with native bf16 (chosen by its instruction set,
    never its vendor), else "fp32"; "fp32" and "bf16" are taken as given."""
    if precision != "auto":
        return precision
    return "bf16" if device_type == "cpu" and cpu_features.native_bf16() else "fp32"


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _cpu_threads(threads: int | None) -> Iterator[None]:
    """Torch's thread count for one run, restored afterwards.

    Torch's CPU kernels give the same results run to run for a fixed thread count, so the
    seed alone makes CPU training reproducible; CUDA runs are not bit-reproducible.
    """
    import torch

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads or max(1, _available_cores() - 1))
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)


def lr_schedule(progress: float, warmup: float, anneal: bool) -> float:
    """The rate's factor at ``progress`` (0..1) of the run: a linear rise from 5 % over the
    first ``warmup`` of it, then (with ``anneal``) a cosine down to 5 % at the end."""
    progress = min(1.0, progress)
    if progress < warmup:
        return 0.05 + 0.95 * progress / warmup
    if not anneal:
        return 1.0
    rest = (progress - warmup) / (1 - warmup)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * rest))


def _to_device(batch: np.ndarray, device: torch.device) -> torch.Tensor:
    """NCHW numpy batch as a channels-last tensor: 1.3x faster convolutions on CPU."""
    import torch

    return torch.from_numpy(batch).to(device).contiguous(memory_format=torch.channels_last)


def _gradient_l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    dx = (output[..., :, 1:] - output[..., :, :-1]) - (target[..., :, 1:] - target[..., :, :-1])
    dy = (output[..., 1:, :] - output[..., :-1, :]) - (target[..., 1:, :] - target[..., :-1, :])
    return 0.5 * (dx.abs().mean() + dy.abs().mean())


def _critic_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if kind == "hinge":
        return (1 - real).clamp_min(0).mean() + (1 + fake).clamp_min(0).mean()
    return 0.5 * ((real - 1).square().mean() + fake.square().mean())


def _generator_adversarial_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    if kind == "hinge":
        return -fake.mean()
    return (fake - 1).square().mean()


def _check_pairs(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
    if not pairs:
        raise RestyleError("Training needs at least one painted keyframe")
    channels = None
    for index, (source, target) in enumerate(pairs):
        for what, image in (("frame", source), ("keyframe", target)):
            if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3:
                raise RestyleError(f"Training {what} {index} is not an 8-bit HxWxC image")
        if target.shape[2] != 3:
            raise RestyleError(f"Keyframe {index} is not RGB")
        if source.shape[:2] != target.shape[:2]:
            raise RestyleError(
                f"Keyframe {index} is {target.shape[1]}x{target.shape[0]} but its frame is "
                f"{source.shape[1]}x{source.shape[0]}; paint over the frame at its own size"
            )
        if channels is not None and source.shape[2] != channels:
            raise RestyleError("All training frames must have the same number of channels")
        channels = source.shape[2]


def _check_held_out(held_out: HeldOutWatch, channels: int) -> None:
    for index, frame in enumerate(held_out.frames):
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3:
            raise RestyleError(f"Held-out frame {index} is not an 8-bit HxWxC image")
        if frame.shape[2] != channels:
            raise RestyleError(f"Held-out frame {index} has not the training frames' channels")
    if not held_out.every_s > 0:
        raise RestyleError("A held-out watch's every_s must be positive")


def _to_uint8_image(batch: torch.Tensor) -> np.ndarray:
    """First image of an NCHW [0, 1] batch as uint8 HxWx3."""
    image = batch[0].detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0)
    return np.ascontiguousarray(image.cpu().numpy())


def _guided(generator, frame: np.ndarray) -> np.ndarray:
    """A whole frame with the generator's guide channels, float32 CxHxW: training patches
    cut from it carry the guides of the frame (a wide blur cut from a patch would not)."""
    import torch

    with torch.inference_mode():
        device = next(generator.parameters()).device
        guided = generator.guide(torch.from_numpy(to_chw_float(frame))[None].to(device))
    return np.ascontiguousarray(guided[0].float().cpu().numpy())


def train_style(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    config: TrainConfig | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    preview_frame: np.ndarray | None = None,
    on_preview: Callable[[np.ndarray], None] | None = None,
    held_out: HeldOutWatch | None = None,
) -> TrainResult:
    """Learn the style of ``pairs`` of (source frame, painted keyframe), both uint8 HxWx3.

    Source frames may carry extra guide channels after RGB (HxWxC, the same C for all);
    the generator then takes C input channels. Progress reports elapsed whole seconds out of
    the time budget; ``fps`` is iterations per second. Every ``preview_every_s`` seconds
    (less often if styling the preview takes over a fifth of that), and
    once more with the returned weights at the end, ``on_preview`` receives ``preview_frame``
    (same channels as the sources) styled by the generator as uint8 HxWx3. Cancelling
    returns normally with the best weights so far and ``stopped_because == "cancelled"``.
    A fixed seed and ``max_iterations`` give identical weights on the same CPU and threads,
    in either precision; "auto" may pick another precision on another CPU (its bf16 flags),
    which, like another CPU's kernels, gives other weights. ``held_out`` watches the best
    weights on other frames as the run goes (``HeldOutWatch``), never steering it.
    """
    import torch

    from ...models.fewshot import PatchDiscriminator
    from ...models.fewshot_spans import generator_class

    config = config or TrainConfig()
    _check_pairs(pairs)
    if preview_frame is not None and (
        preview_frame.dtype != np.uint8
        or preview_frame.ndim != 3
        or preview_frame.shape[2] != pairs[0][0].shape[2]
    ):
        raise RestyleError("The preview frame must be an 8-bit image like the training frames")
    if held_out is not None:
        _check_held_out(held_out, pairs[0][0].shape[2])
    tune_cpu_allocator()
    device = torch.device(pick_device(config.device))

    with _cpu_threads(config.threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)
        guides = "spans" if config.generator_spans else config.generator_guides
        generator = generator_class({"guides": guides})(
            pairs[0][0].shape[2],
            config.generator_width,
            config.generator_blocks,
            config.generator_output,
            guides,
            config.generator_depth,
        ).to(device, memory_format=torch.channels_last)
        sampler = PatchSampler(
            [_guided(generator, s) for s, _ in pairs],
            [t for _, t in pairs],
            config.patch_size,
            rng=rng,
            val_fraction=config.val_fraction,
            flip=config.flip,
            mirror_odd=()
            if generator.guides is None
            else generator.guides.mirror_odd(generator.in_channels),
        )
        critic = PatchDiscriminator(3, config.discriminator_width).to(
            device, memory_format=torch.channels_last
        )
        run = _Run(config, sampler, generator, critic, device, progress, cancel)
        if preview_frame is not None and on_preview is not None:
            run.preview_input = torch.from_numpy(to_chw_float(preview_frame))[None].to(device)
            run.on_preview = on_preview
        run.held_out = held_out
        return run.train()


class _Run:
    """One training run's state: the loop, validation, checkpointing and reporting."""

    def __init__(self, config, sampler, generator, critic, device, progress, cancel) -> None:
        import torch

        self.config = config
        self.sampler = sampler
        self.generator = generator
        self.critic = critic
        self.device = device
        self.progress = progress
        self.cancel = cancel
        self.preview_input: torch.Tensor | None = None
        self.on_preview: Callable[[np.ndarray], None] | None = None
        self.held_out: HeldOutWatch | None = None
        self.use_critic = config.adversarial_weight > 0
        self.precision = training_precision(config.precision, device.type)
        self.opt_g = torch.optim.Adam(
            generator.parameters(), lr=config.lr, betas=(config.beta1, 0.999)
        )
        self.opt_d = torch.optim.Adam(critic.parameters(), lr=config.lr, betas=(0.5, 0.999))
        margin = config.patch_size // 2
        val_sources, val_targets = sampler.validation_batch(margin)
        self.val_margin = margin
        self.val_sources = _to_device(val_sources, device)
        self.val_targets = torch.from_numpy(val_targets).to(device)

    def validation_l1(self) -> float:
        import torch

        m, size = self.val_margin, self.config.patch_size
        total = 0.0
        self.generator.eval()
        with torch.inference_mode():
            for start in range(0, len(self.val_sources), 32):
                output = self.generator.styled(self.val_sources[start : start + 32])
                output = output[:, :, m : m + size, m : m + size]
                total += (output - self.val_targets[start : start + 32]).abs().sum().item()
        self.generator.train()
        return total / self.val_targets.numel()

    def mine_hard_examples(self) -> None:
        """Tell the sampler where the generator is now worst on each keyframe."""
        import torch

        if self.config.hard_share <= 0:
            return
        errors = []
        self.generator.eval()
        with torch.inference_mode():
            for source, target in zip(self.sampler.sources, self.sampler.targets, strict=True):
                output = self.generator.styled(torch.from_numpy(source)[None].to(self.device))
                error = (output[0] - torch.from_numpy(target).to(self.device)).abs().mean(0)
                errors.append(error.float().cpu().numpy())
        self.generator.train()
        self.sampler.set_errors(errors, self.config.hard_share)

    def watch(self, iteration, seconds, val_l1, best_iteration, state, final=False) -> None:
        """Style the held-out frames with the weights ``state`` (the best so far) and hand
        them to the watch; a copy of the generator holds them, so training goes on as it
        was."""
        import torch

        generator = copy.deepcopy(self.generator)
        generator.load_state_dict(state)
        generator.eval()
        styled = []
        with torch.inference_mode():
            for frame in self.held_out.frames:
                source = torch.from_numpy(to_chw_float(frame))[None].to(self.device)
                styled.append(_to_uint8_image(generator(source)))
        check = HeldOutCheck(
            iteration=iteration,
            seconds=round(seconds, 2),
            val_l1=round(val_l1, 6),
            best_iteration=best_iteration,
            styled=tuple(styled),
            final=final,
        )
        self.held_out.on_check(check)

    def preview(self) -> None:
        import torch

        if self.preview_input is None or self.on_preview is None:
            return
        self.generator.eval()
        with torch.inference_mode():
            image = _to_uint8_image(self.generator(self.preview_input))
        self.generator.train()
        self.on_preview(image)

    def set_lr(self, progress: float, drops: int) -> None:
        """The rate for this point of the run: cosine from ``lr`` down to 5 % of it over the
        run's length (``progress`` 0..1), after the warm-up if any, times ``lr_decay`` for
        every plateau so far."""
        config = self.config
        factor = config.lr_decay**drops * lr_schedule(progress, config.lr_warmup, config.lr_anneal)
        for optimizer in (self.opt_g, self.opt_d):
            for group in optimizer.param_groups:
                group["lr"] = config.lr * factor

    def autocast(self):
        """The forward passes' arithmetic: bf16 autocast, or nothing changed for fp32."""
        import torch

        if self.precision != "bf16":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def step(self, source: torch.Tensor, target: torch.Tensor) -> float:
        config = self.config
        with self.autocast():
            output = self.generator.styled(source).float()  # the losses in float32
        if self.use_critic:
            self.opt_d.zero_grad(set_to_none=True)
            with self.autocast():
                real, fake = self.critic(target), self.critic(output.detach())
            loss_d = _critic_loss(config.adversarial_loss, real.float(), fake.float())
            loss_d.backward()
            self.opt_d.step()

        self.opt_g.zero_grad(set_to_none=True)
        l1 = (output - target).abs().mean()
        loss = config.l1_weight * l1
        if config.gradient_weight > 0:
            loss = loss + config.gradient_weight * _gradient_l1(output, target)
        if self.use_critic:
            self.critic.requires_grad_(False)  # the generator's step needs no critic gradients
            with self.autocast():
                judged = self.critic(output)
            adversarial = _generator_adversarial_loss(config.adversarial_loss, judged.float())
            loss = loss + config.adversarial_weight * adversarial
            self.critic.requires_grad_(True)
        loss.backward()
        self.opt_g.step()
        return l1.item()

    def train(self) -> TrainResult:
        import torch

        config = self.config
        raw_clock = time.perf_counter if config.clock == "wall" else time.process_time
        watched = 0.0  # seconds spent in held-out checks: not the run's

        def clock() -> float:
            return raw_clock() - watched

        started = clock()
        if config.budget_from is not None and config.clock == "wall":
            started = min(started, config.budget_from)
        budget = config.time_budget_s
        best_val = math.inf
        best_state: dict[str, torch.Tensor] = {}
        best_iteration = 0
        plateaus = PlateauRule(config.patience_s, config.min_improvement, config.smooth)
        train_l1_sum, train_l1_count, last_train_l1 = 0.0, 0, math.nan
        last_report = started
        next_preview = started + config.preview_every_s
        iteration = 0
        validated_at = -1
        next_watch = started + (self.held_out.every_s if self.held_out else math.inf)
        stopped: StopReason

        history: list[tuple[int, float, float]] = []
        lr_dropped_at: list[int] = []

        def checkpoint(value: float) -> None:
            nonlocal best_val, best_state, best_iteration
            history.append((iteration, round(clock() - started, 2), round(value, 6)))
            if value < best_val or not best_state:  # (a diverged run scores NaN)
                best_val, best_iteration = value, iteration
                best_state = {
                    k: v.detach().to("cpu", copy=True, memory_format=torch.contiguous_format)
                    for k, v in self.generator.state_dict().items()
                }

        while True:
            now = clock()
            if self.cancel is not None and self.cancel.cancelled:
                stopped = "cancelled"
                break
            if now - started >= budget and (iteration or config.budget_from is None):
                stopped = "time_budget"
                break
            if config.max_iterations is not None and iteration >= config.max_iterations:
                stopped = "max_iterations"
                break

            # Progress by iterations when they are capped (reproducible), else by time.
            if config.max_iterations is not None:
                progress = iteration / config.max_iterations
            else:
                progress = (now - started) / budget
            self.set_lr(progress, len(lr_dropped_at))
            source, target = self.sampler.sample(config.batch_size)
            train_l1_sum += self.step(
                _to_device(source, self.device), _to_device(target, self.device)
            )
            train_l1_count += 1
            iteration += 1

            if iteration % config.val_every == 0:
                value = self.validation_l1()
                validated_at = iteration
                last_train_l1 = train_l1_sum / train_l1_count
                train_l1_sum, train_l1_count = 0.0, 0
                checkpoint(value)
                if plateaus.update(clock() - started, value) == "plateau":
                    if len(lr_dropped_at) == config.lr_drops:
                        stopped = "patience"
                        break
                    lr_dropped_at.append(iteration)
                self.mine_hard_examples()  # after the stop check: a stopping run needs none
                if clock() >= next_watch:
                    began = raw_clock()
                    self.watch(iteration, clock() - started, best_val, best_iteration, best_state)
                    watched += raw_clock() - began
                    next_watch = clock() + self.held_out.every_s

            now = clock()
            if now >= next_preview:
                self.preview()
                # A big preview frame on a slow CPU must not eat the training time: keep
                # previews to at most a fifth of it.
                finished = clock()
                next_preview = finished + max(config.preview_every_s, 4 * (finished - now))
                now = finished
            if self.progress is not None and now - last_report >= config.progress_every_s:
                last_report = now
                self.report(now - started, iteration, last_train_l1, best_val)

        # Score the weights trained since the last validation too, so no work is lost.
        if validated_at != iteration:
            if train_l1_count:
                last_train_l1 = train_l1_sum / train_l1_count
            checkpoint(self.validation_l1())
        self.generator.load_state_dict(best_state)
        self.preview()
        seconds = clock() - started
        if self.held_out is not None:
            state = self.generator.state_dict()
            self.watch(iteration, seconds, best_val, best_iteration, state, final=True)
        if self.progress is not None:
            # cancelled: the seconds it ran, not the budget (done 120/120 at 35 s)
            final = stopped != "cancelled"
            self.report(seconds, iteration, last_train_l1, best_val, final=final)
        figures = TrainFigures(
            iterations=iteration,
            seconds=round(seconds, 3),
            seconds_per_iteration=round(seconds / iteration, 5) if iteration else 0.0,
            train_l1=None if math.isnan(last_train_l1) else round(last_train_l1, 6),
            val_l1=round(best_val, 6),
            best_iteration=best_iteration,
            stopped_because=stopped,
            device=self.device.type,
            val_history=tuple(history),
            lr_dropped_at=tuple(lr_dropped_at),
            precision=self.precision,
        )
        return TrainResult(
            state_dict={k: v.numpy() for k, v in best_state.items()},
            arch_config=self.generator.arch_config,
            figures=figures,
            config=config,
        )

    def report(
        self, elapsed: float, iteration: int, train_l1: float, best_val: float, final: bool = False
    ) -> None:
        budget = self.config.time_budget_s
        total = max(1, math.ceil(budget))
        rate = iteration / elapsed if elapsed > 0 else 0.0
        # The two L1s differ by what they measure (same scale, 0-1 per channel): training's
        # is a running mean over the steps since the last check (before the first: from the
        # untrained start) on batches half drawn where the generator errs most (hard_share);
        # validation's is the best so far on held-out tiles, the weights kept. vtest, two
        # keyframes, load ~10: at 32 iterations 0.198 against 0.109 (the current weights on
        # training patches: 0.09-0.11); at 400, 0.062 against 0.045 (the current weights:
        # 0.043 on uniform patches, 0.060 on a hard-mined batch).
        message = f"iteration {iteration}"
        if not math.isnan(train_l1):
            message += f" · training L1 {train_l1:.4f}, running mean on hard patches"
        if best_val < math.inf:
            message += f" · validation L1 {best_val:.4f}, best on held-out tiles"
        if final and iteration and elapsed > budget + max(1.0, budget / 5):
            # the last step ends past the budget: a loaded CPU (one step took 103 s of a 25 s
            # budget) would otherwise read '25/25 s' and a budget kept
            message += (
                f" · ran {elapsed:.0f} s of a {budget:g} s budget: {elapsed / iteration:.1f} s"
                " an iteration here"
            )
        self.progress(
            Progress(
                done=total if final else min(total, int(elapsed)),
                total=total,
                fps=rate,
                eta_s=0.0 if final else max(0.0, budget - elapsed),
                stage="train",
                message=message,
            )
        )
