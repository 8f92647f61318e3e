"""History at scale: 10 million stored predictions across 1,000 people, one of them with 1
million, and what that person's pages and exports cost.

The rows are written by PostgreSQL itself (INSERT ... SELECT generate_series, one year of
readings per person), into a database of its own that is kept for the next run (`--fresh`
rebuilds it). Then, for the person with 1M rows and for a typical one (~9,000), in this
process through Django's test client (the real views, templates and middleware; no network):
the history page, the dashboard, the timeline, the day and week summaries over the API, and
the CSV export streamed to the end (time to its first bytes, rows per second, this process's
memory growth). Each query behind the pages is shown with EXPLAIN (ANALYZE, BUFFERS).

The summaries read each person's days (PredictionDay, kept by triggers: migration 0012);
the same run times the computation from every row, as before, for the person with 1M rows
(the reference the figures are ratios against), and what the triggers add to writes (a
20,000-row COPY and 500 single INSERTs, with and without them, rolled back).

Then, on a scratch database of its own, whether writers of one person wait for each other
(the write-contention section): 16 connections each committing single-row INSERTs of the same
person for a few seconds, and two connections each COPYing 50,000 rows of the same person at
once, as two workers scoring chunks of one batch do; each with the triggers and without them
(ALTER TABLE ... DISABLE TRIGGER), alternating, in the same run.

    make bench      (or: python -m benchmarks.history [--fresh] [--contention-only])

Target (issue 22): every page within 100 ms; exports stream (first bytes at once, memory flat).
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from datetime import timedelta

import psycopg

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_HISTORY_DB", "stressapp_bench_history")
# Rebuilt each run: the write-contention measurement starts from an empty, migrated database.
CONTENTION_DB = os.environ.get("BENCH_CONTENTION_DB", "stressapp_bench_contention")
PEOPLE = 1_000
BIG = 1_000_000
TOTAL = 10_000_000
REPEATS = 7


def database_ready() -> bool:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        return bool(
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        )


def fresh_database(name: str = DB_NAME) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(name: str = DB_NAME) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "stressapp.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "benchmark-only-" + "k" * 40,
            "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_COOKIES": "false",
            "DATABASE_URL": f"{PG}/{name}",
            "REDIS_URL": os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/5"),
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.conf import settings

    # Pages name static files; without a collectstatic run, plain storage names them as is.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# One year of readings per person, evenly spread, levels and probabilities varied.
FILL_SQL = """
INSERT INTO predictions_prediction (
    user_id, measured_at, created_at, stress_level, confidence, probability_low,
    probability_medium, probability_high, calibrated, model_version_id, source, note
)
SELECT u.id,
       now() - (g.i * (interval '365 days' / u.n)),
       now(),
       (ARRAY['low', 'medium', 'high'])[1 + (g.i %% 3)],
       0.5 + (g.i %% 50) / 100.0, 0.3, 0.3, 0.4, false, %(version)s, 'api', ''
FROM (SELECT id, CASE WHEN username = 'big' THEN %(big)s ELSE %(each)s END AS n
      FROM accounts_user WHERE username LIKE 'big' OR username LIKE 'person%%') u
