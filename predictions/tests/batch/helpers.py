"""Shared by the batch tests: files to upload, the upload itself, a job run in-process."""

from django.core.files.uploadedfile import SimpleUploadedFile

from jobs import engine
from predictions.batch.kind import BATCH
from predictions.models import BatchJob

HEADER = "heart_rate,ecg,emg,gsr,respiration,measured_at,note\n"
GOOD = "72,0.4,0.2,0.5,0.3,2026-11-26T08:00:00+00:00,fine\n"
BAD = "72,7,0.2,0.5,0.3,,\n"


def csv_bytes(good: int, bad_every: int = 0) -> bytes:
    rows = [BAD if bad_every and (i + 1) % bad_every == 0 else GOOD for i in range(good)]
    return (HEADER + "".join(rows)).encode()


def upload(client, content: bytes, name: str = "readings.csv", **extra):
    data = {"file": SimpleUploadedFile(name, content, content_type="text/csv")}
    data.update(extra.pop("data", {}))
    return client.post("/api/batch-jobs", data, format="multipart", **extra)


def run_job_inline(job_id) -> BatchJob:
    """What the workers do, in this process: claim, then every chunk."""
    for index in engine.job_claim(BATCH, job_id=job_id):
        engine.job_chunk_run(BATCH, job_id=job_id, index=index)
    return BatchJob.objects.get(pk=job_id)
