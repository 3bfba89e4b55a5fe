"""The workers' heap: freed memory kept in the process for the next batch, not handed back to the kernel."""

from __future__ import annotations

import ctypes
import os

# glibc's mallopt parameters (malloc.h) and the values a worker sets
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 32 << 20  # glibc's ceiling for it: larger blocks are always mapped on their own
TRIM_THRESHOLD = 256 << 20
TOP_PAD = 64 << 20


class _Heap:
    kept: bool | None = None  # None: not tried in this process yet


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed memory for reuse in this process; once per process, a no-op elsewhere.

    A batch allocates and frees hundreds of MB of NumPy, numba and Arrow buffers of 0.1-30 MB each. By default
    glibc maps each such block afresh and unmaps it (or trims the heap) when freed, so every batch faults its
    pages in again, 4 KiB at a time, in the kernel. Blocks up to `MMAP_THRESHOLD` now come from the heap, which
    keeps up to `TRIM_THRESHOLD` free at its top. The settings last for the process's life, which on a cluster
    (`--address`) is still this run's alone: Ray's raylet hands an idle worker only tasks of the job (driver)
    it was assigned to (`WorkerPool::PopWorker`). Returns whether they are in force.
    """
    if _Heap.kept is None:
        _Heap.kept = False
        try:
            glibc = bool(os.confstr("CS_GNU_LIBC_VERSION"))
        except (ValueError, OSError):
            glibc = False
        if glibc:
            mallopt = ctypes.CDLL(None).mallopt
            _Heap.kept = all(mallopt(param, value) == 1 for param, value in (
                (_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_TOP_PAD, TOP_PAD)))
    return _Heap.kept
