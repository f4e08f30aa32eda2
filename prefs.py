"""Add-on preferences: default backend and device, the style library, dependency status.

PyTorch is optional (training, the torch backend) and too large to bundle. The preferences
install it into this extension's user folder, with pip, only where Blender's online access
allows; otherwise they print the exact command to run instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from importlib import metadata

import bpy
from bpy.props import EnumProperty, IntProperty, StringProperty
from bpy.types import AddonPreferences, Operator

from . import gpu_support
from .addon import library_root, preferences  # noqa: F401 - callers import them from here too
from .core.engines.choices import BACKENDS, DEVICES, enum_items, indexed_devices

# Whether PyTorch is there, looked up once (find_spec scans sys.path while torch is not
# imported): the Keyframes panel redraws often. Emptied when Install PyTorch finishes.
TORCH_FOUND: list[bool] = []


def torch_found() -> bool:
    """PyTorch is there and not known to fail to load (the Dependencies box's check or a
    Train that tried it found it broken: ``torch_problem``); Train's button follows this.
    Imports nothing and starts nothing: the Keyframes panel redraws often."""
    from .core.engines import torch_available, torch_load_known

    if not TORCH_FOUND:
        TORCH_FOUND.append(torch_available())  # a look-up of the name: nothing imported
    return TORCH_FOUND[0] and torch_load_known() is None


def torch_problem() -> str | None:
    """Why the installed PyTorch does not load, or None (it loads, is not installed, or is
    still being checked: ``torch_checking``). Never imports it (seconds, and hundreds of MB
    kept in Blender): the first call starts a check in another Python, once a session
    (``start_torch_load_check``), and the box is drawn again when it ends."""
    from .core.engines import start_torch_load_check, torch_load_known

    if start_torch_load_check() is not None and not bpy.app.timers.is_registered(
        _redraw_when_checked
    ):
        bpy.app.timers.register(_redraw_when_checked, first_interval=0.5)
    return torch_load_known()


def torch_checking() -> bool:
    """Whether ``torch_problem``'s check is under way."""
    from .core.engines import torch_load_checking

    return torch_load_checking()


def _redraw_when_checked() -> float | None:
    """A timer: once the check has ended, the preferences and the sequencer (Train's button)
    are drawn again with its answer."""
    if torch_checking():
        return 0.5
    manager = bpy.context.window_manager
    for window in manager.windows if manager else ():
        for area in window.screen.areas if window.screen else ():
            if area.type in ("PREFERENCES", "SEQUENCE_EDITOR"):
                area.tag_redraw()
    return None


# onnx: torch's ONNX exporter (training writes the style's model.onnx) imports it; the zip
# leaves it out, as applying a style never needs it.
TORCH_REQUIREMENT = "torch==2.13.0 onnx==1.23.2"
# pip's options for the PyTorch install, one table for the button and the command shown to
# copy (the command lacked the last two): --upgrade replaces a broken or older copy in the
# folder, --only-binary never builds from source inside Blender.
PIP_OPTIONS = ("--upgrade", "--only-binary=:all:")
# What the download costs, said before the button is pressed. PyPI's torch for Linux x86-64
# brings NVIDIA's CUDA libraries, used or not (a CPU-only machine downloads them too).
LINUX_X64_SIZE = (
    "about 2.8 GB download, 4.7 GB on disk",
    "PyPI's torch for Linux x86-64 brings NVIDIA's CUDA libraries, even without an NVIDIA "
    "GPU (measured 2026-12-02 with torch 2.13.0)",
)
RUNTIME_MODULES = (  # (import name, distribution, what for)
    ("numpy", "numpy", "arrays"),  # numpy_origin says whose
    ("onnxruntime", "onnxruntime", "running styles"),
    ("av", "av", "reading and writing movies"),
    ("cv2", "opencv-python-headless", "image processing"),
)
OPTIONAL_MODULES = (("torch", "torch", "training and the PyTorch backend"),)


def torch_site_packages(create: bool = False) -> str:
    """Where the optional PyTorch install goes: this extension's own user folder."""
    return bpy.utils.extension_path_user(__package__, path="site-packages", create=create)


def add_torch_site_packages() -> None:
    """Make a PyTorch installed by the preferences importable (at register and after install)."""
    import os

    folder = torch_site_packages()
    if os.path.isdir(folder) and folder not in sys.path:
        sys.path.append(folder)
        importlib.invalidate_caches()


NUMPY_ORIGIN: list[str] = []  # numpy_origin's words, found once


