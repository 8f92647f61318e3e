"""The timeline's SVG, shaped on the server: a dot per reading, a line through readings close
in time (a gap stays a gap), each day's average as its own line, and a tick per day. No
queries here; selectors fetch, this shapes.

The page draws in CSS pixels vertically and in ACROSS units horizontally: the lines sit in a
nested <svg viewBox="0 0 1000 h" preserveAspectRatio="none"> stretched to the page's width,
the dots and the text in the outer <svg> at x="…%", so the chart fills a phone or a laptop
while its text keeps its own pixel size."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from mlcore.score import LEVEL_POINTS, shown_level, stress_score

ACROSS = 1000.0
# Two readings further apart than this are not joined: the line would claim a trend nobody
# measured (a night, a day without readings).
JOIN_WITHIN = timedelta(hours=6)


def chart_score(probabilities: dict[str, float]) -> int:
    """The 0-100 score (mlcore.score) as the charts write it: a whole number."""
    return round(stress_score(probabilities))


@dataclass(frozen=True)
class ChartPoint:
    percent: float
    y: float
    level: str
    score: int
    label: str


@dataclass(frozen=True)
class Tick:
    percent: float
    x: float
    label: str
    anchor: str = "middle"
    minor: bool = False


@dataclass
class TimelineChart:
    height: int
    plot_top: int
    plot_bottom: int
    tick_y: int
    points: list[ChartPoint] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    daily: list[str] = field(default_factory=list)
    day_lines: list[float] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    across: float = ACROSS


def _midnights(start: datetime, end: datetime, tz: Any) -> list[datetime]:
    """Local midnights in (start, end], in the person's zone (a day of 23 or 25 hours stays
    one day)."""
    day = start.astimezone(tz).date() + timedelta(days=1)
    found = []
    while True:
        moment = datetime.combine(day, time(0), tzinfo=tz)
        if moment > end:
            return found
        found.append(moment)
        day += timedelta(days=1)


def timeline_chart(
    rows: list[dict[str, Any]],
    start: datetime,
    end: datetime,
    tz: Any,
    height: int = 240,
) -> TimelineChart:
    """`rows`: measured_at, stress_level, confidence, probabilities per reading, over
    [start, end)."""
    plot_top, plot_bottom = 22, height - 44
    span = max((end - start).total_seconds(), 1.0)

    def across(moment: datetime) -> float:
        return round(ACROSS * min(max((moment - start).total_seconds() / span, 0.0), 1.0), 1)

    def y_of(score: float) -> float:
        return round(plot_bottom - (plot_bottom - plot_top) * score / 100, 1)

    chart = TimelineChart(height, plot_top, plot_bottom, height - 22)
    chart.y_ticks = [(y_of(points), level) for level, points in LEVEL_POINTS.items()]
    ordered = sorted(rows, key=lambda row: row["measured_at"])
    by_day: dict[Any, list[int]] = defaultdict(list)
    run: list[tuple[float, float]] = []
    previous: datetime | None = None
    for row in ordered:
        score = chart_score(row["probabilities"])
        level = shown_level(row["probabilities"])
        local = row["measured_at"].astimezone(tz)
        x = across(row["measured_at"])
        chart.points.append(
            ChartPoint(
                round(x * 100 / ACROSS, 2),
                y_of(score),
                level,
                score,
                f"{local:%a %-d %b, %H:%M}: score {score}, {level}",
            )
        )
        by_day[local.date()].append(stress_score(row["probabilities"]))
        if previous is not None and row["measured_at"] - previous > JOIN_WITHIN:
            chart.paths.append(_polyline(run))
            run = []
        run.append((x, y_of(score)))
        previous = row["measured_at"]
    chart.paths.append(_polyline(run))
    chart.paths = [path for path in chart.paths if path]

    midnights = _midnights(start, end, tz)
    chart.day_lines = [across(moment) for moment in midnights]
    for day, scores in sorted(by_day.items()):
        day_start = max(datetime.combine(day, time(0), tzinfo=tz), start)
        day_end = min(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz), end)
        y = y_of(sum(scores) / len(scores))
        chart.daily.append(f"M{across(day_start)},{y} H{across(day_end)}")
    chart.ticks = _ticks(start, end, tz, midnights, across)
    return chart


def _polyline(points: list[tuple[float, float]]) -> str:
    if len(points) < 2:
        return ""
    return "M" + " L".join(f"{x},{y}" for x, y in points)


def tick_at(x: float, label: str, minor: bool = False) -> Tick:
    """A tick at `x` (ACROSS units); the edge ones lean inwards so their text stays in."""
    percent = round(x * 100 / ACROSS, 2)
    anchor = "start" if percent < 4 else "end" if percent > 96 else "middle"
    return Tick(percent, x, label, anchor, minor)


def _ticks(
    start: datetime, end: datetime, tz: Any, midnights: list[datetime], across
) -> list[Tick]:
    """Up to two days: every 3 hours, and the date at midnight. Up to two weeks: each day's
    name at its noon. Longer: the date at each Monday."""
    span = end - start
    if span <= timedelta(days=2):
        ticks = []
        moment = start.astimezone(tz).replace(minute=0, second=0, microsecond=0)
        moment += timedelta(hours=3 - moment.hour % 3)
        count = 0
        while moment < end:
            local = moment.astimezone(tz)
            label = f"{local:%a %-d}" if local.hour == 0 else f"{local:%H:%M}"
            ticks.append(tick_at(across(moment), label, minor=count % 2 == 1 and local.hour != 0))
            moment += timedelta(hours=3)
            count += 1
        return ticks
    if span <= timedelta(days=14):
        days = [start, *midnights]
        ticks = []
        for k, day_start in enumerate(days):
            local = day_start.astimezone(tz)
            noon = datetime.combine(local.date(), time(12), tzinfo=tz)
            if start <= noon < end:
                ticks.append(
                    tick_at(across(noon), f"{local:%a %-d}", minor=k % 2 == 1 and len(days) > 5)
                )
        return ticks
    return [
        tick_at(across(moment), f"{moment:%-d %b}") for moment in midnights if moment.weekday() == 0
    ]
