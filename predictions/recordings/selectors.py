"""Reads for recordings, baselines and annotations; always scoped to their owner."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from mlcore.readings.features import CLASSES
from predictions.models import Annotation, Baseline, Prediction, Recording, Source
from predictions.selectors import MODEL_VERSION_BULK


def recording_list_for_user(*, user: User, limit: int = 200) -> QuerySet[Recording]:
    return Recording.objects.filter(user=user).order_by("-created_at")[:limit]


def recording_get_for_user(*, user: User, recording_id: Any) -> Recording:
    """The user's own recording; anyone else's looks exactly like a missing one."""
    recording = (
        Recording.objects.select_related("baseline", "model_version")
        .filter(pk=recording_id, user=user)
        .first()
    )
    if recording is None:
        raise Http404("No such recording.")
    return recording


def recording_windows(*, recording: Recording) -> QuerySet[Prediction]:
    return (
        Prediction.objects.filter(recording=recording)
        .select_related("model_version")
        .defer(*MODEL_VERSION_BULK)
        .order_by("row_number")
    )


WINDOW_EXPORT_FIELDS = (
    "row_number",
    "window_start_s",
    "window_end_s",
    "measured_at",
    "stress_level",
    "confidence",
    "probability_low",
    "probability_medium",
    "probability_high",
    "model_version__version",
)


def window_export_header() -> list[str]:
    return [
        {"row_number": "window", "model_version__version": "model_version"}.get(name, name)
        for name in WINDOW_EXPORT_FIELDS
    ]


def recording_window_rows(*, recording: Recording) -> Any:
    return (
        recording_windows(recording=recording)
        .values_list(*WINDOW_EXPORT_FIELDS)
        .iterator(chunk_size=2000)
    )


def baseline_list_active_for_user(*, user: User) -> QuerySet[Baseline]:
    return Baseline.objects.filter(user=user, is_active=True).select_related("recording")


def baseline_get_for_user(*, user: User, baseline_id: Any) -> Baseline:
    baseline = Baseline.objects.filter(pk=baseline_id, user=user).first()
    if baseline is None:
        raise Http404("No such baseline.")
    return baseline


def annotation_list_for_user(
    *, user: User, recording: Recording | None = None, limit: int = 1000
) -> QuerySet[Annotation]:
    queryset = Annotation.objects.filter(user=user)
    if recording is not None:
        queryset = queryset.filter(recording=recording)
    return queryset.order_by("-starts_at", "-id")[:limit]


def annotation_get_for_user(*, user: User, annotation_id: Any) -> Annotation:
    annotation = Annotation.objects.filter(pk=annotation_id, user=user).first()
    if annotation is None:
        raise Http404("No such annotation.")
    return annotation


@dataclass
class Agreement:
    """How often the model's windows match the person's own labels."""

    channel_set: str
    windows: int = 0
    agreed: int = 0
    # confusion[labelled][predicted]
    confusion: dict[str, dict[str, int]] = field(
        default_factory=lambda: {a: dict.fromkeys(CLASSES, 0) for a in CLASSES}
    )

    @property
    def accuracy(self) -> float | None:
        return self.agreed / self.windows if self.windows else None

    def rows(self) -> list[tuple[str, list[int]]]:
        return [(label, [self.confusion[label][p] for p in CLASSES]) for label in CLASSES]


# Bounds what one agreement page reads: the newest annotations and the windows inside them.
AGREEMENT_MAX_ANNOTATIONS = 500


def agreement_for_user(*, user: User) -> list[Agreement]:
    """Per channel set: each recording window whose middle lies inside one of the person's
    annotations, compared with the annotation's level. A window inside two labels of
    different levels counts for neither."""
    annotations = list(
        Annotation.objects.filter(user=user).order_by("-starts_at")[:AGREEMENT_MAX_ANNOTATIONS]
    )
    if not annotations:
        return []
    now = timezone.now()
    ends = {a.pk: a.effective_end(now) for a in annotations}
    start = min(a.starts_at for a in annotations) - timedelta(minutes=5)
    end = max(ends.values())
    windows = Prediction.objects.filter(
        user=user, source=Source.RECORDING, measured_at__gte=start, measured_at__lt=end
    ).values_list(
        "measured_at", "window_start_s", "window_end_s", "stress_level", "recording__channel_set"
    )
    by_set: dict[str, Agreement] = {}
    for measured_at, start_s, end_s, predicted, channel_set in windows:
        middle = measured_at + timedelta(seconds=((end_s or 0) - (start_s or 0)) / 2)
        labels = {a.level for a in annotations if a.starts_at <= middle < ends[a.pk]}
        if len(labels) != 1:
            continue
        (label,) = labels
        agreement = by_set.setdefault(channel_set, Agreement(channel_set))
        agreement.windows += 1
        agreement.agreed += label == predicted
        agreement.confusion[label][predicted] += 1
    return sorted(by_set.values(), key=lambda a: -a.windows)


def recording_time_in_level(*, recording: Recording) -> dict[str, float]:
    """Seconds at each level, counting each window's stride once (windows overlap)."""
    stride = recording.stride_s or 0.0
    counts: dict[str, float] = defaultdict(float)
    for level in recording_windows(recording=recording).values_list("stress_level", flat=True):
        counts[level] += stride
    return {level: counts[level] for level in CLASSES}


ANNOTATION_EXPORT_FIELDS = (
    "id",
    "recording_id",
    "starts_at",
    "ends_at",
    "level",
    "note",
    "created_at",
)


def annotation_export_rows(*, user: User) -> Any:
    return (
        Annotation.objects.filter(user=user)
        .order_by("starts_at", "id")
        .values_list(*ANNOTATION_EXPORT_FIELDS)
        .iterator(chunk_size=2000)
    )


def recording_export_rows(*, user: User) -> list[dict[str, Any]]:
    return list(
        Recording.objects.filter(user=user)
        .order_by("created_at")
        .values(
            "id",
            "name",
            "original_filename",
            "file_format",
            "status",
            "channels",
            "start_time",
            "starts_at",
            "duration_s",
            "channel_set",
            "calibrated",
            "baseline_id",
            "drift",
            "created_at",
        )
    )


def baseline_export_rows(*, user: User) -> list[dict[str, Any]]:
    return list(
        Baseline.objects.filter(user=user)
        .order_by("created_at")
        .values(
            "id",
            "channel_set",
            "recording_id",
            "start_s",
            "end_s",
            "statistics",
            "created_at",
            "is_active",
        )
    )
