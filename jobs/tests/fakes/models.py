import uuid

from django.conf import settings
from django.db import models

from jobs.models import JobChunk, UploadedJob, idempotency_key_unique


class FakeJob(UploadedJob):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ended = models.PositiveIntegerField(default=0, help_text="Times on_ended was called.")

    class Meta:
        constraints = [idempotency_key_unique("fake_job_unique_idempotency_key")]


class FakeChunk(JobChunk):
    job = models.ForeignKey(FakeJob, on_delete=models.CASCADE, related_name="chunks")
    rows = models.PositiveIntegerField(default=1)
    output = models.PositiveIntegerField(default=0, help_text="Rows written, as a kind would.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="fake_chunk_unique_index")
        ]
