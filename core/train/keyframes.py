"""Train a style from painted keyframes of a clip and save it in the style library.

The glue between media (which frames), the trainer (torch) and the library (where the
style lives): what ``restyle train`` and Blender's Train button both call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import cv2
import numpy as np

from ..errors import BLENDER, PYTHON, Cancelled, RestyleError, say, setting
from ..media import counted_from_0, decode_range, probe
from ..progress import CancelToken, Progress, ProgressCallback
from ..styles import StyleLibrary, check_style_name
from ..stylizer import read_picture
from ..words import count
from .artifact import refuse_a_taken_name


def painting(frame: int | None, what: str = "painting") -> str:
    """A keyframe's painting as every refusal names it: "keyframe 5's painting" (``frame``:
    the keyframe as the user knows it, e.g. Blender's scene frame), or "a keyframe's
    painting" where no frame is known; ``what``: "mask" for a matte's painted mask."""
    return f"a keyframe's {what}" if frame is None else f"keyframe {frame}'s {what}"


def read_styled_keyframe(path: Path, size: tuple[int, int], frame: int | None = None) -> np.ndarray:
    """A painted keyframe as uint8 RGB at the source frame's size (same aspect required);
    ``frame``: the keyframe as the user knows it, named when its painting cannot be read."""
    path = Path(path)
    image = read_painting(path, frame, read=read_picture)
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    h, w = image.shape[:2]
    if (w, h) != size:
        refuse_other_aspect(path, (w, h), size, frame)
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def read_painting(
    path: Path, frame: int | None = None, what: str = "painting", read=None
) -> np.ndarray:
    """A keyframe's painting (``what``: "mask", a matte's painted mask) as OpenCV reads it
    (BGR, BGRA or grey; ``read``: another reader, as ``read_picture``'s RGB), refused in one
    set of words: not found, not an image or corrupt. ``frame``: the keyframe as the user
    knows it (``painting``)."""
    path = _painting_file(Path(path), frame, what)
    try:
        data = read(path) if read else cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    except RestyleError:  # its words are a style picture's (read_picture): this is a painting
        data = None
    if data is None:
        raise RestyleError(f"cannot read {painting(frame, what)} {path}: not an image or corrupt")
    return data


def _painting_file(path: Path, frame: int | None, what: str) -> Path:
    """``path``, refused where no file is (OpenCV would print its own warning first)."""
    if not path.is_file():
        raise RestyleError(f"{painting(frame, what)} not found: {path}")
    return path


def refuse_other_aspect(
    path: Path,
    found: tuple[int, int],
    size: tuple[int, int],
    frame: int | None,
    what: str = "painting",
) -> None:
    """A painting of another aspect than the source frames is refused (another size of the
    same aspect is scaled to fit); ``frame``: the keyframe as the user knows it; ``what``:
    ``painting``'s."""
    (w, h) = found
    if abs(w / h - size[0] / size[1]) > 0.01:
        raise RestyleError(
            f"{painting(frame, what)} {path.name} is {w}x{h} but the source frames are "
            f"{size[0]}x{size[1]}: paint over the exported frame at the same aspect"
        )


def check_keyframes(
    keyframes: Mapping[int, Path],
    info,
    called: Mapping[int, int] | None = None,
    what: str = "painting",
) -> None:
    """The cheap checks of keyframes, no frame decoded and no painting read whole: each in
    the source's frames (``info``: its ``media.probe``), its painting a readable file, of
    the source's aspect where its header says its size (PNG, JPEG). What Blender's Train
    checks before it starts a job, on Blender's thread; the job (``train_from_keyframes``)
    checks them again and reads the pairs (``keyframe_pairs``: still unpainted refused).
    ``called`` names keyframes in the user's frames (source index → e.g. Blender's scene
    frame; None: the index); ``what``: ``painting``'s (a matte's painted masks are checked
    so too, as "mask")."""
    bad = [f for f in keyframes if not 0 <= f < info.frame_count]
    if bad:
        frames = f"0..{info.frame_count - 1}"
        name = (called or {}).get(bad[0], bad[0])  # as the user knows it (a scene frame)
        if name == bad[0]:  # a plate's number for its frame: stylize's hint (plate.1001)
            hint = counted_from_0(info) if bad[0] >= info.frame_count else None
            said = f" ({hint})" if hint else ""
            raise RestyleError(f"keyframe {name} is outside the source's frames {frames}{said}")
        raise RestyleError(  # e.g. its movie replaced by a shorter one
            f"keyframe {name} is outside the source's frames (it would show source frame "
            f"{bad[0]}; the source has frames {frames})"
        )
    for frame, path in sorted(keyframes.items()):
        _check_painting(Path(path), info.size, (called or {}).get(frame, frame), what)


