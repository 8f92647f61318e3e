"""`{% load plain %}`: the words and numbers people read, for any template.

- `{{ code|channel_set_words }}`: "heart rate, skin conductance and breathing" for a set code.
- `{{ roles|roles_words }}`: a list of signal roles in words.
- `{% model_name version %}`: "model of 1 Dec 2026", its id on hover (title attribute).
- `{{ prediction|score }}`: the stress score 0-100 (mlcore.score); `{{ prediction|shown_level }}`
  the level beside it, or "uncertain".
- `{{ seconds|duration_words }}`: "1 h 20 min", "40 min", "under a minute".
- `{{ share|share_words }}`: "41% of the result".
- `{{ seconds|seconds_words }}`: "2 minutes", "30 seconds".
- `{% recording_explained recording %}`: its score, highest moment and what drove it.
"""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from mlcore import plain_words
from mlcore import score as scoring
from mlcore.readings.features import FEATURE_NAMES as READING_FEATURES
from predictions import selectors
from predictions.presenters import window_reasons

register = template.Library()


def _probabilities(value: Any) -> dict[str, float]:
    if isinstance(value, dict):
        return value
    return value.probabilities


@register.filter
def channel_set_words(code: str | None) -> str:
    return plain_words.channel_set_words(code)


@register.filter
def roles_words(roles: Any) -> str:
    return plain_words.roles_words(roles or ())


@register.simple_tag
def model_name(version: Any) -> SafeString | str:
    """A ModelVersion (or None) as "model of 1 Dec 2026", the id in the title attribute."""
    if version is None:
        return plain_words.model_words(None)
    # A version attached to fresh results carries its id and name only (services).
    created = version.created_at or selectors.model_version_created_at(model_version_id=version.pk)
    return format_html(
        '<span class="model-name" title="{}">{}</span>',
        version.version,
        plain_words.model_words(created),
    )


@register.filter
def time_in_levels(seconds_in: dict[str, float]) -> list[tuple[str, float]]:
    """(level, seconds) to list: every level, and "uncertain" only when there was some."""
    return [
        (level, seconds)
        for level, seconds in seconds_in.items()
        if seconds or level != scoring.UNCERTAIN
    ]


@register.filter
def score(value: Any) -> int:
    return round(scoring.stress_score(_probabilities(value)))


@register.filter
def shown_level(value: Any) -> str:
    return scoring.shown_level(_probabilities(value))


@register.filter
def duration_words(seconds: float | None) -> str:
    minutes = round((seconds or 0) / 60)
    if minutes < 1:
        return "under a minute" if seconds else "0 min"
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


@register.filter
def share_words(share: float) -> str:
    return f"{round(share * 100)}% of the result"


@register.filter
def seconds_words(seconds: float | None) -> str:
    """120 -> "2 minutes", 30 -> "30 seconds"."""
    value = round(seconds or 0)
    if value >= 60 and value % 60 == 0:
        minutes = value // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{value} second{'s' if value != 1 else ''}"


@register.inclusion_tag("predictions/recording_explained.html")
def recording_explained(recording: Any) -> dict[str, Any]:
    """A recording's score over its length, its highest moment and what drove it."""
    summary = scoring.day_summary(selectors.recording_results(recording=recording))
    if summary is None:
        return {"summary": None}
    peak = selectors.recording_window_get(recording=recording, row_number=summary.peak_ref)
    details = recording.window_details or []
    why = None
    if summary.peak_ref is not None and summary.peak_ref < len(details):
        why = details[summary.peak_ref].get("why")
    return {
        "recording": recording,  # its page counts time from its start
        "summary": summary,
        "peak": peak,
        "reasons": window_reasons(peak.contributions, why) if peak else [],
    }


_CONTRACT_NAME = re.compile(r"\b(" + "|".join(READING_FEATURES) + r")\b")


@register.filter
def columns_as_code(message: str) -> SafeString:
    """A batch row's error names the CSV column it is about ("ecg must be between 0 and 1"):
    that name is what the person typed in their file's header, so it is shown as code."""
    # split() alternates text and the names it matched; format_html escapes the text.
    parts = _CONTRACT_NAME.split(str(message))
    pieces = [format_html("<code>{}</code>", p) if i % 2 else p for i, p in enumerate(parts)]
    return format_html("{}" * len(pieces), *pieces)
