"""Edit actions from shot boundaries: where to split a strip, where to move an edit point.

Plain data and no bpy: the operators copy strip timing out of Blender, these functions
find the real shot boundaries (``core.shots.detect_cuts`` on what each strip shows) and
return a plan; the operators show the plan and apply it on the main thread, as one undo step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import RestyleError
from .words import count

PAD = 6  # frames read beyond a window, so the detector sees each side of a boundary


@dataclass(frozen=True)
class Split:
    """Split ``strip`` at scene frame ``frame``, where source frame ``source_frame`` starts a shot."""

    strip: str
    frame: int
    source_frame: int


@dataclass(frozen=True)
class Snap:
    """Move the edit point between ``left`` and ``right`` from ``old`` to ``new`` (a roll)."""

    left: str
    right: str
    old: int
    new: int
    reason: str


@dataclass(frozen=True)
class EditPoint:
    """Two adjacent strips on one channel meeting at scene frame ``frame``; ``reach``: the
    scene frames each strip's content could show (its handles may move within them)."""

    left: str
    right: str
    frame: int
    left_reach: tuple[int, int]
    right_reach: tuple[int, int]


def shown_frames(
    source: str | Path | list[Path],
    shown: Sequence[int],
    upright: bool = True,
    hold_lead_in: bool = False,
) -> Iterator[np.ndarray]:
    """The source's frames in the order ``shown`` lists them (8-bit RGB): streamed when they
    only go forward, held when played backwards. ``upright``: as ``media.probe``'s (False: a
    phone movie as stored, as Blender before 4.4 shows it); ``hold_lead_in`` too (True: a
    movie's lead-in held, as Blender's strips show it)."""
    from .media import decode_range

    lo, hi = min(shown), max(shown)
    decoded = decode_range(source, lo, hi, upright=upright, hold_lead_in=hold_lead_in)
    frames = (_rgb8(f) for f in decoded)
    if list(shown) != sorted(shown):
        needed = set(shown)
        held = {i: f for i, f in enumerate(frames, lo) if i in needed}
        yield from (held[i] for i in shown)
        return
    wanted = iter(shown)
    index = next(wanted)
    for at, frame in enumerate(frames, lo):
        while index == at:
            yield frame
            index = next(wanted, None)
        if index is None:
            return


def _rgb8(frame: np.ndarray) -> np.ndarray:
    rgb = frame[..., :3] if frame.ndim == 3 else np.repeat(frame[..., None], 3, axis=2)
    if rgb.dtype == np.uint16:
        rgb = (rgb >> 8).astype(np.uint8)
    return np.ascontiguousarray(rgb)


def shot_starts(frames: Iterator[np.ndarray], *, min_shot_length: int = 6) -> list[int]:
    """Positions (> 0) in ``frames`` where a new shot starts (``core.shots`` rules)."""
    import cv2

    from .mappings.stabilize import CutFeatures
    from .shots import detect_cuts

    state = CutFeatures()
    features = []
    for frame in frames:
        h, w = frame.shape[:2]
        scale = min(1.0, 320 / max(h, w))
        small = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)  # fmt: skip
        features.append(state.add(small))
    return detect_cuts(features, min_shot_length=min_shot_length) if len(features) > 1 else []


def split_plan(
    strip: str,
    source,
    first: int,
    shown: Sequence[int],
    frames: Iterator[np.ndarray] | None = None,
    upright: bool = True,
    hold_lead_in: bool = False,
) -> list[Split]:
    """Splits at every shot boundary inside scene frames ``first..first+len(shown)-1``
    (``shown``: the source frame at each), never at the first frame."""
    if not shown:
        raise RestyleError(f"'{strip}' shows no frames there")
    if frames is None:
        frames = shown_frames(source, shown, upright, hold_lead_in)
    # the range's first frame is no cut: a boundary just after it still splits
    return [Split(strip, first + p, shown[p]) for p in shot_starts(frames, min_shot_length=1)]


def boundaries_near(
    source,
    frame_at: dict[int, int],
    frames: Iterator[np.ndarray] | None = None,
    upright: bool = True,
    hold_lead_in: bool = False,
) -> list[int]:
    """Scene frames (keys of ``frame_at``, consecutive) where the source starts a new shot.
    ``frame_at`` maps scene frame → source frame over a window around an edit point."""
    scene = sorted(frame_at)
    shown = [frame_at[f] for f in scene]
    if len(set(shown)) < 2:
        return []
    if frames is None:
        frames = shown_frames(source, shown, upright, hold_lead_in)
    return [scene[p] for p in shot_starts(frames, min_shot_length=1)]


def snap_plan(edit: EditPoint, boundaries: Sequence[int], max_distance: int) -> Snap | None:
    """Move ``edit`` onto the nearest real boundary within ``max_distance`` frames that both
    strips' content can reach (the left strip must show up to ``new - 1``, the right from
    ``new``); None when it is on one already or none is near."""
    lo = max(edit.right_reach[0], edit.left_reach[0] + 1)
    hi = min(edit.left_reach[1] + 1, edit.right_reach[1])
    near = [b for b in set(boundaries) if abs(b - edit.frame) <= max_distance and lo <= b <= hi]
    if not near or edit.frame in near:
        return None
    new = min(near, key=lambda b: (abs(b - edit.frame), b))
    side = "later" if new > edit.frame else "earlier"
    reason = f"a shot starts {count(abs(new - edit.frame), 'frame')} {side}"
    return Snap(edit.left, edit.right, edit.frame, new, reason)


def describe(plan: Sequence[Split | Snap]) -> list[str]:
    """One line per change, for the preview list and the report."""
    lines = []
    for step in plan:
        if isinstance(step, Split):
            lines.append(
                f"split '{step.strip}' at frame {step.frame} (source frame {step.source_frame})"
            )
        else:
            lines.append(
                f"move the cut '{step.left}' | '{step.right}' from {step.old} to {step.new}: "
                f"{step.reason}"
            )
    return lines
