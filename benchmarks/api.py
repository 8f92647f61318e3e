"""API benchmark: POST /api/predict with a token, persisting to PostgreSQL, served as the
Procfile serves it (stressapp.serve), 16 concurrent clients (wrk), measured in the same round
as the seed's architecture (Flask + gunicorn + sklearn, no auth, no storage;
benchmarks/reference_flask.py).

    make bench      (needs wrk, PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379)

Both servers get the same model. Ours runs as in production (one process per core, two
threads each); the reference runs on gunicorn's defaults with WORKERS sync processes (twice
the cores, more than the seed's single worker). Only our server's throttle rate is raised, so
that one benchmark user is not throttled. A third run serves our stack with the predict view's
body emptied (benchmarks/floor_wsgi.py): the ceiling that the server, Django, DRF,
authentication and throttling leave on this machine. A fourth is PostgreSQL alone: pgbench
(PostgreSQL's client package), CONNECTIONS clients each INSERTing the row our server stored
last, with the same statement, prepared and committed one by one as ours are, into the same
table (its rows deleted afterwards): what the database can write. BENCH_ROUNDS rounds
(default 2) run the four one after the other; each prints the CPU time per request of our
processes, PostgreSQL, Redis and the load generator (wrk or pgbench), since on two shared
cores every one of them takes from the others. BENCH_OUR_SERVER=gunicorn-sync (or
gunicorn-gthread) serves ours and the floor with gunicorn instead, for comparison;
BENCH_OUR_SERVER=granian-asgi through Django's ASGI handler (benchmarks/serve_asgi.py);
WEB_CONCURRENCY and WEB_THREADS reach stressapp.serve as in production. BENCH_DB names the
benchmark's database (default stressapp_bench; dropped and made again).

Targets (issue 22): >= 5x the reference and p99 <= 20 ms at 16 connections; the aim, 25% of
pgbench's INSERT rate.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB", "stressapp_bench")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
DURATION_S = int(os.environ.get("BENCH_SECONDS", "15"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str((os.cpu_count() or 1) * 2)))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
# Issue 22: 5x the reference, p99 <= 20 ms, and (an aim) a quarter of the INSERTs a second
# PostgreSQL takes from pgbench for the same row.
TARGET_REFERENCE_RATIO, TARGET_P99_MS, TARGET_PGBENCH_SHARE = 5.0, 20.0, 0.25
OURS_PORT, REFERENCE_PORT = 8811, 8812
PGBENCH = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None)


def run(cmd: list[str], env: dict[str, str]) -> str:
    return subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - localhost
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not become ready")


def wrk(url: str, token: str = "", seconds: int = DURATION_S) -> dict[str, float]:
    env = {**os.environ, "BENCH_TOKEN": token}
    out = subprocess.run(
        [
            "wrk",
            f"-c{CONNECTIONS}",
            "-t2",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(ROOT / "benchmarks" / "post.lua"),
            url,
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    return {key: float(value) for key, value in re.findall(r"(\w+)=([\d.]+)", line)}


def gunicorn(
    app: str, port: int, env: dict[str, str], worker_class: str = "sync", threads: int = 1
) -> subprocess.Popen:
    """gunicorn on its defaults (an empty config file), as the seed ran it."""
    return subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--config",
            str(ROOT / "benchmarks" / "reference_gunicorn.conf.py"),
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            worker_class,
            "--threads",
            str(threads),
            "--access-logfile",
            "/dev/null",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )


def start_ours(target: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    """Our server as the Procfile runs it (stressapp.serve: granian, one process per core, two
    threads each). BENCH_OUR_SERVER=gunicorn-sync or gunicorn-gthread serves the same app
    with gunicorn instead (WORKERS processes; 4 threads for gthread), as issue 14 compared."""
    server = os.environ.get("BENCH_OUR_SERVER", "granian")
    if server == "granian-asgi":
        target = target.replace("stressapp.wsgi:", "stressapp.asgi:").replace("_wsgi:", "_asgi:")
        # Django keeps no connection across async requests (each runs in a thread of its
        # own): persistent ones would pile up to max_connections, as a first run here did.
        return subprocess.Popen(
            [sys.executable, "-m", "benchmarks.serve_asgi", target],
            env={**env, "HOST": "127.0.0.1", "PORT": str(port), "DB_CONN_MAX_AGE": "0"},
            cwd=ROOT,
        )
    if server.startswith("gunicorn-"):
        worker_class = server.removeprefix("gunicorn-")
        module = target.removesuffix(":application")
        return gunicorn(module, port, env, worker_class, 4 if worker_class == "gthread" else 1)
    return subprocess.Popen(
        [sys.executable, "-m", "stressapp.serve", target],
        env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
        cwd=ROOT,
    )


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by our server, PostgreSQL, Redis and the
    load generators this benchmark ran."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals = {"ours": 0.0, "postgres": 0.0, "redis": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        # The backends ("postgres: ...") and the server itself (".../bin/postgres -D ...").
        if command.startswith("postgres") or "/bin/postgres " in command:
            name = "postgres"
        elif "redis-server" in command:
            name = "redis"
        elif any(ours in command for ours in ("stressapp.serve", "serve_asgi", "gunicorn")):
            name = "ours"
        else:
            continue
        totals[name] += (int(fields[11]) + int(fields[12])) / ticks
        if name == "postgres":  # and its backends that ended (pgbench's), which it reaped
            totals[name] += (int(fields[13]) + int(fields[14])) / ticks
    # The load generator (wrk or pgbench) is our child: its CPU once it has been waited for.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    totals["client"] = children.ru_utime + children.ru_stime
    return totals


Figures = dict[str, float]


def cpu_per_request(run: Callable[[], Figures]) -> tuple[Figures, Figures]:
    """`run`'s figures, and the CPU milliseconds per request of each kind of process."""
    before = cpu_seconds()
    result = run()
    after = cpu_seconds()
    per_request = {
        name: 1000 * (after[name] - before[name]) / max(result["requests"], 1) for name in after
    }
    return result, per_request


