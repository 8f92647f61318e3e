"""Soak: SOAK_MINUTES (10) of mixed traffic at half the measured peak, against the whole
service (the web server, a Celery worker with beat, PostgreSQL, a Redis of its own): readings posted
and history read (wrk), and every minute a 5,000-row batch job and a 15-minute recording.

    make bench      (or: python -m benchmarks.soak; SOAK_MINUTES=3 for a quicker look)

Before the minutes are measured, recordings are sent until the worker's pool has scored one
(it imports scikit-learn then, once, through NeuroKit2).
Prints, minute by minute, the rate, p99 and errors; each process's resident memory growth
after a warm-up (SOAK_WARM_UP_MINUTES, default 2), as MiB per hour; PostgreSQL connections and
Redis memory over time. SOAK_RATE fixes the rate instead of half the peak (issue 22: ~400
req/s). SOAK_TRACE=1 serves benchmarks/traced_wsgi.py instead: each web process writes, every
TRACE_SECONDS, its resident memory by kind of mapping, malloc's figures and (TRACE_FRAMES > 0)
a tracemalloc snapshot into TRACE_DIR; `python -m benchmarks.trace_diff TRACE_DIR` compares them.
Targets (issue 13): 0 errors, <= 8 MiB/h per process, connections and Redis memory flat, p99
of the last minute within 10% of the first.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

from benchmarks.batch import descendants
from benchmarks.recording_service import multipart
from mlcore import drivedb
from mlcore.drive_files import drive_slice, write_edf
from mlcore.train import train_and_save
from stressapp.tests.stack import OwnRedis, Stack, readings_csv

MINUTES = int(os.environ.get("SOAK_MINUTES", "10"))
# A web process's memory rises to its working set over the first minutes (in the runs of
# issue 22, until minute 4-5 at 400 req/s on a busy machine) and then stays: growth is
# measured after that.
WARM_UP_MINUTES = int(os.environ.get("SOAK_WARM_UP_MINUTES", "2"))
TRACE = os.environ.get("SOAK_TRACE") == "1"
CONNECTIONS = 8
MOST_WARM_UP_RECORDINGS = 24
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def wrk(stack: Stack, seconds: int, delay_ms: float) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk", f"-c{CONNECTIONS}", "-t2", f"-d{seconds}s", "--timeout", "5s",
            "-s", str(Path(__file__).with_name("soak.lua")), f"http://127.0.0.1:{stack.port}",
        ],
        env={**os.environ, "BENCH_TOKEN": stack.token, "SOAK_DELAY_MS": str(delay_ms)},
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    return {key: float(value) for key, value in re.findall(r"(\w+)=([\d.]+)", line)}


def process_name(pid: int) -> str:
    """A short name: 'web', 'web worker', 'celery', 'celery pool'."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read().replace(b"\0", b" ").decode(errors="replace")
        with open(f"/proc/{pid}/stat") as f:
            parent = int(f.read().rpartition(")")[2].split()[1])
        with open(f"/proc/{parent}/cmdline", "rb") as f:
            parent_command = f.read().decode(errors="replace")
    except OSError:
        return "?"
    kind = "web" if "stressapp.serve" in command else "celery" if "celery" in command else "other"
    same_as_parent = kind in ("web", "celery") and (
        ("stressapp.serve" in parent_command) or ("celery" in parent_command)
    )
    return f"{kind} {'worker' if same_as_parent else 'main'}"


def rss_mib(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1]) / 1024
        except OSError:
            continue
    return out


def redis_memory_mib(redis: OwnRedis) -> float:
    out = subprocess.run(
        ["redis-cli", "-p", str(redis.port), "info", "memory"], capture_output=True, text=True
    ).stdout
    used = re.search(r"used_memory:(\d+)", out)
    return int(used.group(1)) / 2**20 if used else float("nan")


def pg_connections(database: str) -> int:
    with psycopg.connect(f"{PG}/postgres") as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
        ).fetchone()[0]


def _scored_a_recording(pid: int) -> bool:
    """Has this process scored a recording (and imported scikit-learn, through NeuroKit2)?"""
    try:
        return "/sklearn/" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return True  # gone: nothing left to wait for


def pool_scored_a_recording(pids: list[int]) -> bool:
    # The Celery worker's children: its pool and beat, which never scores.
    return any(map(_scored_a_recording, [p for p in pids if process_name(p) == "celery worker"]))


def recordings_until_loaded(stack: Stack, edf: Path, pids: list[int], errors: list[str]) -> int:
    """Recordings sent, one every few seconds, until the Celery worker's pool has scored one:
    a process imports scikit-learn and pandas (~110 MB, through NeuroKit2) once, with its
    first recording, a step and not growth. Web processes import neither: the recording models
    are compiled trees. Returns how many were sent (at most MOST_WARM_UP_RECORDINGS)."""
    for sent in range(MOST_WARM_UP_RECORDINGS + 1):
        if pool_scored_a_recording(pids) or sent == MOST_WARM_UP_RECORDINGS:
            return sent
        data, content_type = multipart(edf, {"rest_start_s": "0", "rest_end_s": "180"})
        status = stack.request("/api/recordings", data, content_type)[0]
        if status != 202:
            errors.append(f"recording upload {status}")
        time.sleep(4)
    return MOST_WARM_UP_RECORDINGS


