"""Give the memory glibc's allocator holds free back to the system, every few seconds.

A web process at a few hundred requests a second frees as much as it allocates (its Python
objects stay flat under tracemalloc, issue 22 item 6), but glibc keeps freed pages in each
thread's arena for reuse, so the resident size creeps up with fragmentation. `malloc_trim(0)`
returns every free page (not only the top of the heap) and costs a few milliseconds; once a
minute is far below one request's worth of work. Nothing happens where the C library is not
glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

logger = logging.getLogger(__name__)


def _libc_trim():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None


def malloc_trim_start(interval_s: float) -> threading.Thread | None:
    """A daemon thread calling malloc_trim(0) every `interval_s` seconds (0: none)."""
    if interval_s <= 0:
        return None
    trim = _libc_trim()
    if trim is None:
        logger.info("malloc_trim is not available here; memory is left to the allocator")
        return None
    trim.argtypes = [ctypes.c_size_t]
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval_s):
            trim(0)

    thread = threading.Thread(target=run, name="malloc-trim", daemon=True)
    thread.start()
    return thread
