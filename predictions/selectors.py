"""Every read: history, one prediction, summaries. Always scoped to one owner."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import (
    Avg,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDay, TruncWeek
from django.http import Http404

from accounts.models import User
from mlcore.readings.features import CLASSES
from mlcore.readings.preprocessing import DEFAULT_WINDOW_SECONDS
from mlcore.score import (
    LEVEL_POINTS,
    USUAL_LOOKBACK_DAYS,
    DaySummary,
    ScoredResult,
    Usual,
    WeekSummary,
    compared_with_usual,
    day_summary,
    usual_for,
    week_summaries,
)
from predictions.models import BatchJob, ModelVersion, Prediction, Recording

# Ties between levels go to the higher one: understating stress is the worse mistake.
_SEVERITY_ORDER = tuple(reversed(CLASSES))


@dataclass(frozen=True)
class HistoryFilters:
    start: datetime | None = None
    end: datetime | None = None
    level: str | None = None
    source: str | None = None


# Rows show their model's version only; its card (~24 KB of JSON) and metrics would otherwise
# be fetched and parsed once per row (a page of 20 readings: ~0.5 MB of JSON).
MODEL_VERSION_BULK = ("model_version__card", "model_version__metrics")


def prediction_list_for_user(
    *, user: User, filters: HistoryFilters | None = None
) -> QuerySet[Prediction]:
    filters = filters or HistoryFilters()
    queryset = (
        Prediction.objects.filter(user=user)
        .select_related("model_version")
        .defer(*MODEL_VERSION_BULK)
    )
    if filters.start is not None:
        queryset = queryset.filter(measured_at__gte=filters.start)
    if filters.end is not None:
        queryset = queryset.filter(measured_at__lt=filters.end)
    if filters.level:
        queryset = queryset.filter(stress_level=filters.level)
    if filters.source:
        queryset = queryset.filter(source=filters.source)
    return queryset.order_by("-measured_at", "-id")


def prediction_get_for_user(*, user: User, prediction_id: int) -> Prediction:
    """The user's own prediction; anyone else's looks exactly like a missing one."""
    prediction = (
        Prediction.objects.select_related("model_version")
        .defer(*MODEL_VERSION_BULK)
        .filter(user=user, pk=prediction_id)
        .first()
    )
    if prediction is None:
        raise Http404("No such prediction.")
    return prediction


def dominant_level(counts: dict[str, int]) -> str | None:
    if not any(counts.values()):
        return None
    return max(_SEVERITY_ORDER, key=lambda level: counts[level])


def prediction_summary_for_user(
    *, user: User, start: datetime | None, end: datetime | None, bucket: str = "day"
) -> list[dict[str, Any]]:
    """Per day or week in the user's time zone: counts per level, mean confidence and the
    dominant level. Only buckets with readings are returned, oldest first."""
    tz = zoneinfo.ZoneInfo(user.time_zone)
    trunc = TruncWeek if bucket == "week" else TruncDay
    rows = (
        prediction_list_for_user(user=user, filters=HistoryFilters(start=start, end=end))
        .order_by()
        .annotate(bucket=trunc("measured_at", tzinfo=tz))
        .values("bucket")
        .annotate(
            total=Count("id"),
            mean_confidence=Avg("confidence"),
            **{level: Count("id", filter=Q(stress_level=level)) for level in CLASSES},
        )
        .order_by("bucket")
    )
    summary = []
    for row in rows:
        counts = {level: row[level] for level in CLASSES}
        summary.append(
            {
                "bucket_start": row["bucket"].astimezone(tz).date(),
                "total": row["total"],
                "counts": counts,
                "mean_confidence": round(row["mean_confidence"], 4),
                "dominant_level": dominant_level(counts),
            }
        )
    return summary


def model_version_active() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).only("version", "metrics").first()


def model_version_active_id() -> int | None:
    """The id of the version every process serves now (None before the first is trained)."""
    return ModelVersion.objects.filter(is_active=True).values_list("id", flat=True).first()


TIMELINE_MAX_POINTS = 2000


def prediction_timeline_for_user(
    *, user: User, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Readings in [start, end) for the chart: the newest TIMELINE_MAX_POINTS at most."""
    rows = (
        Prediction.objects.filter(user=user, measured_at__gte=start, measured_at__lt=end)
        .order_by("-measured_at")
        .values(
            "measured_at",
            "stress_level",
            "confidence",
            "probability_low",
            "probability_medium",
            "probability_high",
        )[:TIMELINE_MAX_POINTS]
    )
    return [
        {
            **row,
            "probabilities": {
                "low": row["probability_low"],
                "medium": row["probability_medium"],
                "high": row["probability_high"],
            },
        }
        for row in rows
    ]


EXPORT_FIELDS = (
    "id",
    "measured_at",
    "created_at",
    "heart_rate",
    "ecg",
    "emg",
    "gsr",
    "respiration",
    "stress_level",
    "confidence",
    "probability_low",
    "probability_medium",
    "probability_high",
    "model_version__version",
    "source",
    "note",
    "batch_job_id",
    "recording_id",
    "row_number",
    "window_start_s",
    "window_end_s",
)


