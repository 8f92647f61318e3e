"""Errors the job engine and the upload lifecycle raise; status and code come from
stressapp.errors."""

from stressapp.errors import Conflict, TooLarge


class UploadTooLarge(TooLarge):
    pass


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
