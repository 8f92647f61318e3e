"""Batch jobs: submit, run in chunks, finish, cancel, retry, notify, clean up.

Kept apart from services.py because it is a whole workflow; it scores through
services.readings_score like every other door.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import shutil
import socket
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import repeat
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from mlcore.features import CLASSES, FEATURE_NAMES
from predictions import batchfiles
from predictions.batchfiles import BatchFileError
from predictions.models import (
    FINISHED_STATUSES,
    BatchJob,
    BatchJobChunk,
    JobStatus,
    ModelVersion,
    Prediction,
    Source,
)
from predictions.services import readings_score
from predictions.validation import latest_allowed_measured_at
from stressapp.metrics import BATCH_ROWS, PREDICTIONS

logger = logging.getLogger(__name__)

# A batch row's columns in COPY order, with the PostgreSQL type its binary form is packed as.
COPY_COLUMNS = (
    ("user_id", "int8"),
    ("measured_at", "timestamptz"),
    ("created_at", "timestamptz"),
    *((name, "float8") for name in FEATURE_NAMES),
    ("stress_level", "varchar"),
    ("confidence", "float8"),
    ("probability_low", "float8"),
    ("probability_medium", "float8"),
    ("probability_high", "float8"),
    ("model_version_id", "int8"),
    ("source", "varchar"),
    ("note", "varchar"),
    ("batch_job_id", "uuid"),
    ("row_number", "int4"),
)
COPY_FIELDS = tuple(column for column, _ in COPY_COLUMNS)


class PayloadTooLarge(Exception):
    pass


class IdempotencyConflict(Exception):
    pass


class InvalidCallbackUrl(ValueError):
    pass


CALLBACK_URL_MAX_LENGTH = 2000


# --- files --------------------------------------------------------------------------------


def job_dir(job_id: uuid.UUID | str) -> Path:
    return Path(settings.BATCH_DIR) / str(job_id)


def input_path(job: BatchJob) -> Path:
    return job_dir(job.id) / f"input.{job.input_format}"


def part_path(job_id: uuid.UUID | str, index: int) -> Path:
    return job_dir(job_id) / "parts" / f"{index:06d}.csv"


@dataclass
class StoredUpload:
    path: Path
    sha256: str
    size: int


def upload_store(chunks: Iterable[bytes], *, max_bytes: int) -> StoredUpload:
    """Write an upload to storage piece by piece (never whole in memory), hashing as it goes."""
    incoming = Path(settings.BATCH_DIR) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / uuid.uuid4().hex
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "wb") as handle:
            for piece in chunks:
                size += len(piece)
                if size > max_bytes:
                    raise PayloadTooLarge(f"The file is larger than {max_bytes:,} bytes.")
                digest.update(piece)
                handle.write(piece)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StoredUpload(path, digest.hexdigest(), size)


def callback_url_validate(url: str) -> str:
    """Scheme, form and length at submit time; where it points is checked when we call it."""
    if not url:
        return ""
    allowed = ["https", "http"] if settings.BATCH_CALLBACK_ALLOW_HTTP else ["https"]
    message = "callback_url must be an absolute https URL" + (
        "" if settings.BATCH_CALLBACK_ALLOW_HTTP else " (http is refused in production)"
    )
    if len(url) > CALLBACK_URL_MAX_LENGTH:
        raise InvalidCallbackUrl(
            f"callback_url is longer than {CALLBACK_URL_MAX_LENGTH} characters"
        )
    try:
        URLValidator(schemes=allowed)(url)
        urlparse(url).port  # noqa: B018 - raises on a malformed port
    except (ValidationError, ValueError):
        raise InvalidCallbackUrl(message) from None
    return url


def _callback_address_allowed(url: str) -> bool:
    """Refuse callbacks into our own network (SSRF): every address the host resolves to must
    be public, unless local callbacks are allowed (development)."""
    if settings.BATCH_CALLBACK_ALLOW_PRIVATE:
        return True
    parsed = urlparse(url)
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return False
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    return bool(addresses) and all(address.is_global for address in addresses)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer, not an invitation to call somewhere else


# --- submit -------------------------------------------------------------------------------


def batch_job_create(
    *,
    user: User,
    upload: StoredUpload,
    filename: str,
    content_type: str,
    idempotency_key: str | None = None,
    callback_url: str = "",
) -> tuple[BatchJob, bool]:
    """Validate the stored upload and create its job and chunks; queue it on commit.

    Returns (job, created). With an idempotency key seen before, the earlier job comes back
    (same file) or IdempotencyConflict is raised (different file). Nothing is written for a
    rejected upload, and its file is removed.
    """
    moved = False
    try:
        if idempotency_key:
            existing = BatchJob.objects.filter(user=user, idempotency_key=idempotency_key).first()
            if existing is not None:
                if existing.input_sha256 != upload.sha256:
                    raise IdempotencyConflict(
                        "This Idempotency-Key was used with a different file."
                    )
                return existing, False
        callback_url = callback_url_validate(callback_url)
        file_format = batchfiles.detect_format(filename, content_type)
        columns = batchfiles.read_header(upload.path, file_format)
        total, spans = batchfiles.scan_chunks(
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
            idempotency_key=idempotency_key or "",
            callback_url=callback_url,
            total_rows=total,
            chunk_count=len(spans),
        )
        folder = job_dir(job.id)
        (folder / "parts").mkdir(parents=True)
        shutil.move(upload.path, input_path(job))
        moved = True
        (folder / "columns.json").write_text(json.dumps(columns))
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
                transaction.on_commit(lambda: _enqueue_run(job.id))
        except IntegrityError:
            shutil.rmtree(folder, ignore_errors=True)
            if not idempotency_key:
                raise
            # The same key raced in from a parallel request: answer as for a retry.
            existing = BatchJob.objects.get(user=user, idempotency_key=idempotency_key)
            if existing.input_sha256 != upload.sha256:
                raise IdempotencyConflict(
                    "This Idempotency-Key was used with a different file."
                ) from None
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
    """Store an upload piece by piece, then create its job (the API's and the page's door)."""
    stored = upload_store(chunks, max_bytes=settings.BATCH_MAX_BYTES)
    return batch_job_create(
        user=user,
        upload=stored,
        filename=filename,
        content_type=content_type,
        idempotency_key=idempotency_key,
        callback_url=callback_url,
    )


def _enqueue_run(job_id: uuid.UUID) -> None:
    from predictions.tasks import batch_job_run as batch_job_run_task

    batch_job_run_task.delay(str(job_id))


# --- run ----------------------------------------------------------------------------------


def batch_job_run(*, job_id: uuid.UUID | str) -> list[int]:
    """Claim a queued job and return the chunks still to score (every worker takes some)."""
    now = timezone.now()
    claimed = BatchJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=now,
        progress_at=now,
        model_version_id=ModelVersion.objects.filter(is_active=True)
        .values_list("id", flat=True)
        .first(),
    )
    job = BatchJob.objects.filter(pk=job_id).first()
    if job is None or job.status != JobStatus.RUNNING:
        return []  # cancelled, finished, or gone
    if not claimed:
        logger.info("batch job %s already running: re-dispatching unfinished chunks", job_id)
    if not input_path(job).is_file():
        batch_job_fail(job_id=job.id, error="The uploaded file is no longer in storage.")
        return []
    pending = list(
        BatchJobChunk.objects.filter(job=job, done_at__isnull=True).values_list("index", flat=True)
    )
    if not pending:
        batch_job_finish(job_id=job.id)
    else:
        BatchJob.objects.filter(pk=job.id).update(dispatched_at=timezone.now())
    return pending


def batch_jobs_resume_stalled(*, now: datetime | None = None) -> int:
    """Queue again every job that stopped moving, at most once per BATCH_STALL_SECONDS.

    Acknowledging late covers a worker that dies while running a chunk, but not a message the
    broker has already handed over and not yet recorded as taken (a worker killed in that
    instant), nor a Redis restart without persistence: such a job would stay queued or running
    for ever. Chunks are idempotent, so re-queueing a job that was merely slow costs no-ops.
    Returns how many jobs were queued again."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.BATCH_STALL_SECONDS)
    stalled = (Q(status=JobStatus.RUNNING) & Q(progress_at__lt=cutoff)) | Q(
        status=JobStatus.QUEUED, created_at__lt=cutoff
    )
    not_recently_queued = Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=cutoff)
    resumed = 0
    for job_id in BatchJob.objects.filter(stalled & not_recently_queued).values_list(
        "id", flat=True
    ):
        BatchJob.objects.filter(pk=job_id).update(dispatched_at=now)
        logger.warning("batch job %s made no progress since %s: queued again", job_id, cutoff)
        _enqueue_run(job_id)
        resumed += 1
    return resumed


