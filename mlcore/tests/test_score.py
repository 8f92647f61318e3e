"""The score a person reads, its level or "uncertain", a day's summary and "usual for you"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mlcore.score import (
    UNCERTAIN,
    USUAL_MIN_DAYS,
    ScoredResult,
    compared_with_usual,
    day_summary,
    score_band,
    shown_level,
    stress_score,
    usual_for,
    week_summaries,
)


def _p(low: float, medium: float, high: float) -> dict[str, float]:
    return {"low": low, "medium": medium, "high": high}


@pytest.mark.parametrize(
    ("probabilities", "score"),
    [
        (_p(1, 0, 0), 0.0),
        (_p(0, 1, 0), 50.0),
        (_p(0, 0, 1), 100.0),
        (_p(0.35, 0.36, 0.29), 47.0),  # the coin flip the issue saw reads as the middle
        (_p(0.5, 0, 0.5), 50.0),
        (_p(0.1, 0.2, 0.7), 80.0),
    ],
)
def test_it_scores_100_times_half_medium_plus_high(probabilities, score):
    assert stress_score(probabilities) == pytest.approx(score)


def test_it_moves_smoothly_where_the_level_jumps():
    below = stress_score(_p(0.34, 0.33, 0.33))
    above = stress_score(_p(0.33, 0.34, 0.33))
    assert abs(above - below) < 1


@pytest.mark.parametrize(
    ("probabilities", "level"),
    [
        (_p(0.35, 0.36, 0.29), UNCERTAIN),
        (_p(0.49, 0.3, 0.21), UNCERTAIN),
        (_p(0.5, 0.3, 0.2), "low"),
        (_p(0.1, 0.2, 0.7), "high"),
        (_p(0.0, 0.5, 0.5), "high"),  # a tie goes to the higher level
    ],
)
def test_it_says_uncertain_below_even_odds(probabilities, level):
    assert shown_level(probabilities) == level


def test_a_day_is_the_time_weighted_mean_with_its_peak_and_time_in_each_level():
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    results = [
        ScoredResult(start, _p(1, 0, 0), 30),  # 0, low
        ScoredResult(start + timedelta(minutes=1), _p(0, 0, 1), 90, ref="peak"),  # 100, high
        ScoredResult(start + timedelta(minutes=2), _p(0.35, 0.36, 0.29), 30),  # 47, uncertain
    ]
    day = day_summary(results)
    assert day.score == pytest.approx((0 * 30 + 100 * 90 + 47 * 30) / 150)
    assert (day.peak_score, day.peak_at, day.peak_ref) == (100.0, results[1].at, "peak")
    assert day.seconds_in == {"low": 30, "medium": 0, "high": 90, UNCERTAIN: 30}
    assert day.level == score_band(day.score) == "medium"
    assert day_summary([]) is None


def test_the_usual_is_the_median_and_middle_half_of_the_persons_days():
    assert usual_for([40.0] * (USUAL_MIN_DAYS - 1)) is None
    days = [10, 20, 30, 40, 50, 60, 70, 80]
    usual = usual_for(days)
    assert usual.days == 8 and usual.median == 45
    assert (usual.low, usual.high) == (27.5, 62.5)  # numpy's default percentiles
    assert compared_with_usual(63, usual) == "higher"
    assert compared_with_usual(27, usual) == "lower"
    assert compared_with_usual(45, usual) == "usual"


def test_weeks_run_monday_to_sunday_and_each_day_counts_once():
    monday = date(2026, 11, 23)
    weeks = week_summaries(
        [(monday, 10.0), (monday + timedelta(days=6), 30.0), (monday + timedelta(days=7), 50.0)]
    )
    assert [(w.start, w.score, w.days) for w in weeks] == [
        (monday, 20.0, 2),
        (monday + timedelta(days=7), 50.0, 1),
    ]
