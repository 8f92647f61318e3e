"""Times within a recording as its page writes them: minutes:seconds from the start."""

from datetime import UTC, datetime, timedelta

from predictions.templatetags.clock import mmss, since


def test_it_writes_seconds_as_minutes_and_seconds_and_hours_past_one():
    assert [mmss(s) for s in (0, 92.4, 272.6, 3723)] == ["00:00", "01:32", "04:33", "1:02:03"]
    assert mmss(None) == ""


def test_it_counts_a_moment_from_the_start():
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert since(start + timedelta(minutes=5, seconds=7), start) == "05:07"
    assert since(start - timedelta(seconds=3), start) == "00:00"  # never before the start
    assert since(None, start) == ""
