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
authentication and throttling leave on this machine. BENCH_ROUNDS rounds (default 2) run the
three one after the other; each prints the CPU time per request of our processes, PostgreSQL
and Redis, since on two shared cores every one of them takes from the others.
BENCH_OUR_SERVER=gunicorn-sync (or gunicorn-gthread) serves ours and the floor with gunicorn
instead, for comparison.

Targets (issue 14): ours >= 75% of the floor's rate in the same round, >= 2.5x the
reference, p99 <= 25 ms at 16 connections.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
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
TARGET_FLOOR_SHARE, TARGET_REFERENCE_RATIO, TARGET_P99_MS = 0.75, 2.5, 25.0
OURS_PORT, REFERENCE_PORT = 8811, 8812


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
    """CPU seconds (user + system) used so far by our server, PostgreSQL and Redis."""
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
        if command.startswith("postgres"):  # the server and its backends
            name = "postgres"
        elif "redis-server" in command:
            name = "redis"
        elif "stressapp.serve" in command or "gunicorn" in command:  # ours, its workers
            name = "ours"
        else:
            continue
        totals[name] += (int(fields[11]) + int(fields[12])) / ticks
    return totals


def measured(url: str, token: str = "") -> tuple[dict[str, float], dict[str, float]]:
    """wrk's figures, and the CPU milliseconds per request of each kind of process."""
    before = cpu_seconds()
    result = wrk(url, token)
    after = cpu_seconds()
    per_request = {
        name: 1000 * (after[name] - before[name]) / max(result["requests"], 1) for name in after
    }
    return result, per_request


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


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


def report(name: str, result: dict[str, float]) -> None:
    print(
        f"{name:<34} {result['rps']:>9.0f} req/s   p50 {result['p50_ms']:6.2f} ms   "
        f"p90 {result['p90_ms']:6.2f} ms   p99 {result['p99_ms']:6.2f} ms   "
        f"errors {result['errors']:.0f}   non-2xx {result['non2xx']:.0f}",
        flush=True,
    )


def one_round(env: dict[str, str], token: str, model_file: Path) -> tuple[float, float, float]:
    """ours, floor and reference once each; returns (ours/floor, ours/reference, our p99)."""
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

    report("reference (Flask+sklearn, no auth)", reference_result)
    report("ours (token auth + PostgreSQL)", ours_result)
    report("floor: ours with an empty view body", floor_result)
    for name, cpu in (("ours", ours_cpu), ("floor", floor_cpu)):
        print(
            f"  CPU per request, {name:<5}: "
            + ", ".join(f"{process} {ms:.3f} ms" for process, ms in cpu.items())
            + f" (total {sum(cpu.values()):.3f} ms)"
        )
    share = ours_result["rps"] / floor_result["rps"]
    ratio = ours_result["rps"] / reference_result["rps"]
    print(
        f"  ours/floor {share:.0%}, ours/reference {ratio:.2f}x, floor/reference "
        f"{floor_result['rps'] / reference_result['rps']:.2f}x; rows stored during the measured "
        f"run: {after - before} (requests: {ours_result['requests']:.0f})\n",
        flush=True,
    )
    return share, ratio, ours_result["p99_ms"]


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 1
    fresh_database()
    data_dir = Path(tempfile.mkdtemp(prefix="stress-bench-"))
    env = server_env(data_dir, REDIS, API_THROTTLE_USER="100000000/min")
    token = prepare_server(env)
    model_file = next((data_dir / "models").glob("*/model.joblib"))

    print(
        f"{CONNECTIONS} concurrent connections, {DURATION_S} s each, {WORKERS} gunicorn "
        f"workers per server, {os.cpu_count()} cores (shared with wrk)\n",
        flush=True,
    )
    met = []
    for round_number in range(1, ROUNDS + 1):
        print(f"round {round_number} of {ROUNDS}", flush=True)
        met.append(one_round(env, token, model_file))
    print(
        f"\ntargets: ours >= {TARGET_FLOOR_SHARE:.0%} of the floor, >= "
        f"{TARGET_REFERENCE_RATIO}x the reference, p99 <= {TARGET_P99_MS:g} ms"
    )
    for round_number, (share, ratio, p99) in enumerate(met, 1):
        print(
            f"round {round_number}: {share:.0%} of the floor "
            f"({'met' if share >= TARGET_FLOOR_SHARE else 'NOT met'}), {ratio:.2f}x the "
            f"reference ({'met' if ratio >= TARGET_REFERENCE_RATIO else 'NOT met'}), p99 "
            f"{p99:.1f} ms ({'met' if p99 <= TARGET_P99_MS else 'NOT met'})"
        )
    shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
