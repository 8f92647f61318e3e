"""The dashboard's reads: each day's score by the one formula (mlcore.score), today against
the person's own usual, the day's peak and time in each level, weekly trends; from a history
made by the factories, in the person's time zone, never counting anyone else's results."""

from __future__ import annotations

import html
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest

from mlcore.score import ScoredResult, day_summary
from predictions import selectors
from predictions.tests.factories import PredictionFactory, daily_history, scored_prediction

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # a Tuesday
TODAY = NOW.date()


def _days_before(n: int) -> date:
    return TODAY - timedelta(days=n)


@pytest.mark.django_db
def test_a_days_score_in_the_database_is_the_formulas(user):
    at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    probabilities = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.1, 0.2, 0.7), (0.35, 0.36, 0.29)]
    for i, (low, medium, high) in enumerate(probabilities):
        PredictionFactory(
            user=user,
            measured_at=at + timedelta(minutes=i),
            probability_low=low,
            probability_medium=medium,
            probability_high=high,
        )
    # 0, 50, 80 and 47 (the formula by hand), each standing for 30 s.
    expected = (0 + 50 + 80 + 47) / 4
    [(day, score)] = selectors.daily_scores_for_user(
        user=user, start=datetime(2026, 11, 30, tzinfo=UTC), end=None
    )
    assert day == date(2026, 11, 30) and score == pytest.approx(expected)
    results = [
        ScoredResult(at, {"low": lo, "medium": m, "high": h}, 30) for lo, m, h in probabilities
    ]
    assert day_summary(results).score == pytest.approx(score)


@pytest.mark.django_db
def test_today_against_the_usual_of_the_last_28_days(user, other_user):
    # 14 earlier days scoring 20..46 (median 33, middle half 26.5 to 39.5), one day outside
    # the 28-day look-back that must not count, and someone else's calm today.
    daily_history(
        user=user, scores_by_day={_days_before(n): 20 + 2 * (n - 1) for n in range(1, 15)}
    )
    daily_history(user=user, scores_by_day={_days_before(40): 99.0})
    scored_prediction(user=other_user, at=NOW - timedelta(hours=1), score=0)
    scored_prediction(user=user, at=NOW - timedelta(hours=3), score=60)
    scored_prediction(user=user, at=NOW - timedelta(hours=2), score=80)
    board = selectors.dashboard_for_user(user=user, now=NOW)
    assert board.usual.days == 14 and board.usual.median == pytest.approx(33)
    assert (board.usual.low, board.usual.high) == (pytest.approx(26.5), pytest.approx(39.5))
    assert board.today.score == pytest.approx(70) and board.compared == "higher"
    assert board.today.peak_score == pytest.approx(80)
    assert board.today.peak_at == NOW - timedelta(hours=2)
    assert board.today.seconds_in == {"low": 0, "medium": 0, "high": 60, "uncertain": 0}


@pytest.mark.django_db
def test_a_calm_day_is_lower_than_usual_and_too_few_days_have_no_usual(user):
    daily_history(user=user, scores_by_day={_days_before(n): 50.0 for n in range(1, 7)})
    scored_prediction(user=user, at=NOW, score=10)
    board = selectors.dashboard_for_user(user=user, now=NOW)
    assert board.usual is None and board.compared is None and board.usual_days == 6
    daily_history(user=user, scores_by_day={_days_before(7): 50.0})
    board = selectors.dashboard_for_user(user=user, now=NOW)
    assert board.usual.median == 50 and board.compared == "lower"


@pytest.mark.django_db
def test_days_are_cut_at_the_persons_midnight(user):
    user.time_zone = "America/New_York"
    user.save()
    tz = zoneinfo.ZoneInfo("America/New_York")
    # 23:30 in New York on 30 Nov is 04:30 UTC on 1 Dec: it belongs to the 30th.
    scored_prediction(user=user, at=datetime(2026, 11, 30, 23, 30, tzinfo=tz), score=90)
    scored_prediction(user=user, at=datetime(2026, 12, 1, 9, 0, tzinfo=tz), score=10)
    days = selectors.daily_scores_for_user(
        user=user, start=datetime(2026, 11, 30, tzinfo=tz), end=None
    )
    assert [(d, round(s)) for d, s in days] == [(date(2026, 11, 30), 90), (date(2026, 12, 1), 10)]


@pytest.mark.django_db
def test_weeks_are_the_mean_of_their_days(user):
    # Monday 23 Nov and Sunday 29 Nov (two results on the Sunday), then Tuesday 1 Dec.
    daily_history(user=user, scores_by_day={date(2026, 11, 23): 10.0, date(2026, 11, 29): 30.0})
    daily_history(user=user, scores_by_day={date(2026, 11, 29): 50.0}, hour=18)
    scored_prediction(user=user, at=NOW, score=70)
    weeks = selectors.dashboard_for_user(user=user, now=NOW).weeks
    # The Sunday's two results make one day of 40: the week is (10 + 40) / 2.
    assert [(w.start, round(w.score), w.days) for w in weeks] == [
        (date(2026, 11, 23), 25, 2),
        (date(2026, 11, 30), 70, 1),
    ]


def test_the_dashboard_page_says_how_today_compares_with_the_persons_usual(
    client, user, active_model
):
    now = datetime.now(UTC)
    today_start = datetime.combine(now.date(), time.min, tzinfo=UTC)
    daily_history(
        user=user, scores_by_day={now.date() - timedelta(days=n): 30.0 for n in range(1, 11)}
    )
    scored_prediction(user=user, at=today_start + timedelta(minutes=5), score=85)
    client.force_login(user)
    body = html.unescape(client.get("/").content.decode())
    assert "Higher than usual for you." in body
    assert "Your usual day scores 30" in body and "your last 10 days" in body
    assert 'Stress score <strong class="day-score">85</strong>' in body
    assert "Highest today: <strong>85</strong>" in body


@pytest.mark.django_db
def test_the_dashboard_reads_in_two_queries_however_long_the_history(
    user, django_assert_num_queries
):
    daily_history(user=user, scores_by_day={_days_before(n): 30.0 for n in range(1, 40)})
    for minutes in range(0, 600, 30):
        scored_prediction(user=user, at=NOW - timedelta(minutes=minutes), score=50)
    with django_assert_num_queries(2):  # today's results, then every day's score
        board = selectors.dashboard_for_user(user=user, now=NOW)
    assert board.today.results == 20 and board.usual.days == 28
