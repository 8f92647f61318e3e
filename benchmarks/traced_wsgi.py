"""The soak's web application with its memory watched (SOAK_TRACE=1 in benchmarks/soak.py):
our application as it is, plus a thread in each web process that every TRACE_SECONDS writes a
tracemalloc snapshot and one line of figures (resident memory, what Python's allocations hold,
what glibc's malloc holds in use and keeps free, the number of threads) into TRACE_DIR. So
growth can be told apart: Python objects (tracemalloc grows), native memory in use (malloc's
in-use bytes grow, tracemalloc does not) or memory freed but kept (malloc's free bytes grow).
Benchmarks only; the application never imports this module."""

from __future__ import annotations

import ctypes
import json
import os
import threading
import time
import tracemalloc
from pathlib import Path

# TRACE_FRAMES=0: malloc's figures only, without tracemalloc's cost in CPU and memory.
FRAMES = int(os.environ.get("TRACE_FRAMES", "8"))
if FRAMES:
    tracemalloc.start(FRAMES)

from stressapp.wsgi import application  # noqa: E402 - traced from its first allocation

__all__ = ["application"]


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _malloc_figures() -> dict[str, int]:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return {}
    # arena: bytes from sbrk and the threads' arenas; hblkhd: mmap'd blocks; uordblks: in use;
    # fordblks: free, kept by malloc.
    return {
        "malloc_heap": info.arena + info.hblkhd,
        "malloc_in_use": info.uordblks + info.hblkhd,
        "malloc_free": info.fordblks,
    }


def _resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _resident_by_kind() -> dict[str, int]:
    """Resident bytes by kind of mapping: malloc's main heap, anonymous mappings (malloc's
    other arenas and large blocks, Python's object arenas, native libraries' own), the
    metrics' shared files, other files (code, libraries, the model), stacks."""
    totals = {"rss_heap": 0, "rss_anon": 0, "rss_metrics": 0, "rss_file": 0, "rss_stack": 0}
    kind = "rss_anon"
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:  # a mapping's header
            path = fields[5] if len(fields) > 5 else ""
            kind = (
                "rss_heap" if path == "[heap]"
                else "rss_stack" if path.startswith("[stack")
                else "rss_anon" if not path or path.startswith("[")
                else "rss_metrics" if path.endswith(".db")
                else "rss_file"
            )  # fmt: skip
        elif fields[0] == "Rss:":
            totals[kind] += int(fields[1]) * 1024
    return totals


def _watch(folder: Path, every: float) -> None:
    number = 0
    while True:
        time.sleep(every)
        number += 1
        traced, _peak = tracemalloc.get_traced_memory()
        figures = {
            "t": time.time(),
            "rss": _resident_bytes(),
            "traced": traced,
            "threads": threading.active_count(),
            "os_threads": len(os.listdir("/proc/self/task")),
            **_malloc_figures(),
            **_resident_by_kind(),
        }
        with (folder / f"{os.getpid()}.jsonl").open("a") as log:
            log.write(json.dumps(figures) + "\n")
        if FRAMES:
            snapshot = tracemalloc.take_snapshot()
            snapshot.dump(str(folder / f"{os.getpid()}-{number:03d}.snapshot"))


_folder = Path(os.environ["TRACE_DIR"])
_folder.mkdir(parents=True, exist_ok=True)
threading.Thread(
    target=_watch,
    args=(_folder, float(os.environ.get("TRACE_SECONDS", "60"))),
    daemon=True,
    name="memory-trace",
).start()
