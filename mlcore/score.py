"""One number a person reads: a stress score 0-100 from a result's class probabilities, the
level beside it (or "uncertain"), a day's summary, and how a day compares with the person's
usual. Plain Python over plain values: the pages and the selectors use these, never a copy.

The score is the expected level with low = 0, medium = 50 and high = 100:

    score = 100 * (0.5 * p_medium + p_high)

Why this formula: it uses all three probabilities, so a result split 35/36/29 reads 47 (the
middle, as unsure as it is) instead of "medium"; it moves smoothly as the probabilities move
(a level jumps); it is 0 only when the model is sure of low and 100 only when sure of high;
and it is the timeline's existing line (p_medium + 2 * p_high on 0-2) scaled to 0-100, so the
chart and the number agree. The probabilities are calibrated (mlcore.calibration), so the
score is an honest expectation, not a raw model output.

Uncertain: a result whose top probability is below UNCERTAIN_BELOW (0.5) is shown as
"uncertain", not as a level. Below one half the named level is more likely wrong than right
(the other two together are more likely); with calibrated probabilities (ECE about 0.03 for
most shipped models, see the card) a confidence of 0.5 is right about half the time. The score
is still shown: it says where between calm and stressed the result lies.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

LEVELS: tuple[str, ...] = ("low", "medium", "high")
# Each level's place on the 0-100 scale; the score is the probability-weighted mean of these.
LEVEL_POINTS: dict[str, float] = {"low": 0.0, "medium": 50.0, "high": 100.0}
UNCERTAIN = "uncertain"
UNCERTAIN_BELOW = 0.5

# "Usual for you": the person's own days before today.
USUAL_LOOKBACK_DAYS = 28
# Fewer days than this and a median says more about chance than about the person (two weeks
# of daily use is what the trackers that compare with "your usual" wait for; we ask for half).
USUAL_MIN_DAYS = 7
# The usual range is the middle half of those days (25th to 75th percentile): a day above it
# is higher than three days in four of the person's own.
USUAL_RANGE_PERCENTILES = (25, 75)


def stress_score(probabilities: dict[str, float]) -> float:
    """0 (calm, sure) to 100 (stressed, sure): 100 * (0.5 * p_medium + p_high)."""
    return sum(LEVEL_POINTS[level] * float(probabilities.get(level, 0.0)) for level in LEVELS)


def shown_level(probabilities: dict[str, float]) -> str:
    """The level to show beside the score, or "uncertain" when the top probability is below
    UNCERTAIN_BELOW. Ties go to the higher level (understating stress is the worse mistake)."""
    top = max(reversed(LEVELS), key=lambda level: float(probabilities.get(level, 0.0)))
    if float(probabilities.get(top, 0.0)) < UNCERTAIN_BELOW:
        return UNCERTAIN
    return top


@dataclass(frozen=True)
class ScoredResult:
    """One result (a typed reading or a recording's window) as the dashboard counts it."""

    at: datetime
    probabilities: dict[str, float]
    seconds: float  # how much time it stands for (a window's stride, a reading's window)
    ref: Any = None  # the caller's handle on it (the pages link a recording's peak)

    @property
    def score(self) -> float:
        return stress_score(self.probabilities)

    @property
    def level(self) -> str:
        return shown_level(self.probabilities)


@dataclass(frozen=True)
class DaySummary:
    results: int
    score: float  # mean of the results' scores, weighted by the time each stands for
    level: str  # the level of that mean score's band (see score_band)
    peak_score: float
    peak_at: datetime
    peak_ref: Any
    seconds_in: dict[str, float] = field(default_factory=dict)  # low/medium/high/uncertain


def score_band(score: float) -> str:
    """The level a score is nearest to: below 25 low, 25 to under 75 medium, 75 and up high
    (halfway between the levels' points)."""
    if score < (LEVEL_POINTS["low"] + LEVEL_POINTS["medium"]) / 2:
        return "low"
    if score < (LEVEL_POINTS["medium"] + LEVEL_POINTS["high"]) / 2:
        return "medium"
    return "high"


def day_summary(results: Iterable[ScoredResult]) -> DaySummary | None:
    """A day's score (the time-weighted mean of its results' scores), its peak and when, and
    the time spent in each shown level. None for a day without results."""
    items = list(results)
    if not items:
        return None
    seconds_in = dict.fromkeys((*LEVELS, UNCERTAIN), 0.0)
    weighted = 0.0
    total = 0.0
    peak = items[0]
    for item in items:
        weight = max(item.seconds, 0.0) or 1.0
        weighted += item.score * weight
        total += weight
        seconds_in[item.level] += max(item.seconds, 0.0)
        if item.score > peak.score:
            peak = item
    mean = weighted / total
    return DaySummary(
        results=len(items),
        score=mean,
        level=score_band(mean),
        peak_score=peak.score,
        peak_at=peak.at,
        peak_ref=peak.ref,
        seconds_in=seconds_in,
    )


@dataclass(frozen=True)
class Usual:
    days: int
    median: float
    low: float  # 25th percentile of the person's daily scores
    high: float  # 75th percentile


def _percentile(sorted_values: Sequence[float], percent: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), without numpy."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    rank = (len(sorted_values) - 1) * percent / 100
    below = int(rank)
    above = min(below + 1, len(sorted_values) - 1)
    return sorted_values[below] + (sorted_values[above] - sorted_values[below]) * (rank - below)


def usual_for(daily_scores: Iterable[float]) -> Usual | None:
    """The person's usual from their own daily scores (days before today, within
    USUAL_LOOKBACK_DAYS): median and middle-half range. None with fewer than USUAL_MIN_DAYS."""
    values = sorted(float(v) for v in daily_scores)
    if len(values) < USUAL_MIN_DAYS:
        return None
    low_p, high_p = USUAL_RANGE_PERCENTILES
    return Usual(
        days=len(values),
        median=statistics.median(values),
        low=_percentile(values, low_p),
        high=_percentile(values, high_p),
    )


def compared_with_usual(score: float, usual: Usual) -> str:
    """ "higher", "lower" or "usual": above, below or inside the person's usual range."""
    if score > usual.high:
        return "higher"
    if score < usual.low:
        return "lower"
    return "usual"


@dataclass(frozen=True)
class WeekSummary:
    start: date  # the Monday
    score: float  # mean of the week's daily scores
    days: int  # days with results


def week_summaries(daily: Iterable[tuple[date, float]]) -> list[WeekSummary]:
    """Daily scores -> one mean per week (Monday to Sunday), oldest first: each day counts
    once, however many results it had, so a day of recordings does not outweigh a week."""
    weeks: dict[date, list[float]] = {}
    for day, score in daily:
        weeks.setdefault(day - timedelta(days=day.weekday()), []).append(float(score))
    return [
        WeekSummary(start, statistics.fmean(scores), len(scores))
        for start, scores in sorted(weeks.items())
    ]
