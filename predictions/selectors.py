"""Every read: history, one prediction, summaries. Always scoped to one owner."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDay
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
from predictions.models import BatchJob, ModelVersion, Prediction, PredictionDay, Recording

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
    days = _day_totals(user=user, start=start, end=end)
    if bucket == "week":
        # Weeks start on Monday, as TruncWeek has them.
        weeks: dict[date, DayTotals] = {}
        for day, totals in days.items():
            monday = day - timedelta(days=day.weekday())
            weeks[monday] = weeks[monday] + totals if monday in weeks else totals
        days = weeks
    return [_summary_bucket(day, totals) for day, totals in sorted(days.items())]


def _summary_bucket(day: date, totals: DayTotals) -> dict[str, Any]:
    counts = {level: totals.counts[i] for i, level in enumerate(CLASSES)}
    return {
        "bucket_start": day,
        "total": totals.total,
        "counts": counts,
        "mean_confidence": round(totals.confidence_sum / totals.total, 4),
        "dominant_level": dominant_level(counts),
    }


def prediction_days_for_user(*, user: User, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The person's days in [start, end) with results, newest first: the day summary's
    counts and mean confidence, and the day's stress score (the timeline's daily summary)."""
    days = _day_totals(user=user, start=start, end=end)
    return [
        {**_summary_bucket(day, totals), "score": totals.score}
        for day, totals in sorted(days.items(), reverse=True)
    ]


# --- What a person's days add up to ---------------------------------------------------------


@dataclass(frozen=True)
class DayTotals:
    """What a set of results adds up to (a PredictionDay, or rows summed on the fly)."""

    total: int
    counts: tuple[int, ...]  # per level, in CLASSES order
    confidence_sum: float
    seconds: float
    level_seconds: tuple[float, ...]  # seconds times each level's probability, CLASSES order

    def __add__(self, other: DayTotals) -> DayTotals:
        return DayTotals(
            total=self.total + other.total,
            counts=tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
            confidence_sum=self.confidence_sum + other.confidence_sum,
            seconds=self.seconds + other.seconds,
            level_seconds=tuple(
                a + b for a, b in zip(self.level_seconds, other.level_seconds, strict=True)
            ),
        )

    @property
    def score(self) -> float | None:
        """The time-weighted mean of the results' scores (mlcore.score.day_summary's)."""
        if not self.seconds:
            return None
        weighted = sum(
            LEVEL_POINTS[level] * self.level_seconds[i] for i, level in enumerate(CLASSES)
        )
        return weighted / self.seconds


_DAY_FIELDS = (
    "total",
    *CLASSES,
    "confidence_sum",
    "seconds",
    *(f"{level}_seconds" for level in CLASSES),
)


def _totals(row: dict[str, Any]) -> DayTotals:
    return DayTotals(
        total=row["total"],
        counts=tuple(row[level] for level in CLASSES),
        confidence_sum=row["confidence_sum"],
        seconds=row["seconds"] or 0.0,
        level_seconds=tuple(row[f"{level}_seconds"] or 0.0 for level in CLASSES),
    )


def _rows_by_day(
    *, user: User, tz: zoneinfo.ZoneInfo, start: datetime | None, end: datetime | None
) -> dict[date, DayTotals]:
    """The person's results in [start, end) summed per day of their time zone, row by row."""
    queryset = Prediction.objects.filter(user=user)
    if start is not None:
        queryset = queryset.filter(measured_at__gte=start)
    if end is not None:
        queryset = queryset.filter(measured_at__lt=end)
    seconds = _seconds_sql()
    rows = (
        queryset.order_by()
        .annotate(day=TruncDay("measured_at", tzinfo=tz))
        .values("day")
        .annotate(
            total=Count("id"),
            **{level: Count("id", filter=Q(stress_level=level)) for level in CLASSES},
            confidence_sum=Sum("confidence"),
            seconds=Sum(seconds),
            **{
                f"{level}_seconds": Sum(
                    ExpressionWrapper(
                        seconds * F(f"probability_{level}"), output_field=FloatField()
                    )
                )
                for level in CLASSES
            },
        )
    )
    return {row["day"].astimezone(tz).date(): _totals(row) for row in rows}


def _day_totals(
    *, user: User, start: datetime | None, end: datetime | None
) -> dict[date, DayTotals]:
    """The person's results in [start, end) summed per day of their time zone.

    On PostgreSQL the whole days inside the range are read from PredictionDay (a day's rows
    summed, kept exact by the database: migrations 0012 and 0013) and only the cut days at
    either end from the rows (at most two days of them); elsewhere every row is summed."""
    tz = zoneinfo.ZoneInfo(user.time_zone)
    if connection.vendor != "postgresql":
        return _rows_by_day(user=user, tz=tz, start=start, end=end)
    # [first, last): the whole days inside [start, end).
    first = None if start is None else _midnight_on_or_after(start, tz)
    last = None if end is None else _midnight_on_or_before(end, tz)
    if first is not None and last is not None and first >= last:
        return _rows_by_day(user=user, tz=tz, start=start, end=end)
    days: dict[date, DayTotals] = {}
    if start is not None and start < first:
        days.update(_rows_by_day(user=user, tz=tz, start=start, end=first))
    rollup = PredictionDay.objects.filter(user=user)
    if first is not None:
        rollup = rollup.filter(day__gte=first.astimezone(tz).date())
    if last is not None:
        rollup = rollup.filter(day__lt=last.astimezone(tz).date())
    # A day is the sum of its rows (one once compacted, more for what was written since); a
    # day whose results were all deleted sums to none until compaction drops it.
    summed = (
        rollup.order_by()
        .values("day")
        .annotate(**{f"sum_{name}": Sum(name) for name in _DAY_FIELDS})
        .filter(sum_total__gt=0)
    )
    for row in summed:
        totals = _totals({name: row[f"sum_{name}"] for name in _DAY_FIELDS})
        days[row["day"]] = days[row["day"]] + totals if row["day"] in days else totals
    if end is not None and last < end:
        for day, totals in _rows_by_day(user=user, tz=tz, start=last, end=end).items():
            days[day] = days[day] + totals if day in days else totals
    return days


def _midnight_on_or_after(moment: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    local = moment.astimezone(tz)
    midnight = datetime.combine(local.date(), time.min, tzinfo=tz)
    if midnight >= moment:
        return midnight
    return datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=tz)


def _midnight_on_or_before(moment: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(moment.astimezone(tz).date(), time.min, tzinfo=tz)


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


def _seconds_sql() -> Any:
    return Coalesce(
        F("recording__stride_s"), Value(TYPED_READING_SECONDS), output_field=FloatField()
    )


def daily_scores_for_user(
    *, user: User, start: datetime, end: datetime | None
) -> list[tuple[date, float]]:
    """(day, score) for each of the person's days in [start, end) with results, oldest first:
    the time-weighted mean of its results' scores, as mlcore.score.day_summary computes it."""
    days = _day_totals(user=user, start=start, end=end)
    return [(day, totals.score) for day, totals in sorted(days.items()) if totals.score is not None]


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
