"""``restyle.train_style``: learn a style from painted keyframes of a strip.

Scripting contract (kept stable, documented in the README)::

    bpy.ops.restyle.train_style(strip="NAME", keyframes="12,40", styled="FOLDER or STRIPS",
                                name="NAME", time_budget=SECONDS, overwrite=False)

``keyframes`` are scene frames (empty: the strip's keyframes in the sidebar). ``styled`` is a
folder of painted images named by scene frame (``0012.png`` or ``12.png``; the strip's export
folder by the names Export gave them, which a strip keeps when moved or when the scene's
frame rate rescales it), or the word ``STRIPS``:
the image strips placed above the source at those frames (the topmost one that is not
muted); empty takes the sidebar's choice. The style is saved in the style library
under ``name``, listed in the style picker and selected there; ``restyle.apply_style`` then
applies it. Bad input raises (RuntimeError in scripts) before anything is written.

In the UI the operator is modal (progress with the loss, a ``Restyle Preview`` image
refreshed while training; Cancel keeps the best weights so far); from scripts and in
background mode ``execute`` trains to the end before it returns.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import bpy
import numpy as np
from bpy.props import BoolProperty, FloatProperty, StringProperty
from bpy.types import Operator

from .. import compat
from ..core.errors import BLENDER, RestyleError
from ..core.formats import IMAGE_SUFFIXES
from ..core.train.budget import TIME_BUDGET, time_budget_refusal
from ..core.words import count
from ..props import (
    name_at,
)
from .keyframes import active_source, keyframe_folder, refuse_skipped_pictures, source_index
from .modal_job import JobRequest, ModalJob, blender_path, find_scene, redraw_sequencers
from .output_strip import numbered_frame
from .runner import CANCELLED, FAILED, FINISHED, RUN
from .strip_source import StripSource, container_strips, find_strip

PREVIEW_IMAGE = "Restyle Preview"
STRIPS = "STRIPS"
# Train's refusal without PyTorch; the Keyframes panel says it before Train is pressed
NO_TORCH = "training needs PyTorch: install it in Preferences > Add-ons > Restyle"


class PreviewSlot:
    """The latest preview frame from the training thread, taken on the main thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._image: np.ndarray | None = None

    def put(self, image: np.ndarray) -> None:
        with self._lock:
            self._image = image

    def take(self) -> np.ndarray | None:
        with self._lock:
            image, self._image = self._image, None
        return image


@dataclass
class TrainJob:
    """Everything training needs, as plain data; ``run`` is what the worker calls."""

    source: object  # StripSource.source: the movie path or the image files
    keyframes: dict[int, Path]  # source frame index → painted image
    name: str
    library_root: Path | None
    time_budget: float
    overwrite: bool
    preview: PreviewSlot
    upright: bool = True  # StripSource.upright: the movie as this Blender shows it
    hold_lead_in: bool = False  # StripSource.hold_lead_in: likewise
    strip_color: object = None  # StripSource.color: trained on the frames as graded
    # When Train was clicked (time.perf_counter): the budget counts from then, reading the
    # frames and setting up included (they took 15 of 27 s of a 10 s budget at load 10).
    clicked: float | None = None
    called: dict[int, int] | None = None  # source frame index → the scene frame it is keyed at
    # What training warned of (core.train.keyframes: a flat keyframe, a style saved before
    # the trainer's first checkpoint), for the summary
    warnings: list[str] = field(default_factory=list)
    # The last training event's words ('iteration 120 · ... validation L1 0.0450 ...'), for
    # the summary: the last event is the save's since 5995b90, and the summary said
    # "Trained 'X' from 2 keyframes (saving and checking the style)" once it was saved.
    trained: str = ""

    def run(self, progress=None, cancel=None) -> Path:
        from ..core.progress import TRAINING
        from ..core.styles import StyleLibrary
        from ..core.train.keyframes import train_from_keyframes
        from ..core.train.trainer import TrainConfig

        def told(event) -> None:
            if event.stage == TRAINING and event.message:
                self.trained = event.message
            if progress is not None:
                progress(event)

        return train_from_keyframes(
            self.source,
            self.keyframes,
            self.name,
            StyleLibrary(self.library_root),
            config=TrainConfig(time_budget_s=self.time_budget, budget_from=self.clicked),
            overwrite=self.overwrite,
            progress=told,
            cancel=cancel,
            on_preview=self.preview.put,
            upright=self.upright,
            hold_lead_in=self.hold_lead_in,
            strip_color=self.strip_color,
            warn=self.warnings.append,
            called=self.called,
            front_end=BLENDER,  # its warnings name Replace Existing
        )


