"""The precision bar every faster numeric path must meet against fp32 output."""

from __future__ import annotations

import contextlib
import datetime
import errno
import functools
import hashlib
import json
import math
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Output PSNR against the fp32 path, for images in [0, 1].
PRECISION_BAR_DB = 35.0
# A frame whose pixels vary less than one 8-bit level (standard deviation, as shots.FLAT_STD)
# shows nothing: a black or flat frame. Instance normalisation divides its ~0 spread by
# ~sqrt(eps), so the styled output is rounding noise blown up, in fp32 as much as in bf16:
# comic-ink on a black 160x128 frame gave fp32 output spanning 0..0.93 and bf16 7.9 dB against
# it (OpenVINO fast graph; plain graph 30 dB), while real frames gave 48-51 dB. Such a frame
# says nothing of the precision, and a black first frame switched whole runs to fp32.
FLAT_STD = 1.0 / 255.0


def psnr(output: np.ndarray, reference: np.ndarray) -> float:
    """PSNR in dB of ``output`` against ``reference`` (both in [0,1], clipped as written).

    A non-finite value (fp16 overflows to inf, then NaN) scores -inf: NaN compares false
    with the bar, so it would otherwise pass every check."""
    a = np.asarray(output, np.float64)
    if not np.isfinite(a).all():
        return -math.inf
    a = np.clip(a, 0.0, 1.0)
    b = np.clip(np.asarray(reference, np.float64), 0.0, 1.0)
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


def shown(images: np.ndarray) -> np.ndarray:
    """Which frames of a batch (N, C, H, W) show something: not flat (``FLAT_STD``)."""
    frames = np.asarray(images, np.float32).reshape(len(images), -1)
    return frames.std(axis=1) >= FLAT_STD


def judged_psnr(output: np.ndarray, reference: np.ndarray, images: np.ndarray) -> float | None:
    """``psnr`` of a batch's outputs against fp32 over the frames that show something, or
    None where every frame is flat (the check waits for a batch with something in it).

    A non-finite output anywhere still scores -inf: a flat frame's NaN is no rounding."""
    if not np.isfinite(np.asarray(output, np.float64)).all():
        return -math.inf
    rows = shown(images)
    if not rows.any():
        return None
    return psnr(np.asarray(output)[rows], np.asarray(reference)[rows])


# -- this machine's verdict ---------------------------------------------------------------
# Each run used to check its own first frames, so two runs of one clip (frames 40-80, then
# the whole clip) could settle on different precisions: a 160x96 test clip scored 34.4-40.4
# dB frame by frame in OpenVINO bf16 (one stream), 32.7-38.4 in torch bf16, and a part run
# in bf16 sat 1.9 levels (mean; 2.8 at worst) off a whole run in fp32 (AVX512-BF16 EPYC,
# 2026-12-02). The verdict is now this machine's, for one network and style: measured once
# on a fixed real picture (a CC0 photo, 192x144), kept in a file, the same for every run.
PROBE_PICTURE = Path(__file__).resolve().parents[2] / "models" / "thumbnail_source.jpg"
VERDICTS_VERSION = 1
VERDICTS_ENV = "RESTYLE_PRECISION_VERDICTS"
# Restyle's own changes to a network between its file and the runtime, part of each verdict's
# key (the digest is of the file on disk): OpenVINO's ``columns_for_rows``, ``stack_image_rows``,
# ``hold_span_search`` and precision hints (openvino_engine.PRECISIONS), ONNX Runtime's fp16 copy
# (onnx_engine.fp16_model and FP32_SCOPE), PyTorch's dtype and memory format
# (torch_engine._use). Bump it when any of them changes what the network computes: verdicts
# measured before then are measured again.
# 2: OpenVINO's stack_image_rows (the 26-style network's first layer on stacked rows).
# 3: OpenVINO's hold_span_search (a span style's search held in f32 under bf16).
GRAPH_REWRITES = 3
# The most entries the verdicts file keeps (``Verdicts``): about 330 bytes each (330 KB), read
# whole at each engine's first check.
MAX_VERDICTS = 1000
# How long a process waits for another's hold on the verdicts file (a read, change and
# replace takes milliseconds) before it goes on without the lock.
LOCK_WAIT_S = 10.0