def _check_painting(path: Path, size: tuple[int, int], frame: int, what: str) -> None:
    """A keyframe's painting a readable file, of the source's aspect where its header says
    its size (PNG, JPEG); ``frame``: the keyframe as the user knows it; ``what``:
    ``painting``'s."""
    from ..media import _image_header  # a PNG's or JPEG's size, read without decoding

    _painting_file(path, frame, what)
    if not os.access(path, os.R_OK):
        raise RestyleError(f"cannot read {painting(frame, what)} {path}: permission denied")
    header = _image_header(path)
    if header is not None and header.size != size:
        refuse_other_aspect(path, header.size, size, frame, what)


def refuse_unpainted(
    files: Mapping[int, Path],
    pairs: Mapping[int, tuple[np.ndarray, np.ndarray]],
    called: Mapping[int, int] | None = None,
) -> None:
    """Refuse keyframes whose painted image (as training reads it) is pixel-identical to its
    source frame (graded, as exported and as training reads it): a frame exported to paint
    over and never painted teaches the style to change nothing there. Names every such file,
    by name in one folder, else by path, and each keyframe as ``called`` it (source index →
    the frame the user knows, e.g. Blender's scene frame; None: the source index)."""
    called = called or {}
    folders = {Path(files[frame]).parent for frame in pairs}
    same = []
    for frame, (shown, image) in sorted(pairs.items()):
        if image.shape[:2] == shown.shape[:2] and np.array_equal(image[..., :3], shown[..., :3]):
            path = Path(files[frame])
            name = path.name if len(folders) == 1 else str(path)
            same.append(f"{name} (keyframe {called.get(frame, frame)})")
    if not same:
        return
    where = f" in {next(iter(folders))}" if len(folders) == 1 else ""
    one = len(same) == 1
    raise RestyleError(
        f"{', '.join(same)} {'is' if one else 'are'} still the unpainted "
        f"frame{'' if one else 's'}{where}: nothing trained; paint over "
        f"{'it' if one else 'each'} and save, or remove the "
        f"keyframe{'' if one else 's'} not painted"
    )