def side_work(stack: Stack, edf: Path, errors: list[str]) -> None:
    """A batch job and a recording, sent at the start of every minute so each minute carries
    the same mix: all must succeed."""
    status = stack.request("/api/batch-jobs", readings_csv(5_000), "text/csv")[0]
    if status != 202:
        errors.append(f"batch upload {status}")
    data, content_type = multipart(edf, {"rest_start_s": "0", "rest_end_s": "180"})
    status = stack.request("/api/recordings", data, content_type)[0]
    if status != 202:
        errors.append(f"recording upload {status}")


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="stress-soak-"))
    database = f"stressapp_soak_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    redis = OwnRedis(folder)
    redis.start()
    model = train_and_save(folder / "models", quick=True)
    stack = Stack(folder, f"{PG}/{database}", redis.url, model)
    try:
        stack.prepare()
        if TRACE:
            # benchmarks/traced_wsgi.py: a tracemalloc snapshot and malloc's figures from each
            # web process every TRACE_SECONDS, kept in TRACE_DIR for benchmarks/trace_diff.py.
            stack.env["TRACE_DIR"] = os.environ.get("TRACE_DIR", str(folder / "trace"))
            print(f"memory traced into {stack.env['TRACE_DIR']}", flush=True)
            stack.start(web_app="benchmarks.traced_wsgi:application")
        else:
            stack.start()
        time.sleep(3)
        peak = wrk(stack, 15, 0)
        # SOAK_RATE fixes the rate (issue 22 asks for ~400 req/s), whatever the peak measured
        # on a machine shared with other work.
        target = float(os.environ.get("SOAK_RATE") or peak["rps"] / 2)
        # Each connection waits `delay` then waits for its answer: take the answer's time, as
        # measured at a first guess, off the wait so the rate is the target.
        delay_ms = 1000 * CONNECTIONS / target
        trial = wrk(stack, 10, delay_ms)
        answer_ms = max(0.0, 1000 * CONNECTIONS / trial["rps"] - delay_ms)
        delay_ms = max(0.0, 1000 * CONNECTIONS / target - answer_ms)
        print(
            f"peak {peak['rps']:.0f} req/s (p99 {peak['p99_ms']:.1f} ms); soaking at "
            f"{target:.0f} req/s for {MINUTES} min, {CONNECTIONS} connections",
            flush=True,
        )
        errors: list[str] = []
        edf = write_edf(folder / "part.edf", drive_slice(drivedb.load_drive("drive06"), 0, 900))
        pids = [pid for process in stack.processes for pid in descendants(process.pid)]
        sent = recordings_until_loaded(stack, edf, pids, errors)
        print(
            f"{sent} recordings sent first: the Celery worker's pool has "
            f"{'' if pool_scored_a_recording(pids) else 'NOT '}scored one",
            flush=True,
        )
        minutes, memory, connections, redis_mib = [], {}, [], []
        names: dict[int, str] = {}
        for minute in range(1, MINUTES + 1):
            threading.Thread(target=side_work, args=(stack, edf, errors), daemon=True).start()
            result = wrk(stack, 60, delay_ms)
            minutes.append(result)
            memory[minute] = rss_mib(pids)
            names.update({pid: process_name(pid) for pid in pids if pid not in names})
            connections.append(pg_connections(database))
            redis_mib.append(redis_memory_mib(redis))
            print(
                f"minute {minute:2d}: {result['rps']:6.0f} req/s  p99 {result['p99_ms']:6.1f} ms"
                f"  errors {result['errors']:.0f}  non-2xx {result['non2xx']:.0f}  "
                f"PostgreSQL connections {connections[-1]}  Redis {redis_mib[-1]:.1f} MiB  "
                "web workers "
                + "/".join(
                    f"{mib:.0f}"
                    for pid, mib in sorted(memory[minute].items())
                    if names.get(pid) == "web worker"
                )
                + " MiB",
                flush=True,
            )
        with psycopg.connect(f"{PG}/{database}") as conn:
            jobs = conn.execute(
                "SELECT status, count(*) FROM predictions_batchjob GROUP BY status"
            ).fetchall()
            recordings = conn.execute(
                "SELECT status, count(*) FROM predictions_recording GROUP BY status"
            ).fetchall()
    finally:
        stack.stop()
        redis.kill()
    total_errors = sum(m["errors"] + m["non2xx"] for m in minutes) + len(errors)
    print(f"errors: {total_errors:.0f} (target 0); side work: batch {jobs}, recording {recordings}")
    start = min(WARM_UP_MINUTES, MINUTES - 1)
    hours = (MINUTES - start) / 60
    growth = {
        pid: (memory[MINUTES][pid] - memory[start][pid]) / hours
        for pid in memory[MINUTES]
        if pid in memory.get(start, {})
    }
    print(
        "resident memory growth after warm-up, MiB/h per process: "
        + ", ".join(
            f"{pid} ({names.get(pid, '?')}, {memory[start][pid]:.0f} -> "
            f"{memory[MINUTES][pid]:.0f} MiB): {rate:+.1f}"
            for pid, rate in sorted(growth.items())
        )
        + f"; max {max(growth.values()):+.1f} (target <= 8)"
    )
    first, last = minutes[0]["p99_ms"], minutes[-1]["p99_ms"]
    print(
        f"p99 first minute {first:.1f} ms, last minute {last:.1f} ms: "
        f"{100 * (last - first) / first:+.0f}% (target within 10%)"
    )
    print(f"PostgreSQL connections per minute: {connections}; Redis MiB: "
          f"{[round(m, 1) for m in redis_mib]}")  # fmt: skip
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
