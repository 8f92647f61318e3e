"""The batch job: a file of readings, scored in chunks by Celery workers.

Every door (the API, the jobs page) submits through `batch_job_submit`; the engine runs it;
each chunk scores through services.readings_score like every other reading.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from jobs import engine
from jobs.uploads import JobPlan, StoredUpload, job_submit, upload_store
from predictions.batch import callbacks, files, parsing, results
from predictions.batch.errors import BatchFileError, ResultsGone, ResultsNotReady
from predictions.batch.kind import BATCH, columns_path
from predictions.models import BatchJob, BatchJobChunk


def batch_job_create(
    *,
    user: User,
    upload: StoredUpload,
    filename: str,
    content_type: str,
    idempotency_key: str = "",
    callback_url: str = "",
) -> tuple[BatchJob, bool]:
    """Validate the stored upload and create its job and chunks; queue it on commit.

    Returns (job, created). With an idempotency key seen before, the earlier job comes back
    (same file) or IdempotencyConflict is raised (different file). Nothing is written for a
    rejected upload, and its file is removed."""

    def plan(stored: StoredUpload) -> JobPlan:
        url = callbacks.callback_url_validate(callback_url)
        file_format = parsing.detect_format(filename, content_type)
        columns = parsing.read_header(stored.path, file_format)
        total, spans = parsing.scan_chunks(
            stored.path, file_format, settings.BATCH_CHUNK_ROWS, settings.BATCH_MAX_ROWS
        )
        if total == 0:
            raise BatchFileError("The file has a header but no rows.")
        job = BatchJob(
            user=user,
            input_format=file_format,
            original_filename=filename[:255],
            input_sha256=stored.sha256,
            input_bytes=stored.size,
            idempotency_key=idempotency_key,
            callback_url=url,
            total_rows=total,
            chunk_count=len(spans),
        )
        files.job_dir(job.id).mkdir(parents=True)
        columns_path(job.id).write_text(json.dumps(columns))
        chunks = [
            BatchJobChunk(
                job=job,
                index=s.index,
                first_row=s.first_row,
                row_count=s.row_count,
                byte_start=s.byte_start,
                byte_end=s.byte_end,
            )
            for s in spans
        ]
        return JobPlan(job, chunks)

    return job_submit(BATCH, user=user, upload=upload, idempotency_key=idempotency_key, plan=plan)


def batch_job_submit(
    *,
    user: User,
    chunks: Iterable[bytes],
    filename: str,
    content_type: str,
    idempotency_key: str = "",
    callback_url: str = "",
) -> tuple[BatchJob, bool]:
    """Store an upload piece by piece, then create its job: the door for the API and the page."""
    stored = upload_store(chunks, max_bytes=settings.BATCH_MAX_BYTES, root=settings.BATCH_DIR)
    return batch_job_create(
        user=user,
        upload=stored,
        filename=filename,
        content_type=content_type,
        idempotency_key=idempotency_key[:255],
        callback_url=callback_url,
    )


def batch_job_cancel(*, job: BatchJob) -> BatchJob:
    return engine.job_cancel(BATCH, job=job)


def batch_job_retry(*, job: BatchJob) -> BatchJob:
    return engine.job_retry(BATCH, job=job)


def batch_job_results(*, job: BatchJob) -> results.ResultsDownload:
    """The results of a finished job (partial for cancelled or failed ones), from the parts
    of the chunks marked done (a part left by a chunk that rolled back is not listed)."""
    if not job.is_finished:
        raise ResultsNotReady("The job has not finished yet; poll its status_url.")
    if job.files_deleted_at is not None or not files.job_dir(job.id).is_dir():
        raise ResultsGone("The results file was deleted after the retention period.")
    done = BatchJobChunk.objects.filter(job=job, done_at__isnull=False).values_list(
        "index", flat=True
    )
    parts = [files.part_path(job.id, i) for i in sorted(done)]
    return results.results_stream(
        [path for path in parts if path.is_file()], f"stress-results-{job.id}.csv"
    )


def batch_job_files_cleanup(*, now: datetime | None = None) -> int:
    """Delete the files of jobs finished more than BATCH_RETENTION_DAYS ago; their history
    rows stay. Returns how many jobs were cleaned."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.BATCH_RETENTION_DAYS)
    cleaned = 0
    for job_id in BatchJob.objects.filter(
        finished_at__lt=cutoff, files_deleted_at__isnull=True
    ).values_list("id", flat=True):
        files.job_files_delete(job_id)
        BatchJob.objects.filter(pk=job_id).update(files_deleted_at=timezone.now())
        cleaned += 1
    return cleaned


def batch_job_files_delete_for_user(*, user: User) -> None:
    for job_id in BatchJob.objects.filter(user=user).values_list("id", flat=True):
        files.job_files_delete(job_id)
