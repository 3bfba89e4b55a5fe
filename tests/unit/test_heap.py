"""The workers' malloc settings: set once per process where glibc is the C library, a no-op elsewhere."""

import os

from curate.engine.heap import keep_freed_memory


def _glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):
        return False


def test_keep_freed_memory_is_set_once_where_glibc_runs():
    first = keep_freed_memory()
    assert first is _glibc()
    assert keep_freed_memory() is first  # a second call changes nothing
