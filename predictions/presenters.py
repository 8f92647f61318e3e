"""Turning predictions into what pages show: the score and its level, plain-word explanations
(the words are mlcore.plain_words'); the timeline's SVG is shaped in predictions.charts. No
queries here; selectors fetch, these shape."""

from __future__ import annotations

from typing import Any

from mlcore import plain_words
from mlcore.plain_words import (
    EXAMPLE_READINGS,
    EXAMPLE_WORDS,
    READING_SCALE_NOTE,
    Reason,
    reading_guide,
)
from mlcore.readings.features import FEATURE_NAMES
from mlcore.score import (
    USUAL_LOOKBACK_DAYS,
    USUAL_MIN_DAYS,
    shown_level,
    stress_score,
)

# What the reading form and the dashboard take from mlcore (views do not import it).
__all__ = [
    "EXAMPLE_READINGS",
    "EXAMPLE_WORDS",
    "READING_SCALE_NOTE",
    "USUAL_LOOKBACK_DAYS",
    "USUAL_MIN_DAYS",
    "reading_guide",
    "reading_reasons",
    "result_summary",
    "window_reasons",
]


def reading_reasons(prediction: Any, own_rest: dict[str, float] | None = None) -> list[Reason]:
    """What drove a typed reading, in words, each with its share of the result: every number
    against the person's own rest (`own_rest`: their five-number baseline's means, when the
    reading was scored against it), otherwise against a typical rest (the drivedb rest
    example the form offers)."""
    values = {name: getattr(prediction, name, None) for name in FEATURE_NAMES}
    if own_rest:
        return plain_words.reading_reasons(
            prediction.contributions, values, own_rest, "than at your rest"
        )
    return plain_words.reading_reasons(prediction.contributions, values, EXAMPLE_READINGS["rest"])


def window_reasons(
    contributions: dict[str, float] | None, why: list[list[Any]] | None
) -> list[Reason]:
    """What drove a recording's window. `why` (the recording's window_details): per top
    column, [column, direction against rest, share of the whole push]; windows scored before
    it existed fall back to the shares among the columns stored, without a direction."""
    if not why:
        return plain_words.recording_reasons(contributions)
    effects = {column: (contributions or {}).get(column, 0.0) for column, _, _ in why}
    return plain_words.recording_reasons(
        effects,
        directions={column: direction for column, direction, _ in why},
        shares={column: share for column, _, share in why},
    )


def result_summary(probabilities: dict[str, float]) -> dict[str, Any]:
    """The score and what to show beside it: a level, or "uncertain"."""
    return {"score": round(stress_score(probabilities)), "level": shown_level(probabilities)}
