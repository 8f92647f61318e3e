"""Turning predictions into what pages show: plain-word explanations and an SVG timeline.
No queries here; selectors fetch, these shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mlcore.readings.features import CLASSES, FEATURES_BY_NAME

# Contributions below this (in probability) are noise, not a reason.
MEANINGFUL_CONTRIBUTION = 0.01


def explanation_sentences(
    contributions: dict[str, float] | None, level: str, limit: int = 3
) -> list[str]:
    """'Skin conductance (GSR) pushed this towards high', strongest first."""
    if not contributions:
        return []
    ranked = sorted(contributions.items(), key=lambda item: abs(item[1]), reverse=True)
    sentences = []
    for name, value in ranked[:limit]:
        if abs(value) < MEANINGFUL_CONTRIBUTION:
            continue
        direction = "pushed this towards" if value > 0 else "pulled this away from"
        feature = FEATURES_BY_NAME.get(name)
        sentence = f"{feature.plain_name if feature else name} {direction} {level}"
        sentences.append(sentence[0].upper() + sentence[1:] + f" ({value:+.0%}).")
    return sentences


def stress_score(probabilities: dict[str, float]) -> float:
    """Expected level on a 0 (low) to 2 (high) scale: one number per reading to plot."""
    return probabilities["medium"] + 2 * probabilities["high"]


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
        return round(top + inner_h * (1 - score / 2), 1)

    points = []
    for row in rows:
        score = stress_score(row["probabilities"])
        local = row["measured_at"].astimezone(tz)
        points.append(
            ChartPoint(
                x_of(row["measured_at"]),
                y_of(score),
                row["stress_level"],
                f"{local:%Y-%m-%d %H:%M}: {row['stress_level']} ({row['confidence']:.0%})",
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
    y_ticks = [(y_of(2 * i / 2), CLASSES[i]) for i in range(3)]
    return Chart(width, height, points, path, x_ticks, y_ticks, left, height - bottom)
