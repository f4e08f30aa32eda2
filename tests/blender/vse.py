"""Helpers for the Blender tests: render the sequencer, reach strips in any version."""

from __future__ import annotations

import importlib
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "bl_ext.user_default.restyle"
SIZE = (160, 96)


def ext(module: str):
    """A module of the installed extension, e.g. ``ext("core.job")``."""
    return importlib.import_module(f"{PACKAGE}.{module}")


def current_platform() -> str:
    machine = platform.machine().lower()
    if sys.platform.startswith("linux"):
        return "linux-x64" if machine in ("x86_64", "amd64") else f"linux-{machine}"
    if sys.platform == "win32":
        return "windows-x64"
    return "macos-arm64" if machine == "arm64" else "macos-x64"


def render(scene, frames, only=None) -> dict[int, np.ndarray]:
    """The sequencer's output at ``frames`` as RGB arrays; ``only`` mutes every other strip."""
    import bpy
    import cv2

    strips = list(all_strips(scene))
    muted = {s.name: s.mute for s in strips}
    if only is not None:
        for s in strips:
            s.mute = s.name != only.name and s.type != "META"
    out = {}
    folder = Path(tempfile.mkdtemp(prefix="restyle-render-"))
    filepath = scene.render.filepath
    try:
        for frame in frames:
            scene.frame_set(frame)
            scene.render.filepath = str(folder / f"{frame}.png")
            bpy.ops.render.render(write_still=True, scene=scene.name)
            out[frame] = cv2.cvtColor(cv2.imread(str(folder / f"{frame}.png")), cv2.COLOR_BGR2RGB)
    finally:
        for s in strips:
            s.mute = muted[s.name]
        scene.render.filepath = filepath
        shutil.rmtree(folder, ignore_errors=True)  # the arrays are read: no dir left in /tmp
    return out


def all_strips(scene):
    editor = scene.sequence_editor
    return editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all


def top_strips(owner):
    return owner.strips if hasattr(owner, "strips") else owner.sequences


def shown_frames(strip) -> tuple[int, int]:
    """First and last scene frame a strip shows, in any version (compat's 5.1 names)."""
    return ext("compat").shown_frames(strip)


def set_timing(strip, **values) -> None:
    """Set strip timing by the 5.1 names (``content_trim_start=2``) in any version."""
    for name, value in values.items():
        ext("compat").strip_set(strip, name, value)


def sequencer_override(scene, area):
    import bpy

    region = next(r for r in area.regions if r.type == "WINDOW")
    return bpy.context.temp_override(
        window=bpy.context.window, area=area, region=region, scene=scene
    )


def add_movie(scene, area, path, frame_start, channel=1, own_rate=True):
    """Add a movie the way the UI does (Adjust Playback Rate on), without its sound."""
    import bpy

    compat = ext("compat")
    before = set(all_strips(scene).keys())
    with compat.strip_add_context(bpy.context, area, scene):
        result = bpy.ops.sequencer.movie_strip_add(
            filepath=str(path),
            frame_start=frame_start,
            channel=channel,
            sound=False,
            adjust_playback_rate=own_rate,
            use_framerate=False,
            set_view_transform=False,
            **compat.strip_add_kwargs(),
        )
    assert result == {"FINISHED"}
    (name,) = set(all_strips(scene).keys()) - before
    return all_strips(scene)[name]


def add_images(scene, files, frame_start, channel=1, name="images"):
    strips = top_strips(scene.sequence_editor)
    strip = strips.new_image(name, str(files[0]), channel, frame_start, fit_method="ORIGINAL")
    for f in files[1:]:
        strip.elements.append(f.name)
    return strip


def during_the_run(monkeypatch, job_class, edit) -> None:
    """``edit()`` happens while a job runs, as a user edits during a modal run: the job's
    ``run`` calls it first (in background mode the run is on this thread)."""
    run = job_class.run

    def edit_then_run(self, *args, **kwargs):
        edit()
        return run(self, *args, **kwargs)

    monkeypatch.setattr(job_class, "run", edit_then_run)


def esc_when(monkeypatch, reached) -> None:
    """The next runs are cancelled as Esc would be, once ``reached(progress)`` holds while
    the job writes frames (``monkeypatch.undo()`` stops it)."""
    runner = ext("operators.runner")
    report = runner.Worker._progress

    def cancelled(worker, progress):
        report(worker, progress)
        if progress.stage == worker.job.stage and reached(progress):
            worker.token.cancel()

    monkeypatch.setattr(runner.Worker, "_progress", cancelled)
