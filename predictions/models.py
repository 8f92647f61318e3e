import uuid

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
    heart_rate = models.FloatField()
    ecg = models.FloatField()
    emg = models.FloatField()
    gsr = models.FloatField()
    respiration = models.FloatField()
    stress_level = models.CharField(max_length=6, choices=StressLevel.choices)
    confidence = models.FloatField()
    probability_low = models.FloatField()
    probability_medium = models.FloatField()
    probability_high = models.FloatField()
    # Each feature's push on the predicted class's probability (path decomposition).
    contributions = models.JSONField(null=True, blank=True)
    # No database-level constraint on the two foreign keys below: checking them costs ~15% of
    # a million-row batch insert. Django still enforces on_delete (PROTECT / SET_NULL), and
    # rows only ever come from services that take the ids from existing rows.
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="predictions", db_constraint=False
    )
    source = models.CharField(max_length=5, choices=Source.choices)
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
    row_number = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-measured_at", "-id"]
        constraints = [
            # A chunk that runs twice cannot write a row twice.
            models.UniqueConstraint(
                fields=["batch_job", "row_number"],
                condition=Q(batch_job__isnull=False),
                name="prediction_unique_batch_row",
            )
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


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    """What every kind of background job has: status, progress, timing and the model that
    scored it. `predictions.batch.engine` runs any subclass in chunks with the same claim,
    progress, cancel, retry and recovery rules; state lives here, not in Celery.

    "Rows" are the job's units of work: lines of a file, windows of a recording."""

    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the whole job failed, if it did.")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(
        null=True, blank=True, help_text="When its remaining chunks were last queued."
    )

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def percent(self) -> float:
        if not self.total_rows:
            return 100.0 if self.status == JobStatus.SUCCEEDED else 0.0
        done = self.processed_rows + self.failed_rows
        return round(min(100.0, 100.0 * done / self.total_rows), 1)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return round((end - self.started_at).total_seconds(), 1)


class JobChunk(models.Model):
    """A slice of a job, done by one task at most once (subclasses add the job link)."""

    index = models.PositiveIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class BatchJob(Job):
    """A file of readings scored in the background."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batch_jobs"
    )
    input_format = models.CharField(max_length=5)  # csv | jsonl
    original_filename = models.CharField(max_length=255, blank=True)
    input_sha256 = models.CharField(max_length=64)
    input_bytes = models.BigIntegerField()
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    callback_url = models.URLField(max_length=2000, blank=True)
    callback_status = models.CharField(max_length=200, blank=True)
    row_errors = models.JSONField(default=list, blank=True, help_text="The first 1,000.")
    files_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="batch_job_unique_idempotency_key",
            )
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="batch_job_user_time")]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class BatchJobChunk(JobChunk):
    """A slice of a job's file (byte range)."""

    job = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="chunks")
    first_row = models.PositiveIntegerField()
    row_count = models.PositiveIntegerField()
    byte_start = models.BigIntegerField()
    byte_end = models.BigIntegerField()
    row_errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="batch_chunk_unique_index")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.index}"