CROSS JOIN LATERAL generate_series(1, u.n) AS g(i)
"""


def fill() -> None:
    from django.db import connection

    from accounts.models import User
    from predictions.models import ModelVersion

    version = ModelVersion.objects.create(
        version="bench-history", path="none", sha256="0" * 64, is_active=True
    )
    User.objects.bulk_create(
        [User(username="big", email="big@example.org")]
        + [User(username=f"person{i:04d}", email=f"p{i}@example.org") for i in range(PEOPLE - 1)]
    )
    each = (TOTAL - BIG) // (PEOPLE - 1)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FILL_SQL, {"version": version.id, "big": BIG, "each": each})
        cursor.execute("ANALYZE predictions_prediction")
    print(f"wrote {BIG + each * (PEOPLE - 1):,} rows in {time.perf_counter() - started:.0f} s")


def timed(call, repeats: int = REPEATS) -> float:
    """Median milliseconds of `call` over `repeats` runs (after one warm-up)."""
    call()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs)


def explain(queryset, title: str) -> None:
    plan = queryset.explain(analyze=True, buffers=True)
    lines = plan.splitlines()
    print(f"  EXPLAIN (ANALYZE, BUFFERS) {title}:")
    for line in lines[:8] + (["    ..."] if len(lines) > 10 else []) + lines[-2:]:
        print(f"    {line}")


def pages(username: str) -> dict[str, float]:
    from django.test import Client

    from accounts.models import User

    user = User.objects.get(username=username)
    client = Client()
    client.force_login(user)

    def get(url: str):
        def call() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return call

    return {
        "history page": timed(get("/history/")),
        "dashboard": timed(get("/")),
        "timeline (default range)": timed(get("/timeline/")),
        "day summary, all history (API)": timed(get("/api/predictions/summary?bucket=day")),
        "week summary, a year (API)": timed(
            get(
                "/api/predictions/summary?bucket=week&from="
                + (user.date_joined - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
            )
        ),
    }


def export(username: str) -> dict[str, float]:
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    response = client.get("/accounts/export.csv")
    stream = iter(response.streaming_content)
    first = next(stream)
    first_ms = (time.perf_counter() - t0) * 1000
    size, lines = len(first), first.count(b"\n")
    for chunk in stream:
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - t0
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before
    return {
        "first_bytes_ms": first_ms,
        "rows": lines - 1,
        "rows_per_s": (lines - 1) / seconds,
        "seconds": seconds,
        "mb": size / 1e6,
        "peak_growth_mb": grown,
    }


def against_rows(user) -> None:
    """The days summed from the rollup against the same days summed from every row (the way
    every summary was computed before migration 0012), in this run."""
    import zoneinfo

    from django.utils import timezone

    from predictions import selectors

    tz = zoneinfo.ZoneInfo(user.time_zone)
    now = timezone.now()
    print(f"\n{user.username}: the days from the rollup against summing every row (ms)")
    for name, start in (("all history", None), ("7 days (timeline)", now - timedelta(days=7))):
        rows = timed(lambda s=start: selectors._rows_by_day(user=user, tz=tz, start=s, end=now))
        rollup = timed(lambda s=start: selectors._day_totals(user=user, start=s, end=now))
        same = selectors._rows_by_day(user=user, tz=tz, start=start, end=now)
        got = selectors._day_totals(user=user, start=start, end=now)
        agree = same.keys() == got.keys() and all(
            same[d].counts == got[d].counts
            and abs(same[d].confidence_sum - got[d].confidence_sum) < 1e-6
            for d in same
        )
        print(
            f"  {name:<20} rows {rows:8.1f}  rollup {rollup:6.1f}  = {rows / rollup:5.1f}x faster"
            f"  ({len(got)} days, {'same answers' if agree else 'ANSWERS DIFFER'})"
        )


UNCOMPACTED = 50_000
# One statement per reading, as the predict API writes them: each adds its own row to the
# person's day until compaction folds them.
POST_ONE_BY_ONE = """
DO $$ BEGIN FOR i IN 1..{n} LOOP
    INSERT INTO predictions_prediction (
        user_id, measured_at, created_at, stress_level, confidence, probability_low,
        probability_medium, probability_high, calibrated, model_version_id, source, note
    ) VALUES ({user}, now() - i * interval '1 ms', now(), 'high', 0.7, 0.1, 0.2, 0.7, false,
              {version}, 'api', 'bench-uncompacted');
END LOOP; END $$
"""


def uncompacted(user) -> None:
    """The pages while today has 50,000 rows not yet compacted (a minute of the predict API
    at its fastest, for one person), then the compaction's time and the pages after it."""
    from django.db import connection

    from predictions.models import Prediction, PredictionDay
    from predictions.services import prediction_days_compact

    version = Prediction.objects.filter(user=user).values_list("model_version_id", flat=True)[0]
    with connection.cursor() as cursor:
        cursor.execute(POST_ONE_BY_ONE.format(n=UNCOMPACTED, user=user.id, version=version))
    rows = PredictionDay.objects.filter(user=user).count()
    print(f"\n{user.username}: {rows:,} rows of days, {UNCOMPACTED:,} of them not compacted (ms)")
    before = pages(user.username)
    t0 = time.perf_counter()
    deleted, written = prediction_days_compact()
    compact_ms = (time.perf_counter() - t0) * 1000
    after = pages(user.username)
    for name in before:
        print(f"  {name:<30} before compaction {before[name]:7.1f}  after {after[name]:7.1f}")
    print(f"  compaction: {deleted:,} rows folded into {written:,} in {compact_ms:.0f} ms")
    # The benchmark's database is kept: its readings go again.
    Prediction.objects.filter(user=user, note="bench-uncompacted").delete()
    prediction_days_compact()


