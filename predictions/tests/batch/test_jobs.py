"""Batch jobs through the API and the services, in-process; real workers in test_worker."""

import json
from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from jobs import engine
from predictions.batch import files, storage
from predictions.batch import jobs as batch_jobs
from predictions.batch.kind import BATCH
from predictions.models import BatchJob, JobStatus, Prediction
from predictions.tests.batch.helpers import BAD, HEADER, csv_bytes, run_job_inline, upload
from stressapp.tests.support import assert_error


@pytest.fixture
def small_chunks(settings):
    settings.BATCH_CHUNK_ROWS = 4
    return settings


def test_it_accepts_a_csv_and_scores_every_row_into_history_and_results(
    token_client, user, small_chunks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(token_client, csv_bytes(10, bad_every=5))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["total_rows"] == 10 and body["chunk_count"] == 3
    assert response["Location"].endswith(f"/api/batch-jobs/{body['id']}")
    assert len(callbacks) == 1  # the run task is queued only once the job row is committed

    job = run_job_inline(body["id"])
    assert job.status == JobStatus.SUCCEEDED
    assert (job.processed_rows, job.failed_rows) == (8, 2)
    assert [e["row"] for e in job.row_errors] == [5, 10]
    assert "ecg must be between 0 and 1" in job.row_errors[0]["error"]
    rows = Prediction.objects.filter(user=user, batch_job=job)
    assert rows.count() == 8 and set(rows.values_list("source", flat=True)) == {"batch"}
    assert sorted(rows.values_list("row_number", flat=True)) == [1, 2, 3, 4, 6, 7, 8, 9]

    detail = token_client.get(f"/api/batch-jobs/{job.id}").json()
    assert detail["percent"] == 100.0 and detail["results_url"].endswith("/results")
    results = token_client.get(f"/api/batch-jobs/{job.id}/results")
    assert results.status_code == 200 and results["Content-Type"] == "text/csv"
    body = b"".join(results.streaming_content)
    assert int(results["Content-Length"]) == len(body)
    lines = body.decode().splitlines()
    assert lines[0].startswith(
        "row,heart_rate,ecg,emg,gsr,respiration,measured_at,note,stress_level"
    )
    assert [int(line.split(",")[0]) for line in lines[1:]] == list(range(1, 11))
    assert lines[5].split(",")[-1] == "ecg must be between 0 and 1."
    assert lines[1].split(",")[8] in {"low", "medium", "high"}


@pytest.mark.parametrize("with_a_bad_row", [False, True], ids=["clean chunk", "mixed chunk"])
def test_results_echo_measured_at_as_sent_or_the_default_used(
    token_client, user, small_chunks, with_a_bad_row
):
    rows = [
        "70,0.1,0.2,0.3,0.4,2026-11-26T08:00:00Z,a\n",
        "71,0.1,0.2,0.3,0.4,,b\n",
        "72,0.1,0.2,0.3,0.4,2026-11-26T09:30:00+01:00,c\n",
        BAD if with_a_bad_row else "73,0.1,0.2,0.3,0.4,,d\n",
    ]
    job = run_job_inline(upload(token_client, (HEADER + "".join(rows)).encode()).json()["id"])
    lines = b"".join(token_client.get(f"/api/batch-jobs/{job.id}/results").streaming_content)
    times = [line.split(",")[6] for line in lines.decode().splitlines()[1:]]
    default = job.created_at.isoformat()
    assert times[:3] == ["2026-11-26T08:00:00Z", default, "2026-11-26T09:30:00+01:00"]
    stored = Prediction.objects.get(batch_job=job, row_number=3).measured_at
    assert stored.isoformat() == "2026-11-26T08:30:00+00:00"


def test_it_accepts_json_lines_as_the_raw_body(token_client, user):
    body = "\n".join(
        json.dumps({"heart_rate": 70 + i, "ecg": 0.1, "emg": 0.2, "gsr": 0.3, "respiration": 0.4})
        for i in range(3)
    )
    response = token_client.post("/api/batch-jobs", data=body, content_type="application/x-ndjson")
    assert response.status_code == 202, response.content
    job = run_job_inline(response.json()["id"])
    assert job.input_format == "jsonl" and job.processed_rows == 3


def test_a_chunk_that_runs_twice_writes_nothing_twice(token_client, user, small_chunks):
    job_id = upload(token_client, csv_bytes(6)).json()["id"]
    engine.job_claim(BATCH, job_id=job_id)
    assert engine.job_chunk_run(BATCH, job_id=job_id, index=0) is False
    assert engine.job_chunk_run(BATCH, job_id=job_id, index=0) is False  # already done
    assert Prediction.objects.filter(batch_job_id=job_id).count() == 4
    # Even if its done-mark were lost, the database refuses the same rows again.
    from predictions.models import BatchJobChunk

    BatchJobChunk.objects.filter(job_id=job_id, index=0).update(done_at=None)
    with pytest.raises(IntegrityError):
        engine.job_chunk_run(BATCH, job_id=job_id, index=0)
    assert Prediction.objects.filter(batch_job_id=job_id).count() == 4


def test_cancel_stops_remaining_chunks_and_keeps_written_rows(token_client, user, small_chunks):
    job_id = upload(token_client, csv_bytes(12)).json()["id"]
    engine.job_claim(BATCH, job_id=job_id)
    engine.job_chunk_run(BATCH, job_id=job_id, index=0)
    response = token_client.post(f"/api/batch-jobs/{job_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert engine.job_chunk_run(BATCH, job_id=job_id, index=1) is False
    assert Prediction.objects.filter(batch_job_id=job_id).count() == 4
    lines = b"".join(token_client.get(f"/api/batch-jobs/{job_id}/results").streaming_content)
    assert len(lines.decode().splitlines()) == 5  # header + the 4 rows scored before cancel


def test_a_job_that_stopped_moving_is_queued_again_once_per_stall_period(
    token_client, user, small_chunks
):
    from unittest import mock

    small_chunks.JOB_STALL_SECONDS = 300
    job_id = upload(token_client, csv_bytes(12)).json()["id"]
    pending = engine.job_claim(BATCH, job_id=job_id)
    for index in pending[:-1]:  # the last chunk's message was lost by the broker
        engine.job_chunk_run(BATCH, job_id=job_id, index=index)
    now = timezone.now()
    with mock.patch.object(engine, "job_enqueue") as enqueue:
        assert engine.jobs_recover(BATCH, now=now) == 0  # still moving
        later = now + timedelta(seconds=301)
        assert engine.jobs_recover(BATCH, now=later) == 1
        assert engine.jobs_recover(BATCH, now=later) == 0  # once per period
        assert engine.jobs_recover(BATCH, now=later + timedelta(seconds=301)) == 1
    assert [str(call.args[1]) for call in enqueue.call_args_list] == [job_id, job_id]
    # What the queued task then does: only the lost chunk is left, and the job ends.
    assert engine.job_claim(BATCH, job_id=job_id) == [pending[-1]]
    engine.job_chunk_run(BATCH, job_id=job_id, index=pending[-1])
    job = BatchJob.objects.get(pk=job_id)
    assert job.status == JobStatus.SUCCEEDED and job.processed_rows == 12


def test_a_queued_job_whose_run_message_was_lost_is_queued_again(token_client, small_chunks):
    from unittest import mock

    small_chunks.JOB_STALL_SECONDS = 300
    job_id = upload(token_client, csv_bytes(4)).json()["id"]  # its run task never arrived
    finished = run_job_inline(upload(token_client, csv_bytes(4)).json()["id"])
    later = timezone.now() + timedelta(seconds=301)
    with mock.patch.object(engine, "job_enqueue") as enqueue:
        assert engine.jobs_recover(BATCH, now=later) == 1
    enqueue.assert_called_once()
    assert str(enqueue.call_args.args[1]) == job_id and finished.status == JobStatus.SUCCEEDED


def test_a_dead_workers_chunk_is_queued_again_when_its_lease_runs_out(token_client, small_chunks):
    from unittest import mock

    from jobs import leases
    from predictions.models import BatchJobChunk

    job_id = upload(token_client, csv_bytes(8)).json()["id"]
    engine.job_claim(BATCH, job_id=job_id)
    chunk = BatchJobChunk.objects.get(job_id=job_id, index=0)
    assert leases.lease_take(BatchJobChunk, chunk.pk) == 0  # a worker takes it, then dies
    assert leases.lease_take(BatchJobChunk, chunk.pk) is None  # nobody else while it lives
    lapsed = timezone.now() + timedelta(seconds=small_chunks.JOB_LEASE_SECONDS + 1)
    with mock.patch.object(engine, "job_chunk_enqueue") as enqueue:
        assert engine.jobs_recover(BATCH, now=timezone.now()) == 0  # still alive
        assert engine.jobs_recover(BATCH, now=lapsed) == 1
        assert engine.jobs_recover(BATCH, now=lapsed) == 0  # queued once
    assert enqueue.call_args.args[1:] == (chunk.job_id, 0)
    chunk.refresh_from_db()
    assert chunk.abandoned == 1 and chunk.lease_until is None
    assert engine.job_chunk_run(BATCH, job_id=job_id, index=0) is False  # not the last
    chunk.refresh_from_db()
    assert chunk.done_at is not None and chunk.lease_until is None


def test_a_chunk_that_keeps_killing_its_worker_fails_the_job(token_client, small_chunks):
    from predictions.models import BatchJobChunk

    job_id = upload(token_client, csv_bytes(8)).json()["id"]
    engine.job_claim(BATCH, job_id=job_id)
    BatchJobChunk.objects.filter(job_id=job_id, index=1).update(
        abandoned=small_chunks.JOB_CHUNK_MAX_ATTEMPTS
    )
    engine.job_chunk_run(BATCH, job_id=job_id, index=0)
    assert engine.job_chunk_run(BATCH, job_id=job_id, index=1) is False
    job = BatchJob.objects.get(pk=job_id)
    assert job.status == JobStatus.FAILED and "stopped its worker 3 times" in job.error
    assert job.processed_rows == 4  # what was done before stays


def test_retrying_a_cancelled_job_finishes_it(token_client, user, small_chunks):
    job_id = upload(token_client, csv_bytes(8)).json()["id"]
    engine.job_claim(BATCH, job_id=job_id)
    engine.job_chunk_run(BATCH, job_id=job_id, index=0)
    job = batch_jobs.batch_job_cancel(job=BatchJob.objects.get(pk=job_id))
    batch_jobs.batch_job_retry(job=job)
    job = run_job_inline(job_id)
    assert job.status == JobStatus.SUCCEEDED and job.processed_rows == 8
    assert Prediction.objects.filter(batch_job_id=job_id).count() == 8


def test_an_idempotent_retry_returns_the_same_job(token_client):
    first = upload(token_client, csv_bytes(3), HTTP_IDEMPOTENCY_KEY="abc-1")
    again = upload(token_client, csv_bytes(3), HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == 202 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert BatchJob.objects.count() == 1
    conflict = upload(token_client, csv_bytes(4), HTTP_IDEMPOTENCY_KEY="abc-1")
    assert_error(conflict, 409, "idempotency_conflict")
    assert BatchJob.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"70,0.1,0.2,0.3,0.4\n", "no header"),
        (b"heart_rate,ecg,emg\n70,0.1,0.2\n", "missing column"),
        (b"heart,ecg,emg,gsr,respiration\n", "unknown column"),
        (HEADER.encode(), "no rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "send CSV or JSON lines"),
        (b"PK\x03\x04\x00\x00binary zip", "not a text file"),
        (b"\xff\xfe\xfa garbage \xc3\x28", "UTF-8"),
    ],
)
def test_it_rejects_unusable_files_and_writes_nothing(token_client, content, message):
    body = assert_error(upload(token_client, content), 400, "validation_error")
    assert message in body["message"]
    assert BatchJob.objects.count() == 0


def test_it_rejects_files_over_the_row_limit(token_client, settings):
    settings.BATCH_MAX_ROWS = 5
    body = assert_error(upload(token_client, csv_bytes(6)), 413, "payload_too_large")
    assert "5" in body["message"]
    assert BatchJob.objects.count() == 0


def test_it_rejects_files_over_the_size_limit(token_client, settings):
    settings.BATCH_MAX_BYTES = 100
    assert_error(upload(token_client, csv_bytes(20)), 413, "payload_too_large")
    raw = token_client.post("/api/batch-jobs", data=csv_bytes(20), content_type="text/csv")
    assert_error(raw, 413, "payload_too_large")
    assert BatchJob.objects.count() == 0


def test_it_rejects_other_content_types_and_a_missing_file(token_client):
    assert_error(
        token_client.post("/api/batch-jobs", data="x", content_type="application/pdf"), 415
    )
    assert_error(token_client.post("/api/batch-jobs", {}, format="multipart"), 400)


@pytest.mark.django_db
def test_batch_jobs_require_credentials(api_client):
    assert_error(api_client.get("/api/batch-jobs"), 401)
    assert_error(upload(api_client, csv_bytes(2)), 401)


def test_another_users_job_is_not_found(token_client, other_token_client):
    job_id = upload(other_token_client, csv_bytes(2)).json()["id"]
    assert token_client.get("/api/batch-jobs").json() == []
    for response in (
        token_client.get(f"/api/batch-jobs/{job_id}"),
        token_client.post(f"/api/batch-jobs/{job_id}/cancel"),
        token_client.get(f"/api/batch-jobs/{job_id}/results"),
    ):
        assert_error(response, 404, "not_found")
    assert BatchJob.objects.get(pk=job_id).status == JobStatus.QUEUED


def test_results_of_an_unfinished_job_are_not_ready(token_client):
    job_id = upload(token_client, csv_bytes(2)).json()["id"]
    assert_error(token_client.get(f"/api/batch-jobs/{job_id}/results"), 409, "not_ready")


def test_it_deletes_job_files_after_the_retention_period(token_client, settings):
    job_id = upload(token_client, csv_bytes(2)).json()["id"]
    job = run_job_inline(job_id)
    folder = files.job_dir(job.id)
    assert folder.is_dir()
    assert batch_jobs.batch_job_files_cleanup() == 0
    later = timezone.now() + timedelta(days=settings.BATCH_RETENTION_DAYS + 1)
    assert batch_jobs.batch_job_files_cleanup(now=later) == 1
    assert not folder.exists()
    assert Prediction.objects.filter(batch_job_id=job_id).count() == 2  # history stays
    assert_error(token_client.get(f"/api/batch-jobs/{job_id}/results"), 404)


def test_notes_with_tabs_newlines_and_backslashes_are_stored_exactly(token_client, user):
    note = 'tab\there, "quoted"\nnew line \\ back\\slash'
    escaped = note.replace('"', '""')
    content = (HEADER + f'72,0.4,0.2,0.5,0.3,,"{escaped}"\n').encode()
    job = run_job_inline(upload(token_client, content).json()["id"])
    assert job.processed_rows == 1
    assert Prediction.objects.get(batch_job=job).note == note


def test_a_chunk_finishing_after_a_cancel_leaves_nothing_behind(token_client, small_chunks):
    """The cancel lands while a chunk is being scored: that chunk's rows are rolled back."""
    from unittest import mock

    job_id = upload(token_client, csv_bytes(8)).json()["id"]
    engine.job_claim(BATCH, job_id=job_id)
    real_insert = storage.batch_predictions_insert

    def insert_then_cancel(**kwargs):
        real_insert(**kwargs)
        BatchJob.objects.filter(pk=job_id).update(status=JobStatus.CANCELLED)

    with mock.patch.object(storage, "batch_predictions_insert", insert_then_cancel):
        assert engine.job_chunk_run(BATCH, job_id=job_id, index=0) is False
    # In production the cancel is its own committed transaction; here it was rolled back with
    # the chunk's, so apply it again.
    BatchJob.objects.filter(pk=job_id).update(status=JobStatus.CANCELLED)
    assert Prediction.objects.filter(batch_job_id=job_id).count() == 0
    job = BatchJob.objects.get(pk=job_id)
    assert job.chunks_done == 0 and job.processed_rows == 0
    response = token_client.get(f"/api/batch-jobs/{job_id}/results")
    assert response.status_code == 200, response.content
    assert len(b"".join(response.streaming_content).decode().splitlines()) == 1  # the header


def test_a_bare_carriage_return_is_a_400_and_stores_nothing(token_client):
    content = b"heart_rate,ecg,emg,gsr,respiration,note\n70,0.5,0.5,0.5,0.5,a\rb\n"
    body = assert_error(upload(token_client, content), 400, "validation_error")
    assert "cannot be read as CSV" in body["details"]["file"][0]
    assert BatchJob.objects.count() == 0
