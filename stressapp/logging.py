"""Structured logs: one JSON object per line, for our code, Django, Celery and
the web server (granian) alike.

The request id (from X-Request-ID or made here) is bound to the context of each request and
travels with the Celery tasks that request starts, so one id follows a reading end to end.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# Paths that carry a secret (password-reset links) are logged without it.
_SECRET_PATH = re.compile(r"^(/accounts/reset/)[^/]+/[^/]+/")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
    structlog.processors.format_exc_info,
]


def configure_structlog() -> None:
    structlog.configure(
        processors=[
            *SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def logging_config(level: str) -> dict[str, Any]:
    """dictConfig for Django's LOGGING: stdlib records rendered as JSON by structlog."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer(),
                ],
                "foreign_pre_chain": SHARED_PROCESSORS,
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Our own request line replaces Django's per-request warnings.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "ERROR"},
        },
    }


def new_request_id(incoming: str | None) -> str:
    if incoming and _VALID_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """Binds a request id, answers with it, and logs one line per request: method, path,
    status, duration, user. Headers and bodies are never logged (they carry tokens)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.logger = structlog.get_logger("stressapp.request")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        self.logger.info(
            "request",
            method=request.method,
            path=_SECRET_PATH.sub(r"\1…/", request.path),
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            user_id=user.pk if user is not None and user.is_authenticated else None,
        )
        response[REQUEST_ID_HEADER] = request_id
        structlog.contextvars.clear_contextvars()
        return response


def current_request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("request_id")


logging.getLogger(__name__).addHandler(logging.NullHandler())