def measured(url: str, token: str = "") -> tuple[dict[str, float], dict[str, float]]:
    """wrk's figures, and the CPU milliseconds per request of each kind of process."""
    return cpu_per_request(lambda: wrk(url, token))


def descendants(pid: int) -> list[int]:
    """This process and every process under it."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    children = [int(p) for p in out.stdout.split()]
    return [pid] + [d for child in children for d in descendants(child)]


def stop(process: subprocess.Popen) -> None:
    """The server and every process it started, by PID: granian's ASGI workers outlive their
    parent's SIGTERM (and would answer the next server's port)."""
    workers = descendants(process.pid)[1:]
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 10
    for pid in workers:
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue


def server_env(data_dir: Path, redis_url: str, **extra: str) -> dict[str, str]:
    """Production settings for a local benchmark: debug off, plain http, its own database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stressapp.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "benchmark-only-" + "k" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": redis_url,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def fresh_database() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def prepare_server(env: dict[str, str], username: str = "bench") -> str:
    """Migrate the benchmark database, train and activate a model, create a user; return
    an API token of that user."""
    manage = [sys.executable, "manage.py"]
    run([*manage, "migrate", "--no-input"], env)
    run([*manage, "train_model", "--no-eval"], env)
    create_user = f"from accounts.models import User; User.objects.create_user({username!r})"
    run([*manage, "shell", "-c", create_user], env)
    return run([*manage, "create_api_token", username, "--name", "bench"], env).strip()


def insert_statement(env: dict[str, str]) -> str:
    """The predict view's own INSERT (stressapp.postgresql.inserts), with %s for each value."""
    code = "from predictions.services import _PREDICTION_INSERT as i; print(i.sql)"
    out = run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], env)
    return next(line for line in out.splitlines() if line.startswith("INSERT"))


