"""Rules a reading must meet beyond the feature ranges (which live in mlcore.readings.features),
shared by the API serializers, the HTML form and batch files so that all three say the same."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from mlcore.readings.features import Feature, out_of_range_message

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


def strict_number(value: Any, name: str, *, json_types: bool) -> float:
    """A finite number, or ValueError naming the field.

    json_types=True (JSON bodies and JSON-lines files) takes only JSON numbers: "72", true and
    null are refused. json_types=False (CSV cells, which are all text) parses the text."""
    if json_types and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"{name} must be a JSON number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number") from None
    except OverflowError:  # an integer with hundreds of digits
        raise ValueError(f"{name} must be a finite number") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number")
    return number


def feature_value(value: Any, feature: Feature, *, json_types: bool) -> float:
    """A contract feature's value: a strict number within the feature's range."""
    number = strict_number(value, feature.name, json_types=json_types)
    if not feature.minimum <= number <= feature.maximum:
        raise ValueError(out_of_range_message(feature))
    return number
