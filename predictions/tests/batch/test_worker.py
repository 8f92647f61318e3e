"""Batch jobs on real Celery workers over the real Redis broker and PostgreSQL."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from predictions.models import BatchJob, JobStatus, Prediction
from stressapp.tests.support import wait_for

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
    """With the production defaults (leases of 15 s renewed every 5 s, the check every 5 s):
    the job is done within 60 s of the kill, every row exactly once."""
    import time

    settings.BATCH_CHUNK_ROWS = 400
    content, good = readings_csv(16_000, bad_every=40)
    first = celery_workers.start(concurrency=1)
    job_id = submit(token_client, content)
    assert wait_for(lambda: job_state(job_id).chunks_done >= 3, timeout=90)
    celery_workers.kill(first)  # SIGKILL, mid-job
    killed_at = time.monotonic()
    done_at_kill = job_state(job_id).chunks_done
    assert done_at_kill < job_state(job_id).chunk_count
    celery_workers.start(concurrency=1, beat=True)
    wait_for(lambda: job_state(job_id).is_finished, timeout=90, interval=0.2)
    recovered_in = time.monotonic() - killed_at
    print(f"job done {recovered_in:.1f} s after its only worker was killed")
    assert recovered_in <= 60
    job = job_state(job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.chunks_done == job.chunk_count == 40
    rows = Prediction.objects.filter(batch_job_id=job_id)
    assert rows.count() == good == job.processed_rows
    assert rows.values("row_number").distinct().count() == good


def test_a_job_whose_messages_were_lost_is_resumed_by_the_periodic_check(
    celery_workers, token_client, settings
):
    from jobs import engine
    from predictions.batch.kind import BATCH
    from stressapp.celery import app

    settings.BATCH_CHUNK_ROWS = 300
    content, good = readings_csv(900, bad_every=0)
    job_id = submit(token_client, content)
    # The job was claimed, then its messages vanished (a broker restart without persistence).
    assert len(engine.job_claim(BATCH, job_id=job_id)) == 3
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(celery_workers.queue)
    celery_workers.start(beat=True, JOB_STALL_SECONDS="2", JOB_CHECK_SECONDS="1")
    assert wait_for(lambda: job_state(job_id).is_finished, timeout=90, interval=0.5)
    job = job_state(job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert Prediction.objects.filter(batch_job_id=job_id).count() == good == job.processed_rows
