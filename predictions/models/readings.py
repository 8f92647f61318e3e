"""Readings and what the model said about them; the model versions that said it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from predictions.validation import NOTE_MAX_LENGTH


class ModelVersion(models.Model):
    """A registered model artifact. The file lives in MODEL_DIR; this row is the registry."""

    version = models.CharField(max_length=64, unique=True)
    path = models.CharField(max_length=500, help_text="Artifact file, relative to MODEL_DIR.")
    sha256 = models.CharField(max_length=64)
    metrics = models.JSONField(default=dict, blank=True)
    card = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The database, not the code, guarantees that at most one version serves.
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_model_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version}{' (active)' if self.is_active else ''}"

    @property
    def headline_metrics(self) -> dict[str, float | None]:
        """The figures we quote for this version (API, admin), all leave-one-drive-out."""
        lodo = (self.metrics or {}).get("leave_one_drive_out", {})
        return {
            "accuracy": lodo.get("accuracy"),
            "macro_f1": lodo.get("macro_f1"),
            "majority_baseline_accuracy": lodo.get("majority_baseline", {}).get("accuracy"),
        }


class StressLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Source(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    BATCH = "batch", "Batch"
    RECORDING = "recording", "Recording"


class Prediction(models.Model):
    """One reading and what the model said about it, in its owner's history."""

    # db_index=False: the composite (user, time) indexes below serve every lookup by user, and
    # each extra index costs on the million-row batch inserts.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="predictions",
        db_index=False,
    )
    measured_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    # The five contract inputs of a typed or sent reading; empty for a recording's window,
    # which is scored from its signals.
    heart_rate = models.FloatField(null=True, blank=True)
    ecg = models.FloatField(null=True, blank=True)
    emg = models.FloatField(null=True, blank=True)
    gsr = models.FloatField(null=True, blank=True)
    respiration = models.FloatField(null=True, blank=True)
    stress_level = models.CharField(max_length=6, choices=StressLevel.choices)
    confidence = models.FloatField()
    probability_low = models.FloatField()
    probability_medium = models.FloatField()
    probability_high = models.FloatField()
    # Each feature's push on the predicted class's probability (path decomposition).
    contributions = models.JSONField(null=True, blank=True)
    # Scored against the person's own baseline (a recording's, or the five-number one).
    calibrated = models.BooleanField(default=False, db_default=False)
    # No database-level constraint on the two foreign keys below: checking them costs ~15% of
    # a million-row batch insert. Django still enforces on_delete (PROTECT / SET_NULL), and
    # rows only ever come from services that take the ids from existing rows.
    # No index either: no page looks predictions up by version, a handful of versions share
    # millions of rows (an index that filters nothing), and it was 13% of the WAL a batch
    # row writes (benchmarks/batch.py prints WAL per row). Deleting a version (admin only)
    # scans the table for the PROTECT check instead.
    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        related_name="predictions",
        db_constraint=False,
        db_index=False,
    )
    # Scored by the person's own model (refitted from model_version's): None for the
    # population's. No database constraint, as for model_version, and no cascade: deleting a
    # person's models clears this on their rows only (personal.personal_models_delete), by
    # the user's index instead of a scan of every row.
    personal_model = models.ForeignKey(
        "PersonalModel",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True, default="")
    # Indexed by the unique (batch_job, row_number) constraint.
    batch_job = models.ForeignKey(
        "BatchJob",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="predictions",
        db_index=False,
        db_constraint=False,
    )
    # A recording's window: its number in the recording and where it lies, in seconds.
    recording = models.ForeignKey(
        "Recording",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="windows",
        db_index=False,
    )
    row_number = models.PositiveIntegerField(null=True, blank=True)
    window_start_s = models.FloatField(null=True, blank=True)
    window_end_s = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-measured_at", "-id"]
        constraints = [
            # A chunk that runs twice cannot write a row twice.
            models.UniqueConstraint(
                fields=["batch_job", "row_number"],
                condition=Q(batch_job__isnull=False),
                name="prediction_unique_batch_row",
            ),
            # A recording scored twice cannot store a window twice.
            models.UniqueConstraint(
                fields=["recording", "row_number"],
                condition=Q(recording__isnull=False),
                name="prediction_unique_recording_window",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-measured_at", "-id"], name="prediction_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.measured_at:%Y-%m-%d %H:%M} {self.stress_level}"

    @property
    def probabilities(self) -> dict[str, float]:
        return {
            "low": self.probability_low,
            "medium": self.probability_medium,
            "high": self.probability_high,
        }


class PredictionDay(models.Model):
    """What some of one person's predictions add up to on one day of their time zone: counts
    per level, the sum of confidences and the time-weighted sums of each level's probability.
    A day is the sum of its rows; the summaries, the dashboard and the timeline's days read
    these instead of every row.

    Kept by PostgreSQL itself (triggers of migrations 0012 and 0013, in the same statement as
    every INSERT, COPY, UPDATE or DELETE of a prediction, a recording's stride or the person's
    time zone), so no writer can forget it. Each writing statement only adds rows (what it adds
    to or takes from each day), so writers of one person never wait on each other's rows;
    prediction_days_compact folds a day's rows into one every minute. Elsewhere (the embedded
    SQLite) it stays empty and the selectors read the rows."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField()
    total = models.IntegerField()
    low = models.IntegerField()
    medium = models.IntegerField()
    high = models.IntegerField()
    confidence_sum = models.FloatField()
    # Seconds each result stands for (its recording's stride, 30 s for a typed reading), and
    # those seconds times each level's probability: a day's score is their weighted mean.
    seconds = models.FloatField()
    low_seconds = models.FloatField()
    medium_seconds = models.FloatField()
    high_seconds = models.FloatField()

    class Meta:
        # Not unique: a day may have several rows until they are compacted.
        indexes = [models.Index(fields=["user", "day"], name="prediction_day_user_day")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day} {self.total}"
