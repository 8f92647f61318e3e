"""The batch job: a file of readings scored in the background (the engine: jobs)."""

import uuid

from django.conf import settings
from django.db import models

from jobs.models import JobChunk, UploadedJob, idempotency_key_unique
from predictions.models.readings import ModelVersion


class BatchJob(UploadedJob):
    """A file of readings scored in the background."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batch_jobs"
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    input_format = models.CharField(max_length=5)  # csv | jsonl
    callback_url = models.URLField(max_length=2000, blank=True)
    callback_status = models.CharField(max_length=200, blank=True)
    row_errors = models.JSONField(default=list, blank=True, help_text="The first 1,000.")
    files_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [idempotency_key_unique("batch_job_unique_idempotency_key")]
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
