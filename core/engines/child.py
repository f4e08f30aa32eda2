"""An engine that runs in a child process: OpenVINO for a process that cannot host it.

Blender's process is not a safe home for OpenVINO: Debian's Blender 4.3.2 aborts ("double
free") as soon as OpenVINO looks at the CPU (it links jemalloc as its malloc, and OpenVINO
crashes beside jemalloc in any process), and Blender's own TBB serves OpenVINO's in Blender's
builds. A fresh interpreter (``sys.executable -I``: Blender's bundled Python inside Blender)
loads OpenVINO's own libraries and the system malloc. Frames travel through one shared
memory block per request in flight (no pickling of images) and requests and replies over the
child's pipes, each tagged: the child runs the engine's lanes (OpenVINO's CPU streams, two of
one thread on two threads), so the pipeline's lanes each keep one request in flight, as they
drive the in-process engine. The child ends when its pipe closes, so it dies with the parent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import pickle
import queue
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
# A request: (kind, tag, *arguments); its reply: (kind, tag, *results, the engine's state), or
# ("error", tag, message). Tag 0 is the start: ("ready", 0, state) or ("error", 0, message).
def serve(config: dict, requests, replies) -> None:
    """Build the engine, then answer requests until the parent goes: each "run" on one of the
    engine's lanes (a thread each: two frames in flight on two streams), each reply sent
    when its frame is done, tagged with its request's tag."""
    try:
        engine = _build_here(config)
    except Exception as exc:  # every failure goes back to the parent as one message
        return _send(replies, ("error", 0, _message(exc)))
    sending = threading.Lock()

    def send(message) -> None:
        with sending:
            _send(replies, message)

    send(("ready", 0, _state(engine)))
    blocks: dict[str, shared_memory.SharedMemory] = {}
    work: queue.SimpleQueue = queue.SimpleQueue()
    for n in range(max(1, int(getattr(engine, "lanes", 1)))):
        lane = threading.Thread(
            target=_lane, args=(engine, blocks, work, send), name=f"lane-{n}", daemon=True
        )
        lane.start()
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:  # the parent closed the pipe or died
            return
        if request[0] == "close":
            return
        if request[0] == "checked":  # held to the precision frames were made with
            engine.checked = bool(request[2])
            send(("checked", request[1], _state(engine)))
        elif request[0] == "kept":  # whether a kept verdict decides: the verdicts file only
            send(_kept(engine, request[1], request[2]))
        elif request[0] == "forget":  # blocks the parent replaced: no reply
            _forget(blocks, request[2])
        else:
            work.put(request)


def _build_here(config: dict):
    from .openvino_engine import OpenVinoEngine
    from .precision import machine_verdicts

    arch = ArchSpec(**config["arch"])
    # The engine's own streams (two of one thread on two threads): the child serves as many
    # requests at once as the engine has lanes, and the parent's pipeline keeps that many in
    # flight (a parent may ask for fewer: ``streams``).
    engine = OpenVinoEngine(
        Path(config["model"]),
        arch,
        config["device"],
        config["precision"],
        streams=config.get("streams"),
        config=config.get("config"),
    )
    engine.verdicts = machine_verdicts()  # this machine's, as the parent's engines (precision.py)
    return engine


def _kept(engine, tag: int, condition) -> tuple:
    """("kept", tag, whether this machine keeps a verdict that decides the engine's check
    for the style of ``condition`` (``Settles.verdict_kept``), state)."""
    try:
        return ("kept", tag, bool(engine.verdict_kept(condition)), _state(engine))
    except Exception as exc:
        return ("error", tag, _message(exc))


def _lane(engine, blocks: dict, work: queue.SimpleQueue, send) -> None:
    while True:
        _, tag, *request = work.get()
        send(_answer(engine, blocks, tag, *request))


def _answer(engine, blocks: dict, tag: int, name: str, shape: tuple, condition) -> tuple:
    """Run one batch from its shared block; the output goes back into it when it fits."""
    try:
        with _ATTACHING:
            block = blocks.get(name) or blocks.setdefault(name, _attach(name))
        images = np.ndarray(shape, np.float32, buffer=block.buf)
        out = np.ascontiguousarray(engine.run(images, condition), np.float32)
        if out.nbytes <= block.size:
            np.ndarray(out.shape, np.float32, buffer=block.buf)[...] = out
            return ("done", tag, out.shape, None, _state(engine))
        return ("done", tag, out.shape, out, _state(engine))
    except Exception as exc:
        return ("error", tag, _message(exc))