def numpy_origin() -> str:
    """' (bundled with Blender)' where numpy lives under Blender's own Python, else '':
    Debian's Blender runs the system's Python and numpy, which the box called bundled."""
    if not NUMPY_ORIGIN:
        spec = importlib.util.find_spec("numpy")
        origin = spec.origin if spec is not None and spec.origin else ""
        NUMPY_ORIGIN.append(" (bundled with Blender)" if blenders_python(origin) else "")
    return NUMPY_ORIGIN[0]


def blenders_python(path: str) -> bool:
    """Whether ``path`` lies in the Python that comes with Blender (``<version>/python``)."""
    import os

    if not path:
        return False
    own = os.path.realpath(os.path.join(bpy.utils.resource_path("LOCAL"), "python"))
    return os.path.realpath(path).startswith(os.path.join(own, ""))


def module_status(module: str, distribution: str) -> str | None:
    """The installed version of ``module``, or None when it cannot be imported."""
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "installed"


def pip_arguments(target: str) -> list[str]:
    """pip's arguments (after ``python -m pip``) that install PyTorch into ``target``."""
    return ["install", "--target", target, *PIP_OPTIONS, *TORCH_REQUIREMENT.split()]


def install_command() -> str:
    """The command the preferences show to copy where they cannot install: the button's."""
    target = torch_site_packages()
    words = [sys.executable, "-m", "pip", *pip_arguments(target)]
    return " ".join(f'"{word}"' if word in (sys.executable, target) else word for word in words)


def download_size() -> tuple[str, str]:
    """(what the PyTorch install downloads, why), in words: measured where it was measured."""
    import platform

    if sys.platform == "linux" and platform.machine().lower() in ("x86_64", "amd64"):
        return LINUX_X64_SIZE
    return "a large download", "not measured on this system"


# -- PyTorch install ---------------------------------------------------------------------
@dataclass
class InstallState:
    """One pip run at a time; the worker thread only appends to ``lines`` via the queue."""

    running: bool = False
    lines: list[str] = field(default_factory=list)
    result: str = ""
    ok: bool = False
    messages: queue.Queue = field(default_factory=queue.Queue)


INSTALL = InstallState()


