"""Turning predictions into what pages show: the score and its level, plain-word explanations
(the words are mlcore.plain_words'), and an SVG timeline. No queries here; selectors fetch,
these shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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
    LEVEL_POINTS,
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
    "Chart",
    "ChartPoint",
    "reading_guide",
    "reading_reasons",
    "result_summary",
    "timeline_chart",
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


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    level: str
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: list[ChartPoint]
    path: str
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    left: int
    bottom: int


def timeline_chart(
    rows: list[dict[str, Any]],
    start: datetime,
    end: datetime,
    tz: Any,
    width: int = 720,
    height: int = 240,
) -> Chart:
    """Geometry for a server-rendered SVG: a dot per reading (coloured and labelled by level)
    and a line through them, over [start, end)."""
    left, right, top, bottom = 56, 28, 12, 28
    span = max((end - start).total_seconds(), 1.0)
    inner_w, inner_h = width - left - right, height - top - bottom

    def x_of(moment: datetime) -> float:
        return round(left + inner_w * (moment - start).total_seconds() / span, 1)

    def y_of(score: float) -> float:
        return round(top + inner_h * (1 - score / 100), 1)

    points = []
    for row in rows:
        score = stress_score(row["probabilities"])
        local = row["measured_at"].astimezone(tz)
        points.append(
            ChartPoint(
                x_of(row["measured_at"]),
                y_of(score),
                row["stress_level"],
                f"{local:%Y-%m-%d %H:%M}: score {score:.0f}, {shown_level(row['probabilities'])}",
            )
        )
    points.sort(key=lambda p: p.x)
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(points))
    ticks = 6
    x_ticks = []
    for i in range(ticks + 1):
        moment = start + timedelta(seconds=span * i / ticks)
        fmt = "%H:%M" if span <= 2 * 86400 else "%b %d"
        x_ticks.append((x_of(moment), moment.astimezone(tz).strftime(fmt)))
    y_ticks = [(y_of(points), level) for level, points in LEVEL_POINTS.items()]
    return Chart(width, height, points, path, x_ticks, y_ticks, left, height - bottom)
