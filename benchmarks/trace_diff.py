"""What grew in each traced web process (benchmarks/traced_wsgi.py) between two of its
snapshots: python -m benchmarks.trace_diff TRACE_DIR [FIRST [LAST]] (snapshot numbers;
default the second and the last). Prints, per process, the growth of resident memory, of
Python's traced allocations and of malloc's in-use and free bytes, then the allocation sites
that grew most."""

from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path

TOP = 12


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    for log in sorted(folder.glob("*.jsonl")):
        pid = log.stem
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        first = int(argv[1]) if len(argv) > 1 else 2
        last = int(argv[2]) if len(argv) > 2 else len(lines)
        if last <= first:
            continue
        a, b = lines[first - 1], lines[last - 1]
        hours = (b["t"] - a["t"]) / 3600
        print(f"process {pid}, snapshots {first} -> {last} ({hours * 60:.1f} min):")
        kinds = ("rss_heap", "rss_anon", "rss_metrics", "rss_file", "rss_stack")
        for key in ("rss", *kinds, "traced", "malloc_heap", "malloc_in_use", "malloc_free"):
            if key in a:
                print(
                    f"  {key:<14} {a[key] / 2**20:8.1f} -> {b[key] / 2**20:8.1f} MiB "
                    f"({(b[key] - a[key]) / 2**20 / hours:+.1f} MiB/h)"
                )
        print(f"  threads {a['threads']} -> {b['threads']}, OS threads {a['os_threads']} -> "
              f"{b['os_threads']}")  # fmt: skip
        if not (folder / f"{pid}-{first:03d}.snapshot").exists():  # TRACE_FRAMES=0
            continue
        before = tracemalloc.Snapshot.load(str(folder / f"{pid}-{first:03d}.snapshot"))
        after = tracemalloc.Snapshot.load(str(folder / f"{pid}-{last:03d}.snapshot"))
        ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
        before, after = before.filter_traces(ignore), after.filter_traces(ignore)
        for stat in after.compare_to(before, "traceback")[:TOP]:
            print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks")
            for line in stat.traceback.format()[-6:]:
                print(f"      {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
