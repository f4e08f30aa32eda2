"""Process-wide settings that make torch on the CPU run at the speed the hardware allows.

Torch frees and re-allocates its activation buffers every step. With glibc's default malloc,
freed memory at the top of the heap is handed back to the kernel (trimmed) and buffers above
the dynamic mmap threshold are unmapped on free, so every step page-faults its buffers in
again; on the machines Restyle was measured on that halved CPU throughput. Raising both
thresholds keeps the memory mapped and reused.
"""

from __future__ import annotations

import ctypes
import sys

# mallopt parameter numbers from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

# Keep up to 1 GiB of freed heap instead of trimming it back to the kernel.
TRIM_THRESHOLD = 1 << 30
# Serve blocks below this from the heap, not from a fresh mmap. glibc caps the value at
# half its maximum heap size (32 MiB on 64-bit builds without huge pages), so try the large
# value first and fall back to the cap.
MMAP_THRESHOLDS = (1 << 30, 32 << 20)

_tuned: bool | None = None


def tune_cpu_allocator() -> bool:
    """Raise glibc's trim and mmap thresholds once per process; True if both took effect.

    Returns False without changing anything off Linux or on a C library without ``mallopt``
    (musl). Safe to call any number of times from any module.
    """
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    trimmed = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    mapped = any(mallopt(M_MMAP_THRESHOLD, value) == 1 for value in MMAP_THRESHOLDS)
    _tuned = trimmed and mapped
    return _tuned
