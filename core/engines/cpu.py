"""What this CPU can compute natively, and how many of its cores this process may use.

Paths are chosen by instruction-set features, never by vendor or model name: the machines
Restyle runs on change (AVX-512 BF16 on one, AMX on the next, neither on a third). The
features are Linux's flag names wherever they are read from (``cpu_flags``).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

# Feature flags (Linux /proc/cpuinfo names) that mean "bf16 matrix maths in hardware".
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
# Flags that mean fast int8 dot products.
INT8_FLAGS = ("amx_int8", "avx512_vnni", "avx_vnni")
CPUINFO = Path("/proc/cpuinfo")

# Where there is no /proc/cpuinfo (Windows; macOS answers ``SYSCTL_FLAGS``), the flags that
# choose a path, read from the CPU itself: flag -> (CPUID leaf, subleaf, register, bit, the
# register state the OS must save for it: XCR0's bits). The same flags Linux shows, whose
# kernel hides a feature whose state it does not save.
AVX_STATE, AVX512_STATE, AMX_STATE = 0x6, 0xE6, 0x60000
CPUID_FLAGS = {
    "avx": (1, 0, "ecx", 28, AVX_STATE),
    "fma": (1, 0, "ecx", 12, AVX_STATE),
    "avx2": (7, 0, "ebx", 5, AVX_STATE),
    "avx512f": (7, 0, "ebx", 16, AVX512_STATE),
    "avx512_vnni": (7, 0, "ecx", 11, AVX512_STATE),
    "avx512_fp16": (7, 0, "edx", 23, AVX512_STATE),
    "amx_bf16": (7, 0, "edx", 22, AMX_STATE),
    "amx_tile": (7, 0, "edx", 24, AMX_STATE),
    "amx_int8": (7, 0, "edx", 25, AMX_STATE),
    "avx_vnni": (7, 1, "eax", 4, AVX_STATE),
    "avx512_bf16": (7, 1, "eax", 5, AVX512_STATE),
}
OSXSAVE = (1, 0, "ecx", 27)  # XGETBV works: the OS says which register state it saves
REGISTERS = ("eax", "ebx", "ecx", "edx")
# macOS's sysctl keys (Intel Macs) -> the same flags; Apple's own chips have none of these.
SYSCTL_FLAGS = {
    "hw.optional.avx1_0": "avx",
    "hw.optional.fma": "fma",
    "hw.optional.avx2_0": "avx2",
    "hw.optional.avx512f": "avx512f",
    "hw.optional.avx512vnni": "avx512_vnni",
}


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags, probed once per process: Linux's /proc/cpuinfo; else macOS's
    sysctl; else (Windows) the CPU's own CPUID on x86-64. Empty where none answers (the
    fp32 paths, as on a CPU without these features)."""
    for probe in (_cpuinfo_flags, _sysctl_flags, _cpuid_flags):
        flags = probe()
        if flags is not None:
            return flags
    return frozenset()


def _cpuinfo_flags() -> frozenset[str] | None:
    try:
        info = CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r"^(?:flags|Features)\s*:\s*(.*)$", info, re.MULTILINE)
    return frozenset(match.group(1).split()) if match else frozenset()


def _sysctl_flags() -> frozenset[str] | None:
    if sys.platform != "darwin":
        return None
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
    except OSError:
        return None

    def read(key: str) -> int | None:
        value, size = ctypes.c_int64(0), ctypes.c_size_t(8)
        found = libc.sysctlbyname(key.encode(), ctypes.byref(value), ctypes.byref(size), None, 0)
        return value.value if found == 0 else None

    return flags_from_sysctl(read)


def flags_from_sysctl(read: Callable[[str], int | None]) -> frozenset[str]:
    """The flags macOS's ``read(key)`` (sysctlbyname) reports set (``SYSCTL_FLAGS``)."""
    return frozenset(flag for key, flag in SYSCTL_FLAGS.items() if read(key))


def _cpuid_flags() -> frozenset[str] | None:
    from .cpuid import cpuid_reader

    reader = cpuid_reader()
    if reader is None:
        return None
    try:
        with reader as (cpuid, xgetbv):
            return flags_from_cpuid(cpuid, xgetbv)
    except (OSError, ValueError):  # no executable memory here (a policy against it)
        return None


def flags_from_cpuid(
    cpuid: Callable[[int, int], tuple[int, int, int, int]], xgetbv: Callable[[], int]
) -> frozenset[str]:
    """The ``CPUID_FLAGS`` a CPU reports (``cpuid(leaf, subleaf)``: eax, ebx, ecx, edx) whose
    register state the OS saves (``xgetbv()``: XCR0, read only where OSXSAVE says it may be).
    No vendor or model is read: the features decide."""
    leaves = {(0, 0): cpuid(0, 0), (1, 0): cpuid(1, 0)}
    if leaves[0, 0][0] >= 7:
        leaves[7, 0] = cpuid(7, 0)
        if leaves[7, 0][0] >= 1:
            leaves[7, 1] = cpuid(7, 1)

    def has(leaf: int, sub: int, register: str, bit: int) -> bool:
        values = leaves.get((leaf, sub))
        return values is not None and bool(values[REGISTERS.index(register)] >> bit & 1)

    saved = xgetbv() if has(*OSXSAVE) else 0
    return frozenset(
        flag
        for flag, (leaf, sub, register, bit, state) in CPUID_FLAGS.items()
        if has(leaf, sub, register, bit) and saved & state == state
    )


