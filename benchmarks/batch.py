"""Batch benchmark: a 1,000,000-row CSV submitted through the API, scored by two Celery worker
processes on this machine with PostgreSQL and Redis, timed until the job has succeeded, its
results file is ready and every row is in PostgreSQL.

    make bench      (or: python -m benchmarks.batch; BENCH_ROWS=100000 for a quicker run)

Prints rows/s end to end, the longest gap between progress updates, and each process's peak
resident memory (VmHWM).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg

from benchmarks.api import (
    BIN,
    DB_NAME,
    PG,
    ROOT,
    fresh_database,
    prepare_server,
    server_env,
    wait_ready,
)

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
PORT = 8813
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")


def make_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with open(path, "w") as handle:
        handle.write("heart_rate,ecg,emg,gsr,respiration,measured_at\n")
        for i in range(rows):
            handle.write(
                f"{rng.uniform(45, 140):.1f},{rng.random():.4f},{rng.random():.4f},"
                f"{rng.random():.4f},{rng.random():.4f},2026-11-{1 + i % 26:02d}T{i % 24:02d}:"
                f"{i % 60:02d}:00+00:00\n"
            )


def peak_rss_mb(pids: list[int]) -> dict[int, float]:
    peaks = {}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[pid] = int(line.split()[1]) / 1024
        except OSError:
            continue
    return peaks


def descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    children = [int(p) for p in out.stdout.split()]
    return [pid] + [d for child in children for d in descendants(child)]


def start_web(env: dict[str, str], port: int) -> subprocess.Popen:
    """The web server as the Procfile runs it, with two processes."""
    return subprocess.Popen(
        [sys.executable, "-m", "stressapp.serve"],
        env={**env, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "2"},
        cwd=ROOT,
    )


def start_worker(env: dict[str, str], queue: str) -> subprocess.Popen:
    """A Celery worker with two processes on its own queue."""
    return subprocess.Popen(
        [
            str(BIN / "celery"), "-A", "stressapp", "worker", "--concurrency", "2",
            "--without-mingle", "--without-gossip", "--loglevel", "WARNING", "-Q", queue,
        ],
        env=env, cwd=ROOT,
    )  # fmt: skip


def main() -> int:
    fresh_database()
    data_dir = Path(tempfile.mkdtemp(prefix="stress-batch-bench-"))
    env = server_env(data_dir, REDIS, CELERY_QUEUE="bench")
    token = prepare_server(env, username="b")
    csv_path = data_dir / "readings.csv"
    make_csv(csv_path, ROWS)
    size_mb = csv_path.stat().st_size / 1e6

    web = start_web(env, PORT)
    worker = start_worker(env, "bench")
    try:
        wait_ready(f"http://127.0.0.1:{PORT}/api/health")
        print(f"{ROWS:,} rows, {size_mb:.0f} MB CSV; 2 worker processes, 2 web workers", flush=True)
        started = time.perf_counter()
        with open(csv_path, "rb") as body:
            request = urllib.request.Request(
                f"http://127.0.0.1:{PORT}/api/batch-jobs",
                data=body,
                method="POST",
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "text/csv",
                    "Content-Length": str(csv_path.stat().st_size),
                },
            )
            with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
                job = json.loads(response.read())
        accepted = time.perf_counter() - started
        status_request = urllib.request.Request(  # noqa: S310 - localhost
            job["status_url"], headers={"Authorization": f"Bearer {token}"}
        )
        progress_seen: list[tuple[float, int]] = []
        while True:
            with urllib.request.urlopen(status_request, timeout=30) as response:  # noqa: S310
                state = json.loads(response.read())
            done = state["processed_rows"] + state["failed_rows"]
            if not progress_seen or progress_seen[-1][1] != done:
                progress_seen.append((time.perf_counter() - started, done))
            if state["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.2)
        job_done = time.perf_counter() - started
        with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
            stored = conn.execute(
                "SELECT count(*) FROM predictions_prediction WHERE batch_job_id = %s",
                (state["id"],),
            ).fetchone()[0]
        total = time.perf_counter() - started
        # Outside the timed window: the results are complete and download whole.
        download_started = time.perf_counter()
        results_request = urllib.request.Request(  # noqa: S310 - localhost
            state["results_url"], headers={"Authorization": f"Bearer {token}"}
        )
        result_bytes = result_lines = 0
        with urllib.request.urlopen(results_request, timeout=300) as response:  # noqa: S310
            while block := response.read(1 << 20):
                result_bytes += len(block)
                result_lines += block.count(b"\n")
        download_s = time.perf_counter() - download_started
        pids = descendants(web.pid) + descendants(worker.pid)
        peaks = peak_rss_mb(pids)
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            process.wait(timeout=30)

    gaps = [b[0] - a[0] for a, b in itertools.pairwise(progress_seen)]
    running = [p for p in progress_seen if p[1] > 0]
    print(
        f"status: {state['status']}; scored {state['processed_rows']:,}, failed "
        f"{state['failed_rows']:,}; rows in PostgreSQL: {stored:,}; results download: "
        f"{result_lines - 1:,} rows + header, {result_bytes / 1e6:.0f} MB in {download_s:.1f} s"
    )
    print(
        f"upload accepted (stored, checked, chunked) after {accepted:.1f} s; job succeeded "
        f"after {job_done:.1f} s; end to end {total:.1f} s"
    )
    print(f"end-to-end throughput: {ROWS / total:,.0f} rows/s (target >= 50,000)")
    if running:
        print(
            f"progress updates seen: {len(progress_seen)}; longest gap between visible "
            f"changes while running: {max(gaps) if gaps else 0:.1f} s (target <= 2 s)"
        )
    print(
        "peak resident memory per process (MB): "
        + ", ".join(f"{pid}: {mb:.0f}" for pid, mb in sorted(peaks.items()))
        + f"; max {max(peaks.values()):.0f} MB (target <= 500)"
    )
    shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