def probe_images(multiple: int = 1) -> np.ndarray:
    """The probe picture as a batch of one (1, 3, H, W) in [0, 1], cropped to ``multiple``."""
    import cv2

    bgr = cv2.imread(str(PROBE_PICTURE), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"the precision probe picture is missing: {PROBE_PICTURE}")
    h, w = bgr.shape[:2]
    m = max(1, int(multiple))
    rgb = bgr[: h - h % m, : w - w % m, ::-1]
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], np.float32) / 255.0


@functools.cache
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def file_digest(path: Path) -> str:
    """The network file's content digest (a converted or retrained file is another network)."""
    stat = Path(path).stat()
    return _file_digest(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def machine_facts(backend: str, precision: str, device: str, network: Path, runtime: str):
    """What a verdict is about: the engine and its runtime's version, the precision, the
    device, the network's digest and the CPU's features. Not the streams or threads: the
    Blender child process and the command line share one verdict. Nor
    the device's own words alone: an engine adds its GPU's name where it can know it, and
    ``GRAPH_REWRITES`` stands for Restyle's changes to the graph before it runs."""
    from .cpu import feature_summary

    return {
        "backend": backend,
        "precision": precision,
        "device": device,
        "network": f"{Path(network).name}:{file_digest(network)}",
        "runtime": runtime,
        "cpu": f"{platform.machine()} {feature_summary()}",
        "rewrites": GRAPH_REWRITES,
    }


class Verdicts:
    """This machine's verdicts on reduced precisions, kept in one JSON file
    (``$RESTYLE_PRECISION_VERDICTS``, else ``default_root()/cache/precision.json``:
    ``verdicts_path``). A file that cannot be read or parsed counts as empty and is
    rewritten whole; an entry in it that is not a verdict (no number of dB, or NaN) is
    dropped; one that cannot be written leaves the verdict measured again next time (the
    probe is fixed, so it comes out the same). It keeps ``MAX_VERDICTS`` entries (one per
    network file, style, runtime and precision: a retrained style, a picture, a mix or
    strength each adds one), the newest by date: passes go before misses (``_newest``).

    Processes share the file (the command line's Ray workers, a Blender child beside a
    render): each read, change and replace holds a lock file beside it (``_held``), so no
    process's entry is lost to another's replace (4 processes x 200 entries kept 311 of 800
    without it); the replace stays atomic, so a reader never sees half a file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        ok = isinstance(data, dict) and data.get("version") == VERDICTS_VERSION
        kept = data.get("verdicts") if ok else None
        if not isinstance(kept, dict):
            return {}
        return {k: v for k, v in kept.items() if isinstance(v, dict) and _number(v.get("db"))}

    def get(self, key: str) -> dict | None:
        with _held(self.path):
            return self._read().get(key)

    def keep(self, key: str, entry: dict) -> None:
        """Adds ``entry`` under ``key``, keeping a miss already there (a miss is for good)."""
        with _held(self.path):
            kept = self._read()
            old = kept.get(key)
            if old is not None and old["db"] < PRECISION_BAR_DB <= entry["db"]:
                return
            kept[key] = entry
            kept = _newest(kept, key)
            text = json.dumps({"version": VERDICTS_VERSION, "verdicts": kept}, indent=1)
            try:
                fd, tmp = tempfile.mkstemp(prefix=".precision-", dir=self.path.parent)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, self.path)
            except OSError:
                with contextlib.suppress(OSError, UnboundLocalError):
                    os.unlink(tmp)


@contextlib.contextmanager
def _held(path: Path, wait: float | None = None):
    """Holds ``path``'s lock file (``path`` + ``.lock``) while the body runs, waiting at most
    ``wait`` seconds (``LOCK_WAIT_S``) for another process's hold. Where it cannot be held (no
    lock file can be made, no locking on this system, the wait ran out) the body runs
    without it, as before the lock: the file stays whole (its replace is atomic), and at
    worst an entry written at the same moment is lost and measured again."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield False
        return
    try:
        held = _lock(fd, LOCK_WAIT_S if wait is None else wait)
        try:
            yield held
        finally:
            if held:
                _unlock(fd)
    finally:
        os.close(fd)