def _insert_predictions(
    *,
    job: BatchJob,
    rows: batchfiles.ChunkRows,
    levels: list[str],
    probabilities: np.ndarray,
    version_id: int,
    now: datetime,
) -> None:
    """Store a chunk's scored rows. On PostgreSQL: one binary COPY, its rows zipped from the
    columns; psycopg packs them in C (several times cheaper than INSERT or a text COPY, and
    the server parses no text)."""
    n = len(rows)
    if not n:
        return
    confidence = probabilities.max(axis=1).tolist()
    low, medium, high = probabilities.T.tolist()
    values = zip(
        repeat(job.user_id, n),
        rows.measured_at,
        repeat(now, n),
        *rows.features.T.tolist(),
        levels,
        confidence,
        low,
        medium,
        high,
        repeat(version_id, n),
        repeat(Source.BATCH.value, n),
        rows.notes,
        repeat(job.id, n),
        rows.row_numbers,
        strict=True,
    )
    if connection.vendor == "postgresql":
        table = Prediction._meta.db_table
        names = ", ".join(column for column, _ in COPY_COLUMNS)
        with connection.cursor() as cursor, connection.wrap_database_errors:  # noqa: SIM117
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([pg_type for _, pg_type in COPY_COLUMNS])
                for row in values:
                    copy.write_row(row)
        return
    Prediction.objects.bulk_create(
        (Prediction(**dict(zip(COPY_FIELDS, row, strict=True))) for row in values),
        batch_size=500,
    )


