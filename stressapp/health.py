"""Liveness (`/health`) and readiness (`/api/health`) probes.

Liveness touches nothing outside the process, so a slow database never gets a healthy web
process killed. Readiness checks each dependency a request needs and names the one that fails.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from stressapp.celery import app as celery_app

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2.0


@never_cache
@require_safe
def liveness(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


class LivenessMiddleware:
    """Answers GET /health before host validation, HTTPS redirects and sessions, so probes
    from a container's own 127.0.0.1 or a load balancer's IP always reach it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/health":
            return liveness(request)
        return self.get_response(request)


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "ok", "vendor": connection.vendor}


def check_broker() -> dict[str, Any]:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
        return {"status": "ok", "transport": conn.transport_cls}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "broker": check_broker,
}


def health_check_register(name: str, check: Callable[[], dict[str, Any]]) -> None:
    """Apps add what a request needs beyond the database and the broker (the served model)
    from their ready(); a check returns {"status": "ok", ...} or raises."""
    CHECKS[name] = check


def run_checks() -> tuple[bool, dict[str, Any]]:
    components: dict[str, Any] = {}
    healthy = True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            result = check()
        except Exception as exc:  # a probe must report any failure, never raise
            # The full message (hosts, paths) goes to the log, not to anonymous callers.
            logger.warning("readiness check %s failed: %s", name, exc)
            result = {"status": "error", "detail": type(exc).__name__}
        result["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        healthy = healthy and result["status"] == "ok"
        components[name] = result
    return healthy, components


@never_cache
@require_safe
def readiness(request: HttpRequest) -> JsonResponse:
    healthy, components = run_checks()
    if healthy:
        return JsonResponse({"status": "ok", "components": components})
    failing = [name for name, result in components.items() if result["status"] != "ok"]
    return JsonResponse(
        {
            "status": "unavailable",
            "error": "service_unavailable",
            "message": f"Not ready: {', '.join(failing)} unavailable.",
            "details": {"failing": failing, "components": components},
            "components": components,
        },
        status=503,
    )
