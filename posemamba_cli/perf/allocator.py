"""Keep freed memory in the process instead of handing it back to the kernel after every tensor.

A lifter forward allocates and frees tens of megabytes per block. With glibc's defaults those blocks are
mapped and unmapped again and again, and every first touch of a fresh page faults: 20-25% of a
PoseMamba-B forward on a small CPU. Raising the mmap and trim thresholds lets freed blocks be reused.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MMAP_THRESHOLD = 32 << 20  # glibc's ceiling for this setting on 64-bit systems
_TRIM_THRESHOLD = 1 << 30
_TOP_PAD = 64 << 20


def retain_freed_memory() -> bool:
    """Tune glibc malloc for tensor-sized blocks; True if applied (False off glibc, where it is moot)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return all(
            libc.mallopt(option, value)
            for option, value in (
                (_M_MMAP_THRESHOLD, _MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD), (_M_TOP_PAD, _TOP_PAD)
            )
        )
    except (OSError, AttributeError):
        return False
