"""Background jobs: what every kind has (Job, JobChunk), and the batch job (a file of readings)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from predictions.models.readings import ModelVersion


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
    # Held by the worker doing it, renewed while it works (predictions.batch.leases).
    lease_until = models.DateTimeField(null=True, blank=True)
    abandoned = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker died while doing it."
    )
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