# -- finding the painted keyframes -----------------------------------------------------------
def parse_frames(text: str) -> list[int]:
    """``"12, 40 7"`` → [7, 12, 40]; RestyleError for anything but whole numbers."""
    words = [w for w in re.split(r"[,\s;]+", text.strip()) if w]
    try:
        frames = [int(w) for w in words]
    except ValueError:
        raise RestyleError(
            f"keyframes '{text}': give scene frames as whole numbers, e.g. \"12,40\""
        ) from None
    return sorted(set(frames))


def styled_in_folder(
    folder: Path, frames: list[int], named: dict[int, int] | None = None
) -> dict[int, Path]:
    """The image named by each scene frame (``0012.png``, ``12.png``, ``-015.png``) in
    ``folder``, or by its name in ``named`` (the export folder of a strip moved since)."""
    if not folder.is_dir():
        raise RestyleError(f"the folder of styled keyframes does not exist: {folder}")
    by_frame: dict[int, list[Path]] = {}
    for path in folder.iterdir():
        # a strip moved before frame 0 has negative keyframes: Export writes -015.png
        frame = numbered_frame(path)
        if path.suffix.lower() in IMAGE_SUFFIXES and frame is not None and path.is_file():
            by_frame.setdefault(frame, []).append(path)
    out = {}
    for frame in frames:
        name = named.get(frame, frame) if named else frame
        found = by_frame.get(name, [])
        if not found:
            raise RestyleError(
                f"no styled image for keyframe {frame} in {folder} (e.g. {name:04d}.png)"
            )
        if len(found) > 1:
            names = ", ".join(sorted(p.name for p in found))
            raise RestyleError(f"keyframe {frame} has several styled images in {folder}: {names}")
        out[frame] = found[0]
    return out


def painting_names(scene, strip_name: str, frames: list[int]) -> dict[int, int]:
    """The name Export gave the painting of each scene frame in ``frames``: a keyframe's
    own (``keyframe_names``: where it was named, though the strip moved or the scene's frame
    rate rescaled it since), any other frame's by the picture it shows (``name_at``)."""
    names = scene.restyle.keyframe_names(strip_name)
    strip = compat.all_strips(scene.sequence_editor)[strip_name]
    refuse_skipped_pictures(scene.restyle, strip, set(frames))
    return {frame: names[frame] if frame in names else name_at(strip, frame) for frame in frames}


def styled_in_strips(scene, source: StripSource, frames: list[int]) -> dict[int, Path]:
    """The file the topmost unmuted image strip above the source shows at each frame."""
    strips = container_strips(scene, source.metas)
    out = {}
    for frame in frames:
        above = [
            s
            for s in strips
            if s.type == "IMAGE"
            and not s.mute
            and s.channel > source.channel
            and compat.handles(s)[0] <= frame < compat.handles(s)[1]
        ]
        if not above:
            raise RestyleError(
                f"no image strip above '{source.name}' at keyframe {frame}: "
                "place the painted image there"
            )
        strip = max(above, key=lambda s: s.channel)
        element = strip.strip_elem_from_frame(frame)
        folder = bpy.path.abspath(strip.directory, library=strip.id_data.library)
        path = Path(folder) / element.filename
        if not path.is_file():
            raise RestyleError(f"the image of '{strip.name}' at frame {frame} is missing: {path}")
        out[frame] = path
    return out


def _refuse_unsaved_paint(styled: dict[int, Path]) -> None:
    """Training reads the files: a keyframe painted in the Image Editor and not saved would
    train on the unpainted frame (a wasted run that learns nothing)."""
    files = {path.resolve(): frame for frame, path in styled.items()}
    for image in bpy.data.images:
        if image.source != "FILE" or not image.is_dirty or not image.filepath:
            continue
        path = Path(bpy.path.abspath(image.filepath, library=image.library)).resolve()
        if path in files:
            raise RestyleError(
                f"keyframe {files[path]}'s image '{image.name}' has paint not saved yet: "
                "save it (Image > Save) first"
            )