def batch_job_chunk_run(*, job_id: uuid.UUID | str, index: int) -> bool:
    """Score one chunk: rows, result part and progress in one transaction, so a chunk that
    dies half way leaves nothing and one that runs twice writes nothing twice.
    Returns True when this chunk was the job's last."""
    with transaction.atomic():
        chunk = (
            BatchJobChunk.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(job_id=job_id, index=index, done_at__isnull=True)
            .select_related("job")
            .first()
        )
        if chunk is None:
            return False  # already done, or another worker holds it right now
        job = chunk.job
        if job.status != JobStatus.RUNNING:
            return False  # cancelled or failed: remaining chunks stop here
        columns = json.loads((job_dir(job.id) / "columns.json").read_text())
        now = timezone.now()
        good, bad = batchfiles.parse_chunk(
            input_path(job),
            job.input_format,
            columns,
            batchfiles.ChunkSpan(
                chunk.index, chunk.first_row, chunk.row_count, chunk.byte_start, chunk.byte_end
            ),
            default_measured_at=job.created_at,
            latest_allowed=latest_allowed_measured_at(now),
        )
        levels: list[str] = []
        probabilities = np.empty((0, len(CLASSES)))
        if len(good):
            # Serial: the workers already run one process per core.
            scores = readings_score(features=good.features, explain=False, parallel=False)
            probabilities = scores.probabilities
            levels = [CLASSES[i] for i in scores.predicted.tolist()]
            _insert_predictions(
                job=job,
                rows=good,
                levels=levels,
                probabilities=probabilities,
                version_id=scores.model.id,
                now=now,
            )
        batchfiles.write_result_part(
            part_path(job.id, chunk.index), good, levels, probabilities, bad
        )
        kept = [{"row": row, "error": error} for row, error, _ in sorted(bad)]
        done_at = timezone.now()
        BatchJobChunk.objects.filter(pk=chunk.pk).update(
            done_at=done_at,
            processed_rows=len(good),
            failed_rows=len(bad),
            row_errors=kept[: settings.BATCH_ROW_ERRORS_KEPT],
        )
        still_running = BatchJob.objects.filter(pk=job.id, status=JobStatus.RUNNING).update(
            processed_rows=F("processed_rows") + len(good),
            failed_rows=F("failed_rows") + len(bad),
            chunks_done=F("chunks_done") + 1,
            progress_at=done_at,
        )
        if not still_running:
            # Cancelled while this chunk ran: undo its rows so history and results agree.
            transaction.set_rollback(True)
            return False
    for level, count in Counter(levels).items():
        PREDICTIONS.labels(level=level, source=Source.BATCH.value).inc(count)
    BATCH_ROWS.labels(outcome="scored").inc(len(good))
    BATCH_ROWS.labels(outcome="rejected").inc(len(bad))
    finished = BatchJob.objects.filter(
        pk=job_id, status=JobStatus.RUNNING, chunks_done=F("chunk_count")
    ).exists()
    if finished:
        batch_job_finish(job_id=job_id)
    return finished