_ATTACHING = threading.Lock()  # one lane at a time swaps resource_tracker.register


def _forget(blocks: dict, names) -> None:
    """Unmap the blocks the parent replaced by bigger ones and removed (``_Child.block``):
    no request holds them, and a job that grows its frames kept every one mapped here."""
    for name in names:
        with _ATTACHING:
            block = blocks.pop(name, None)
        if block is not None:
            with contextlib.suppress(BufferError):  # a view left: unmapped when it goes
                block.close()


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
    """What the parent mirrors: ``decided`` (the first-batch check settled it, or held:
    ``precision.Settles``) is the precision a frames folder's manifest records
    (``stylizer.decided_precision``), read here once, whole; ``check_seconds`` (that check's
    time beyond its batch) is what the parent's job leaves out of the frames' time."""
    keys = ("device", "precision", "note", "graph", "checked", "decided", "lanes", "check_seconds")
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
    """OpenVINO in a child process, behind the same interface as the in-process engines:
    ``lanes`` calls at once from different threads (the pipeline's inference lanes), each
    with its own request in flight and its own shared block."""

    backend = "openvino"
    process = "in a child process"
    lanes = 1  # until the child says its engine's
    decided: str | None = None  # the child engine's settled precision, as it last said
    # the child engine's precision check, seconds beyond its batch (``precision.Settles``): the
    # job leaves it out of the frames' time, as for an engine in this process
    check_seconds: float = 0.0

    def __init__(
        self,
        path: Path,
        arch: ArchSpec,
        device: str = "auto",
        precision: str = "auto",
        path_first: tuple[str, ...] = (),
        streams: int | None = None,
        config: dict | None = None,
    ) -> None:
        """``path_first``: folders the child searches before the parent's ``sys.path`` (an
        install that is being checked before it is activated). ``streams``: the child
        engine's CPU streams (default: as in-process, ``openvino_engine.cpu_streams``).
        ``config``: the style's ``arch_config``, for auto's precision (``OpenVinoEngine``)."""
        self.arch = arch
        self.path = Path(path)
        self.device, self.precision, self.note = "cpu", precision, ""
        self._checked = False
        self._child = _Child.start(path, arch, device, precision, path_first, streams, config)
        weakref.finalize(self, self._child.stop)
        self.startup_s = self._child.startup_s
        self._update(self._child.state)

    @property
    def checked(self) -> bool:
        """Whether the child's precision is settled (fp32, or its engine's check on its first
        batch has decided: this machine's verdict, ``precision.checked_batch``)."""
        return self._checked

    @checked.setter
    def checked(self, value: bool) -> None:
        """Set where a run is held to the precision frames were made with
        (``stylizer.hold_precision``): the child's engine then runs no check of its own."""
        self._check_open()
        self._update(self._child.request("checked", bool(value))[-1])

    def verdict_kept(self, condition: np.ndarray | None) -> bool:
        """Whether the child engine's check on its first batch will read this machine's kept
        verdict for its network and the style of ``condition``, measuring nothing
        (``precision.Settles.verdict_kept``): one request, answered from the verdicts file
        (no frame run, nothing compiled). False once settled, as in-process."""
        if self.decided is not None:
            return False
        self._check_open()
        cond = None if condition is None else np.ascontiguousarray(condition, np.float32)
        _, _, kept, state = self._child.request("kept", cond)
        self._update(state)
        return bool(kept)

    def run(self, images: np.ndarray, condition: np.ndarray | None = None) -> np.ndarray:
        self._check_open()
        images = np.ascontiguousarray(images, np.float32)
        cond = None if condition is None else np.ascontiguousarray(condition, np.float32)
        with self._child.block(images.nbytes) as block:
            np.ndarray(images.shape, np.float32, buffer=block.buf)[...] = images
            _, _, shape, data, state = self._child.request("run", block.name, images.shape, cond)
            self._update(state)
            if data is not None:
                return data
            return np.ndarray(shape, np.float32, buffer=block.buf).copy()

    def _release(self) -> None:
        """Ends the child and frees the shared blocks (also done when the engine is dropped)."""
        self._child.stop()

    def _update(self, state: dict) -> None:
        """Mirror the child engine's ``state``. Lanes apply replies in any order, so an older
        state may come last: the check's seconds only grow in the child, so the most said."""
        for key, value in state.items():
            if key == "check_seconds":
                value = max(self.check_seconds, float(value))
            setattr(self, "_checked" if key == "checked" else key, value)


