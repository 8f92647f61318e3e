"""Recordings (a session's signals from a device, scored window by window), the personal rest
baselines they are scored against, and the person's own labels (annotations)."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models import JobChunk, UploadedJob, idempotency_key_unique
from predictions.models.readings import ModelVersion, StressLevel
from predictions.validation import NOTE_MAX_LENGTH

# Typed readings (the five numbers) have a baseline of their own, beside the channel sets.
FIVE_NUMBER_SET = "five_number"


class Baseline(models.Model):
    """A person's resting state: the statistics of every feature over a rest range of at
    least 3 minutes. At most one is active per channel set; new scores use it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="baselines"
    )
    channel_set = models.CharField(max_length=32)
    recording = models.ForeignKey(
        "Recording", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    start_s = models.FloatField(help_text="Start of the rest range, seconds into the recording.")
    end_s = models.FloatField()
    statistics = models.JSONField(help_text="Per feature: mean and SD over the rest range.")
    created_at = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "channel_set"],
                condition=Q(is_active=True),
                name="baseline_one_active_per_set",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.channel_set} {self.start_s:.0f}-{self.end_s:.0f} s"

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


# Where each stage of processing starts, as a share of the whole: reading is quick, the
# features over the whole recording take most of the time, scoring and storing the rest.
STAGE_PERCENT = {
    "reading the file": 5,
    "computing features": 15,
    "learning your rest": 60,
    "scoring windows": 65,
    "storing the windows": 85,
}


class Recording(UploadedJob):
    """An uploaded recording and its processing. Its windows are predictions (source
    `recording`), so history, timeline, summaries and exports include them. Rows here are
    windows: total_rows is how many the recording has."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recordings"
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=16, help_text="As detected: edf, bdf, csv, ...")
    channels = models.JSONField(default=list, help_text="Channels found: role, name, unit, rate.")
    ignored_channels = models.JSONField(default=list, blank=True)
    start_time = models.DateTimeField(
        null=True, blank=True, help_text="When the recording started, if the file says."
    )
    starts_at = models.DateTimeField(
        help_text="Where window times count from: the file's start time, else the time the "
        "person gave, else so that it ended at the upload."
    )
    start_source = models.CharField(
        max_length=8,
        choices=[("file", "the file"), ("given", "you"), ("upload", "the upload time")],
        default="file",
        help_text="Where starts_at came from.",
    )
    duration_s = models.FloatField()
    channel_set = models.CharField(max_length=32, blank=True)
    calibrated = models.BooleanField(default=False)
    baseline = models.ForeignKey(
        Baseline, on_delete=models.SET_NULL, null=True, blank=True, related_name="recordings"
    )
    # "This range of the recording was my rest": processing makes it the active baseline
    # for the recording's channel set, then scores against it.
    rest_start_s = models.FloatField(null=True, blank=True)
    rest_end_s = models.FloatField(null=True, blank=True)
    window_s = models.FloatField(null=True, blank=True)
    stride_s = models.FloatField(null=True, blank=True)
    stage = models.CharField(
        max_length=40, blank=True, help_text="What processing is doing now, for the page."
    )
    drift = models.JSONField(default=list, blank=True, help_text="Plain-language findings.")
    traces = models.JSONField(
        default=dict, blank=True, help_text="Each signal downsampled for the page (envelopes)."
    )
    notes = models.JSONField(default=list, blank=True)
    unscored_windows = models.JSONField(
        default=list,
        blank=True,
        help_text="Windows not scored: start_s, end_s and why (not_enough_signal, active).",
    )
    window_details = models.JSONField(
        default=list,
        blank=True,
        help_text="Per scored window, by row number: activity, heart rate, breathing rate.",
    )
    personal_model = models.ForeignKey(
        "PersonalModel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_change = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the last scoring changed: time in each level before and after, "
        "windows that moved, and by which models.",
    )
    device_reports = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the device itself reported (its own stress score, SDNN): name -> "
        "[seconds from the start, value] pairs.",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [idempotency_key_unique("recording_unique_idempotency_key")]
        indexes = [models.Index(fields=["user", "-created_at"], name="recording_user_time")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def percent(self) -> float:
        """While it runs, how far through its stages it is: a recording is one chunk whose
        windows are all stored at the end, so rows done would say 0% until then."""
        if self.is_finished or not self.stage:
            return super().percent
        return float(STAGE_PERCENT.get(self.stage, 0))

    @property
    def roles(self) -> list[str]:
        return sorted({channel["role"] for channel in self.channels})

    @property
    def has_accelerometer(self) -> bool:
        return "acc" in self.roles


class RecordingChunk(JobChunk):
    """A range of a recording's windows, scored and stored by one task."""

    job = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="chunks")
    first_window = models.PositiveIntegerField()
    window_count = models.PositiveIntegerField()

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="recording_chunk_unique_index")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.index}"


# Longest range one annotation may cover: a label is about a moment, not a month.
ANNOTATION_MAX = timedelta(days=2)


class Annotation(models.Model):
    """How the person says they felt over a time range: measures how well the model knows
    them, and is training data later."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations"
    )
    recording = models.ForeignKey(
        Recording, on_delete=models.CASCADE, null=True, blank=True, related_name="annotations"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Empty while the episode goes on: the next one the person marks closes it.",
    )
    level = models.CharField(max_length=6, choices=StressLevel.choices)
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="annotation_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["user", "starts_at"], name="annotation_user_time")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.level} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.ends_at is None

    def effective_end(self, now: datetime) -> datetime:
        """Where the label stops counting: its end, or for an episode still going on, now
        (at most ANNOTATION_MAX after its start)."""
        if self.ends_at is not None:
            return self.ends_at
        return min(now, self.starts_at + ANNOTATION_MAX)
