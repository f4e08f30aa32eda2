"""An engine that runs in a child process: OpenVINO for a process that cannot host it.

Blender's process is not a safe home for OpenVINO: Debian's Blender 4.3.2 aborts ("double
free") as soon as OpenVINO looks at the CPU (it links jemalloc as its malloc, and OpenVINO
crashes beside jemalloc in any process), and Blender's own TBB serves OpenVINO's in Blender's
builds. A fresh interpreter (``sys.executable -I``: Blender's bundled Python inside Blender)
loads OpenVINO's own libraries and the system malloc. Frames travel through one shared
memory block (no pickling of images); requests go one at a time over the child's pipes.
The child ends when its pipe closes, so it dies with the parent.
"""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np

from ...models.registry import ArchSpec
from ..errors import RestyleError
from .base import Closing

ROOT = Path(__file__).resolve().parents[2]  # the package that holds core/ and models/

# What the child runs first: its protocol keeps the real stdout (native code may print, so
# stdout then goes to stderr), it imports this package as "restyle" from the parent's
# folders, then serves requests until its stdin closes.
BOOT = """
import importlib.util, os, pickle, sys
reply = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
config = pickle.load(sys.stdin.buffer)
sys.path[:0] = config["path"]
spec = importlib.util.spec_from_file_location(
    "restyle", os.path.join(config["root"], "__init__.py"),
    submodule_search_locations=[config["root"]])
package = importlib.util.module_from_spec(spec)
sys.modules["restyle"] = package
spec.loader.exec_module(package)
from restyle.core.engines.child import serve
serve(config, sys.stdin.buffer, reply)
"""


# -- the child's side ---------------------------------------------------------------------
def serve(config: dict, requests, replies) -> None:
    """Build the engine, then answer one request at a time until the parent goes."""
    try:
        engine = _build_here(config)
    except Exception as exc:  # every failure goes back to the parent as one message
        return _send(replies, ("error", _message(exc)))
    _send(replies, ("ready", _state(engine)))
    blocks: dict[str, shared_memory.SharedMemory] = {}
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:  # the parent closed the pipe or died
            return
        if request[0] == "close":
            return
        _send(replies, _answer(engine, blocks, *request[1:]))


def _build_here(config: dict):
    from .openvino_engine import OpenVinoEngine

    arch = ArchSpec(**config["arch"])
    # One stream of all the threads: the child answers one frame at a time (two streams of
    # one thread each need two frames in flight, the pipeline's two lanes in-process).
    return OpenVinoEngine(
        Path(config["model"]), arch, config["device"], config["precision"], streams=1
    )


def _answer(engine, blocks: dict, name: str, shape: tuple, condition) -> tuple:
    """Run one batch from the shared block; the output goes back into it when it fits."""
    try:
        block = blocks.get(name) or blocks.setdefault(name, _attach(name))
        images = np.ndarray(shape, np.float32, buffer=block.buf)
        out = np.ascontiguousarray(engine.run(images, condition), np.float32)
        if out.nbytes <= block.size:
            np.ndarray(out.shape, np.float32, buffer=block.buf)[...] = out
            return ("done", out.shape, None, _state(engine))
        return ("done", out.shape, out, _state(engine))
    except Exception as exc:
        return ("error", _message(exc))


def _attach(name: str) -> shared_memory.SharedMemory:
    """The parent's block, not tracked here: the parent owns it and removes it."""
    from multiprocessing import resource_tracker

    register = resource_tracker.register
    resource_tracker.register = lambda *args: None  # Python < 3.13 has no track=False
    try:
        return shared_memory.SharedMemory(name=name)
    finally:
        resource_tracker.register = register


def _state(engine) -> dict:
    keys = ("device", "precision", "note", "graph")
    return {k: getattr(engine, k) for k in keys if hasattr(engine, k)}


def _message(exc: BaseException) -> str:
    """A RestyleError's neutral text (its settings still marked: the parent's RestyleError
    says them in each front end's words), else the exception's own."""
    return getattr(exc, "neutral", None) or str(exc) or type(exc).__name__


def _send(stream, message) -> None:
    pickle.dump(message, stream, protocol=pickle.HIGHEST_PROTOCOL)
    stream.flush()