def prediction_export_rows(*, user: User, filters: HistoryFilters | None = None) -> Any:
    """Every matching row as a tuple, streamed from the database in batches."""
    return (
        prediction_list_for_user(user=user, filters=filters)
        .values_list(*EXPORT_FIELDS)
        .iterator(chunk_size=2000)
    )


def batch_job_list_for_user(*, user: User, limit: int = 200) -> QuerySet[BatchJob]:
    return BatchJob.objects.filter(user=user).order_by("-created_at")[:limit]


def batch_job_get_for_user(*, user: User, job_id: Any) -> BatchJob:
    """The user's own job; anyone else's looks exactly like a missing one."""
    job = BatchJob.objects.filter(pk=job_id, user=user).first()
    if job is None:
        raise Http404("No such batch job.")
    return job


def export_header() -> list[str]:
    return [field.replace("model_version__version", "model_version") for field in EXPORT_FIELDS]


STANDARD_FIELDS = (
    "id",
    "measured_at",
    "stress_level",
    "confidence",
    "probability_low",
    "probability_medium",
    "probability_high",
    "heart_rate",
    "model_version__version",
    "recording_id",
    "row_number",
    "window_start_s",
    "window_end_s",
)


def _recording_extras(recording_id: Any) -> tuple[list[dict[str, Any]], list[list[float]]]:
    row = (
        Recording.objects.filter(pk=recording_id)
        .values_list("window_details", "device_reports")
        .first()
    )
    if row is None:
        return [], []
    details, reports = row
    return details or [], (reports or {}).get("sdnn_ms", [])


def standard_results_for_user(*, user: User) -> Iterator[dict[str, Any]]:
    """Every result of the person as the standards export takes it (predictions.standards):
    typed readings with the heart rate typed, recording windows with what the window
    measured (heart rate, breathing rate) and the device's SDNN inside the window. Streamed;
    each recording's details are read once."""
    extras: dict[Any, tuple[list[dict[str, Any]], list[list[float]]]] = {}
    rows = (
        Prediction.objects.filter(user=user)
        .order_by("measured_at", "id")
        .values_list(*STANDARD_FIELDS)
        .iterator(chunk_size=2000)
    )
    for row in rows:
        item = dict(zip(STANDARD_FIELDS, row, strict=True))
        result: dict[str, Any] = {
            "id": item["id"],
            "kind": "window" if item["recording_id"] else "reading",
            "measured_at": item["measured_at"],
            "ends_at": None,
            "stress_level": item["stress_level"],
            "confidence": item["confidence"],
            "probabilities": {
                "low": item["probability_low"],
                "medium": item["probability_medium"],
                "high": item["probability_high"],
            },
            "score": None,
            "model_version": item["model_version__version"],
            "recording_id": str(item["recording_id"]) if item["recording_id"] else None,
            "heart_rate_bpm": item["heart_rate"],
            "respiratory_rate": None,
            "sdnn_ms": None,
        }
        if item["recording_id"]:
            if item["recording_id"] not in extras:
                if len(extras) > 64:  # windows come recording by recording: keep a few
                    extras.clear()
                extras[item["recording_id"]] = _recording_extras(item["recording_id"])
            details, sdnn = extras[item["recording_id"]]
            start_s, end_s = item["window_start_s"], item["window_end_s"]
            result["ends_at"] = item["measured_at"] + timedelta(seconds=end_s - start_s)
            index = item["row_number"]
            detail = details[index] if index is not None and index < len(details) else {}
            result["heart_rate_bpm"] = detail.get("heart_rate_bpm")
            result["respiratory_rate"] = detail.get("respiratory_rate")
            inside = [value for t, value in sdnn if start_s <= t < end_s]
            result["sdnn_ms"] = inside[-1] if inside else None
        yield result


# --- The dashboard: scores per result and per day (formula: mlcore.score) -------------------

# A typed reading stands for one window of the five-number model (30 s); a recording's window
# for its stride (windows overlap; each stride is counted once).
TYPED_READING_SECONDS = DEFAULT_WINDOW_SECONDS
# Today's results read one by one (peak, time in each level): a day of back-to-back 30 s
# windows is 2,880; more than this and the newest are kept.
DAY_MAX_RESULTS = 20_000
WEEKS_SHOWN = 8


def _score_sql() -> Any:
    """mlcore.score.stress_score as SQL, built from the same weights (one formula)."""
    terms = [Value(points) * F(f"probability_{level}") for level, points in LEVEL_POINTS.items()]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return ExpressionWrapper(total, output_field=FloatField())


def _seconds_sql() -> Any:
    return Coalesce(
        F("recording__stride_s"), Value(TYPED_READING_SECONDS), output_field=FloatField()
    )


