"""The timeline's geometry: gaps stay gaps, one average line per day with readings, a tick
per day, the 0-100 score."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from predictions.charts import JOIN_WITHIN, chart_score, timeline_chart

PARIS = ZoneInfo("Europe/Paris")


def _row(moment: datetime, high: float = 0.0, low: float = 1.0) -> dict:
    medium = 1.0 - high - low
    level = max(("low", low), ("medium", medium), ("high", high), key=lambda item: item[1])[0]
    return {
        "measured_at": moment,
        "stress_level": level,
        "confidence": max(low, medium, high),
        "probabilities": {"low": low, "medium": medium, "high": high},
    }


@pytest.mark.parametrize(
    ("probabilities", "score"),
    [
        ({"low": 1.0, "medium": 0.0, "high": 0.0}, 0),
        ({"low": 0.0, "medium": 1.0, "high": 0.0}, 50),
        ({"low": 0.0, "medium": 0.0, "high": 1.0}, 100),
        ({"low": 0.2, "medium": 0.3, "high": 0.5}, 65),
    ],
)
def test_it_writes_the_score_as_a_whole_number_from_0_to_100(probabilities, score):
    assert chart_score(probabilities) == score


def test_it_joins_readings_close_in_time_and_leaves_a_gap_between_days():
    start = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 00:00 in Paris
    end = start + timedelta(days=7)
    first_day = [_row(start + timedelta(hours=9 + h)) for h in range(3)]
    # Nothing on the next two days; then two readings five hours apart (still joined).
    later = [_row(start + timedelta(days=3, hours=8)), _row(start + timedelta(days=3, hours=13))]
    chart = timeline_chart(first_day + later, start, end, PARIS)
    assert len(chart.paths) == 2
    assert [path.count("L") for path in chart.paths] == [2, 1]
    assert len(chart.points) == 5
    assert later[1]["measured_at"] - later[0]["measured_at"] < JOIN_WITHIN


def test_it_draws_each_days_average_only_on_days_with_readings():
    start = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    end = start + timedelta(days=7)
    rows = [
        _row(start + timedelta(hours=10), high=1.0, low=0.0),  # score 100
        _row(start + timedelta(hours=11), high=0.0, low=1.0),  # score 0
        _row(start + timedelta(days=4, hours=10), high=0.0, low=1.0),
    ]
    chart = timeline_chart(rows, start, end, PARIS)
    assert len(chart.daily) == 2
    y_of_50 = chart.plot_bottom - (chart.plot_bottom - chart.plot_top) * 0.5
    first = chart.daily[0]
    assert first == f"M0.0,{round(y_of_50, 1)} H142.9"  # the whole first day, at 50
    assert chart.daily[1].endswith("H714.3")


def test_it_puts_a_tick_and_a_midnight_line_on_each_day_of_a_week():
    start = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    end = start + timedelta(days=7)
    chart = timeline_chart([_row(start + timedelta(hours=1))], start, end, PARIS)
    assert len(chart.day_lines) == 7
    labels = [tick.label for tick in chart.ticks]
    # 08:30 UTC is 09:30 in Paris: the first day's noon is still to come, so it has a tick.
    assert labels == ["Tue 24", "Wed 25", "Thu 26", "Fri 27", "Sat 28", "Sun 29", "Mon 30"]
    assert [tick.minor for tick in chart.ticks] == [False, True, False, True, False, True, False]
    assert all(0 <= tick.percent <= 100 for tick in chart.ticks)


def test_it_ticks_every_three_hours_over_a_day_and_names_the_day_at_midnight():
    end = datetime(2026, 12, 1, 15, 20, tzinfo=UTC)
    start = end - timedelta(hours=24)
    chart = timeline_chart([_row(end - timedelta(hours=1))], start, end, PARIS)
    labels = [tick.label for tick in chart.ticks]
    assert labels[0] == "18:00" and "Tue 1" in labels
    assert len(labels) == 8


def test_it_places_points_inside_the_plot():
    start = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    end = start + timedelta(days=1)
    rows = [_row(start + timedelta(hours=6), high=1.0, low=0.0), _row(start + timedelta(hours=18))]
    chart = timeline_chart(rows, start, end, UTC)
    assert [p.percent for p in chart.points] == [25.0, 75.0]
    assert [p.y for p in chart.points] == [chart.plot_top, chart.plot_bottom]
    assert chart.points[0].label == "Tue 24 Nov, 06:00: score 100, high"


def test_a_reading_no_level_is_likely_for_is_drawn_as_uncertain():
    start = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    row = _row(start + timedelta(hours=6), high=0.3, low=0.35)  # medium 0.35: no majority
    (point,) = timeline_chart([row], start, start + timedelta(days=1), UTC).points
    assert point.level == "uncertain"
    assert point.label.endswith(": score 48, uncertain")