def _collect_row_errors(job: BatchJob) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for chunk_errors in (
        BatchJobChunk.objects.filter(job=job).order_by("index").values_list("row_errors", flat=True)
    ):
        errors.extend(chunk_errors)
        if len(errors) >= settings.BATCH_ROW_ERRORS_KEPT:
            break
    return errors[: settings.BATCH_ROW_ERRORS_KEPT]


def batch_job_finish(*, job_id: uuid.UUID | str) -> None:
    with transaction.atomic():
        job = BatchJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.RUNNING or job.chunks_done < job.chunk_count:
            return
        job.row_errors = _collect_row_errors(job)
        job.status = JobStatus.SUCCEEDED
        job.finished_at = timezone.now()
        job.save(update_fields=["row_errors", "status", "finished_at"])
        _notify_on_commit(job)


def batch_job_fail(*, job_id: uuid.UUID | str, error: str) -> None:
    with transaction.atomic():
        job = BatchJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return
        job.status = JobStatus.FAILED
        job.error = error[:2000]
        job.finished_at = timezone.now()
        job.row_errors = _collect_row_errors(job)
        job.save(update_fields=["status", "error", "finished_at", "row_errors"])
        _notify_on_commit(job)


def batch_job_cancel(*, job: BatchJob) -> BatchJob:
    """Stop a queued or running job; chunks not yet started are skipped, rows already
    written stay in the history and in the partial results."""
    with transaction.atomic():
        locked = BatchJob.objects.select_for_update().get(pk=job.pk)
        if not locked.is_finished:
            locked.status = JobStatus.CANCELLED
            locked.finished_at = timezone.now()
            locked.save(update_fields=["status", "finished_at"])
            _notify_on_commit(locked)
    locked.refresh_from_db()
    return locked


def batch_job_retry(*, job: BatchJob) -> BatchJob:
    """Run the unfinished chunks of a failed or cancelled job again."""
    with transaction.atomic():
        updated = BatchJob.objects.filter(
            pk=job.pk, status__in=[JobStatus.FAILED, JobStatus.CANCELLED]
        ).update(status=JobStatus.QUEUED, finished_at=None, error="")
        if updated:
            transaction.on_commit(lambda: _enqueue_run(job.pk))
    job.refresh_from_db()
    return job


@dataclass(frozen=True)
class ResultsDownload:
    size: int  # bytes, for Content-Length
    blocks: Iterator[bytes]


