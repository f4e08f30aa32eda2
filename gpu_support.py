"""Preferences › GPU Support and OpenVINO: install (pinned, into this extension's user
folder, only with Blender's online access), show progress, Esc cancels, verify one frame,
remove.

The packs, their plans, pins and one-frame checks live in core/gpu_install.py (``PACKS``,
bpy-free, tested without a GPU or a download); this module only runs them from Blender.
Unverified on a GPU so far, and OpenVINO's speed inside Blender unverified on a bf16 CPU.
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
from bpy.props import StringProperty
from bpy.types import Operator

from .core.errors import BLENDER, RestyleError, say, setting
from .core.gpu_install import INTEL_GPU, PACKS, GpuPlan, activate, verify
from .core.words import count

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


STATES = {key: GpuState() for key in PACKS}
RESTART = "restart Blender to use it"  # what an install adds where the module already loaded
STATE = STATES["gpu"]


def user_folder(create: bool = False) -> Path:
    return Path(bpy.utils.extension_path_user(__package__, path="", create=create))


def gpu_folder(pack: str = "gpu") -> Path:
    return user_folder() / PACKS[pack].folder


def ready_record(pack: str = "gpu") -> dict | None:
    """What the last successful install verified, or None."""
    try:
        return json.loads((gpu_folder(pack) / READY_FILE).read_text(encoding="utf-8"))
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
        put(("step", f"downloading {count(len(plan.requirements), 'pinned package')} from PyPI"))
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
        put(("step", PACKS[plan.pack].checking))
        ok, why = verify(plan, model)
        if ok:
            (plan.folder / READY_FILE).write_text(json.dumps({"device": plan.device, "check": why}))
        put(
            (
                "done",
                (ok, f"ready ({why})" if ok else f"check failed: {why}"),
            )
        )
    except Exception as exc:  # reported in the preferences, never raised into Blender
        put(("done", (False, f"install failed: {exc}")))


class RESTYLE_OT_install_gpu(Operator):
    """Download GPU support or OpenVINO (pinned, from PyPI) into this extension's user
    folder, then run one frame with it to check it"""

    bl_idname = "restyle.install_gpu"
    bl_label = "Install GPU Support"

    pack: StringProperty(default="gpu", options={"HIDDEN", "SKIP_SAVE"})
    _timer = None

    @classmethod
    def poll(cls, _context):
        return not any(state.running for state in STATES.values())

    def execute(self, context):
        state = STATES[self.pack]
        try:
            plan = PACKS[self.pack].plan(user_folder(create=True))
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
        state.running, state.ok, state.result, state.step = True, False, "", "starting"
        state.cancelled.clear()
        worker = threading.Thread(target=_install, args=(plan, check_model(), state), daemon=True)
        worker.start()
        if bpy.app.background:
            while state.running:
                _drain(block=True, pack=self.pack)
            return {"FINISHED"} if state.ok else {"CANCELLED"}
        self._timer = context.window_manager.event_timer_add(0.25, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        state = STATES[self.pack]
        if event.type == "ESC" and state.process is not None:
            state.cancelled.set()
            state.process.terminate()
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        _drain(block=False, pack=self.pack)
        for area in context.screen.areas if context.screen else ():
            if area.type == "PREFERENCES":
                area.tag_redraw()
        if state.running:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        title = PACKS[self.pack].title
        self.report({"INFO"} if state.ok else {"ERROR"}, f"{title}: {state.result}")
        return {"FINISHED"} if state.ok else {"CANCELLED"}


def _drain(block: bool, pack: str = "gpu") -> None:
    state = STATES[pack]
    while True:
        try:
            kind, value = state.messages.get(block=block, timeout=0.5 if block else None)
        except queue.Empty:
            return
        if kind == "step":
            state.step = value
            continue
        state.ok, state.result = value
        state.running, state.process = False, None
        module = PACKS[pack].module
        if state.ok and not (module not in sys.modules and activate(gpu_folder(pack), module)):
            state.result += f"; {RESTART}"
        if not state.ok and state.cancelled.is_set():
            shutil.rmtree(gpu_folder(pack), ignore_errors=True)  # a half install helps nobody
        return


class RESTYLE_OT_remove_gpu(Operator):
    """Delete what this extension installed there (its own folder only)"""

    bl_idname = "restyle.remove_gpu"
    bl_label = "Remove GPU Support"

    pack: StringProperty(default="gpu", options={"HIDDEN", "SKIP_SAVE"})

    @classmethod
    def poll(cls, _context):
        return not any(state.running for state in STATES.values())

    def execute(self, _context):
        state = STATES[self.pack]
        shutil.rmtree(gpu_folder(self.pack), ignore_errors=True)
        state.result, state.ok = "removed; restart Blender to run on the bundled build", True
        self.report({"INFO"}, f"{PACKS[self.pack].title}: {state.result}")
        return {"FINISHED"}


# (box heading, the note under it: what a user should know of what is not measured, the
# install's extra). The notes read as the developers' ('Not yet tested on a real GPU').
HEADINGS = {
    "gpu": (
        "GPU Support",
        "Experimental: not yet tried on an NVIDIA GPU; it runs one test frame before use",
        "and CUDA libraries",
    ),
    "openvino": (
        "OpenVINO",
        "Experimental: measured inside Blender on a 2-core CPU with bf16: the network about "
        "1.8× the built-in engine, whole runs about 1.15× (2026-12-02); other CPUs not timed",
        "(bf16 in a child process)",
    ),
}


def draw(layout, pack: str = "gpu", context=None) -> None:
    from .panels.text import draw_wrapped, wrap_width

    state = STATES[pack]
    heading, untested, extra = HEADINGS[pack]
    width = wrap_width(context or bpy.context)  # a long line was cut at 1000 px
    box = layout.box()
    box.label(text=heading, icon="MEMORY")
    draw_wrapped(box.column(align=True), untested, "NONE", width)
    col = box.column(align=True)
    record = ready_record(pack)
    result = state.result
    if record:
        col.label(text=f"Installed for {record['device']}: {record['check']}", icon="CHECKMARK")
        if state.ok and result.startswith("ready ("):  # the line above says its check
            result = sentence(RESTART) if result.endswith(RESTART) else ""
    if state.running:
        col.label(text="Installing… (Esc cancels)", icon="SORTTIME")
        col.label(text=state.step)
    elif result:
        draw_wrapped(col, result, "CHECKMARK" if state.ok else "ERROR", width)
    try:
        plan = PACKS[pack].plan(user_folder())
    except RestyleError as exc:
        draw_wrapped(col, sentence(_intel_gpu_words(str(exc))), "INFO", width)
        plan = None
    if record and not state.running:
        plan = None  # installed and checked: Remove starts over (Install beside it did nothing new)
    if plan is not None and bpy.app.online_access:
        op = col.operator(RESTYLE_OT_install_gpu.bl_idname, text=f"Install {PACKS[pack].title}")
        op.pack = pack
        col.label(text=f"{plan.title}: {', '.join(plan.requirements[:1])} {extra}")
    elif plan is not None:
        col.label(text="Online access is off; install it yourself:", icon="INFO")
        draw_command(col, plan.shell_command(sys.executable))
    if gpu_folder(pack).is_dir():
        op = col.operator(RESTYLE_OT_remove_gpu.bl_idname, text=f"Remove {PACKS[pack].title}")
        op.pack = pack


def _intel_gpu_words(text: str) -> str:
    """The no-NVIDIA words, pointing at Install OpenVINO's button where the OpenVINO box
    offers it (it said 'install openvino into Blender's Python' right above that button)."""
    if INTEL_GPU not in text:
        return text
    gpu = say(setting("device", "gpu"), BLENDER)
    if ready_record("openvino"):
        how = f"an Intel GPU runs through OpenVINO, installed below: {gpu}"
    else:
        try:
            PACKS["openvino"].plan(user_folder())
        except RestyleError:
            return text  # the OpenVINO box offers no install here: these words say how
        get = "Install OpenVINO below" if bpy.app.online_access else "its command below"
        how = f"an Intel GPU needs OpenVINO: {get}, then {gpu}"
    return text.replace(INTEL_GPU, how)


def draw_command(layout, command: str) -> None:
    """A shell command (Blender cuts a label that long) with a button that copies it."""
    row = layout.row(align=True)
    row.label(text=command)
    row.operator("restyle.copy_command", text="", icon="COPYDOWN").command = command  # prefs.py


def sentence(text: str) -> str:
    """A core message (lower case, as the command line prints it) as a label: a capital first."""
    return text[:1].upper() + text[1:]


classes = (RESTYLE_OT_install_gpu, RESTYLE_OT_remove_gpu)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)
    for key, pack in PACKS.items():
        if ready_record(key):
            activate(gpu_folder(key), pack.module)


def unregister() -> None:
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