# The errors a lock held by another process gives (flock: EWOULDBLOCK; msvcrt: EACCES or
# EDEADLOCK); any other (ENOLCK, EOPNOTSUPP...) means this file system cannot lock at all.
HELD_ELSEWHERE = {
    getattr(errno, name)
    for name in ("EAGAIN", "EWOULDBLOCK", "EACCES", "EDEADLK", "EDEADLOCK")
    if hasattr(errno, name)
}


def _lock(fd: int, wait: float) -> bool:
    """Takes ``fd``'s lock without blocking, again every 10 ms until ``wait`` has passed."""
    try:
        import fcntl
    except ImportError:
        fcntl = None
    try:
        import msvcrt
    except ImportError:
        msvcrt = None
    deadline = time.monotonic() + wait
    while True:
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            elif msvcrt is not None:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                return False
            return True
        except OSError as exc:
            if exc.errno not in HELD_ELSEWHERE or time.monotonic() >= deadline:
                return False  # a file system that cannot lock (NFS without lockd): no wait
            time.sleep(0.01)


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError, ImportError):
        try:
            import fcntl
        except ImportError:
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _number(value) -> bool:
    """A kept dB: a number, infinite included (-inf: a miss that overflowed; inf: output equal
    to fp32's), but not NaN, which compares false with the bar and would keep the reduced
    precision (a corrupt file's ``{"db": NaN}``)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _newest(kept: dict, key: str) -> dict:
    """``kept`` cut to ``MAX_VERDICTS`` entries: the oldest by date go first, passes before
    misses (a miss is for good while the file has room: an overflow on a run's frames that
    the probe picture would not show), never ``key`` (the entry just kept)."""
    if len(kept) <= MAX_VERDICTS:
        return kept

    def worth(k: str) -> tuple:
        return (k == key, kept[k]["db"] < PRECISION_BAR_DB, str(kept[k].get("date", "")))

    gone = set(sorted(kept, key=worth)[: len(kept) - MAX_VERDICTS])  # stable: older first
    return {k: v for k, v in kept.items() if k not in gone}


def machine_verdicts() -> Verdicts:
    """The verdicts under RESTYLE_HOME (or the user data folder), beside TensorRT's cache."""
    return Verdicts(verdicts_path())


def verdicts_path() -> Path:
    """``$RESTYLE_PRECISION_VERDICTS`` (the tests give each test its own, child processes
    included), else ``cache/precision.json`` under RESTYLE_HOME or the user data folder."""
    from ..styles import default_root

    asked = os.environ.get(VERDICTS_ENV)
    return Path(asked) if asked else default_root() / "cache" / "precision.json"


@dataclass(frozen=True)
class MachineCheck:
    """An engine's network on this machine, for ``checked_batch``: where verdicts are kept
    and what they are about (``machine_facts``)."""

    verdicts: Verdicts
    facts: dict
    multiple: int = 1  # the network's size multiple: the probe picture is cropped to it


def _key(facts: dict, condition: np.ndarray | None) -> str:
    """The verdict's key: the facts, and the style a conditioned network runs (its first
    row: one style per run)."""
    style = "" if condition is None else np.asarray(condition[:1], "<f4").tobytes().hex()
    said = json.dumps(facts, sort_keys=True) + style
    return hashlib.sha256(said.encode()).hexdigest()[:24]


@dataclass
class Checked:
    """``checked_batch``'s answer: the batch's output (the reduced precision's where it is
    kept, else fp32's), fp32's, the dB that decided (None: no verdict yet, every frame flat),
    whether the reduced precision is kept, and the words for the engine's note."""

    out: np.ndarray
    reference: np.ndarray
    db: float | None
    kept: bool
    said: str


Runner = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]
ON = {"probe": "on the probe picture", "frames": "on a run's frames (it overflowed)"}


def _entry(machine: MachineCheck, db: float, on: str) -> dict:
    today = datetime.date.today().isoformat()
    return {"db": float(db), "on": on, "date": today, **machine.facts}


