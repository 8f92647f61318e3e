"""Rules a reading must meet beyond the feature ranges (which live in mlcore.features), shared
by the API serializers, the HTML form and batch files so that all three say the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

# Older than this is a typo or a unit mix-up, and would overflow day arithmetic in some zones.
EARLIEST_MEASURED_AT = datetime(2000, 1, 1, tzinfo=UTC)
NOTE_MAX_LENGTH = 500


def latest_allowed_measured_at(now: datetime | None = None) -> datetime:
    """Clocks drift: a reading slightly in the future is accepted."""
    return (now or timezone.now()) + timedelta(seconds=settings.READING_FUTURE_SKEW_SECONDS)


def measured_at_problem(value: datetime, latest_allowed: datetime) -> str | None:
    if value.tzinfo is None:
        return "measured_at needs a UTC offset, e.g. 2026-11-27T08:30:00+01:00 or ...Z"
    if value < EARLIEST_MEASURED_AT:
        return "measured_at must not be before 2000-01-01"
    if value > latest_allowed:
        return "measured_at must not be in the future"
    return None


def note_problem(note: str) -> str | None:
    if len(note) > NOTE_MAX_LENGTH:
        return f"note is longer than {NOTE_MAX_LENGTH} characters"
    if "\x00" in note:
        return "note must not contain NUL characters"
    return None