def keyframe_pairs(
    source,
    keyframes: Mapping[int, Path],
    info,
    *,
    strip_color=None,
    called: Mapping[int, int] | None = None,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The (source frame, painted image) pair of each keyframe, as training reads them: the
    frame decoded (``info``: the source's ``media.probe``), graded by ``strip_color`` and
    uint8 RGB; the image by ``read_styled_keyframe``. Every image is read before any frame
    is decoded (a missing file is said first); keyframes still unpainted are refused
    (``refuse_unpainted``). What ``train_from_keyframes`` trains on, in the job (Blender's
    Train checks only ``check_keyframes`` on its thread: this seeks and decodes)."""
    called = called or {}
    styled = {
        f: read_styled_keyframe(p, info.size, called.get(f, f))
        for f, p in sorted(keyframes.items())
    }
    pairs = {}
    for index, target in styled.items():
        frame = shown_frame(source, index, info, strip_color)
        pairs[index] = (np.ascontiguousarray(frame[..., :3]), target)
    refuse_unpainted(keyframes, pairs, called)
    return pairs


def shown_frame(source, index: int, info, strip_color=None) -> np.ndarray:
    """Source frame ``index`` graded as the strip shows it, as uint8."""
    frame = next(iter(decode_range(source, index, index, info=info)))
    if strip_color is not None:
        frame = strip_color.apply(frame)
    if frame.dtype == np.uint16:
        frame = (frame // 257).astype(np.uint8)
    return frame


def flat_keyframes(frames: list[int], sources: list[np.ndarray]) -> str:
    """A warning naming the keyframes whose source frame is flat, one colour at any level
    (black, a plain title card: ``contrast.signal_contrast`` under ``contrast.FLAT_CONTRAST``,
    as the bars tell a flat frame); '' when none is. The style networks answer a frame by its
    contrast, and a painting over a flat frame shows them none to learn the look from."""
    from ..contrast import FLAT_CONTRAST, signal_contrast

    flat = [f for f, s in zip(frames, sources, strict=True) if signal_contrast(s) < FLAT_CONTRAST]
    if not flat:
        return ""
    one = len(flat) == 1
    return (
        f"{'keyframe' if one else 'keyframes'} {', '.join(map(str, flat))} "
        f"{'is a flat frame' if one else 'are flat frames'} (one color, such as black): "
        f"{'it teaches' if one else 'they teach'} the style nothing about the look; "
        f"paint over {'a frame' if one else 'frames'} with a picture instead"
    )


def barely_trained(iterations: int, checkpoint: int, front_end: str = PYTHON) -> str:
    """A warning for a style saved before the trainer's first validation checkpoint
    (``checkpoint``: ``TrainConfig.val_every``, 100 by default; ``TrainResult.checkpointed``,
    below which a cancelled run saves nothing): a time budget too short for the machine (8 s
    under load ran 1 iteration) leaves the weights all but untrained. '' otherwise. 'time
    budget' is what each front end calls it (--time-budget, Time Budget,
    ``TrainConfig.time_budget_s``); the way to train again under the same name is said in
    ``front_end``'s words (--overwrite, overwrite=True, Replace Existing): the name is taken
    now, and 'train again' alone led to 'already exists'."""
    if iterations >= checkpoint:
        return ""
    replace = say(setting("overwrite_style", True), front_end)
    # Blender's is a checkbox: turned on (a flag or a keyword is given 'to replace it')
    replace = f"turn on {replace}" if front_end == BLENDER else f"{replace} to replace it"
    return (
        f"only {count(iterations, 'training iteration')} (fewer than {checkpoint}, the "
        "trainer's first checkpoint): the style has barely learned; train again with a "
        f"longer time budget and {replace}"
    )


NOTHING_SAVED = "cancelled before the first checkpoint: nothing saved"
SAVING = "save"  # the stage after training: the style written and checked


def train_from_keyframes(
    source,
    keyframes: Mapping[int, Path],
    name: str,
    library: StyleLibrary,
    *,
    config=None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_preview: Callable[[np.ndarray], None] | None = None,
    upright: bool = True,
    hold_lead_in: bool = False,
    strip_color=None,
    warn: Callable[[str], None] | None = None,
    called: Mapping[int, int] | None = None,
    front_end: str = PYTHON,
    held_out=None,
) -> Path:
    """Train on (source frame, styled image) pairs and write the style; returns its folder.
    Cancelled before the first validation checkpoint, it writes nothing and raises
    ``Cancelled``; cancelled later, it saves the best weights so far (``stopped_because``
    "cancelled" in style.json's training figures).
    ``upright`` False reads a movie as stored (`media.probe`), as the keyframes were painted;
    ``hold_lead_in`` likewise (True: with its lead-in, as Blender's strips show it);
    ``strip_color`` (a ``strip_frames.StripColor``; None: as decoded) grades every source
    frame read, as Apply grades the frames it styles, so a style trained on a graded strip
    learns from what the strip shows and the keyframes painted over it.
    ``warn`` hears, before training starts, of keyframes whose source frame is flat
    (``flat_keyframes``): trained on, they teach the style nothing about the look; and,
    once the style is saved, of training stopped before its first checkpoint
    (``barely_trained``).
    Keyframes still pixel-identical to their (graded) source frame, exported and never
    painted, are refused before training (``keyframe_pairs``). ``called`` names keyframes
    in the user's frames (source index → e.g. Blender's scene frame; None: the index).
    ``front_end`` (``errors``: PYTHON, COMMAND_LINE, BLENDER) words the settings a warning
    names. ``held_out`` (a ``trainer.HeldOutWatch``) watches the run on other frames, for a
    benchmark."""
    from .artifact import write_trained_style
    from .trainer import train_style

    if not keyframes:
        raise RestyleError("training needs at least one keyframe (FRAME=STYLED_IMAGE)")
    name = check_style_name(name or "")  # ' Ink ' is 'Ink', as Blender's Train reads it
    folder = library.trained_folder(name)
    refuse_a_taken_name(folder, name, overwrite)  # a stray folder too, before training
    info = probe(source, upright=upright, hold_lead_in=hold_lead_in)
    check_keyframes(keyframes, info, called)
    by_frame = keyframe_pairs(source, keyframes, info, strip_color=strip_color, called=called)
    pairs = list(by_frame.values())
    frames = sorted(by_frame)
    named = [(called or {}).get(f, f) for f in frames]
    if warn is not None and (flat := flat_keyframes(named, [p[0] for p in pairs])):
        warn(flat)
    middle = (frames[0] + frames[-1]) // 2
    absent = set(info.missing)  # a sequence's gap: the present frame nearest the middle
    preview_index = min(
        (f for f in range(frames[0], frames[-1] + 1) if f not in absent),
        key=lambda f: abs(f - middle),
    )
    preview = shown_frame(source, preview_index, info, strip_color)[..., :3]
    result = train_style(
        pairs,
        config=config,
        progress=progress,
        cancel=cancel,
        preview_frame=np.ascontiguousarray(preview),
        on_preview=on_preview,
        held_out=held_out,
    )
    if result.figures.stopped_because == "cancelled" and not result.checkpointed:
        raise Cancelled(NOTHING_SAVED)  # no folder written: the name stays free
    if progress is not None:  # seconds at a full bar, said (the style is exported, checked)
        progress(Progress(0, 1, stage=SAVING, message="saving and checking the style"))
    folder = write_trained_style(
        folder,
        result,
        name=name,
        source=str(source),
        keyframes=frames,
        thumbnail=pairs[0][1],
        overwrite=overwrite,
        pairs=pairs,
    )
    if warn is not None and (
        text := barely_trained(result.figures.iterations, result.config.val_every, front_end)
    ):
        warn(text)  # one condition: never an empty warning
    return folder
