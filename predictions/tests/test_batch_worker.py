"""Batch jobs on real Celery workers over the real Redis broker and PostgreSQL."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import wait_for
from predictions.models import BatchJob, JobStatus, Prediction

pytestmark = pytest.mark.worker

HEADER = "heart_rate,ecg,emg,gsr,respiration,note\n"


def readings_csv(rows: int, bad_every: int) -> tuple[bytes, int]:
    lines, good = [], 0
    for i in range(rows):
        if bad_every and (i + 1) % bad_every == 0:
            lines.append(f"{70 + i % 50},2,0.2,0.3,0.4,bad\n")
        else:
            lines.append(f"{50 + i % 100},{(i % 97) / 97:.4f},0.2,{(i % 89) / 89:.4f},0.4,r{i}\n")
            good += 1
    return (HEADER + "".join(lines)).encode(), good


def submit(client, content: bytes) -> str:
    response = client.post(
        "/api/batch-jobs",
        {"file": SimpleUploadedFile("r.csv", content, content_type="text/csv")},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def job_state(job_id: str) -> BatchJob:
    return BatchJob.objects.get(pk=job_id)


def test_a_job_runs_to_the_end_on_a_real_worker(celery_workers, token_client, settings):
    settings.BATCH_CHUNK_ROWS = 300
    celery_workers.start(concurrency=2)
    content, good = readings_csv(1500, bad_every=50)
    job_id = submit(token_client, content)
    wait_for(lambda: job_state(job_id).is_finished, timeout=90)
    job = job_state(job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.processed_rows == good and job.failed_rows == 1500 - good
    assert Prediction.objects.filter(batch_job_id=job_id).count() == good
    results = token_client.get(f"/api/batch-jobs/{job_id}/results")
    assert len(b"".join(results.streaming_content).splitlines()) == 1501


def test_a_killed_worker_loses_no_chunk_and_duplicates_no_row(
    celery_workers, token_client, settings
):
    settings.BATCH_CHUNK_ROWS = 400
    content, good = readings_csv(16_000, bad_every=40)
    # The replacement worker gives back messages its dead peer took after 2 s of silence,
    # looking for them every second.
    quick_restore = {"CELERY_VISIBILITY_TIMEOUT": "2", "CELERY_RESTORE_INTERVAL": "1"}
    first = celery_workers.start(concurrency=1, **quick_restore)
    job_id = submit(token_client, content)
    assert wait_for(lambda: job_state(job_id).chunks_done >= 3, timeout=90)
    celery_workers.kill(first)  # SIGKILL, mid-job
    done_at_kill = job_state(job_id).chunks_done
    assert done_at_kill < job_state(job_id).chunk_count
    celery_workers.start(concurrency=1, **quick_restore)
    wait_for(lambda: job_state(job_id).is_finished, timeout=150, interval=0.5)
    job = job_state(job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.chunks_done == job.chunk_count == 40
    rows = Prediction.objects.filter(batch_job_id=job_id)
    assert rows.count() == good == job.processed_rows
    assert rows.values("row_number").distinct().count() == good
