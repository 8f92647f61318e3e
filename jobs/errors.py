"""Errors the job engine and the upload lifecycle raise; status and code come from
stressapp.errors."""

from stressapp.errors import Conflict, TooLarge


class UploadTooLarge(TooLarge):
    pass


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class JobFailed(Exception):
    """A job that cannot go on, with a message its owner can read (the task records it as
    the job's error). Any other exception is recorded in words that reveal nothing inside."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
