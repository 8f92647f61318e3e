"""Domain errors: what services raise when a request cannot be carried out.

Each class knows its HTTP status and public error code, so the one API exception handler
(`stressapp.api_errors`) turns any of them into `{"error", "message", "details"}` and pages
show `message` next to the field it names. Views hold no try/except ladders for these.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """Base of every error a service raises on purpose. `field` names the input at fault,
    when there is one (it keys `details` and places the message on a form)."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self._details = details

    @property
    def details(self) -> Any:
        if self._details is not None:
            return self._details
        return {self.field: [self.message]} if self.field else {}


class InvalidInput(ApplicationError):
    status_code = 400
    code = "validation_error"


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


class TooLarge(ApplicationError):
    status_code = 413
    code = "payload_too_large"


class Unavailable(ApplicationError):
    status_code = 503
    code = "service_unavailable"
