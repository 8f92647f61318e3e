"""Errors the recording services raise; status and code come from stressapp.errors."""

from stressapp.errors import InvalidInput


class RecordingRejected(InvalidInput):
    """The file cannot be scored. `reason` is the reader's stable code (empty, truncated,
    irregular_time, no_usable_channel, too_long, ...), also given in details."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, field="file", details={"file": [message], "reason": reason})
        self.reason = reason


class InvalidRange(InvalidInput):
    """A rest or annotation range outside the recording, reversed, or too short."""
