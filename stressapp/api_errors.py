"""One error shape for everything under /api/: {"error", "message", "details"}.

Three places produce errors and all three funnel into `error_response`:
- DRF views raise APIException subclasses -> `api_exception_handler`.
- Django itself answers 404/405/413/500 for URLs that never reach a DRF view ->
  `handler404` / `handler500` and `ApiErrorShapeMiddleware`.
"""

import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from stressapp.errors import ApplicationError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

# DRF's own codes are mostly fine; these make the public vocabulary stable and obvious.
_ERROR_CODES: dict[type[Exception], str] = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}

_STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request could not be understood."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Unsupported media type."),
    429: ("throttled", "Too many requests."),
    500: ("server_error", "An unexpected error occurred. It has been logged."),
    503: ("service_unavailable", "The service is temporarily unavailable."),
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details if details is not None else {}}


def error_response(status_code: int, code: str, message: str, details: Any = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status_code)


def _first_message(details: Any) -> str | None:
    """The first human message in a (possibly nested) DRF error structure."""
    if isinstance(details, str):
        return details
    if isinstance(details, list):
        for item in details:
            found = _first_message(item)
            if found:
                return found
    if isinstance(details, dict):
        for key, value in details.items():
            found = _first_message(value)
            if found:
                return found if key in ("non_field_errors", "detail") else f"{key}: {found}"
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler that rewrites every handled error into the one shape. Domain
    errors (ApplicationError) carry their own status, code, message and details."""
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("payload_too_large", str(exc) or _STATUS_CODES[413][1]),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unhandled: Django's handler500 answers in the shape
    code = next((c for cls, c in _ERROR_CODES.items() if isinstance(exc, cls)), None)
    if code is None:
        code = (
            getattr(exc, "default_code", None)
            or _STATUS_CODES.get(response.status_code, ("error", ""))[0]
        )
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        details = data if isinstance(data, dict) else {"non_field_errors": data}
        message = _first_message(details) or "Invalid input."
    else:
        detail = data.get("detail") if isinstance(data, dict) else data
        message = str(detail) if detail else _STATUS_CODES.get(response.status_code, ("", ""))[1]
        details = getattr(exc, "extra_details", None) or {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            details = {"retry_after_seconds": int(exc.wait) + (exc.wait % 1 > 0)}
    response.data = error_body(code, message, details)
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return error_response(404, "not_found", "No such endpoint or object.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


# The database or Redis (cache, throttle, broker) is down or restarting: a wait, not a bug.
UNAVAILABLE_ERRORS = (
    OperationalError,
    InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
    KombuOperationalError,
)
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = "The service is briefly unavailable; try again in a few seconds."
# No template: rendering one may itself need the database (the user, the session).
UNAVAILABLE_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Briefly unavailable</title>"
    "<h1>Briefly unavailable</h1><p>" + UNAVAILABLE_MESSAGE + "</p></html>"
)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        response: HttpResponse = error_response(503, "service_unavailable", UNAVAILABLE_MESSAGE)
    else:
        response = HttpResponse(UNAVAILABLE_PAGE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def handler500(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its except block, for errors raised anywhere (middleware
    # included): a database that is down answers 503, everything else 500.
    if isinstance(sys.exc_info()[1], UNAVAILABLE_ERRORS):
        logger.warning("a backing service is unavailable on %s", request.path)
        return unavailable_response(request)
    if _is_api(request):
        code, message = _STATUS_CODES[500]
        return error_response(500, code, message)
    from django.views.defaults import server_error

    return server_error(request)


class ApiErrorShapeMiddleware:
    """Gives /api/ errors that Django produced outside DRF (405 from plain views, 413 from
    the upload limit, 403 from CSRF, ...) the same JSON shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not _is_api(request) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            try:
                body = json.loads(response.content or b"null")
            except (ValueError, AttributeError):
                body = None
            if isinstance(body, dict) and {"error", "message", "details"} <= body.keys():
                return response
        code, message = _STATUS_CODES.get(response.status_code, ("error", "Request failed."))
        shaped = error_response(response.status_code, code, message)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if response.has_header(header):
                shaped[header] = response[header]
        return shaped

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_api(request):
            return None
        if isinstance(exception, ApplicationError):
            return error_response(
                exception.status_code, exception.code, exception.message, exception.details
            )
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, "payload_too_large", str(exception))
        if isinstance(exception, SuspiciousOperation | BadRequest | UnreadablePostError):
            # Too many fields or files in a form, a broken upload, a malformed request.
            return error_response(400, "bad_request", "The request could not be read.")
        if isinstance(exception, PermissionDenied):
            return error_response(403, *_STATUS_CODES[403])
        if isinstance(exception, Http404):
            return error_response(404, "not_found", "No such endpoint or object.")
        if isinstance(exception, UNAVAILABLE_ERRORS):
            logger.warning("a backing service is unavailable on %s", request.path)
            return unavailable_response(request)
        logger.exception("Unhandled error on %s", request.path)
        return error_response(500, *_STATUS_CODES[500])
