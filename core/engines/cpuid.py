"""The CPU's own CPUID and XGETBV, for systems with no /proc/cpuinfo (Windows), on x86-64.

Python has no CPUID: two tiny functions of machine code are run through ctypes from memory
the OS gives as executable (VirtualAlloc on Windows, mmap elsewhere). Each takes one pointer
to four 32-bit words: CPUID reads leaf and subleaf from words 0 and 2 and leaves eax, ebx,
ecx and edx there; XGETBV leaves XCR0's low and high halves in words 0 and 1. Where the
memory is refused (a policy against executable memory) there is no reader: no flags.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import platform
import sys
from collections.abc import Iterator

# The argument's register: rcx in Windows' x64 calling convention, rdi in System V's.
TAKE_ARGUMENT = {"win32": b"\x49\x89\xc9"}  # mov r9, rcx
SYSTEM_V = b"\x49\x89\xf9"  # mov r9, rdi
CPUID_CODE = (
    b"\x41\x8b\x01"  # mov eax, [r9]
    b"\x41\x8b\x49\x08"  # mov ecx, [r9+8]
    b"\x0f\xa2"  # cpuid
    b"\x41\x89\x01"  # mov [r9], eax
    b"\x41\x89\x59\x04"  # mov [r9+4], ebx
    b"\x41\x89\x49\x08"  # mov [r9+8], ecx
    b"\x41\x89\x51\x0c"  # mov [r9+12], edx
)
XGETBV_CODE = (
    b"\x31\xc9"  # xor ecx, ecx
    b"\x0f\x01\xd0"  # xgetbv
    b"\x41\x89\x01"  # mov [r9], eax
    b"\x41\x89\x51\x04"  # mov [r9+4], edx
)
PUSH_RBX, POP_RBX, RET = b"\x53", b"\x5b", b"\xc3"  # cpuid changes rbx, which callers keep
X86_64 = ("x86_64", "amd64")
WORDS = ctypes.c_uint32 * 4
CALL = ctypes.CFUNCTYPE(None, ctypes.POINTER(WORDS))


def functions_code(system: str = sys.platform) -> tuple[bytes, bytes]:
    """The two functions' machine code for ``system``'s calling convention."""
    take = TAKE_ARGUMENT.get(system, SYSTEM_V)
    cpuid = PUSH_RBX + take + CPUID_CODE + POP_RBX + RET
    return cpuid, take + XGETBV_CODE + RET


@contextlib.contextmanager
def _executable(code: bytes) -> Iterator[int]:
    """The address of a copy of ``code`` in executable memory, freed after the block."""
    if sys.platform == "win32":
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.VirtualAlloc.restype = ctypes.c_void_p
        kernel32.VirtualAlloc.argtypes = (
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_ulong,
            ctypes.c_ulong,
        )
        kernel32.VirtualFree.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_ulong)
        address = kernel32.VirtualAlloc(None, len(code), 0x3000, 0x40)  # commit, RWX
        if not address:
            raise OSError("VirtualAlloc refused executable memory")
        try:
            ctypes.memmove(address, code, len(code))
            yield address
        finally:
            kernel32.VirtualFree(address, 0, 0x8000)  # release
        return
    prot = mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC
    memory = mmap.mmap(-1, mmap.PAGESIZE, prot=prot)
    try:
        memory.write(code)
        buffer = ctypes.c_char.from_buffer(memory)
        try:
            yield ctypes.addressof(buffer)
        finally:
            del buffer
    finally:
        memory.close()


class _Reader:
    """``with reader as (cpuid, xgetbv)``: the two functions, while their memory is held."""

    def __init__(self, system: str = sys.platform) -> None:
        self.codes = functions_code(system)
        self.stack = contextlib.ExitStack()

    def __enter__(self):
        try:
            cpuid_at, xgetbv_at = (self.stack.enter_context(_executable(c)) for c in self.codes)
        except BaseException:
            self.stack.close()
            raise
        cpuid_call, xgetbv_call = CALL(cpuid_at), CALL(xgetbv_at)

        def cpuid(leaf: int, subleaf: int = 0) -> tuple[int, int, int, int]:
            words = WORDS(leaf, 0, subleaf, 0)
            cpuid_call(ctypes.byref(words))
            return tuple(words)

        def xgetbv() -> int:
            words = WORDS()
            xgetbv_call(ctypes.byref(words))
            return words[0] | words[1] << 32

        return cpuid, xgetbv

    def __exit__(self, *exc) -> None:
        self.stack.close()


def cpuid_reader() -> _Reader | None:
    """A reader of this CPU's CPUID and XCR0 (``_Reader``: entering it raises OSError where
    there is no executable memory here), or None: not x86-64."""
    return _Reader() if platform.machine().lower() in X86_64 else None
