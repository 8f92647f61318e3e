"""Helpers shared by the test suites (imported by tests and conftest, never by the app)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
T = TypeVar("T")


def require_service(name: str, available: bool) -> None:
    """Tests that need a real service skip locally without it, and fail in CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{name} is required in CI but is not configured or not reachable")
    pytest.skip(f"{name} not available")


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.05) -> T:
    """Poll until the predicate returns something truthy (returned), or the timeout passes
    (the last value is returned, for the caller's assert to show). Never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def assert_error(response: Any, status: int, code: str | None = None) -> dict:
    """The response is an API error of this status (and code) in the one shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "message", "details"}, body
    if code:
        assert body["error"] == code, body
    return body


def reading_payload(**overrides: Any) -> dict:
    """A valid reading for the API; override any field."""
    payload = {"heart_rate": 72.0, "ecg": 0.4, "emg": 0.2, "gsr": 0.55, "respiration": 0.3}
    payload.update(overrides)
    return payload