def keep_miss(machine: MachineCheck, condition: np.ndarray | None) -> None:
    """Keeps a miss (-inf dB, on a run's frames) for ``machine``'s network and the style of
    ``condition``: a later batch that overflowed (``torch_engine._overflowed``), so later runs
    run fp32 from the start instead of overflowing again. A miss is for good (``keep``)."""
    machine.verdicts.keep(_key(machine.facts, condition), _entry(machine, -math.inf, "frames"))


def kept_verdict(machine: MachineCheck | None, condition: np.ndarray | None) -> bool:
    """Whether this machine keeps a verdict for ``machine``'s network and the style of
    ``condition``: the check on the first batch then reads it, measuring nothing."""
    return machine is not None and machine.verdicts.get(_key(machine.facts, condition)) is not None


def _verdict(machine: MachineCheck, condition, reduced: Runner, fp32: Runner) -> dict | None:
    """This machine's verdict (its entry, with ``key``): the one kept, else the probe
    picture's, measured now and kept."""
    key = _key(machine.facts, condition)
    kept = machine.verdicts.get(key)
    if kept is not None:
        return {**kept, "key": key}
    try:
        probe = probe_images(machine.multiple)
    except FileNotFoundError:  # an install without it: each run's first frames decide
        return None
    style = None if condition is None else np.asarray(condition[:1])
    db = judged_psnr(reduced(probe, style), fp32(probe, style), probe)
    entry = _entry(machine, -math.inf if db is None else db, "probe")
    machine.verdicts.keep(key, entry)
    return {**(machine.verdicts.get(key) or entry), "key": key}


def _whose(verdict: dict) -> str:
    # the date, not 'now': the line is the frames folder's record, the same for every run
    return f"this machine's verdict for this network, measured {verdict.get('date', '?')}"


def _missed(precision: str, verdict: dict) -> str:
    on = ON.get(verdict.get("on"), ON["probe"])
    return (
        f"{precision} gave {verdict['db']:.1f} dB against fp32 {on} (below "
        f"{PRECISION_BAR_DB:.0f} dB; {_whose(verdict)}): running fp32"
    )


def checked_batch(
    images: np.ndarray,
    condition: np.ndarray | None,
    reduced: Runner,
    fp32: Runner,
    precision: str,
    machine: MachineCheck | None = None,
) -> Checked:
    """The first batch of a reduced ``precision``, checked against fp32; every engine's check
    runs through here. ``reduced`` and ``fp32`` run a batch (and its condition) each way.

    With ``machine`` (the engines ``create_engine`` makes), this machine's verdict for the
    network and style decides, not the run's frames: kept in its file, else measured now on
    the probe picture (``probe_images``) and kept. So every run of a clip, whichever part,
    runs the same precision and gives the same pixels. Under the bar, fp32 runs, now and in
    every later run; a batch whose reduced output is not finite (an overflow) runs fp32 and
    is kept as a miss too: a verdict never goes back to the reduced precision.

    Without ``machine`` (an engine made on its own, or no probe picture) the batch decides,
    as each run did before: a batch whose frames are all flat (``shown``) says nothing of
    the precision: only fp32 runs, its output is returned as both and the dB is None (the
    check waits for the next batch), so a black lead-in costs one run a batch, not two."""
    verdict = None if machine is None else _verdict(machine, condition, reduced, fp32)
    if verdict is not None:
        if verdict["db"] < PRECISION_BAR_DB:
            reference = fp32(images, condition)
            return Checked(reference, reference, verdict["db"], False, _missed(precision, verdict))
        out = reduced(images, condition)
        if np.isfinite(out).all():
            on = ON.get(verdict.get("on"), ON["probe"])
            said = (
                f"{precision} checked: {verdict['db']:.1f} dB against fp32 {on} ({_whose(verdict)})"
            )
            return Checked(out, out, verdict["db"], True, said)
        reference = fp32(images, condition)
        missed = _entry(machine, -math.inf, "frames")
        machine.verdicts.keep(verdict["key"], missed)
        said = _missed(precision, missed)
        return Checked(reference, reference, -math.inf, False, said)
    if not shown(images).any():
        reference = fp32(images, condition)
        return Checked(reference, reference, None, False, "")
    out = reduced(images, condition)
    reference = fp32(images, condition)
    db = judged_psnr(out, reference, images)
    if db >= PRECISION_BAR_DB:
        return Checked(out, reference, db, True, f"{precision} checked: {db:.1f} dB against fp32")
    said = (
        f"{precision} gave {db:.1f} dB against fp32 (below {PRECISION_BAR_DB:.0f} dB): running fp32"
    )
    return Checked(reference, reference, db, False, said)