def batch_job_results(*, job: BatchJob) -> ResultsDownload | None:
    """The results of a finished job (partial for cancelled or failed ones): the header, then
    every committed chunk's part in row order, streamed from the parts themselves (no second
    copy on disk, nothing whole in memory). A part left by a chunk that rolled back is not
    listed: only chunks marked done count."""
    if job.status not in FINISHED_STATUSES or job.files_deleted_at is not None:
        return None
    if not job_dir(job.id).is_dir():
        return None
    done = BatchJobChunk.objects.filter(job=job, done_at__isnull=False).values_list(
        "index", flat=True
    )
    parts = [path for path in (part_path(job.id, i) for i in sorted(done)) if path.is_file()]
    header = batchfiles.header_line().encode()

    def blocks() -> Iterator[bytes]:
        yield header
        for part in parts:
            with open(part, "rb") as handle:
                while block := handle.read(1 << 20):
                    yield block

    return ResultsDownload(len(header) + sum(part.stat().st_size for part in parts), blocks())


# --- callbacks ----------------------------------------------------------------------------


def _notify_on_commit(job: BatchJob) -> None:
    if not job.callback_url:
        return
    from predictions.tasks import batch_job_notify as batch_job_notify_task

    job_id = str(job.id)
    transaction.on_commit(lambda: batch_job_notify_task.delay(job_id))


def callback_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex: receivers recompute it with their secret
    and reject old timestamps to stop replays."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def callback_payload(job: BatchJob) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "status": job.status,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "failed_rows": job.failed_rows,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "error": job.error,
    }


def batch_job_notify(*, job_id: uuid.UUID | str) -> int | None:
    """POST the job's outcome to its callback URL, signed; raises on failure so the task
    retries with backoff. Returns the HTTP status (None when the job or URL is gone)."""
    job = BatchJob.objects.select_related("user").filter(pk=job_id).first()
    if job is None or not job.callback_url:
        return None
    if not _callback_address_allowed(job.callback_url):
        BatchJob.objects.filter(pk=job.pk).update(
            callback_status="refused: the host is not a public address"
        )
        return None
    body = json.dumps(callback_payload(job)).encode()
    timestamp = str(int(timezone.now().timestamp()))
    request = urllib.request.Request(  # noqa: S310 - scheme checked by callback_url_validate
        callback_url_validate(job.callback_url),
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "stress-tracker-callbacks/1",
            "X-Stress-Timestamp": timestamp,
            "X-Stress-Signature": "sha256="
            + callback_signature(job.user.webhook_secret, timestamp, body),
        },
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=settings.BATCH_CALLBACK_TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        # Only the status is kept: error text could describe the receiver's network.
        BatchJob.objects.filter(pk=job.pk).update(callback_status=f"failed: HTTP {exc.code}")
        raise
    except OSError:
        BatchJob.objects.filter(pk=job.pk).update(callback_status="failed: no connection")
        raise
    BatchJob.objects.filter(pk=job.pk).update(callback_status=f"delivered: HTTP {status}")
    return status


# --- retention ----------------------------------------------------------------------------


def batch_job_files_cleanup(*, now: datetime | None = None) -> int:
    """Delete the files of jobs finished more than BATCH_RETENTION_DAYS ago; their history
    rows stay. Returns how many jobs were cleaned."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.BATCH_RETENTION_DAYS)
    cleaned = 0
    for job in BatchJob.objects.filter(finished_at__lt=cutoff, files_deleted_at__isnull=True):
        shutil.rmtree(job_dir(job.id), ignore_errors=True)
        BatchJob.objects.filter(pk=job.pk).update(files_deleted_at=timezone.now())
        cleaned += 1
    return cleaned


def batch_job_files_delete_for_user(*, user: User) -> None:
    for job_id in BatchJob.objects.filter(user=user).values_list("id", flat=True):
        shutil.rmtree(job_dir(job_id), ignore_errors=True)


def stream_chunks(stream: IO[bytes], block: int = 1 << 16) -> Iterable[bytes]:
    while True:
        piece = stream.read(block)
        if not piece:
            return
        yield piece
