"""Each person's days (PredictionDay), kept by PostgreSQL's triggers (migration 0012): after
every kind of write (a single INSERT, the batch COPY, a recording's windows and its stride, an
UPDATE as a re-score does, deletes of one row, a recording, a person), and a change of time
zone, the rollup holds what summing the rows gives; and the summaries read from it answer
exactly as the computation from every row (the one they replaced, copied here as the
reference) for ranges cut anywhere, in zones with daylight saving and odd offsets."""

from __future__ import annotations

import threading
import uuid
import zoneinfo
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import psycopg
import pytest
from django.db import connection
from django.db.models import Avg, Count, F, FloatField, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDay, TruncWeek

from accounts.services import user_delete, user_update_time_zone
from mlcore.readings.features import CLASSES
from mlcore.score import LEVEL_POINTS
from predictions import selectors, services
from predictions.batch.rows import ChunkRows
from predictions.batch.storage import batch_predictions_insert
from predictions.models import Prediction, PredictionDay, Recording
from predictions.recordings.services import recording_delete
from predictions.tests.factories import PredictionFactory, scored_prediction
from stressapp.tests.support import assert_error

pytestmark = pytest.mark.django_db

# Across New York's change to winter time (1 Nov 2026) and a week either side.
START = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)


def _reference_summary(user, start, end, bucket):
    """The summary as it was computed before the rollup, from every row."""
    tz = zoneinfo.ZoneInfo(user.time_zone)
    queryset = Prediction.objects.filter(user=user)
    if start is not None:
        queryset = queryset.filter(measured_at__gte=start)
    if end is not None:
        queryset = queryset.filter(measured_at__lt=end)
    trunc = TruncWeek if bucket == "week" else TruncDay
    rows = (
        queryset.annotate(bucket=trunc("measured_at", tzinfo=tz))
        .values("bucket")
        .annotate(
            total=Count("id"),
            mean_confidence=Avg("confidence"),
            **{level: Count("id", filter=Q(stress_level=level)) for level in CLASSES},
        )
        .order_by("bucket")
    )
    return [
        (
            row["bucket"].astimezone(tz).date(),
            row["total"],
            tuple(row[level] for level in CLASSES),
            round(row["mean_confidence"], 4),
        )
        for row in rows
    ]


def _reference_scores(user, start, end):
    tz = zoneinfo.ZoneInfo(user.time_zone)
    score = sum(Value(p) * F(f"probability_{level}") for level, p in LEVEL_POINTS.items())
    seconds = Coalesce(F("recording__stride_s"), Value(30.0), output_field=FloatField())
    queryset = Prediction.objects.filter(user=user, measured_at__gte=start)
    if end is not None:
        queryset = queryset.filter(measured_at__lt=end)
    rows = (
        queryset.annotate(day=TruncDay("measured_at", tzinfo=tz), seconds=seconds)
        .values("day")
        .annotate(weighted=Sum(score * F("seconds")), total=Sum("seconds"))
        .order_by("day")
    )
    return [(row["day"].astimezone(tz).date(), row["weighted"] / row["total"]) for row in rows]


_SUMMED = ("total", *CLASSES, "confidence_sum", "seconds", *(f"{c}_seconds" for c in CLASSES))


def _stored_days(user) -> dict:
    """The person's days as the readers see them: each day's rows summed, empty days left out."""
    rows = (
        PredictionDay.objects.filter(user=user)
        .order_by()
        .values("day")
        .annotate(**{f"sum_{c}": Sum(c) for c in _SUMMED})
    )
    return {
        row["day"]: SimpleNamespace(**{c: row[f"sum_{c}"] for c in _SUMMED})
        for row in rows
        if row["sum_total"] > 0
    }


