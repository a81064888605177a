"""Keep freed CPU memory in the process so the generator's activations reuse it.

glibc's malloc serves each block above its mmap threshold (32 MiB at most by
default) with a fresh `mmap` and unmaps it on free, and returns heap memory
above the trim threshold to the kernel. A 256x256 generator pass allocates
16 MiB activations at batch 1 and 64 MiB ones at batch 4, so many of them
become new pages that the kernel must fault in and zero on every pass. On a
2-vCPU Xeon that cost the fp32 path 2-14 % of its time (docs/performance.md).
Raising both thresholds keeps the memory in malloc's free lists, where the next
pass finds it.

The setting is process-wide and only takes effect with glibc; elsewhere
`keep_freed_memory` returns False and changes nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform

logger = logging.getLogger(__name__)

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks below this size come from the heap and are reused after free.
# Both values fit the C int that mallopt takes.
MMAP_THRESHOLD_BYTES = 1 << 30
_TRIM_THRESHOLD_BYTES = (1 << 31) - 1

_applied = False


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; return whether they are in effect.

    The process then keeps its peak heap size instead of returning memory to the
    kernel between passes, which is what a worker that runs the generator in a
    loop wants.
    """
    global _applied
    if _applied:
        return True
    if platform.libc_ver()[0] != "glibc":
        logger.info("CPU allocator left at its defaults: the C library is not glibc")
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if not (libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) and libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)):
        logger.warning("CPU allocator left at its defaults: mallopt failed to set the glibc thresholds")
        return False
    _applied = True
    logger.info("CPU allocator keeps freed memory for reuse (glibc mmap threshold %d MiB)", MMAP_THRESHOLD_BYTES >> 20)
    return True


def allocator_tuned() -> bool:
    """Return whether `keep_freed_memory` has taken effect in this process."""
    return _applied
