"""The batch job: a file of readings, scored in chunks by Celery workers.

Every door (the API, the jobs page) submits through `batch_job_submit`; the engine runs it;
each chunk scores through services.readings_score like every other reading.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from mlcore.readings.features import CLASSES
from predictions.batch import callbacks, engine, files, parsing, results, storage
from predictions.batch.errors import (
    BatchFileError,
    ResultsGone,
    ResultsNotReady,
)
from predictions.models import BatchJob, BatchJobChunk, Source
from predictions.services import five_number_baseline_for, readings_score
from predictions.validation import latest_allowed_measured_at
from stressapp.metrics import BATCH_ROWS, PREDICTIONS


def _columns_path(job_id: Any) -> Any:
    return files.job_dir(job_id) / "columns.json"


def _input_path(job: BatchJob) -> Any:
    return files.input_path(job.id, job.input_format)


def _row_errors(job: BatchJob) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for chunk_errors in (
        BatchJobChunk.objects.filter(job=job).order_by("index").values_list("row_errors", flat=True)
    ):
        errors.extend(chunk_errors)
        if len(errors) >= settings.BATCH_ROW_ERRORS_KEPT:
            break
    return errors[: settings.BATCH_ROW_ERRORS_KEPT]


class BatchJobKind(engine.JobKind):
    name = "batch"
    job_model = BatchJob
    chunk_model = BatchJobChunk

    def unavailable_reason(self, job: BatchJob) -> str | None:
        if not _input_path(job).is_file():
            return "The uploaded file is no longer in storage."
        return None

    def chunk_process(
        self, job: BatchJob, chunk: BatchJobChunk, *, now: datetime, prepared: Any = None
    ) -> engine.ChunkOutcome:
        good, bad = parsing.parse_chunk(
            _input_path(job),
            job.input_format,
            json.loads(_columns_path(job.id).read_text()),
            parsing.ChunkSpan(
                chunk.index, chunk.first_row, chunk.row_count, chunk.byte_start, chunk.byte_end
            ),
            default_measured_at=job.created_at,
            latest_allowed=latest_allowed_measured_at(now),
        )
        levels: list[str] = []
        probabilities = np.empty((0, len(CLASSES)))
        if len(good):
            # Serial: the workers already run one process per core.
            scores = readings_score(
                features=good.features,
                explain=False,
                parallel=False,
                baseline=five_number_baseline_for(user_id=job.user_id),
            )
            probabilities = scores.probabilities
            levels = [CLASSES[i] for i in scores.predicted.tolist()]
            storage.batch_predictions_insert(
                user_id=job.user_id,
                calibrated=scores.calibrated,
                job_id=job.id,
                rows=good,
                levels=levels,
                probabilities=probabilities,
                version_id=scores.model.id,
                now=now,
            )
        results.write_result_part(
            files.part_path(job.id, chunk.index), good, levels, probabilities, bad
        )
        kept = [{"row": row, "error": error} for row, error, _ in sorted(bad)]

        def count() -> None:
            for level, n in Counter(levels).items():
                PREDICTIONS.labels(level=level, source=Source.BATCH.value).inc(n)
            BATCH_ROWS.labels(outcome="scored").inc(len(good))
            BATCH_ROWS.labels(outcome="rejected").inc(len(bad))

        return engine.ChunkOutcome(
            processed=len(good),
            failed=len(bad),
            chunk_updates={"row_errors": kept[: settings.BATCH_ROW_ERRORS_KEPT]},
            after_commit=count,
        )

    def end_fields(self, job: BatchJob) -> dict[str, Any]:
        return {"row_errors": _row_errors(job)}

    def on_ended(self, job: BatchJob) -> None:
        callbacks.batch_job_notify_on_commit(job)


BATCH = engine.kind_register(BatchJobKind())


def batch_job_create(
    *,
    user: User,
    upload: files.StoredUpload,
    filename: str,
    content_type: str,
    idempotency_key: str = "",
    callback_url: str = "",
) -> tuple[BatchJob, bool]:
    """Validate the stored upload and create its job and chunks; queue it on commit.

    Returns (job, created). With an idempotency key seen before, the earlier job comes back
    (same file) or IdempotencyConflict is raised (different file). Nothing is written for a
    rejected upload, and its file is removed."""
    moved = False
    try:
        if idempotency_key:
            existing = engine.job_for_idempotency_key(
                BatchJob, user=user, key=idempotency_key, sha256=upload.sha256
            )
            if existing is not None:
                return existing, False
        callback_url = callbacks.callback_url_validate(callback_url)
        file_format = parsing.detect_format(filename, content_type)
        columns = parsing.read_header(upload.path, file_format)
        total, spans = parsing.scan_chunks(
            upload.path, file_format, settings.BATCH_CHUNK_ROWS, settings.BATCH_MAX_ROWS
        )
        if total == 0:
            raise BatchFileError("The file has a header but no rows.")
        job = BatchJob(
            user=user,
            input_format=file_format,
            original_filename=filename[:255],
            input_sha256=upload.sha256,
            input_bytes=upload.size,
            idempotency_key=idempotency_key,
            callback_url=callback_url,
            total_rows=total,
            chunk_count=len(spans),
        )
        (files.job_dir(job.id) / "parts").mkdir(parents=True)
        shutil.move(upload.path, _input_path(job))
        moved = True
        _columns_path(job.id).write_text(json.dumps(columns))
        try:
            with transaction.atomic():
                job.save(force_insert=True)
                BatchJobChunk.objects.bulk_create(
                    BatchJobChunk(
                        job=job,
                        index=s.index,
                        first_row=s.first_row,
                        row_count=s.row_count,
                        byte_start=s.byte_start,
                        byte_end=s.byte_end,
                    )
                    for s in spans
                )
                engine.job_enqueue_on_commit(BATCH, job.id)
        except IntegrityError:
            files.job_files_delete(job.id)
            if not idempotency_key:
                raise
            # The same key raced in from a parallel request: answer as for a retry.
            existing = engine.job_for_idempotency_key(
                BatchJob, user=user, key=idempotency_key, sha256=upload.sha256
            )
            if existing is None:
                raise
            return existing, False
        return job, True
    finally:
        if not moved:
            upload.path.unlink(missing_ok=True)


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
    stored = files.upload_store(chunks, max_bytes=settings.BATCH_MAX_BYTES)
    return batch_job_create(
        user=user,
        upload=stored,
        filename=filename,
        content_type=content_type,
        idempotency_key=idempotency_key[:255],
        callback_url=callback_url,
    )


def batch_job_run(*, job_id: uuid.UUID | str) -> list[int]:
    return engine.job_claim(BATCH, job_id=job_id)


def batch_job_chunk_run(*, job_id: uuid.UUID | str, index: int) -> bool:
    return engine.job_chunk_run(BATCH, job_id=job_id, index=index)


def batch_job_cancel(*, job: BatchJob) -> BatchJob:
    return engine.job_cancel(BATCH, job=job)


def batch_job_retry(*, job: BatchJob) -> BatchJob:
    return engine.job_retry(BATCH, job=job)


def batch_jobs_recover(*, now: datetime | None = None) -> int:
    return engine.jobs_recover(BATCH, now=now)


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
