"""What every kind of background job has. No tables here: each kind's app declares its own
concrete job and chunk models on these, and the engine (`jobs.engine`) runs any of them."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    """Status, progress and timing. `jobs.engine` runs any subclass in chunks with the same
    claim, progress, cancel, retry and recovery rules; state lives here, not in Celery.

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


class UploadedJob(Job):
    """A job made from a file someone uploaded (`jobs.uploads.job_submit`): the file's
    fingerprint and the Idempotency-Key it came with. A subclass has a `user` and declares
    `idempotency_key_unique(...)` in its constraints."""

    original_filename = models.CharField(max_length=255, blank=True)
    input_sha256 = models.CharField(max_length=64)
    input_bytes = models.BigIntegerField()
    idempotency_key = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        abstract = True


def idempotency_key_unique(name: str) -> models.UniqueConstraint:
    """One job per person and Idempotency-Key (no key: no limit). The name is the kind's own,
    as its table was created with it."""
    return models.UniqueConstraint(
        fields=["user", "idempotency_key"], condition=~Q(idempotency_key=""), name=name
    )


class JobChunk(models.Model):
    """A slice of a job, done by one task at most once (subclasses add the `job` link)."""

    index = models.PositiveIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)
    # Held by the worker doing it, renewed while it works (jobs.leases).
    lease_until = models.DateTimeField(null=True, blank=True)
    abandoned = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker died while doing it."
    )
    processed_rows = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