def _rollup_matches_rows(user) -> None:
    tz = zoneinfo.ZoneInfo(user.time_zone)
    rows = selectors._rows_by_day(user=user, tz=tz, start=None, end=None)
    stored = _stored_days(user)
    assert stored.keys() == rows.keys()
    for day, expected in rows.items():
        got = stored[day]
        assert (got.total, (got.low, got.medium, got.high)) == (expected.total, expected.counts)
        assert got.confidence_sum == pytest.approx(expected.confidence_sum, abs=1e-9)
        assert got.seconds == pytest.approx(expected.seconds, abs=1e-9)
        levels = (got.low_seconds, got.medium_seconds, got.high_seconds)
        assert levels == pytest.approx(expected.level_seconds, abs=1e-9)


def _summaries_match_rows(user) -> None:
    """Ranges cut at odd hours, at midnights, open on either side, and within one day."""
    ranges = [
        (None, None),
        (START + timedelta(hours=7, minutes=13), None),
        (None, START + timedelta(days=9, hours=5)),
        (START + timedelta(days=1, hours=3), START + timedelta(days=12, hours=22, minutes=1)),
        (START + timedelta(days=3, hours=1), START + timedelta(days=3, hours=20)),
        (START + timedelta(days=2), START + timedelta(days=8)),
    ]
    for start, end in ranges:
        for bucket in ("day", "week"):
            got = selectors.prediction_summary_for_user(
                user=user, start=start, end=end, bucket=bucket
            )
            expected = _reference_summary(user, start, end, bucket)
            assert [(b["bucket_start"], b["total"], tuple(b["counts"].values())) for b in got] == [
                row[:3] for row in expected
            ], (start, end, bucket)
            # The same mean, summed in another order: at an exact half of the fourth decimal
            # the two roundings may part by one (0.64625 -> 0.6462 or 0.6463).
            assert [b["mean_confidence"] for b in got] == pytest.approx(
                [row[3] for row in expected], abs=1.01e-4
            )
        if start is not None:
            got_scores = selectors.daily_scores_for_user(user=user, start=start, end=end)
            expected = _reference_scores(user, start, end)
            assert [d for d, _ in got_scores] == [d for d, _ in expected]
            assert [s for _, s in got_scores] == pytest.approx([s for _, s in expected])


def _spread(user, n: int, step_minutes: int = 97) -> None:
    """n typed results every step_minutes from START, levels and scores varied."""
    for i in range(n):
        scored_prediction(
            user=user,
            at=START + timedelta(minutes=step_minutes * i),
            score=(i * 37) % 101,
        )


def _recording(user, stride_s=None) -> Recording:
    return Recording.objects.create(
        user=user,
        name="r",
        file_format="edf",
        input_sha256=uuid.uuid4().hex * 2,
        input_bytes=1,
        starts_at=START,
        duration_s=3600,
        stride_s=stride_s,
    )


def _windows(recording, n: int) -> None:
    Prediction.objects.bulk_create(
        PredictionFactory.build(
            user=recording.user,
            measured_at=recording.starts_at + timedelta(hours=5 * i),
            recording=recording,
            row_number=i,
            source="recording",
            stress_level=CLASSES[i % 3],
            confidence=0.4 + (i % 5) / 10,
        )
        for i in range(n)
    )


