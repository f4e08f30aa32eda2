"""Preferences › GPU support: install (pinned, into this extension's user folder, only with
Blender's online access), show progress, Esc cancels, verify one frame, remove.

The plan, pins and the one-frame check live in core/gpu_install.py (bpy-free, tested
without a GPU); this module only runs them from Blender. Unverified on a GPU so far.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import bpy
from bpy.types import Operator

from .core.errors import RestyleError
from .core.gpu_install import FOLDER_NAME, GpuPlan, activate, plan_gpu_support, verify

READY_FILE = "restyle-gpu.json"  # written after the one-frame check passed


@dataclass
class GpuState:
    """One install at a time; the worker thread talks to Blender only through ``messages``."""

    running: bool = False
    step: str = ""
    result: str = ""
    ok: bool = False
    process: subprocess.Popen | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    messages: queue.Queue = field(default_factory=queue.Queue)


STATE = GpuState()


def user_folder(create: bool = False) -> Path:
    return Path(bpy.utils.extension_path_user(__package__, path="", create=create))


def gpu_folder() -> Path:
    return user_folder() / FOLDER_NAME


def ready_record() -> dict | None:
    """What the last successful install verified, or None."""
    try:
        return json.loads((gpu_folder() / READY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def check_model() -> Path | None:
    from .addon import library_root
    from .core.styles import StyleLibrary

    return StyleLibrary(library_root()).builtin_file("multistyle26", ".onnx")


def _install(plan: GpuPlan, model: Path | None, state: GpuState) -> None:
    """Worker thread: pip, then the one-frame check; every outcome ends with a 'done'."""
    put = state.messages.put
    try:
        put(("step", f"downloading {len(plan.requirements)} pinned packages from PyPI"))
        state.process = subprocess.Popen(
            plan.pip_command(sys.executable),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        last = ""
        for line in state.process.stdout:
            last = line.strip() or last
            put(("step", last[:120]))
        code = state.process.wait()
        if state.cancelled.is_set():
            put(("done", (False, "cancelled; nothing kept")))
            return
        if code != 0:
            put(("done", (False, f"pip failed ({code}): {last}")))
            return
        if model is None:
            put(("done", (False, "installed, but no converted style to check it with")))
            return
        put(("step", "running one frame on the GPU"))
        ok, why = verify(plan, model)
        if ok:
            (plan.folder / READY_FILE).write_text(json.dumps({"device": plan.device, "check": why}))
        put(
            (
                "done",
                (ok, f"ready after restarting Blender ({why})" if ok else f"check failed: {why}"),
            )
        )
    except Exception as exc:  # reported in the preferences, never raised into Blender
        put(("done", (False, f"install failed: {exc}")))


class RESTYLE_OT_install_gpu(Operator):
    """Download GPU support (pinned, from PyPI) into this extension's user folder, then run
    one frame on the GPU to check it"""

    bl_idname = "restyle.install_gpu"
    bl_label = "Install GPU Support"

    _timer = None

    @classmethod
    def poll(cls, _context):
        return not STATE.running

    def execute(self, context):
        try:
            plan = plan_gpu_support(user_folder(create=True))
        except RestyleError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if not bpy.app.online_access:
            self.report(
                {"ERROR"},
                "Online access is off (Preferences > System > Network); or run: "
                + plan.shell_command(sys.executable),
            )
            return {"CANCELLED"}
        STATE.running, STATE.ok, STATE.result, STATE.step = True, False, "", "starting"
        STATE.cancelled.clear()
        worker = threading.Thread(target=_install, args=(plan, check_model(), STATE), daemon=True)
        worker.start()
        if bpy.app.background:
            while STATE.running:
                _drain(block=True)
            return {"FINISHED"} if STATE.ok else {"CANCELLED"}
        self._timer = context.window_manager.event_timer_add(0.25, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC" and STATE.process is not None:
            STATE.cancelled.set()
            STATE.process.terminate()
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        _drain(block=False)
        for area in context.screen.areas if context.screen else ():
            if area.type == "PREFERENCES":
                area.tag_redraw()
        if STATE.running:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        self.report({"INFO"} if STATE.ok else {"ERROR"}, f"GPU support: {STATE.result}")
        return {"FINISHED"} if STATE.ok else {"CANCELLED"}


def _drain(block: bool) -> None:
    while True:
        try:
            kind, value = STATE.messages.get(block=block, timeout=0.5 if block else None)
        except queue.Empty:
            return
        if kind == "step":
            STATE.step = value
            continue
        STATE.ok, STATE.result = value
        STATE.running, STATE.process = False, None
        if not STATE.ok and STATE.cancelled.is_set():
            shutil.rmtree(gpu_folder(), ignore_errors=True)  # a half install helps nobody
        return


class RESTYLE_OT_remove_gpu(Operator):
    """Delete the GPU support this extension installed (its own folder only)"""

    bl_idname = "restyle.remove_gpu"
    bl_label = "Remove GPU Support"

    @classmethod
    def poll(cls, _context):
        return not STATE.running and gpu_folder().is_dir()

    def execute(self, _context):
        shutil.rmtree(gpu_folder(), ignore_errors=True)
        STATE.result, STATE.ok = "removed; restart Blender to run on the CPU build", True
        self.report({"INFO"}, f"GPU support: {STATE.result}")
        return {"FINISHED"}


def draw(layout) -> None:
    box = layout.box()
    box.label(text="GPU Support (unverified on real GPUs so far)", icon="MEMORY")
    col = box.column(align=True)
    record = ready_record()
    if record:
        col.label(text=f"Installed for {record['device']}: {record['check']}", icon="CHECKMARK")
    if STATE.running:
        col.label(text="Installing… (Esc cancels)", icon="SORTTIME")
        col.label(text=STATE.step)
    elif STATE.result:
        col.label(text=STATE.result, icon="CHECKMARK" if STATE.ok else "ERROR")
    try:
        plan = plan_gpu_support(user_folder())
    except RestyleError as exc:
        col.label(text=str(exc), icon="INFO")
        plan = None
    if plan is not None and bpy.app.online_access:
        col.operator(RESTYLE_OT_install_gpu.bl_idname, icon="IMPORT")
        col.label(text=f"{plan.title}: {', '.join(plan.requirements[:1])} and CUDA libraries")
    elif plan is not None:
        col.label(text="Online access is off; install it yourself:", icon="INFO")
        col.label(text=plan.shell_command(sys.executable))
    if gpu_folder().is_dir():
        col.operator(RESTYLE_OT_remove_gpu.bl_idname, icon="TRASH")


classes = (RESTYLE_OT_install_gpu, RESTYLE_OT_remove_gpu)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)
    if ready_record():
        activate(gpu_folder())


def unregister() -> None:
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