def show_preview(image: np.ndarray) -> None:
    """Put a uint8 RGB frame into the ``Restyle Preview`` image (made or resized as needed)."""
    height, width = image.shape[:2]
    preview = bpy.data.images.get(PREVIEW_IMAGE)
    if preview is None:
        preview = bpy.data.images.new(PREVIEW_IMAGE, width, height)
    elif tuple(preview.size) != (width, height):
        preview.scale(width, height)
    rgba = np.ones((height, width, 4), np.float32)
    rgba[..., :3] = image[::-1, :, :3] / 255.0  # Blender's rows run bottom-up
    preview.pixels.foreach_set(rgba.ravel())
    preview.update()


# -- the operator ----------------------------------------------------------------------------
class RESTYLE_OT_train_style(ModalJob, Operator):
    """Learn a style from painted keyframes of a strip and add it to the style library"""

    bl_idname = "restyle.train_style"
    bl_label = "Train Style"
    task = "train"  # a refusal too is said in the Keyframes panel (ModalJob._begin)

    strip: StringProperty(
        name="Strip", description="Strip the keyframes are of (empty: the active strip)"
    )
    keyframes: StringProperty(
        name="Keyframes",
        description='Scene frames, e.g. "12,40" (empty: the strip\'s keyframes in the sidebar)',
    )
    styled: StringProperty(
        name="Styled",
        description="Folder of painted keyframes named by scene frame, or STRIPS for image "
        "strips above the source (empty: the sidebar's choice)",
    )
    name: StringProperty(name="Name", description="Name of the new style (empty: the sidebar's)")
    time_budget: FloatProperty(
        name="Time Budget",
        description="Seconds training may take, counted from the click (0: the sidebar's); "
        "it trains at least one step, and saving the style comes after it",
        # Soft limits: a hard max clamps a script's 1e6 to 86400 without a word (bpy 5.0.1);
        # prepare refuses what is out of TIME_BUDGET's range, as every front end does
        soft_min=0.0,
        soft_max=TIME_BUDGET[1],
    )
    overwrite: BoolProperty(
        name="Replace Existing", description="Replace a trained style of the same name"
    )

    def prepare(self, context) -> JobRequest:
        clicked = time.perf_counter()  # the budget counts from here
        from ..core.engines import torch_available
        from ..core.media import probe
        from ..core.styles import StyleLibrary
        from ..core.train.artifact import refuse_a_taken_name
        from ..core.train.keyframes import check_keyframes
        from ..props import library_root

        scene, source = active_source(context, self.strip)
        settings = scene.restyle
        frames = (
            parse_frames(self.keyframes)
            if self.keyframes.strip()
            else settings.strip_keyframes(source.name)
        )
        if not frames:
            raise RestyleError(
                f"'{source.name}' has no keyframes: add some in the Keyframes panel "
                "(Add Keyframe or Suggest Keyframes)"
            )
        strip = find_strip(scene, source.name)
        indices = {frame: source_index(strip, source, frame) for frame in frames}
        shared = {}
        for frame, index in indices.items():
            if index in shared:
                raise RestyleError(
                    f"keyframes {shared[index]} and {frame} show the same source frame {index}"
                )
            shared[index] = frame
        name = (self.name or settings.train_name).strip()
        if not name:
            raise RestyleError("give the style a name")
        # float32, as Blender keeps it: 0.005 reads 0.004999999888, said as given
        budget = float(f"{self.time_budget or settings.time_budget:.7g}")
        if refusal := time_budget_refusal(budget):  # before the worker starts
            raise RestyleError(refusal)
        overwrite = self.overwrite or (
            not self.properties.is_property_set("overwrite") and settings.overwrite_style
        )
        library = StyleLibrary(library_root(context))
        # the core's words (a stray folder's too): Blender says the option
        refuse_a_taken_name(library.trained_folder(name), name, overwrite)
        styled = self._styled(scene, source, settings, frames)
        _refuse_unsaved_paint(styled)
        info = probe(source.source, upright=source.upright, hold_lead_in=source.hold_lead_in)
        keyframes = {indices[frame]: path for frame, path in styled.items()}
        called = {indices[frame]: frame for frame in styled}
        # Missing, unreadable or the wrong shape: said now, nothing decoded on Blender's
        # thread; still unpainted is the job's to refuse (it decodes the frames to compare),
        # before it trains or writes anything: finish reports it as the error it is
        check_keyframes(keyframes, info, called)  # named as the scene's frames
        if not torch_available():  # after the input checks, so those are reported first
            raise RestyleError(NO_TORCH)
        job = TrainJob(
            source=source.source,
            keyframes=keyframes,
            name=name,
            library_root=library_root(context),
            time_budget=budget,
            overwrite=overwrite,
            preview=PreviewSlot(),
            upright=source.upright,
            hold_lead_in=source.hold_lead_in,
            strip_color=source.color,  # trained on what the strip shows, as Apply styles it
            clicked=clicked,
            called=called,
        )
        return JobRequest(
            job,
            source.name,
            name,
            max(1, int(np.ceil(budget))),
            self.task,
            data=(scene.name, scene.session_uid),
        )

    def _styled(self, scene, source, settings, frames) -> dict[int, Path]:
        given = self.styled.strip()
        if given.upper() == STRIPS or (not given and settings.styled_from == STRIPS):
            return styled_in_strips(scene, source, frames)
        folder = given or settings.styled_folder
        exported = keyframe_folder(source.name, scene)[0]
        folder = Path(bpy.path.abspath(folder)) if folder else exported
        if folder.resolve() != exported.resolve():
            return styled_in_folder(folder, frames)
        return styled_in_folder(folder, frames, painting_names(scene, source.name, frames))

    def on_poll(self, context, request: JobRequest) -> None:
        image = request.job.preview.take()
        if image is not None:
            show_preview(image)

    def finish(self, context, request: JobRequest, kind: str, value) -> set[str]:
        from ..core.train.keyframes import NOTHING_SAVED
        from ..props import CATALOG, library_root, trained_label

        cancelled = RUN.token is not None and RUN.token.cancelled
        if kind == "error" and str(value) == NOTHING_SAVED:  # the core wrote no style
            RUN.end(CANCELLED, NOTHING_SAVED[:1].upper() + NOTHING_SAVED[1:])
            self.report({"WARNING"}, f"Restyle: {RUN.summary}")
            redraw_sequencers(context)
            return {"CANCELLED"}
        if kind == "error":
            RUN.end(FAILED, f"Failed: {value}")
            self.report({"ERROR"}, str(value))
            return {"CANCELLED"}
        name = request.job.name
        CATALOG.reload(library_root(context))
        scene = find_scene(*request.data)
        if scene is not None and any(item[0] == name for item in CATALOG.items):
            scene.restyle.style = name  # the picker shows the new style, ready to apply
        # The sidebar says what was made in a line or two (the Keyframes panel shows the
        # folder on a line of its own, with a button that opens it, and what the style list
        # calls the style); Blender's report (Info editor) tells it all: every clause of
        # the last iteration's words and where the style is kept.
        reached = request.job.trained  # not the save's 'saving and checking the style'
        detail = f" ({reached})" if reached else ""
        brief = f" ({reached.split(' · ')[0]})" if reached else ""  # 'iteration 120'
        # named from the style saved, not the catalogue (its fallback is the bare id)
        where = f"'{trained_label(value)}' in the style list, saved in {blender_path(value)}"
        # a flat keyframe, trained too briefly (core.train.keyframes)
        warnings = list(request.job.warnings)
        if cancelled:
            told = (
                f"Cancelled: '{name}' is cut short, its best weights so far{detail} kept: {where}"
            )
            shown = f"Cancelled: '{name}' keeps its best weights so far{brief}"
        else:
            keyframes = count(len(request.job.keyframes), "keyframe")
            told = f"Trained '{name}' from {keyframes}{detail}: {where}"
            shown = f"Trained '{name}' from {keyframes}{brief}"
        RUN.end(CANCELLED if cancelled else FINISHED, "; ".join([shown, *warnings]), str(value))
        report = "; ".join([told, *warnings])
        self.report({"WARNING"} if warnings else {"INFO"}, f"Restyle: {report}")
        redraw_sequencers(context)
        return {"FINISHED"}


classes = (RESTYLE_OT_train_style,)
