"""Batch benchmark: a 1,000,000-row CSV submitted through the API, scored by two Celery worker
processes on this machine with PostgreSQL and Redis, timed until the job has succeeded, its
results file is ready and every row is in PostgreSQL.

    make bench      (or: python -m benchmarks.batch; BENCH_ROWS=100000 for a quicker run)

Prints rows/s end to end, the longest gap between progress updates, each process's peak
resident memory (VmHWM), the CPU time per 1,000 rows of the workers, the web processes and
PostgreSQL, and the WAL written per row. Then, in the same run, the database's own ceiling: the
same rows COPYed again into the same table, 20,000 rows a transaction from two connections
(what two workers do, with no parsing or scoring), and the job's rate as a share of it.
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
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg

from benchmarks.api import (
    BIN,
    DB_NAME,
    PG,
    ROOT,
    descendants,
    fresh_database,
    prepare_server,
    server_env,
    wait_ready,
)

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
CHUNK_ROWS = 20_000  # the default BATCH_CHUNK_ROWS, for the bare-COPY reference
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
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


def cpu_seconds(pids: list[int], reaped_of: list[int] = ()) -> float:
    """User + system CPU of these processes, plus that of the exited children of `reaped_of`
    (PostgreSQL backends that ended, a worker's replaced pool process)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if pid in reaped_of:
            total += int(fields[13]) + int(fields[14])
    return total / CLOCK_TICKS


def postgres_pids() -> tuple[list[int], list[int]]:
    """Every PostgreSQL process on this machine, and its postmaster(s)."""
    out = subprocess.run(
        ["ps", "-C", "postgres", "-o", "pid=,ppid="], capture_output=True, text=True
    )
    pairs = [tuple(map(int, line.split())) for line in out.stdout.splitlines() if line.strip()]
    pids = {pid for pid, _ in pairs}
    return sorted(pids), [pid for pid, ppid in pairs if ppid not in pids]


def postgres_cpu() -> float:
    pids, postmasters = postgres_pids()
    return cpu_seconds(pids, postmasters)


def wal_lsn(conn: psycopg.Connection) -> str:
    return conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]


def wal_bytes(conn: psycopg.Connection, since: str) -> int:
    return int(conn.execute("SELECT pg_current_wal_lsn() - %s::pg_lsn", (since,)).fetchone()[0])


def copy_reference(job_id: str) -> tuple[float, float, int]:
    """The database's ceiling for the same write: the job's rows read back in COPY's binary
    form (as a new job's, so the unique (job, row) index takes them), then written again into
    the same table from two connections, one transaction of CHUNK_ROWS rows each, as the
    workers do. Returns (rows/s, PostgreSQL CPU seconds, WAL bytes)."""
    new_job = str(uuid.uuid4())
    blocks: list[bytes] = []
    with psycopg.connect(f"{PG}/{DB_NAME}") as conn, conn.cursor() as cur:
        names = [
            name
            for (name,) in cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = "
                "'predictions_prediction' AND column_name <> 'id' ORDER BY ordinal_position"
            )
        ]
        columns = ", ".join(names)
        chosen = ", ".join("%s::uuid" if name == "batch_job_id" else name for name in names)
        for first in range(1, ROWS + 1, CHUNK_ROWS):
            query = (
                f"COPY (SELECT {chosen} FROM predictions_prediction WHERE batch_job_id = %s "  # noqa: S608 - our own names
                f"AND row_number >= {first} AND row_number < {first + CHUNK_ROWS}) "
                "TO STDOUT (FORMAT BINARY)"
            )
            with cur.copy(query, (new_job, job_id)) as copy:
                blocks.append(b"".join(bytes(part) for part in copy))
        lsn = wal_lsn(conn)
    todo = iter(blocks)
    statement = f"COPY predictions_prediction ({columns}) FROM STDIN (FORMAT BINARY)"
    lock = threading.Lock()

    def writer() -> None:
        with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
            while True:
                with lock:
                    block = next(todo, None)
                if block is None:
                    return
                with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
                    copy.write(block)

    cpu_before = postgres_cpu()
    started = time.perf_counter()
    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = postgres_cpu() - cpu_before
    with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
        wal = wal_bytes(conn, lsn)
        stored = conn.execute(
            "SELECT count(*) FROM predictions_prediction WHERE batch_job_id = %s", (new_job,)
        ).fetchone()[0]
    assert stored == ROWS, f"reference COPY stored {stored:,} rows, not {ROWS:,}"
    return ROWS / elapsed, cpu, wal


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
        with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
            lsn_before = wal_lsn(conn)
        web_pids, worker_pids = descendants(web.pid), descendants(worker.pid)
        cpu_before = (
            cpu_seconds(web_pids, web_pids),
            cpu_seconds(worker_pids, worker_pids),
            postgres_cpu(),
        )
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
        web_pids, worker_pids = descendants(web.pid), descendants(worker.pid)
        cpu_after = (
            cpu_seconds(web_pids, web_pids),
            cpu_seconds(worker_pids, worker_pids),
            postgres_cpu(),
        )
        with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
            job_wal = wal_bytes(conn, lsn_before)
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
    reference_rate, reference_cpu, reference_wal = copy_reference(state["id"])

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
    rate = ROWS / total
    print(f"end-to-end throughput: {rate:,.0f} rows/s (target >= 150,000)")
    web_cpu, worker_cpu, pg_cpu = (b - a for a, b in zip(cpu_before, cpu_after, strict=True))
    per_k = 1000 / ROWS * 1000
    job_cpu = web_cpu + worker_cpu + pg_cpu
    print(
        f"CPU per 1,000 rows: workers {worker_cpu * per_k:.1f} ms, web {web_cpu * per_k:.1f} ms, "
        f"PostgreSQL {pg_cpu * per_k:.1f} ms; total {job_cpu * per_k:.1f} ms, so 2 cores "
        f"could do at most {2 * ROWS / job_cpu:,.0f} rows/s of this job"
    )
    print(f"WAL written: {job_wal / ROWS:,.0f} bytes per row")
    print(
        f"bare COPY of the same rows into the same table (2 connections, {CHUNK_ROWS:,} rows a "
        f"transaction): {reference_rate:,.0f} rows/s, PostgreSQL {reference_cpu * per_k:.1f} ms "
        f"CPU per 1,000 rows, {reference_wal / ROWS:,.0f} WAL bytes per row; the job ran at "
        f"{rate / reference_rate:.0%} of it"
    )
    if running:
        print(
            f"progress updates seen: {len(progress_seen)}; longest gap between visible "
            f"changes while running: {max(gaps) if gaps else 0:.1f} s (target <= 2 s)"
        )
    print(
        "peak resident memory per process (MB): "
        + ", ".join(f"{pid}: {mb:.0f}" for pid, mb in sorted(peaks.items()))
        + f"; max {max(peaks.values()):.0f} MB (target <= 200)"
    )
    shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
