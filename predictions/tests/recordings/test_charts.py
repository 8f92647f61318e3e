"""The recording page's geometry: a stretch without signal stays empty, ticks in time from the
start (mm:ss, as the forms take it), the rest and the labels in the same terms, units shown."""

from datetime import UTC, datetime, timedelta

from predictions.recordings.charts import ACROSS, recording_chart

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _chart(**overrides):
    arguments = {
        "traces": {
            "signals": {
                # Six slices of heart rate with nothing in the middle two (a strap off the skin).
                "hr": {"min": [60, 61, None, None, 70, 72], "max": [62, 64, None, None, 75, 80]},
                "gsr": {"min": [1.0] * 6, "max": [2.0] * 6},
            }
        },
        "windows": [
            {
                "start_s": 0.0,
                "end_s": 120.0,
                "level": "high",
                "confidence": 0.8,
                "probabilities": {"low": 0.1, "medium": 0.1, "high": 0.8},
            }
        ],
        "duration_s": 900.0,
        "stride_s": 30.0,
        "channels": [
            {"role": "hr", "name": "HR", "unit": "bpm"},
            {"role": "gsr", "name": "EDA", "unit": "uS"},
        ],
        "rest": (0.0, 180.0),
        "starts_at": START,
        "annotations": [
            {
                "starts_at": START + timedelta(minutes=5),
                "ends_at": START + timedelta(minutes=10),
                "level": "high",
                "note": "merging",
            }
        ],
        "unscored": [{"start_s": 300.0, "end_s": 420.0, "reason": "not_enough_signal"}],
    }
    arguments.update(overrides)
    return recording_chart(**arguments)


def test_it_leaves_a_stretch_without_signal_empty():
    chart = _chart()
    heart, skin = chart.lanes
    assert len(heart.paths) == 2  # not one shape bridging the missing slices
    assert len(skin.paths) == 1
    # The two shapes end and start a slice away from the gap.
    assert heart.paths[0].split()[1].startswith(f"L{round(1.5 * ACROSS / 6, 1)},")
    assert heart.paths[1].startswith(f"M{round(4.5 * ACROSS / 6, 1)},")


def test_it_names_each_signal_with_its_range_and_unit():
    heart, skin = _chart().lanes
    assert (heart.label, heart.range_text) == ("heart rate", "60 to 80 bpm")
    assert (skin.label, skin.range_text) == ("skin conductance", "1 to 2 µS")


def test_it_ticks_in_minutes_and_seconds_from_the_start():
    chart = _chart()
    labels = [tick.label for tick in chart.ticks]
    assert labels == ["00:00", "02:00", "04:00", "06:00", "08:00", "10:00", "12:00", "14:00"]
    assert [tick.minor for tick in chart.ticks][:3] == [False, True, False]
    assert chart.ticks[0].anchor == "start"
    long = _chart(duration_s=2 * 3600.0)
    assert [tick.label for tick in long.ticks][:3] == ["00:00", "15:00", "30:00"]
    assert long.ticks[-1].label == "2:00:00"


def test_it_marks_the_rest_and_the_labels_in_time_from_the_start():
    chart = _chart()
    assert chart.rest.label == "Your rest: 00:00-03:00"
    assert (chart.rest.x, chart.rest.width) == (0.0, 200.0)
    (label,) = chart.labels
    assert label.label == "You said high (05:00-10:00): merging"
    assert (label.x, label.width) == (round(300 * ACROSS / 900, 1), round(300 * ACROSS / 900, 1))


def test_each_window_says_its_time_level_and_score():
    cells = _chart().cells
    scored, unscored = cells
    assert scored.label == "00:00-02:00: score 85, high (80% sure)"
    assert (scored.level, scored.score) == ("high", 85)
    assert unscored.level == "unscored" and unscored.label.endswith("not enough signal")
    # A window stands for its middle: one stride around it.
    assert scored.x == round(45 * ACROSS / 900, 2)
    assert scored.width == round(30 * ACROSS / 900, 2)
