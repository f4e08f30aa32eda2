"""A steadier variant of the 26-style network: fine-tuned for shift equivariance.

The network draws its texture on the 4-px grid of its two stride-2 layers: content that moves
by 1-3 px gets new texture (``bench_temporal.py --equivariance``: 15-16 dB), and on flat
colours ±1 level of noise redraws it too, so video flickers where things move and no blend of
past frames can steady it. The fine-tune keeps the original network's look (distillation: L1
to its own output) and adds

    λ · | f(shift_d x + noise) − shift_d f(x) |   for shifts d of 1-3 px (sub-grid),

on the overlap of the two crops. Every style's norms take part (one style per patch), so all
26 styles and their mixes are covered; the layers keep their shapes, so the result exports,
gets a fast graph and runs on every engine exactly like the original.

Deterministic for a given seed, source weights and frames (single-threaded reductions aside).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .multistyle import NUM_STYLES, MultiStyleNet


@dataclass(frozen=True)
class SteadySettings:
    """What the fine-tune does; part of the digest that names its output."""

    steps: int = 300
    batch: int = 4
    patch: int = 96
    shift_weight: float = 1.0
    noise_levels: float = 2.0
    learning_rate: float = 1e-4
    margin: int = 12  # pixels left out at the crop edges (the padding differs there)
    seed: int = 0
    upsample: str = "bilinear"
    fidelity_blur: int = 0  # blur radius (px) before the fidelity L1; 0: the exact output
    texture_weight: float = 0.0  # L1 between local high-pass energies (keeps the detail)

    def tag(self) -> str:
        return (
            f"s{self.steps}b{self.batch}p{self.patch}w{self.shift_weight:g}"
            f"n{self.noise_levels:g}r{self.learning_rate:g}m{self.margin}seed{self.seed}"
            f"{self.upsample}f{self.fidelity_blur}t{self.texture_weight:g}"
        )


def _blur(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Two box filters of 2·radius+1 px (near-Gaussian, sigma ≈ 0.8·radius; pooling is
    cheap to differentiate on a CPU, depthwise convolutions are not)."""
    for _ in range(2):
        x = F.avg_pool2d(F.pad(x, (radius,) * 4, mode="replicate"), 2 * radius + 1, stride=1)
    return x


def fidelity_loss(out: torch.Tensor, target: torch.Tensor, s: SteadySettings) -> torch.Tensor:
    """Distance to the original network's output: exact, or blurred (texture may move)
    plus the local energy of the detail (so it may move but not fade)."""
    if s.fidelity_blur <= 0:
        return (out - target).abs().mean()
    loss = (_blur(out, s.fidelity_blur) - _blur(target, s.fidelity_blur)).abs().mean()
    if s.texture_weight > 0:
        detail = [(y - _blur(y, 1)).abs() for y in (out, target)]
        energy = [_blur(d, 2) for d in detail]
        loss = loss + s.texture_weight * (energy[0] - energy[1]).abs().mean()
    return loss


def _one_hot(styles: torch.Tensor) -> torch.Tensor:
    return F.one_hot(styles, NUM_STYLES).float()


def _crops(frames: Sequence[np.ndarray], rng: np.random.Generator, s: SteadySettings):
    """Batch of (patch+3)² crops from random frames, random flips: float NCHW in [0,1]."""
    size = s.patch + 4
    out = []
    for _ in range(s.batch):
        frame = frames[rng.integers(len(frames))]
        h, w = frame.shape[:2]
        y, x = rng.integers(h - size + 1), rng.integers(w - size + 1)
        crop = frame[y : y + size, x : x + size, :3]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out.append(np.ascontiguousarray(crop).transpose(2, 0, 1))
    return torch.from_numpy(np.stack(out).astype(np.float32) / 255.0)


def shift_error(net, image: torch.Tensor, styles: torch.Tensor, dy: int, dx: int, margin: int):
    """Mean |f(x moved by (dy, dx)) − f(x) moved| on the overlap, both crops ``patch`` wide."""
    p = image.shape[-1] - 4
    base = image[:, :, :p, :p]
    moved = image[:, :, dy : dy + p, dx : dx + p]
    weights = _one_hot(styles)
    a = net(base, weights)[:, :, dy + margin : p - margin, dx + margin : p - margin]
    b = net(moved, weights)[:, :, margin : p - margin - dy, margin : p - margin - dx]
    return (a - b).abs().mean()


def finetune(
    state: dict[str, torch.Tensor],
    frames: Sequence[np.ndarray],
    settings: SteadySettings | None = None,
    log: Callable[[str], None] = lambda _m: None,
) -> dict[str, torch.Tensor]:
    """The fine-tuned state dict (``frames``: uint8 RGB pictures, each at least patch+4)."""
    s = settings or SteadySettings()
    torch.manual_seed(s.seed)
    rng = np.random.default_rng(s.seed)
    teacher = MultiStyleNet().eval()
    teacher.load_state_dict(state)
    student = MultiStyleNet(upsample=s.upsample).train()
    student.load_state_dict(state)
    teacher.requires_grad_(False)
    optimiser = torch.optim.Adam(student.parameters(), lr=s.learning_rate)
    p, m = s.patch, s.margin
    for step in range(s.steps):
        image = _crops(frames, rng, s)
        styles = torch.from_numpy(rng.integers(NUM_STYLES, size=s.batch))
        weights = _one_hot(styles)
        dy, dx = (int(v) for v in rng.integers(0, 4, size=2))
        if dy == dx == 0:
            dx = 1 + int(rng.integers(3))
        noise = torch.from_numpy(
            rng.integers(-s.noise_levels, s.noise_levels + 1, size=(s.batch, 3, p, p)).astype(
                np.float32
            )
            / 255.0
        )
        base = image[:, :, :p, :p]
        moved = (image[:, :, dy : dy + p, dx : dx + p] + noise).clamp(0, 1)
        with torch.no_grad():
            target = teacher(base, weights)
        out = student(base, weights)
        out_moved = student(moved, weights)
        fidelity = fidelity_loss(out[:, :, m:-m, m:-m], target[:, :, m:-m, m:-m], s)
        a = out[:, :, dy + m : p - m, dx + m : p - m]
        b = out_moved[:, :, m : p - m - dy, m : p - m - dx]
        steady = (a - b).abs().mean()
        loss = fidelity + s.shift_weight * steady
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        # Flat patches (a film's flat colours) make instance norms' gradients spike.
        norm = torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        if torch.isfinite(norm):
            optimiser.step()
        if step % 25 == 0 or step == s.steps - 1:
            log(f"step {step}: fidelity {fidelity.item():.4f} shift {steady.item():.4f}")
    return {k: v.detach().clone() for k, v in student.state_dict().items()}
