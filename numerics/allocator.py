"""Freed large blocks kept in the process's heap for reuse while a study runs (glibc malloc).

A full-batch training step on MNIST2 makes several arrays of N x d = 12,665 x 784 doubles
(79 MB). glibc serves every block above its mmap threshold (at most 32 MiB) with a fresh
``mmap`` and gives it back with ``munmap`` when it is freed, so each step maps new pages and the
kernel zeroes every one on its first touch: in the budget study's full run a third of the CPU
time (939 of 2,758 s) was the system's, 548 million page faults. Inside
:func:`reuse_freed_memory` glibc takes no block from ``mmap`` (``M_MMAP_MAX = 0``) and keeps the
heap's free top (``M_TRIM_THRESHOLD``), so the next step's arrays reuse the last step's pages.
Only where the memory comes from changes: every number is the same to the bit
(``benchmarks/allocator.py`` measures both). Leaving the block gives the heap's free memory back
to the system. With another C library (macOS, musl) it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from collections.abc import Iterator
from typing import Any

__all__ = ["reuse_freed_memory"]

# glibc's mallopt parameters and their defaults (malloc.h, mallopt(3))
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_DEFAULT_TRIM_THRESHOLD, _DEFAULT_MMAP_MAX = 128 * 1024, 65536
_KEEP_TOP = 2**31 - 1  # bytes of free heap top kept rather than given back (a C int)

_depth = 0


def _libc() -> Any | None:
    """The C library if it is glibc (it has ``mallopt`` and ``malloc_trim``), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError, TypeError):
        return None
    return libc


def _set(libc: Any, trim: int, mmap_max: int) -> bool:
    return bool(libc.mallopt(_M_TRIM_THRESHOLD, trim) and libc.mallopt(_M_MMAP_MAX, mmap_max))


@contextlib.contextmanager
def reuse_freed_memory() -> Iterator[bool]:
    """Inside the block, freed blocks stay in the heap and the next allocations reuse them (see
    the module docstring); glibc's defaults come back after the outermost block. Yields whether
    the setting took effect (False without glibc). On leaving, the heap's free memory goes back
    to the system (``malloc_trim``)."""
    global _depth
    libc = _libc()
    if libc is None:
        yield False
        return
    applied = _set(libc, _KEEP_TOP, 0) if _depth == 0 else True
    _depth += 1
    try:
        yield applied
    finally:
        _depth -= 1
        if _depth == 0:
            _set(libc, _DEFAULT_TRIM_THRESHOLD, _DEFAULT_MMAP_MAX)
            libc.malloc_trim(0)