def native_bf16(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU computes bf16 natively (AVX-512 BF16 or AMX)."""
    flags = cpu_flags() if flags is None else flags
    return any(f in flags for f in BF16_FLAGS)


# The graphs a network runs on, for ``cpu_bf16``: its fast graph (``fast.py``), the plain
# graph of its ONNX file, or PyTorch's module, built from the weights by today's code.
BF16_GRAPHS = ("fast", "plain", "weights")


def cpu_bf16(arch, config: dict | None = None, *, graph: str, native: bool | None = None) -> bool:
    """The one rule for "run bf16 on this CPU" where the precision is auto; every engine and
    ``choose_backend`` ask it. All of:

    - the CPU computes bf16 natively: ``native``, as the runtime that runs the network reports
      it (OpenVINO's BF16 capability, PyTorch's checks), default this CPU's flags
      (``native_bf16``: ``choose_backend``, which imports neither);
    - the network, with this style's ``arch_config``, allows half precision
      (``ArchSpec.allows_half``: the registry's facts, half_precision and fp32_guides), or,
      on the plain graph, is a span style (its guides in ``fp32_guides``) whose network
      does: OpenVINO, the one engine that runs a plain graph in bf16, holds the span search
      in f32 there (``openvino_engine.hold_span_search``: 57-67 dB against f32 on real
      frames, 1.27-1.37x as fast as f32; the whole graph in bf16 gave 10-38 dB);
    - the graph runs it (``BF16_GRAPHS``): a fast graph and PyTorch's module do; the plain
      graph of an ONNX file only where the network says so (``ArchSpec.plain_bf16``: trained
      styles; a built-in's plain graph is a library converted before its fast graph, kept in
      f32 as measured then).

    ``arch``: a ``models.registry.ArchSpec`` (read, not imported: this module stays light).
    """
    if graph not in BF16_GRAPHS:
        raise ValueError(f"unknown graph '{graph}': use {', '.join(BF16_GRAPHS)}")
    native = native_bf16() if native is None else native
    if not (native and (arch.allows_half(config) or graph == "plain" and span_held(arch, config))):
        return False
    return graph != "plain" or arch.plain_bf16


def span_held(arch, config: dict | None = None) -> bool:
    """Whether ``arch`` with this ``arch_config`` is a span style whose network otherwise
    allows half precision: one that runs bf16 on OpenVINO's plain graph with its span search
    held in f32 (``cpu_bf16``), and fp32 on every other graph and engine."""
    span = (config or {}).get("guides") in arch.fp32_guides
    return span and arch.allows_half({k: v for k, v in (config or {}).items() if k != "guides"})


def fast_int8(flags: frozenset[str] | None = None) -> bool:
    flags = cpu_flags() if flags is None else flags
    return any(f in flags for f in INT8_FLAGS)


def feature_summary(flags: frozenset[str] | None = None) -> str:
    """The flags that matter for choosing a path, e.g. 'avx512f avx512_vnni' (for reports)."""
    flags = cpu_flags() if flags is None else flags
    wanted = ("avx2", "fma", "avx512f") + INT8_FLAGS + BF16_FLAGS + ("amx_tile", "avx512_fp16")
    return " ".join(f for f in wanted if f in flags) or "unknown"


def cpu_threads() -> int:
    """Cores this process may use (affinity-aware), for the engines' intra-op pools."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


# OpenMP runtimes spin-wait between parallel regions by default; on a CPU shared with other
# programs the spinning threads steal the very cores the others need, and everything slows
# down (torch on 2 shared cores: 10-17x slower beside a second job). Passive waiting yields.
POLITE_OPENMP = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0", "GOMP_SPINCOUNT": "0"}


def share_cpu_politely() -> bool:
    """Set the OpenMP wait policy before torch loads its runtime; False if it was too late.

    A user's own setting of any of these variables wins.
    """
    import sys

    for key, value in POLITE_OPENMP.items():
        os.environ.setdefault(key, value)
    return "torch" not in sys.modules


def cpu_workers(threads: int | None = None) -> int:
    """Inference workers (sessions on different frames) for this many threads: two where
    there are two cores or more, each with half the threads (2 cores: 1.2-1.35x one session
    of two threads, and a busy core slows one worker instead of stalling both)."""
    threads = cpu_threads() if threads is None else threads
    return 2 if threads >= 2 else 1
