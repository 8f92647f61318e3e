import io
import json
import logging

import pytest
import structlog

from stressapp.celery import _attach_request_id, _bind_request_id


@pytest.fixture
def log_lines():
    """What the app logs, through the configured JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.getLogger().handlers[0].formatter)
    logging.getLogger().addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line]
    logging.getLogger().removeHandler(handler)


def test_a_request_logs_one_json_line_with_the_callers_request_id(client, log_lines, db):
    response = client.get("/api/features", HTTP_X_REQUEST_ID="req-abc-123")
    assert response["X-Request-ID"] == "req-abc-123"
    line = next(entry for entry in log_lines() if entry.get("event") == "request")
    assert line["request_id"] == "req-abc-123"
    assert line["path"] == "/api/features" and line["status"] == 200
    assert line["method"] == "GET" and "duration_ms" in line and "timestamp" in line


def test_it_makes_a_request_id_when_none_or_a_bad_one_is_sent(client, log_lines, db):
    made = client.get("/api/features")["X-Request-ID"]
    assert len(made) == 32
    replaced = client.get("/api/features", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert replaced["X-Request-ID"] != "bad id\nwith newline"


def test_tokens_never_reach_the_logs(token_client, log_lines):
    token = token_client._credentials["HTTP_AUTHORIZATION"].split()[1]
    token_client.get("/api/predictions")
    entries = log_lines()
    request_line = next(e for e in entries if e.get("event") == "request")
    assert request_line["user_id"] is not None
    assert token not in json.dumps(entries)


def test_the_request_id_travels_into_the_tasks_a_request_starts():
    structlog.contextvars.bind_contextvars(request_id="req-42")
    headers: dict = {}
    _attach_request_id(headers=headers)
    structlog.contextvars.clear_contextvars()
    assert headers["request_id"] == "req-42"

    class Request:
        id = "task-1"
        request_id = "req-42"

    class Task:
        name = "predictions.ping"
        request = Request()

    _bind_request_id(task=Task())
    assert structlog.contextvars.get_contextvars()["request_id"] == "req-42"
    structlog.contextvars.clear_contextvars()
