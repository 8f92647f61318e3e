"""Restarts survived: a Redis restart that loses every message, and a PostgreSQL restart,
in the middle of a job. Each test runs the whole service in subprocesses on instances of its
own (a redis-server on a spare port; a throwaway PostgreSQL cluster), restarts those, and
stops them at the end. The job still ends with every row exactly once; meanwhile the API
answers 503 in the error shape and /api/health says what is down; nothing is restarted by
hand."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import psycopg
import pytest

from stressapp.tests.stack import OwnPostgres, OwnRedis, Stack, readings_csv
from stressapp.tests.support import require_service, wait_for

pytestmark = pytest.mark.worker

ROWS = 60_000
READING = json.dumps(
    {"heart_rate": 72, "ecg": 0.4, "emg": 0.2, "gsr": 0.5, "respiration": 0.3}
).encode()


def _job_state(database_url: str, job_id: str) -> tuple[str, int]:
    try:
        with psycopg.connect(database_url, connect_timeout=2) as conn:
            return conn.execute(
                "SELECT status, processed_rows FROM predictions_batchjob WHERE id = %s",
                (job_id,),
            ).fetchone()
    except psycopg.OperationalError:
        return ("unknown", -1)


def _submit(stack: Stack) -> str:
    status, body, _ = stack.request("/api/batch-jobs", readings_csv(ROWS), "text/csv")
    assert status == 202, body
    return json.loads(body)["id"]


def _assert_unavailable_in_the_error_shape(stack: Stack) -> None:
    status, body, headers = stack.request("/api/predict", READING)
    assert status == 503, (status, body)
    assert set(json.loads(body)) == {"error", "message", "details"}
    assert headers.get("Retry-After")


def test_a_redis_restart_that_loses_everything_loses_no_row(
    tmp_path, tiny_model, shared_postgres_database
):
    require_service("redis-server", shutil.which("redis-server") is not None)
    redis = OwnRedis(tmp_path)
    redis.start()
    stack = Stack(tmp_path, shared_postgres_database, redis.url, tiny_model)
    try:
        stack.prepare()
        stack.start()
        job_id = _submit(stack)
        assert wait_for(lambda: _job_state(shared_postgres_database, job_id)[1] >= ROWS // 5, 60), (
            "the job did not get going"
        )
        redis.kill()  # no persistence: every queued message is gone
        assert wait_for(lambda: stack.status("/api/health") == 503, 15)
        _assert_unavailable_in_the_error_shape(stack)
        time.sleep(2)
        redis.start()  # empty
        back = time.monotonic()
        finished = wait_for(
            lambda: _job_state(shared_postgres_database, job_id)[0] == "succeeded", 120, 0.5
        )
        took = time.monotonic() - back
        print(f"job done {took:.1f} s after Redis came back empty")
        assert finished and took <= 90
        assert stack.rows(job_id) == (ROWS, ROWS)  # every row, exactly once
        assert wait_for(lambda: stack.status("/api/health") == 200, 30)
        assert stack.request("/api/predict", READING)[0] == 201  # the web reconnected
    finally:
        stack.stop()
        redis.kill()


def _login(stack: Stack) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{stack.port}"
    page = opener.open(base + "/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": "restart", "password": "a-restart-passphrase", "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the test's own server
        base + "/accounts/login/", data=form, headers={"Referer": base + "/accounts/login/"}
    )
    opener.open(request, timeout=30)
    return opener


def _page_status(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, bytes]:
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_postgres_restart_mid_job_loses_no_row_and_answers_503_meanwhile(tmp_path, tiny_model):
    require_service("redis-server", shutil.which("redis-server") is not None)
    postgres = OwnPostgres()
    redis = OwnRedis(tmp_path)
    postgres.init()
    postgres.start()
    redis.start()
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        conn.execute('CREATE DATABASE "stressapp"')
    database_url = postgres.url("stressapp")
    stack = Stack(tmp_path, database_url, redis.url, tiny_model)
    try:
        stack.prepare()
        stack.manage(
            "shell",
            "-c",
            "from accounts.models import User; u = User.objects.get(username='restart'); "
            "u.set_password('a-restart-passphrase'); u.save()",
        )
        stack.start()
        opener = _login(stack)
        history = f"http://127.0.0.1:{stack.port}/history/"
        assert _page_status(opener, history)[0] == 200
        job_id = _submit(stack)
        assert wait_for(lambda: _job_state(database_url, job_id)[1] >= ROWS // 5, 60)
        postgres.stop()
        _assert_unavailable_in_the_error_shape(stack)
        status, body = _page_status(opener, history)
        assert status == 503 and b"Briefly unavailable" in body
        assert stack.status("/api/health") == 503
        time.sleep(3)
        postgres.start()
        back = time.monotonic()
        finished = wait_for(lambda: _job_state(database_url, job_id)[0] == "succeeded", 120, 0.5)
        print(f"job done {time.monotonic() - back:.1f} s after PostgreSQL came back")
        assert finished
        assert stack.rows(job_id) == (ROWS, ROWS)
        assert wait_for(lambda: stack.request("/api/predict", READING)[0] == 201, 30)
        assert _page_status(opener, history)[0] == 200  # pages recovered on their own
    finally:
        stack.stop()
        redis.kill()
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped already
            postgres.stop()
        postgres.remove()