def _run_pip(target: str, messages: queue.Queue) -> None:
    try:
        if importlib.util.find_spec("pip") is None:
            subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True)
        process = subprocess.Popen(
            [sys.executable, "-m", "pip", *pip_arguments(target)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in process.stdout:
            messages.put(("line", line.rstrip()))
        messages.put(("done", process.wait()))
    except Exception as exc:  # reported in the preferences, never raised into Blender
        messages.put(("line", str(exc)))
        messages.put(("done", -1))


class RESTYLE_OT_install_torch(Operator):
    """Download PyTorch with pip into this extension's user folder"""

    bl_idname = "restyle.install_torch"
    bl_label = "Install PyTorch"

    _timer = None

    @classmethod
    def description(cls, _context, _properties):
        size, why = download_size()
        return f"Download PyTorch with pip into this extension's user folder: {size} ({why})"

    @classmethod
    def poll(cls, _context):
        return not INSTALL.running

    def execute(self, context):
        if not bpy.app.online_access:
            self.report(
                {"ERROR"},
                "Online access is off (Preferences > System > Network); "
                f"or install PyTorch yourself: {install_command()}",
            )
            return {"CANCELLED"}
        INSTALL.running, INSTALL.lines, INSTALL.result, INSTALL.ok = True, [], "", False
        target = torch_site_packages(create=True)
        threading.Thread(target=_run_pip, args=(target, INSTALL.messages), daemon=True).start()
        if bpy.app.background:
            while INSTALL.running:
                self._drain(block=True)
            return {"FINISHED"} if INSTALL.ok else {"CANCELLED"}
        self._timer = context.window_manager.event_timer_add(0.25, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        self._drain(block=False)
        for area in context.screen.areas if context.screen else ():
            if area.type == "PREFERENCES":
                area.tag_redraw()
        if INSTALL.running:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        self.report({"INFO"} if INSTALL.ok else {"ERROR"}, INSTALL.result)
        return {"FINISHED"} if INSTALL.ok else {"CANCELLED"}

    def _drain(self, block: bool) -> None:
        while True:
            try:
                kind, value = INSTALL.messages.get(block=block, timeout=0.5 if block else None)
            except queue.Empty:
                return
            if kind == "line":
                INSTALL.lines = (INSTALL.lines + [value])[-200:]
                continue
            INSTALL.running = False
            INSTALL.ok = value == 0
            if INSTALL.ok:
                add_torch_site_packages()
                TORCH_FOUND.clear()  # Train's hint and button look again
                from .core.engines import forget_torch_load

                forget_torch_load()  # and the box checks the new copy
                INSTALL.result = f"PyTorch installed in {torch_site_packages()}"
            else:
                last = INSTALL.lines[-1] if INSTALL.lines else "no output"
                INSTALL.result = f"pip failed ({value}): {last}"
            return


class RESTYLE_OT_copy_command(Operator):
    """Copy the command to the clipboard, to paste it into a terminal"""

    bl_idname = "restyle.copy_command"
    bl_label = "Copy Command"

    command: StringProperty(name="Command", options={"SKIP_SAVE"})

    def execute(self, context):
        context.window_manager.clipboard = self.command
        self.report({"INFO"}, "Command copied")
        return {"FINISHED"}


# -- preferences -------------------------------------------------------------------------
class RESTYLE_AP_preferences(AddonPreferences):
    bl_idname = __package__

    backend: EnumProperty(
        name="Backend",
        description="What runs the styles unless the sidebar says otherwise",
        items=enum_items(BACKENDS),
        default="AUTO",
    )
    device: EnumProperty(
        name="Device",
        description="Where styles run unless the sidebar says otherwise",
        items=enum_items(DEVICES),
        default="AUTO",
    )
    gpu_index: IntProperty(
        name="GPU Index",
        description="Which GPU to use for CUDA and TensorRT when there are several",
        default=0,
        min=0,
        max=15,
    )
    library_folder: StringProperty(
        name="Style Library",
        description="Folder of your trained styles (empty: the folder the restyle command "
        "uses too); the built-in styles come with the add-on",
        subtype="DIR_PATH",
    )

    def draw(self, context):
        draw_preferences(self, self.layout, context)


def draw_preferences(prefs: RESTYLE_AP_preferences, layout, context) -> None:
    """The preferences' layout (a function, so it can draw into any layout)."""
    layout.use_property_split = True
    layout.use_property_decorate = False

    col = layout.column(heading="Defaults")
    col.prop(prefs, "backend")
    col.prop(prefs, "device")
    sub = col.column()
    sub.active = prefs.device.lower() in indexed_devices() | {"auto"}
    sub.prop(prefs, "gpu_index")

    col = layout.column()
    col.prop(prefs, "library_folder")
    row = col.row()
    row.alignment = "RIGHT"
    row.label(text=f"In use: {library_root(context) or _default_root()}")

    draw_dependencies(layout)
    gpu_support.draw(layout, "gpu", context)
    gpu_support.draw(layout, "openvino", context)


def draw_dependencies(layout) -> None:
    box = layout.box()
    box.label(text="Dependencies", icon="PACKAGE")
    col = box.column(align=True)
    torch = module_status("torch", "torch")
    broken = torch_problem() if torch else None  # checked in another Python, once a session
    for module, dist, purpose in RUNTIME_MODULES + OPTIONAL_MODULES:
        version = module_status(module, dist)
        required = (module, dist, purpose) in RUNTIME_MODULES
        if module == "torch" and broken:
            col.label(text=f"torch {version} is installed but does not load:", icon="ERROR")
            col.label(text=f"{broken}; Install PyTorch again below replaces it")
            continue
        icon = "CHECKMARK" if version else ("ERROR" if required else "DOT")
        if module == "torch" and version and torch_checking():
            purpose, icon = f"{purpose} (checking that it loads…)", "SORTTIME"
        if module == "numpy":
            purpose += numpy_origin()
        col.label(text=f"{dist} {version or 'not installed'}: {purpose}", icon=icon)

    if torch and not broken:
        return
    col = box.column(align=True)
    if INSTALL.running:
        col.label(text="Installing PyTorch…", icon="SORTTIME")
        col.label(text=INSTALL.lines[-1] if INSTALL.lines else "starting pip")
    elif INSTALL.result:
        col.label(text=INSTALL.result, icon="CHECKMARK" if INSTALL.ok else "ERROR")
    if bpy.app.online_access:
        col.operator(RESTYLE_OT_install_torch.bl_idname, icon="IMPORT")
        col.label(text=f"Downloads {TORCH_REQUIREMENT} from PyPI into:")
        col.label(text=torch_site_packages())
    else:
        col.label(
            text="PyTorch is optional. Online access is off, so install it yourself:", icon="INFO"
        )
        gpu_support.draw_command(col, install_command())
        col.label(text="or allow online access (Preferences > System > Network) and reopen this.")
    size, why = download_size()
    col.label(text=f"Size: {size}", icon="INFO")
    col.label(text=why)


def _default_root():
    from .core.styles import default_root

    return default_root()


classes = (RESTYLE_OT_install_torch, RESTYLE_OT_copy_command, RESTYLE_AP_preferences)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register()
    add_torch_site_packages()
    gpu_support.register()


def unregister() -> None:
    if bpy.app.timers.is_registered(_redraw_when_checked):
        bpy.app.timers.unregister(_redraw_when_checked)
    gpu_support.unregister()
    _unregister()
