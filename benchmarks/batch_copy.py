"""What a batch row costs PostgreSQL, by what the predictions table carries: the same rows
COPYed (binary, 20,000 a transaction, one connection) into a fresh copy of the table as
migrated, then into copies with one thing added back or taken away (the user foreign key, each
index). Prints rows/s, PostgreSQL's CPU per 1,000 rows (every PostgreSQL process, from /proc)
and WAL bytes per row, each against the table as it is.

    python -m benchmarks.batch_copy      (BENCH_ROWS=200000 by default; under the CPU lock)
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from benchmarks.api import DB_NAME, PG, fresh_database, run, server_env
from benchmarks.batch import postgres_cpu

ROWS = int(os.environ.get("BENCH_ROWS", "200000"))
CHUNK_ROWS = 20_000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
COLUMNS = (
    ("user_id", "int8"), ("measured_at", "timestamptz"), ("created_at", "timestamptz"),
    ("heart_rate", "float8"), ("ecg", "float8"), ("emg", "float8"), ("gsr", "float8"),
    ("respiration", "float8"), ("stress_level", "varchar"), ("confidence", "float8"),
    ("probability_low", "float8"), ("probability_medium", "float8"),
    ("probability_high", "float8"), ("calibrated", "bool"), ("model_version_id", "int8"),
    ("source", "varchar"), ("note", "varchar"), ("batch_job_id", "uuid"), ("row_number", "int4"),
)  # fmt: skip
NAMES = ", ".join(name for name, _ in COLUMNS)
USER_FK = (
    "ALTER TABLE v ADD FOREIGN KEY (user_id) REFERENCES accounts_user (id) "
    "DEFERRABLE INITIALLY DEFERRED"
)
# (label, SQL run on the fresh copy, which has the table's indexes but no foreign key)
VARIANTS = (
    ("as migrated (user FK, 3 indexes)", [USER_FK]),
    ("+ index on model_version (before 0012)", [USER_FK, "CREATE INDEX ON v (model_version_id)"]),
    ("- user foreign key", []),
    ("- (user, time) index", [USER_FK, "DROP INDEX {user_time}"]),
    ("- unique (job, row) index", [USER_FK, "DROP INDEX {batch_row}"]),
)


def copy_blocks(conn: psycopg.Connection) -> list[bytes]:
    """ROWS rows as a batch job writes them, in COPY's binary form, CHUNK_ROWS per block."""
    user_id = conn.execute("SELECT id FROM accounts_user LIMIT 1").fetchone()[0]
    rng, now, job = random.Random(7), datetime.now(UTC), uuid.uuid4()
    start = datetime(2026, 11, 1, tzinfo=UTC)
    conn.execute(
        "CREATE TEMP TABLE staging (LIKE predictions_prediction INCLUDING DEFAULTS INCLUDING "
        "IDENTITY)"
    )
    with conn.cursor() as cur, cur.copy(f"COPY staging ({NAMES}) FROM STDIN (FORMAT BINARY)") as cp:
        cp.set_types([pg_type for _, pg_type in COLUMNS])
        for i in range(ROWS):
            low, medium = rng.random() / 2, rng.random() / 2
            cp.write_row((
                user_id, start + timedelta(seconds=rng.randrange(2_000_000)), now,
                rng.uniform(45, 140), rng.random(), rng.random(), rng.random(), rng.random(),
                ("low", "medium", "high")[i % 3], max(low, medium, 1 - low - medium),
                low, medium, 1 - low - medium, False, 1, "batch", "", job, i + 1,
            ))  # fmt: skip
    blocks = []
    with conn.cursor() as cur:
        for first in range(1, ROWS + 1, CHUNK_ROWS):
            query = (
                f"COPY (SELECT {NAMES} FROM staging WHERE row_number >= {first} "  # noqa: S608
                f"AND row_number < {first + CHUNK_ROWS}) TO STDOUT (FORMAT BINARY)"
            )
            with cur.copy(query) as cp:
                blocks.append(b"".join(bytes(part) for part in cp))
    conn.execute("DROP TABLE staging")
    return blocks


def one(conn: psycopg.Connection, blocks: list[bytes], statements: list[str]) -> tuple[float, ...]:
    conn.execute("DROP TABLE IF EXISTS v")
    conn.execute("CREATE TABLE v (LIKE predictions_prediction INCLUDING ALL)")
    indexes = dict(conn.execute("SELECT indexdef, indexname FROM pg_indexes WHERE tablename = 'v'"))
    names = {
        "user_time": next(n for d, n in indexes.items() if "measured_at" in d),
        "batch_row": next(n for d, n in indexes.items() if "batch_job_id" in d),
    }
    for statement in statements:
        conn.execute(statement.format(**names))
    conn.execute("CHECKPOINT")  # every variant starts from the same state of the WAL
    lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    cpu, started = postgres_cpu(), time.perf_counter()
    with psycopg.connect(f"{PG}/{DB_NAME}") as writer:
        for block in blocks:
            with writer.transaction(), writer.cursor() as cur:  # noqa: SIM117
                with cur.copy(f"COPY v ({NAMES}) FROM STDIN (FORMAT BINARY)") as cp:
                    cp.write(block)
    elapsed, cpu = time.perf_counter() - started, postgres_cpu() - cpu
    wal = conn.execute("SELECT pg_current_wal_lsn() - %s::pg_lsn", (lsn,)).fetchone()[0]
    conn.execute("DROP TABLE v")
    return ROWS / elapsed, cpu / ROWS * 1e6, int(wal) / ROWS


def main() -> int:
    fresh_database()
    env = server_env(
        Path(tempfile.mkdtemp(prefix="stress-copy-bench-")), "redis://127.0.0.1:6379/0"
    )
    run([sys.executable, "manage.py", "migrate", "--no-input"], env)
    make_user = "from accounts.models import User; User.objects.create_user('copy')"
    run([sys.executable, "manage.py", "shell", "-c", make_user], env)
    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        blocks = copy_blocks(conn)
        print(f"{ROWS:,} rows COPYed, {CHUNK_ROWS:,} a transaction, one connection; "
              f"{ROUNDS} rounds (each round: every variant once)", flush=True)  # fmt: skip
        results: dict[str, list[tuple[float, ...]]] = {label: [] for label, _ in VARIANTS}
        for _ in range(ROUNDS):
            for label, statements in VARIANTS:
                results[label].append(one(conn, blocks, statements))
    base_cpu = min(r[1] for r in results[VARIANTS[0][0]])
    for label, runs in results.items():
        rate = max(r[0] for r in runs)
        cpu = min(r[1] for r in runs)
        wal = min(r[2] for r in runs)
        print(
            f"{label:<40} {rate:>9,.0f} rows/s  PostgreSQL {cpu:5.1f} ms CPU per 1,000 rows "
            f"({cpu / base_cpu:4.0%} of the table as migrated)  WAL {wal:4.0f} bytes per row"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