class Settles:
    """A reduced precision's check as the engines share it (OpenVINO, PyTorch, ONNX Runtime):
    ``decided`` is the precision the engine runs for good, None until the check on its first
    batch (``checked_batch``) settles it: this machine's verdict for the network and style
    (kept, else measured on the probe picture) where ``verdicts`` is set, else that batch
    against fp32. It is set in one assignment, after the engine has
    switched to fp32 where the check failed, so a lane or the writer thread
    (``stylizer.decided_precision``) that reads it never sees the precision asked beside a
    settled check: ``precision`` and a flag set one after the other gave 'bf16' for a check
    that had failed (then kept in a frames folder's manifest, and a resume held to it)."""

    # this machine's precision verdicts (``Verdicts``), set by ``create_engine``: None, each
    # run's first batch decides alone
    verdicts: Verdicts | None = None
    decided: str | None = None
    precision: str
    note: str
    # seconds the check took beyond styling its batch (the probe picture both ways, fp32's
    # run beside the reduced one): setup, not the frames' time (``job._Run``)
    check_seconds: float = 0.0

    def _unsettled(self, precision: str) -> None:
        """Starts at ``precision``: fp32 is settled; a reduced one waits for its check."""
        self._checking = threading.Lock()
        self.precision = precision
        self.decided = "fp32" if precision == "fp32" else None

    @property
    def checked(self) -> bool:
        """Whether the precision is settled (``decided``)."""
        return self.decided is not None

    @checked.setter
    def checked(self, value: bool) -> None:
        """True: held to the precision it has, with no check of its own
        (``stylizer.hold_precision``); False: its next batch checks."""
        self.decided = self.precision if value else None

    def _machine(self) -> MachineCheck | None:  # each engine's network (``MachineCheck``)
        return None

    def verdict_kept(self, condition: np.ndarray | None) -> bool:
        """Whether the check on the first batch (with ``condition``, the style it runs) will
        read this machine's kept verdict (``kept_verdict``), measuring nothing."""
        return self.decided is None and kept_verdict(self._machine(), condition)

    def _settle(
        self,
        images: np.ndarray,
        condition: np.ndarray | None,
        reduced: Runner,
        fp32: Runner,
        switch: Callable[[bool], None],
    ) -> np.ndarray | None:
        """The first batch, checked against fp32 (``checked_batch``: this machine's verdict
        where ``verdicts`` is set), by one lane at a time; the others wait for its verdict.
        ``switch(kept)`` makes the engine run fp32 where the reduced precision is not kept
        (and drops what it no longer needs). Returns the batch's output, or None where
        another lane settled the precision meanwhile: the caller runs at ``decided``."""
        with self._checking:
            if self.decided is not None:
                return None
            batch_runs: dict[str, float] = {}  # each runner's time on this batch itself

            def timed(name: str, run: Runner) -> Runner:
                def timed_run(batch: np.ndarray, style: np.ndarray | None) -> np.ndarray:
                    start = time.perf_counter()
                    out = run(batch, style)
                    if batch is images:
                        batch_runs[name] = time.perf_counter() - start
                    return out

                return timed_run

            start = time.perf_counter()
            checked = checked_batch(
                images,
                condition,
                timed("reduced", reduced),
                timed("fp32", fp32),
                self.precision,
                self._machine(),
            )
            own = batch_runs.get("reduced" if checked.kept else "fp32", 0.0)  # the batch's
            self.check_seconds += max(0.0, time.perf_counter() - start - own)
            if checked.db is None:  # flat frames only: fp32 ran them alone; next batch checks
                return checked.reference
            precision = self.precision if checked.kept else "fp32"
            self.note = "; ".join(n for n in (self.note, checked.said) if n)
            switch(checked.kept)
            self.precision = precision
            self.decided = precision  # last, in one assignment: what every reader reads
            return checked.out
