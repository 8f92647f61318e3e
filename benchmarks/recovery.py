"""Recovery benchmark: a 300,000-row job whose only worker is SIGKILLed a fifth of the way
through; a replacement starts at once. Prints how long after the kill the job was done, and
checks every row is stored exactly once.

    make bench      (or: python -m benchmarks.recovery)

Target (issue 13): done within 60 s of the kill.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from mlcore.train import train_and_save
from stressapp.tests.stack import OwnRedis, Stack, readings_csv
from stressapp.tests.support import wait_for

ROWS = int(os.environ.get("BENCH_RECOVERY_ROWS", "300000"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def state(database_url: str, job_id: str) -> tuple[str, int]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT status, processed_rows FROM predictions_batchjob WHERE id = %s", (job_id,)
        ).fetchone()


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="stress-recovery-"))
    database = f"stressapp_recovery_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    url = f"{PG}/{database}"
    redis = OwnRedis(folder)
    redis.start()
    stack = Stack(folder, url, redis.url, train_and_save(folder / "models", quick=True))
    stack.env["BATCH_CHUNK_ROWS"] = "20000"
    try:
        stack.prepare()
        stack.start()
        time.sleep(3)
        status, body, _ = stack.request("/api/batch-jobs", readings_csv(ROWS), "text/csv")
        assert status == 202, body
        job_id = json.loads(body)["id"]
        assert wait_for(lambda: state(url, job_id)[1] >= ROWS // 5, 120)
        stack.kill_worker()
        killed = time.monotonic()
        at_kill = state(url, job_id)[1]
        stack.worker = stack.start_worker()
        assert wait_for(lambda: state(url, job_id)[0] == "succeeded", 300, 0.2)
        took = time.monotonic() - killed
        with psycopg.connect(url) as conn:
            count, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT row_number) FROM predictions_prediction "
                "WHERE batch_job_id = %s",
                (job_id,),
            ).fetchone()
        print(
            f"{ROWS:,}-row job, its only worker SIGKILLed at {at_kill:,} rows: done {took:.1f} s "
            f"after the kill (target <= 60 s); rows stored {count:,}, distinct {distinct:,}"
        )
    finally:
        stack.stop()
        redis.kill()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
