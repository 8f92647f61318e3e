"""Errors the batch services raise; their status and code come from stressapp.errors."""

from stressapp.errors import Conflict, InvalidInput, NotFound, TooLarge


class BatchFileError(InvalidInput):
    """The file as a whole cannot be used; the message says why, for the person who sent it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


class RowLimitExceeded(TooLarge):
    pass


class InvalidCallbackUrl(InvalidInput):
    def __init__(self, message: str) -> None:
        super().__init__(message, field="callback_url")


class ResultsNotReady(Conflict):
    code = "not_ready"


class ResultsGone(NotFound):
    pass