@pytest.mark.parametrize("time_zone", ["America/New_York", "Asia/Kolkata", "Pacific/Chatham"])
def test_the_rollup_answers_as_every_row_does_after_each_kind_of_write(user, other_user, time_zone):
    user_update_time_zone(user=user, time_zone=time_zone)
    _spread(user, 220)  # ~15 days, a result every 97 minutes (ORM INSERTs, one by one)
    _spread(other_user, 30)
    _rollup_matches_rows(user)
    _summaries_match_rows(user)

    # The batch path: one COPY of a chunk.
    n = 300
    rows = ChunkRows(
        row_numbers=list(range(n)),
        features=np.tile([70.0, 0.4, 0.2, 0.5, 0.3], (n, 1)),
        raw_features=[()] * 5,
        measured_at=[START + timedelta(minutes=61 * i) for i in range(n)],
        measured_at_text=[""] * n,
        notes=[""] * n,
    )
    probabilities = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1]] * 100)
    batch_predictions_insert(
        user_id=user.id,
        calibrated=False,
        job_id=uuid.uuid4(),
        rows=rows,
        levels=[CLASSES[int(k)] for k in probabilities.argmax(axis=1)],
        probabilities=probabilities,
        version_id=Prediction.objects.filter(user=user).first().model_version_id,
        now=START,
    )
    _rollup_matches_rows(user)

    # A recording's windows come before its stride; the stride then counts.
    recording = _recording(user)
    _windows(recording, 40)
    _rollup_matches_rows(user)
    Recording.objects.filter(pk=recording.pk).update(stride_s=12.5)
    _rollup_matches_rows(user)
    _summaries_match_rows(user)

    # A re-score changes levels and probabilities; an update of nothing summed changes none.
    Prediction.objects.filter(user=user, source="batch", row_number__lt=150).update(
        stress_level="high", probability_high=0.9, probability_low=0.05, confidence=0.9
    )
    Prediction.objects.filter(user=user).update(note="seen")
    _rollup_matches_rows(user)

    # Deletes: one, a recording with its windows, a whole day.
    services.prediction_delete(prediction=Prediction.objects.filter(user=user).first())
    recording_delete(recording=recording)
    Prediction.objects.filter(
        user=user,
        measured_at__gte=START + timedelta(days=4),
        measured_at__lt=START + timedelta(days=5),
    ).delete()
    _rollup_matches_rows(user)
    _summaries_match_rows(user)

    # Another zone: the days are counted again.
    user_update_time_zone(user=user, time_zone="Europe/Berlin")
    _rollup_matches_rows(user)
    _summaries_match_rows(user)
    _rollup_matches_rows(other_user)


def test_a_person_deleted_leaves_no_days_and_others_keep_theirs(user, other_user):
    _spread(user, 20)
    _spread(other_user, 20)
    user_delete(user=user)
    assert not PredictionDay.objects.filter(user_id=user.id).exists()
    _rollup_matches_rows(other_user)