def pgbench_script(statement: str) -> tuple[str, list[str]]:
    """The INSERT and the values of the last row our server stored: the same row. Each value
    is a pgbench variable (-D), which -M prepared binds as a parameter, as our server does."""
    columns = re.search(r"\(([^)]*)\) VALUES", statement).group(1).split(", ")
    with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
        row = conn.execute(
            # Column names from our model's own INSERT, no outside text.
            f"SELECT {', '.join(f'{c}::text' for c in columns)} "  # noqa: S608
            "FROM predictions_prediction ORDER BY id DESC LIMIT 1"
        ).fetchone()
    # pgbench takes no empty variable: NULL and '' stay literals.
    literal = {None: "NULL", "": "''"}
    placeholders = iter(literal.get(value, f":v{i}") for i, value in enumerate(row))
    defines = [f"v{i}={value}" for i, value in enumerate(row) if value not in literal]
    return re.sub("%s", lambda _: next(placeholders), statement) + ";\n", defines


def pgbench(script: Path, defines: list[str], seconds: int = DURATION_S) -> dict[str, float]:
    """PostgreSQL's own rate for the row: CONNECTIONS clients, each INSERT prepared once and
    committed by itself (autocommit, as our view's), as many as the server takes."""
    variables = [argument for define in defines for argument in ("-D", define)]
    out = subprocess.run(
        [
            str(PGBENCH), "-h", "127.0.0.1", "-U", "postgres", "-n", "-M", "prepared",
            f"-c{CONNECTIONS}", "-j2", f"-T{seconds}", *variables, "-f", str(script), DB_NAME,
        ],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
    done = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    return {"rps": tps, "latency_ms": latency, "requests": done}


def pgbench_measured(script: Path, defines: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    return cpu_per_request(lambda: pgbench(script, defines))


def report(name: str, result: dict[str, float]) -> None:
    print(
        f"{name:<34} {result['rps']:>9.0f} req/s   p50 {result['p50_ms']:6.2f} ms   "
        f"p90 {result['p90_ms']:6.2f} ms   p99 {result['p99_ms']:6.2f} ms   "
        f"errors {result['errors']:.0f}   non-2xx {result['non2xx']:.0f}",
        flush=True,
    )


def one_round(
    env: dict[str, str], token: str, model_file: Path, insert_sql: str
) -> tuple[float, float, float, float]:
    """ours, floor, reference and pgbench once each; returns (ours/floor, ours/reference,
    our p99, ours/pgbench)."""
    predict = f"http://127.0.0.1:{OURS_PORT}/api/predict"
    ours = start_ours("stressapp.wsgi:application", OURS_PORT, env)
    try:
        wait_ready(f"http://127.0.0.1:{OURS_PORT}/api/health")
        wrk(predict, token, seconds=3)  # warm-up
        with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
            before = conn.execute("SELECT count(*) FROM predictions_prediction").fetchone()[0]
        ours_result, ours_cpu = measured(predict, token)
        with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
            after = conn.execute("SELECT count(*) FROM predictions_prediction").fetchone()[0]
    finally:
        stop(ours)

    floor = start_ours("benchmarks.floor_wsgi:application", OURS_PORT, env)
    try:
        wait_ready(f"http://127.0.0.1:{OURS_PORT}/api/health")
        wrk(predict, token, seconds=3)  # warm-up
        floor_result, floor_cpu = measured(predict, token)
    finally:
        stop(floor)

    # The seed's architecture on gunicorn's defaults (sync workers), with WORKERS processes.
    reference = gunicorn(
        "benchmarks.reference_flask:app",
        REFERENCE_PORT,
        {**os.environ, "REFERENCE_MODEL": str(model_file)},
    )
    try:
        time.sleep(1)
        wrk(f"http://127.0.0.1:{REFERENCE_PORT}/predict", seconds=3)  # warm-up
        reference_result = wrk(f"http://127.0.0.1:{REFERENCE_PORT}/predict")
    finally:
        stop(reference)

    # PostgreSQL alone: the row our server stored last, INSERTed by pgbench into the same
    # table; its rows are deleted afterwards so the next round's table is the same size.
    with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
        last_id = conn.execute("SELECT max(id) FROM predictions_prediction").fetchone()[0]
    text, defines = pgbench_script(insert_sql)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(text)
        script.flush()
        pgbench(Path(script.name), defines, seconds=3)  # warm-up
        database_result, database_cpu = pgbench_measured(Path(script.name), defines)
    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        conn.execute("DELETE FROM predictions_prediction WHERE id > %s", (last_id,))
        conn.execute("VACUUM predictions_prediction")

    report("reference (Flask+sklearn, no auth)", reference_result)
    report("ours (token auth + PostgreSQL)", ours_result)
    report("floor: ours with an empty view body", floor_result)
    print(
        f"{'pgbench: the same INSERT, prepared':<34} {database_result['rps']:>9.0f} INSERT/s "
        f"latency average {database_result['latency_ms']:.2f} ms",
        flush=True,
    )
    for name, cpu in (("ours", ours_cpu), ("floor", floor_cpu), ("pgbench", database_cpu)):
        print(
            f"  CPU per request, {name:<7}: "
            + ", ".join(f"{process} {ms:.3f} ms" for process, ms in cpu.items())
            + f" (total {sum(cpu.values()):.3f} ms)"
        )
    share = ours_result["rps"] / floor_result["rps"]
    ratio = ours_result["rps"] / reference_result["rps"]
    database_share = ours_result["rps"] / database_result["rps"]
    print(
        f"  ours/reference {ratio:.2f}x, ours/floor {share:.0%}, ours/pgbench "
        f"{database_share:.0%}, floor/reference "
        f"{floor_result['rps'] / reference_result['rps']:.2f}x, floor/pgbench "
        f"{floor_result['rps'] / database_result['rps']:.0%}; rows stored during the measured "
        f"run: {after - before} (requests: {ours_result['requests']:.0f})\n",
        flush=True,
    )
    return share, ratio, ours_result["p99_ms"], database_share


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 1
    if PGBENCH is None:
        print("pgbench is not installed (postgresql-client's package)", file=sys.stderr)
        return 1
    fresh_database()
    data_dir = Path(tempfile.mkdtemp(prefix="stress-bench-"))
    env = server_env(data_dir, REDIS, API_THROTTLE_USER="100000000/min")
    token = prepare_server(env)
    model_file = next((data_dir / "models").glob("*/forest.joblib"))
    insert_sql = insert_statement(env)

    print(
        f"{CONNECTIONS} concurrent connections, {DURATION_S} s each, {WORKERS} gunicorn "
        f"workers for the reference, ours as stressapp.serve runs it (WEB_CONCURRENCY "
        f"{os.environ.get('WEB_CONCURRENCY', 'one per core')}, WEB_THREADS "
        f"{os.environ.get('WEB_THREADS', 'default')}), {os.cpu_count()} cores (shared with "
        f"wrk and pgbench)\n",
        flush=True,
    )
    met = []
    for round_number in range(1, ROUNDS + 1):
        print(f"round {round_number} of {ROUNDS}", flush=True)
        met.append(one_round(env, token, model_file, insert_sql))
    print(
        f"\ntargets: >= {TARGET_REFERENCE_RATIO:g}x the reference, p99 <= {TARGET_P99_MS:g} ms; "
        f"aim: {TARGET_PGBENCH_SHARE:.0%} of pgbench's INSERT rate"
    )
    for round_number, (share, ratio, p99, database_share) in enumerate(met, 1):
        print(
            f"round {round_number}: {ratio:.2f}x the reference "
            f"({'met' if ratio >= TARGET_REFERENCE_RATIO else 'NOT met'}), p99 "
            f"{p99:.1f} ms ({'met' if p99 <= TARGET_P99_MS else 'NOT met'}), "
            f"{database_share:.0%} of pgbench "
            f"({'met' if database_share >= TARGET_PGBENCH_SHARE else 'NOT met'}), "
            f"{share:.0%} of the floor"
        )
    shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
