"""Every read: history, one prediction, summaries. Always scoped to one owner."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncDay, TruncWeek
from django.http import Http404

from accounts.models import User
from mlcore.readings.features import CLASSES
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