def write_cost(user) -> None:
    """What the triggers add to writes: the same writes with them and without them
    (session_replication_role = replica skips triggers), each rolled back."""
    from django.db import connection, transaction

    from predictions.models import Prediction

    columns = (
        "user_id, measured_at, created_at, stress_level, confidence, probability_low, "
        "probability_medium, probability_high, calibrated, model_version_id, source, note"
    )
    version = Prediction.objects.filter(user=user).values_list("model_version_id", flat=True)[0]
    rows = [
        (
            user.id,
            f"2020-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "2020-01-01T00:00:00Z",
            "low",
            0.6,
            0.6,
            0.2,
            0.2,
            False,
            version,
            "batch",
            "",
        )
        for i in range(20_000)
    ]
    placeholders = ", ".join(["%s"] * 12)
    # Only the constant column list above: nothing from outside reaches the text.
    single = f"INSERT INTO predictions_prediction ({columns}) VALUES ({placeholders})"  # noqa: S608

    def run(triggers: bool, kind: str) -> float:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SET LOCAL session_replication_role = {'origin' if triggers else 'replica'}"
            )
            t0 = time.perf_counter()
            if kind == "copy":
                with cursor.cursor.copy(
                    f"COPY predictions_prediction ({columns}) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                for row in rows[:500]:
                    cursor.execute(single, row)
            ms = (time.perf_counter() - t0) * 1000
            transaction.set_rollback(True)
        return ms

    print("\nwhat the triggers add to writes (median of 3, ms, rolled back):")
    for kind, label in (("copy", "COPY of 20,000 rows"), ("single", "500 single INSERTs")):
        without = statistics.median(run(False, kind) for _ in range(3))
        with_ = statistics.median(run(True, kind) for _ in range(3))
        print(f"  {label:<22} without {without:7.1f}  with {with_:7.1f}  = {with_ / without:4.2f}x")


CONNECTIONS = 16
INSERT_SECONDS = 5.0
COPY_ROWS = 50_000
_COLUMNS = (
    "user_id, measured_at, created_at, stress_level, confidence, probability_low, "
    "probability_medium, probability_high, calibrated, model_version_id, source, note"
)


def _insert_rate(user_id: int, version_id: int) -> float:
    """Rows a second that 16 connections commit, each one single-row INSERT at a time
    (autocommit), all for the same person and day: an integration posting from 16 threads."""
    import threading

    url = f"{PG}/{CONTENTION_DB}"
    # Only the constant column list: nothing from outside reaches the text.
    sql = (
        f"INSERT INTO predictions_prediction ({_COLUMNS}) "  # noqa: S608
        "VALUES (%s, now(), now(), 'low', 0.6, 0.6, 0.2, 0.2, false, %s, 'api', '')"
    )
    connections = [psycopg.connect(url, autocommit=True) for _ in range(CONNECTIONS)]
    counts = [0] * CONNECTIONS
    start = threading.Barrier(CONNECTIONS + 1)
    stop = threading.Event()

    def write(i: int) -> None:
        conn = connections[i]
        start.wait()
        while not stop.is_set():
            conn.execute(sql, (user_id, version_id), prepare=True)
            counts[i] += 1

    threads = [threading.Thread(target=write, args=(i,)) for i in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(INSERT_SECONDS)
    stop.set()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - t0
    for conn in connections:
        conn.close()
    return sum(counts) / seconds


def _copy_rate(user_id: int, version_id: int) -> float:
    """Rows a second of two connections each COPYing 50,000 rows of the same person (spread
    over 30 days) in one transaction at once, as two workers scoring chunks of one job."""
    import threading
    from datetime import UTC, datetime

    url = f"{PG}/{CONTENTION_DB}"
    base = datetime.now(UTC) - timedelta(days=30)
    rows = [
        (
            user_id,
            base + timedelta(seconds=52 * i),
            base,
            ("low", "medium", "high")[i % 3],
            0.6,
            0.6,
            0.2,
            0.2,
            False,
            version_id,
            "batch",
            "",
        )
        for i in range(COPY_ROWS)
    ]
    connections = [psycopg.connect(url) for _ in range(2)]
    start = threading.Barrier(3)

    def write(conn) -> None:
        start.wait()
        copy_sql = f"COPY predictions_prediction ({_COLUMNS}) FROM STDIN"
        with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()

    threads = [threading.Thread(target=write, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    start.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - t0
    for conn in connections:
        conn.close()
    return 2 * COPY_ROWS / seconds


def write_contention() -> None:
    """Whether writers of one person wait for each other: each kind of write with the triggers
    and without them, alternating, three times; medians and their ratio. Runs on its own
    scratch database (this process's Django points at it)."""
    from accounts.models import User
    from predictions.models import ModelVersion

    user = User.objects.create(username="writer", email="writer@example.org")
    version = ModelVersion.objects.create(
        version="bench-contention", path="none", sha256="0" * 64, is_active=True
    )
    url = f"{PG}/{CONTENTION_DB}"

    def triggers(on: bool) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                f"ALTER TABLE predictions_prediction {'ENABLE' if on else 'DISABLE'} TRIGGER USER"
            )

    print("\nwrite contention: one person, with and without the triggers (median of 3, rows/s)")
    for label, rate in (
        (f"{CONNECTIONS} connections, single-row INSERTs", _insert_rate),
        (f"2 connections, COPY of {COPY_ROWS:,} rows each", _copy_rate),
    ):
        with_, without = [], []
        for _ in range(3):
            triggers(True)
            with_.append(rate(user.id, version.id))
            triggers(False)
            without.append(rate(user.id, version.id))
        triggers(True)
        w, wo = statistics.median(with_), statistics.median(without)
        print(f"  {label:<42} without {wo:9,.0f}  with {w:9,.0f}  = {w / wo:4.2f}x")
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT count(*) FROM predictions_predictionday").fetchone()[0]
    print(f"  ({rows:,} rows in predictions_predictionday after the writes)")


def contention_only() -> int:
    fresh_database(CONTENTION_DB)
    setup_django(CONTENTION_DB)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    write_contention()
    return 0


def main() -> int:
    if "--contention-only" in sys.argv:
        return contention_only()
    if "--fresh" in sys.argv or not database_ready():
        fresh_database()
    setup_django()
    from django.core.management import call_command

    from accounts.models import User
    from predictions.models import Prediction, PredictionDay

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - started:.1f} s (the first run after 0012 backfills)")
    if not User.objects.filter(username="big").exists():
        fill()
    from predictions.selectors import (
        HistoryFilters,
        prediction_list_for_user,
        prediction_timeline_for_user,
    )

    total = Prediction.objects.count()
    big = User.objects.get(username="big")
    typical = User.objects.get(username="person0500")
    print(f"{total:,} predictions, {User.objects.count():,} people")
    for user in (big, typical):
        n = Prediction.objects.filter(user=user).count()
        print(f"\n{user.username}: {n:,} rows (median of {REPEATS}, ms)")
        for name, ms in pages(user.username).items():
            print(f"  {name:<30} {ms:8.1f} ms {'ok' if ms <= 100 else 'OVER 100 ms'}")
    print("\nqueries behind the pages, for the person with 1M rows:")
    now = big.date_joined
    explain(prediction_list_for_user(user=big, filters=HistoryFilters())[:50], "history page")
    explain(
        Prediction.objects.filter(user=big, measured_at__gte=now - timedelta(days=28))
        .order_by()
        .values("stress_level"),
        "28 days of rows (summaries)",
    )
    explain(
        Prediction.objects.filter(
            user=big, measured_at__gte=now - timedelta(days=7), measured_at__lt=now
        ).order_by("-measured_at")[:2000],
        "timeline (7 days, newest 2000)",
    )
    prediction_timeline_for_user(user=big, start=now - timedelta(days=7), end=now)
    from django.db.models import Sum

    explain(
        PredictionDay.objects.filter(user=big)
        .order_by()
        .values("day")
        .annotate(total_sum=Sum("total"), seconds_sum=Sum("seconds"))
        .filter(total_sum__gt=0),
        "all of the person's days (rollup, each day's rows summed)",
    )
    cut = now - timedelta(days=7)
    explain(
        Prediction.objects.filter(
            user=big, measured_at__gte=cut, measured_at__lt=cut + timedelta(days=1)
        )
        .order_by()
        .values("stress_level", "confidence", "probability_low"),
        "a cut day's rows at a range's end (at most a day)",
    )
    against_rows(big)
    uncompacted(big)
    write_cost(big)
    for user in (big, typical):
        e = export(user.username)
        print(
            f"\nCSV export, {user.username}: first bytes after {e['first_bytes_ms']:.0f} ms, "
            f"{e['rows']:,} rows ({e['mb']:.0f} MB) in {e['seconds']:.1f} s = "
            f"{e['rows_per_s']:,.0f} rows/s; this process's peak memory grew "
            f"{e['peak_growth_mb']:.0f} MB"
        )
    # Its own process: Django here points at the 10M-row database.
    import subprocess

    subprocess.run([sys.executable, "-m", "benchmarks.history", "--contention-only"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