@dataclasses.dataclass
class _Child:
    """The process, its pipes and the shared blocks; ``stop`` is safe to call twice, and
    from any thread. Requests from several threads at once: each is sent whole, and each
    reply reaches its own caller (whichever caller waits reads the pipe for all)."""

    proc: subprocess.Popen
    errors: object  # the child's stderr, kept in a temporary file for error messages
    startup_s: float = 0.0
    state: dict = dataclasses.field(default_factory=dict)  # the engine's, as last reported
    free: list = dataclasses.field(default_factory=list)  # shared blocks no request holds
    held: list = dataclasses.field(default_factory=list)  # every shared block made
    replies: dict = dataclasses.field(default_factory=dict)  # read for another caller
    reading: bool = False  # a caller is reading the pipe
    tags: object = dataclasses.field(default_factory=lambda: itertools.count(1))
    sending: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    arrived: threading.Condition = dataclasses.field(default_factory=threading.Condition)
    stopping: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @classmethod
    def start(
        cls,
        path: Path,
        arch: ArchSpec,
        device: str,
        precision: str,
        path_first=(),
        streams=None,
        arch_config=None,
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
            "streams": streams,
            "config": arch_config,
        }
        child._ask(config, 0)
        child.startup_s = time.perf_counter() - t0
        return child

    def request(self, kind: str, *arguments):
        """Send one request and return its reply; the child's errors raise RestyleError."""
        return self._ask((kind, tag := next(self.tags), *arguments), tag)

    def _ask(self, message, tag: int):
        try:
            with self.sending:
                _send(self.proc.stdin, message)
            reply = self._reply(tag)
        except (EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
            self.stop()
            raise RestyleError(f"OpenVINO's child process stopped: {self._stderr_tail()}") from exc
        except BaseException:  # interrupted mid-request: the pipe is out of step
            self.stop()
            raise
        if reply[0] == "error":
            if tag == 0:  # the start
                self.stop()
            raise RestyleError(f"OpenVINO (child process): {reply[2]}")  # marks kept
        self.state = reply[-1]
        return reply

    def _reply(self, tag: int) -> tuple:
        """The reply tagged ``tag``: read by this caller, or by another one reading the pipe
        meanwhile, who leaves it here."""
        while True:
            with self.arrived:
                while tag not in self.replies and self.reading:
                    self.arrived.wait()
                if tag in self.replies:
                    return self.replies.pop(tag)
                self.reading = True
            try:
                reply = pickle.load(self.proc.stdout)
            finally:
                with self.arrived:
                    self.reading = False
                    self.arrived.notify_all()
            if reply[1] == tag:
                return reply
            with self.arrived:
                self.replies[reply[1]] = reply
                self.arrived.notify_all()

    @contextlib.contextmanager
    def block(self, size: int):
        """A shared block of at least ``size`` bytes that no other request holds meanwhile.
        One too small for it is replaced (removed here, and unmapped in the child)."""
        retired = None
        with self.arrived:
            fits = [b for b in self.free if b.size >= size]
            if fits:
                self.free.remove(block := fits[0])
            else:
                if self.free:  # too small for these frames: replaced by a bigger one
                    self._unlink(retired := self.free.pop())
                block = shared_memory.SharedMemory(create=True, size=max(size, 1))
                self.held.append(block)
        if retired is not None:
            self._forget(retired.name)
        try:
            yield block
        finally:
            with self.arrived:
                if block in self.held:  # not freed by stop() meanwhile
                    self.free.append(block)

    def stop(self) -> None:
        with self.stopping:
            if self.proc.poll() is None:
                try:
                    with self.sending:
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
            with self.arrived:
                while self.held:
                    self._unlink(self.held[-1])

    def _forget(self, name: str) -> None:
        """Tell the child to unmap a removed block (no reply: a child gone forgets all)."""
        with contextlib.suppress(OSError, ValueError), self.sending:
            _send(self.proc.stdin, ("forget", 0, [name]))

    def _unlink(self, block: shared_memory.SharedMemory) -> None:
        """Close and remove ``block`` (another request's frames may still view it: then its
        mapping goes with them, the name now)."""
        for held in (self.held, self.free):
            if block in held:
                held.remove(block)
        with contextlib.suppress(BufferError):
            block.close()
        with contextlib.suppress(FileNotFoundError):
            block.unlink()

    def _stderr_tail(self) -> str:
        try:
            self.errors.seek(0)
            lines = self.errors.read().decode(errors="replace").strip().splitlines()
        except (OSError, ValueError):
            lines = []
        code = self.proc.poll()
        return (lines[-1] if lines else "no message") + (f" (exit {code})" if code else "")