def daily_scores_for_user(
    *, user: User, start: datetime, end: datetime | None
) -> list[tuple[date, float]]:
    """(day, score) for each of the person's days in [start, end) with results, oldest first:
    the time-weighted mean of its results' scores, as mlcore.score.day_summary computes it."""
    tz = zoneinfo.ZoneInfo(user.time_zone)
    queryset = Prediction.objects.filter(user=user, measured_at__gte=start)
    if end is not None:
        queryset = queryset.filter(measured_at__lt=end)
    rows = (
        queryset.annotate(day=TruncDay("measured_at", tzinfo=tz), seconds=_seconds_sql())
        .values("day")
        .annotate(weighted=Sum(_score_sql() * F("seconds")), total=Sum("seconds"))
        .order_by("day")
    )
    return [
        (row["day"].astimezone(tz).date(), row["weighted"] / row["total"])
        for row in rows
        if row["total"]
    ]


def day_results_for_user(*, user: User, start: datetime, end: datetime) -> list[ScoredResult]:
    """The results in [start, end) as mlcore.score counts them (newest DAY_MAX_RESULTS)."""
    rows = (
        Prediction.objects.filter(user=user, measured_at__gte=start, measured_at__lt=end)
        .order_by("-measured_at", "-id")
        .values_list(
            "measured_at",
            "probability_low",
            "probability_medium",
            "probability_high",
            "recording__stride_s",
            "recording_id",
        )[:DAY_MAX_RESULTS]
    )
    return [
        ScoredResult(
            at=at,
            probabilities={"low": low, "medium": medium, "high": high},
            seconds=stride if stride is not None else TYPED_READING_SECONDS,
            ref=recording_id,
        )
        for at, low, medium, high, stride, recording_id in rows
    ]


@dataclass(frozen=True)
class Dashboard:
    today: DaySummary | None
    usual: Usual | None
    compared: str | None  # "higher" / "lower" / "usual" than the person's usual
    usual_days: int  # days with results in the look-back (to say how many more are needed)
    weeks: list[WeekSummary]


def dashboard_for_user(*, user: User, now: datetime) -> Dashboard:
    """Today against the person's own usual (their daily scores over the USUAL_LOOKBACK_DAYS
    before today), and their weekly scores over the last WEEKS_SHOWN weeks."""
    tz = zoneinfo.ZoneInfo(user.time_zone)
    today_start = datetime.combine(now.astimezone(tz).date(), time.min, tzinfo=tz)
    tomorrow = datetime.combine(today_start.date() + timedelta(days=1), time.min, tzinfo=tz)
    today = day_summary(day_results_for_user(user=user, start=today_start, end=tomorrow))
    first_week = today_start.date() - timedelta(days=today_start.weekday() + 7 * (WEEKS_SHOWN - 1))
    earliest = min(first_week, today_start.date() - timedelta(days=USUAL_LOOKBACK_DAYS))
    daily = daily_scores_for_user(
        user=user, start=datetime.combine(earliest, time.min, tzinfo=tz), end=tomorrow
    )
    lookback = today_start.date() - timedelta(days=USUAL_LOOKBACK_DAYS)
    before = [score for day, score in daily if lookback <= day < today_start.date()]
    usual = usual_for(before)
    return Dashboard(
        today=today,
        usual=usual,
        compared=compared_with_usual(today.score, usual) if today and usual else None,
        usual_days=len(before),
        weeks=week_summaries((day, score) for day, score in daily if day >= first_week),
    )


def model_version_active_mapping() -> dict[str, Any] | None:
    """The active model's feature mapping (its card's `feature_mapping`: how a device's raw
    values become the five numbers), without reading the rest of the card."""
    return (
        ModelVersion.objects.filter(is_active=True)
        .values_list("card__feature_mapping", flat=True)
        .first()
    )


def recording_results(*, recording: Recording) -> list[ScoredResult]:
    """A recording's scored windows as mlcore.score counts them (ref: the window's number)."""
    stride = recording.stride_s or TYPED_READING_SECONDS
    rows = (
        Prediction.objects.filter(recording=recording)
        .order_by("row_number")
        .values_list(
            "measured_at", "probability_low", "probability_medium", "probability_high", "row_number"
        )
    )
    return [
        ScoredResult(
            at=at,
            probabilities={"low": low, "medium": medium, "high": high},
            seconds=stride,
            ref=row_number,
        )
        for at, low, medium, high, row_number in rows
    ]


def recording_window_get(*, recording: Recording, row_number: int) -> Prediction | None:
    return (
        Prediction.objects.filter(recording=recording, row_number=row_number)
        .only("measured_at", "window_start_s", "window_end_s", "stress_level", "contributions")
        .first()
    )


def model_version_created_at(*, model_version_id: int | None) -> datetime | None:
    """When a version was registered (its plain name is "model of <that day>")."""
    if model_version_id is None:
        return None
    return (
        ModelVersion.objects.filter(pk=model_version_id)
        .values_list("created_at", flat=True)
        .first()
    )