# -- the parent's side --------------------------------------------------------------------
def child_python() -> str:
    """The interpreter for the child: this one (inside Blender, Blender's bundled Python)."""
    exe = sys.executable
    if not exe or Path(exe).stem.lower().startswith("blender"):
        raise RestyleError("no Python interpreter found to run OpenVINO in a child process")
    return exe


class ChildEngine(Closing):
    """OpenVINO in a child process, behind the same interface as the in-process engines."""

    backend = "openvino"
    process = "in a child process"

    def __init__(
        self,
        path: Path,
        arch: ArchSpec,
        device: str = "auto",
        precision: str = "auto",
        path_first: tuple[str, ...] = (),
    ) -> None:
        """``path_first``: folders the child searches before the parent's ``sys.path`` (an
        install that is being checked before it is activated)."""
        self.arch = arch
        self.path = Path(path)
        self.device, self.precision, self.note = "cpu", precision, ""
        self._lock = threading.Lock()
        self._child = _Child.start(path, arch, device, precision, path_first)
        weakref.finalize(self, self._child.stop)
        self.startup_s = self._child.startup_s
        self._update(self._child.state)

    def run(self, images: np.ndarray, condition: np.ndarray | None = None) -> np.ndarray:
        self._check_open()
        images = np.ascontiguousarray(images, np.float32)
        with self._lock:
            block = self._child.block(images.nbytes)
            np.ndarray(images.shape, np.float32, buffer=block.buf)[...] = images
            cond = None if condition is None else np.ascontiguousarray(condition, np.float32)
            _, shape, data, state = self._child.ask(("run", block.name, images.shape, cond))
            self._update(state)
            if data is not None:
                return data
            return np.ndarray(shape, np.float32, buffer=block.buf).copy()

    def _release(self) -> None:
        """Ends the child and frees the shared block (also done when the engine is dropped)."""
        self._child.stop()

    def _update(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)


@dataclasses.dataclass
class _Child:
    """The process, its pipes and the shared block; ``stop`` is safe to call twice."""

    proc: subprocess.Popen
    errors: object  # the child's stderr, kept in a temporary file for error messages
    startup_s: float = 0.0
    state: dict = dataclasses.field(default_factory=dict)  # the engine's, as last reported
    shared: shared_memory.SharedMemory | None = None

    @classmethod
    def start(
        cls, path: Path, arch: ArchSpec, device: str, precision: str, path_first=()
    ) -> _Child:
        t0 = time.perf_counter()
        errors = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            [child_python(), "-I", "-c", BOOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        child = cls(proc, errors)
        config = {
            "path": [*path_first, *(p for p in sys.path if p)],
            "root": str(ROOT),
            "model": str(path),
            "arch": dataclasses.asdict(arch),
            "device": device,
            "precision": precision,
        }
        child.ask(config, expect="ready")
        child.startup_s = time.perf_counter() - t0
        return child

    def ask(self, message, expect: str = "done"):
        """Send ``message`` and return the reply; the child's errors raise RestyleError."""
        try:
            _send(self.proc.stdin, message)
            reply = pickle.load(self.proc.stdout)
        except (EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
            self.stop()
            raise RestyleError(f"OpenVINO's child process stopped: {self._stderr_tail()}") from exc
        except BaseException:  # interrupted mid-request: the pipe is out of step
            self.stop()
            raise
        if reply[0] == "error":
            if expect == "ready":
                self.stop()
            raise RestyleError(f"OpenVINO (child process): {reply[1]}")  # marks kept
        self.state = reply[-1]
        return reply

    def block(self, size: int) -> shared_memory.SharedMemory:
        """The shared block, grown when a batch needs more."""
        if self.shared is None or self.shared.size < size:
            self._free()
            self.shared = shared_memory.SharedMemory(create=True, size=max(size, 1))
        return self.shared

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                _send(self.proc.stdin, ("close",))
                self.proc.wait(timeout=5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._free()

    def _free(self) -> None:
        if self.shared is not None:
            self.shared.close()
            self.shared.unlink()
            self.shared = None

    def _stderr_tail(self) -> str:
        try:
            self.errors.seek(0)
            lines = self.errors.read().decode(errors="replace").strip().splitlines()
        except (OSError, ValueError):
            lines = []
        code = self.proc.poll()
        return (lines[-1] if lines else "no message") + (f" (exit {code})" if code else "")