def test_summaries_count_only_the_askers_results(token_client, user, other_user):
    _spread(other_user, 50)
    scored_prediction(user=user, at=START + timedelta(hours=1), score=90)
    body = token_client.get("/api/predictions/summary", {"bucket": "day"}).json()
    assert [(b["bucket_start"], b["total"]) for b in body["buckets"]] == [("2026-10-25", 1)]
    body = token_client.get(
        "/api/predictions/summary",
        {"bucket": "week", "from": "2026-10-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
    ).json()
    assert [b["total"] for b in body["buckets"]] == [1]


def test_the_timeline_days_are_the_askers_own(client, user, other_user):
    _spread(other_user, 50)
    client.force_login(user)
    response = client.get(
        "/timeline/", {"range": "custom", "start": "2026-10-25", "end": "2026-11-08"}
    )
    assert response.status_code == 200 and response.context["days"] == []
    scored_prediction(user=user, at=START + timedelta(hours=30), score=80)
    days = client.get(
        "/timeline/", {"range": "custom", "start": "2026-10-25", "end": "2026-11-08"}
    ).context["days"]
    assert [(d["total"], round(d["score"])) for d in days] == [(1, 80)]


@pytest.mark.parametrize(
    "params",
    [
        {"bucket": "month"},
        {"from": "yesterday"},
        {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
    ],
)
def test_bad_summary_parameters_are_refused(token_client, params):
    assert_error(token_client.get("/api/predictions/summary", params), 400, "validation_error")


def test_a_bad_timeline_range_is_said_and_the_last_week_shown(client, user):
    client.force_login(user)
    response = client.get(
        "/timeline/", {"range": "custom", "start": "2026-11-08", "end": "2026-10-25"}
    )
    assert response.status_code == 200
    assert "must not be after" in response.content.decode()


def test_the_timeline_dots_are_the_markup_the_template_loop_made():
    from django.template import Context, Template

    from predictions.charts import ChartPoint

    points = [
        ChartPoint(12.34, 56.5, "high", 80, "Tue 1 Dec, 09:30: score 80, high"),
        ChartPoint(0.0, 120.0, "uncertain", 49, 'a "quoted" <label> & more'),
    ]
    loop = Template(
        '{% for p in points %}<circle class="dot {{ p.level }}" cx="{{ p.percent }}%" '
        'cy="{{ p.y }}" r="4" data-label="{{ p.label }}"><title>{{ p.label }}</title>'
        "</circle>{% endfor %}"
    )
    tag = Template("{% load timeline %}{% timeline_dots points %}")
    context = Context({"points": points})
    assert tag.render(context) == loop.render(context)


# --- Compaction: one row a day again, and nothing lost to writers at the same time -----------


def _rows_per_day(user) -> dict:
    rows = PredictionDay.objects.filter(user=user).order_by().values("day").annotate(n=Count("id"))
    return {row["day"]: row["n"] for row in rows}


def _raw_connection() -> psycopg.Connection:
    """A connection of its own to the test database, outside Django's."""
    params = connection.settings_dict
    return psycopg.connect(
        dbname=params["NAME"], user=params["USER"], host=params["HOST"], port=params["PORT"]
    )


def _raw_insert(conn: psycopg.Connection, user, at: datetime, version_id: int) -> None:
    conn.execute(
        "INSERT INTO predictions_prediction (user_id, measured_at, created_at, stress_level, "
        "confidence, probability_low, probability_medium, probability_high, calibrated, "
        "model_version_id, source, note) "
        "VALUES (%s, %s, now(), 'high', 0.7, 0.1, 0.2, 0.7, false, %s, 'api', '')",
        (user.id, at, version_id),
    )


def test_compaction_leaves_one_row_a_day_and_the_same_answers(user, other_user):
    user_update_time_zone(user=user, time_zone="America/New_York")
    _spread(user, 120)
    _spread(other_user, 30)
    recording = _recording(user)
    _windows(recording, 30)
    Recording.objects.filter(pk=recording.pk).update(stride_s=12.5)
    Prediction.objects.filter(user=user, source="recording").update(stress_level="low")
    # A whole day's results deleted: its rows sum to nothing and compaction drops them.
    Prediction.objects.filter(
        user=user,
        measured_at__gte=START + timedelta(days=2),
        measured_at__lt=START + timedelta(days=3),
    ).delete()
    assert max(_rows_per_day(user).values()) > 1
    _rollup_matches_rows(user)

    deleted, written = services.prediction_days_compact()

    assert deleted > written > 0
    assert set(_rows_per_day(user).values()) == {1} == set(_rows_per_day(other_user).values())
    assert set(_rows_per_day(user)) == set(_stored_days(user))  # no empty day left
    _rollup_matches_rows(user)
    _rollup_matches_rows(other_user)
    _summaries_match_rows(user)
    assert services.prediction_days_compact() == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_write_uncommitted_while_compacting_is_neither_lost_nor_waited_for(user):
    _spread(user, 40, step_minutes=20)
    version_id = Prediction.objects.filter(user=user).first().model_version_id
    with _raw_connection() as writer:
        writer.execute("SET statement_timeout = '10s'")
        _raw_insert(writer, user, START + timedelta(hours=1), version_id)  # not committed
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = '10s'")  # a wait would fail, not hang
        services.prediction_days_compact()
        assert set(_rows_per_day(user).values()) == {1}
        writer.commit()
    _rollup_matches_rows(user)
    services.prediction_days_compact()
    assert set(_rows_per_day(user).values()) == {1}
    _rollup_matches_rows(user)


@pytest.mark.django_db(transaction=True)
def test_two_compactions_and_writers_at_once_sum_every_row_once(user):
    """A compaction holds its deleted rows uncommitted; a second one waits for them, writers
    commit meanwhile; every row is summed exactly once."""
    from predictions.services import _COMPACT

    _spread(user, 60, step_minutes=20)
    version_id = Prediction.objects.filter(user=user).first().model_version_id
    with _raw_connection() as first, _raw_connection() as writer:
        first.execute("SELECT pg_advisory_xact_lock_shared(22003, %s)", (user.id,))
        first.execute(_COMPACT, {"user": user.id})  # deleted and summed, not committed

        second = threading.Thread(target=_compact_in_thread)
        second.start()
        _raw_insert(writer, user, START + timedelta(hours=2), version_id)
        writer.commit()
        second.join(timeout=0.5)
        assert second.is_alive()  # waiting for the first one's rows
        first.commit()
        second.join(timeout=10)
        assert not second.is_alive()
    _rollup_matches_rows(user)
    services.prediction_days_compact()
    assert set(_rows_per_day(user).values()) == {1}
    _rollup_matches_rows(user)


def _compact_in_thread() -> None:
    try:
        services.prediction_days_compact()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_many_writers_and_compactions_at_once_lose_nothing(user, other_user):
    version_id = PredictionFactory(user=user, measured_at=START).model_version_id
    stop = threading.Event()
    errors: list[BaseException] = []

    def write(person, offset: int) -> None:
        try:
            with _raw_connection() as conn:
                conn.autocommit = True
                for i in range(60):
                    _raw_insert(
                        conn, person, START + timedelta(minutes=37 * i + offset), version_id
                    )
                    if i % 7 == 0:  # a delete too, as a person removing a reading
                        conn.execute(
                            "DELETE FROM predictions_prediction WHERE id = (SELECT min(id) "
                            "FROM predictions_prediction WHERE user_id = %s)",
                            (person.id,),
                        )
        except BaseException as exc:
            errors.append(exc)

    def compact() -> None:
        try:
            while not stop.is_set():
                services.prediction_days_compact()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    compactors = [threading.Thread(target=compact) for _ in range(2)]
    writers = [
        threading.Thread(target=write, args=(person, offset))
        for person in (user, user, other_user)
        for offset in (0, 11)
    ]
    for thread in compactors + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in compactors:
        thread.join()
    assert errors == []
    _rollup_matches_rows(user)
    _rollup_matches_rows(other_user)
    services.prediction_days_compact()
    assert set(_rows_per_day(user).values()) == {1}
    _rollup_matches_rows(user)


@pytest.mark.django_db(transaction=True)
def test_a_time_zone_change_waits_for_a_compaction_and_counts_once(user):
    """Without the compaction's shared lock, the recount's delete would miss the row the
    compaction inserts and the day would count twice."""
    from predictions.services import _COMPACT

    _spread(user, 60, step_minutes=20)
    with _raw_connection() as first:
        first.execute("SELECT pg_advisory_xact_lock_shared(22003, %s)", (user.id,))
        first.execute(_COMPACT, {"user": user.id})

        def change() -> None:
            try:
                user_update_time_zone(user=user, time_zone="Asia/Kolkata")
            finally:
                connection.close()

        zone = threading.Thread(target=change)
        zone.start()
        zone.join(timeout=0.5)
        assert zone.is_alive()
        first.commit()
        zone.join(timeout=10)
        assert not zone.is_alive()
    user.refresh_from_db()
    assert user.time_zone == "Asia/Kolkata"
    _rollup_matches_rows(user)


def test_beat_compacts_the_days_every_minute(settings, user):
    from predictions import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["prediction-days-compact"]
    assert (entry["task"], entry["schedule"]) == (tasks.prediction_days_compact.name, 60)
    _spread(user, 30, step_minutes=10)
    assert max(_rows_per_day(user).values()) > 1
    tasks.prediction_days_compact()
    assert set(_rows_per_day(user).values()) == {1}
    _rollup_matches_rows(user)
