"""Recording benchmark, through the service: a 1 h drivedb-rate EDF uploaded to the API and
scored by two Celery worker processes (PostgreSQL, Redis), timed from the upload until the
recording has succeeded and its windows are in PostgreSQL; each process's peak resident
memory; then the recording page of a 24 h recording, rendered server side.

    make bench      (or: python -m benchmarks.recording_service)

Targets (issue 12): upload to done <= 20 s, peak memory <= 500 MB, the 24 h page <= 500 ms.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import psycopg

from benchmarks.api import DB_NAME, PG, ROOT, fresh_database, prepare_server, server_env
from benchmarks.api import wait_ready as wait_http
from benchmarks.batch import descendants, peak_rss_mb, start_web, start_worker
from mlcore import drivedb
from mlcore.drive_files import drive_slice, write_edf

PORT = 8814
REDIS = "redis://127.0.0.1:6379/4"


def multipart(path: Path, fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    body = "".join(parts).encode() + head.encode() + path.read_bytes()
    body += f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload(path: Path, token: str, **fields: str) -> dict:
    body, content_type = multipart(path, fields)
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/api/recordings",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
        return json.loads(response.read())


def wait_done(recording: dict, token: str, timeout: float) -> dict:
    request = urllib.request.Request(  # noqa: S310 - localhost
        recording["url"], headers={"Authorization": f"Bearer {token}"}
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            state = json.loads(response.read())
        if state["status"] in ("succeeded", "failed", "cancelled"):
            return state
        time.sleep(0.1)
    raise RuntimeError(f"recording {recording['id']} not done after {timeout:.0f} s")


def day_long_edf(path: Path) -> Path:
    """24 h at drivedb's rate: drive06 played again and again (a day of real signal shape)."""
    rows = drive_slice(drivedb.load_drive("drive06"), 0, 24 * 3600)
    repeats = int(np.ceil(24 * 3600 / (rows.shape[0] / drivedb.FRAME_HZ)))
    day = np.concatenate([rows] * repeats)[: int(24 * 3600 * drivedb.FRAME_HZ)]
    day[:, 0] = np.arange(day.shape[0]) / drivedb.FRAME_HZ
    return write_edf(path, day)


PAGE_TIMING = """
import statistics, time
from django.test import Client
from accounts.models import User
from predictions.models import Recording
recording = Recording.objects.get(pk="{recording_id}")
client = Client(HTTP_HOST="localhost")
client.force_login(User.objects.get(pk=recording.user_id))
url = f"/recordings/{{recording.id}}/"
assert client.get(url).status_code == 200
times = []
for _ in range(7):
    started = time.perf_counter()
    response = client.get(url)
    times.append((time.perf_counter() - started) * 1000)
median, size = statistics.median(times), len(response.content)
print(f"{{median:.0f}} {{min(times):.0f}} {{max(times):.0f}} {{size}}")
"""


def main() -> int:
    fresh_database()
    data_dir = Path(tempfile.mkdtemp(prefix="stress-recording-bench-"))
    env = server_env(
        data_dir, REDIS, CELERY_QUEUE="bench-recordings", STATIC_ROOT=str(data_dir / "static")
    )
    token = prepare_server(env, username="r")
    # Debug is off: pages need the collected, hashed static files.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        env=env,
        cwd=ROOT,
        check=True,
    )
    hour = write_edf(data_dir / "hour.edf", drive_slice(drivedb.load_drive("drive06"), 0, 3600))
    web = start_web(env, PORT)
    worker = start_worker(env, "bench-recordings")
    try:
        wait_http(f"http://127.0.0.1:{PORT}/api/health")
        time.sleep(2)  # the worker processes load the model as they start
        started = time.perf_counter()
        recording = upload(hour, token, rest_start_s="0", rest_end_s="180")
        accepted = time.perf_counter() - started
        state = wait_done(recording, token, timeout=300)
        done = time.perf_counter() - started
        with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
            stored = conn.execute(
                "SELECT count(*) FROM predictions_prediction WHERE recording_id = %s",
                (state["id"],),
            ).fetchone()[0]
        print(
            f"1 h recording ({hour.stat().st_size / 1e6:.1f} MB EDF): {state['status']}, "
            f"{stored} windows in PostgreSQL, calibrated={state['calibrated']}; upload "
            f"accepted after {accepted:.1f} s, done after {done:.1f} s (target <= 20 s)",
            flush=True,
        )
        day = day_long_edf(data_dir / "day.edf")
        started = time.perf_counter()
        long_state = wait_done(upload(day, token), token, timeout=1200)
        day_done = time.perf_counter() - started
        pids = descendants(web.pid) + descendants(worker.pid)
        peaks = peak_rss_mb(pids)
        print(
            f"24 h recording ({day.stat().st_size / 1e6:.0f} MB EDF): {long_state['status']}, "
            f"{long_state['total_rows']} windows, done after {day_done:.1f} s",
            flush=True,
        )
        print(
            "peak resident memory per process (MB): "
            + ", ".join(f"{pid}: {mb:.0f}" for pid, mb in sorted(peaks.items()))
            + f"; max {max(peaks.values()):.0f} MB (target <= 500)",
            flush=True,
        )
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            process.wait(timeout=30)
    timing = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            PAGE_TIMING.format(recording_id=long_state["id"]),
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    median, fastest, slowest, size = timing[-4:]
    print(
        f"page of the 24 h recording: median {median} ms (min {fastest}, max {slowest}) over 7 "
        f"renders, {int(size) / 1e3:.0f} kB (target <= 500 ms)"
    )
    shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
