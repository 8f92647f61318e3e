"""Background jobs of any kind, run in chunks: the rules every kind shares.

A kind (a file of readings, a recording) says how to do one chunk and what to record when
the job ends; everything else is here, written once:
- claim: a queued job becomes running by a conditional UPDATE, so two workers never both
  start it; a job claimed again (a redelivered message) hands out only unfinished chunks;
- chunks: each runs in one transaction under a skip-locked row lock, its output and the job's
  progress together, so a chunk that dies half way leaves nothing and one that runs twice
  writes nothing twice;
- cancel stops the chunks not yet started and rolls back one that loses the race;
- retry runs the unfinished chunks of a failed or cancelled job again;
- recovery (jobs.leases): a chunk is leased while it runs and its lease renewed; a dead
  worker's chunk is queued again once its lease runs out, a job whose messages were lost (a
  Redis restart) once it has made no progress for JOB_STALL_SECONDS; a chunk that keeps
  killing its worker fails the job after JOB_CHUNK_MAX_ATTEMPTS.
Status lives in the database, never in Celery.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from jobs import leases
from jobs.errors import IdempotencyConflict
from jobs.kinds import JobKind
from jobs.models import Job, JobStatus
from stressapp.errors import Conflict

logger = logging.getLogger(__name__)

JobId = uuid.UUID | str


# The tasks (jobs.tasks) call this module; it sends them by name. Names stay as they were
# when the engine lived in predictions, so messages already queued still run.
JOB_RUN_TASK = "predictions.job_run"
JOB_CHUNK_TASK = "predictions.job_chunk"
JOBS_RECOVER_TASK = "predictions.jobs_recover"


def _send(task_name: str, *args: Any) -> None:
    # A signature of a registered task sends through the task itself (its options, eager mode
    # in tests); unregistered here, it is sent by name to whichever worker has it.
    current_app.signature(task_name, args=args).apply_async()


def job_enqueue(kind: JobKind, job_id: JobId) -> None:
    _send(JOB_RUN_TASK, kind.name, str(job_id))


def job_enqueue_on_commit(kind: JobKind, job_id: JobId) -> None:
    """Queue the job once the transaction that created it is committed: a worker that picks
    it up earlier would not find it."""
    transaction.on_commit(lambda: job_enqueue(kind, job_id))


def job_for_idempotency_key(model: type[Job], *, user: Any, key: str, sha256: str) -> Any:
    """The job this person already submitted with this Idempotency-Key, if any (same file);
    IdempotencyConflict when the key came with another file."""
    existing = model.objects.filter(user=user, idempotency_key=key).first()
    if existing is not None and existing.input_sha256 != sha256:
        raise IdempotencyConflict("This Idempotency-Key was used with a different file.")
    return existing


def job_claim(kind: JobKind, *, job_id: JobId) -> list[int]:
    """Claim a queued job and return the chunks still to do (every worker takes some)."""
    model = kind.job_model
    now = timezone.now()
    claimed = model.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=now,
        progress_at=now,
        **kind.claim_fields(),
    )
    job = model.objects.filter(pk=job_id).first()
    if job is None or job.status != JobStatus.RUNNING:
        return []  # cancelled, finished, or gone
    if not claimed:
        logger.info(
            "%s job %s already running: re-dispatching unfinished chunks", kind.name, job_id
        )
    reason = kind.unavailable_reason(job)
    if reason:
        job_fail(kind, job_id=job.pk, error=reason)
        return []
    pending = list(
        kind.chunk_model.objects.filter(job=job, done_at__isnull=True).values_list(
            "index", flat=True
        )
    )
    if not pending:
        job_finish(kind, job_id=job.pk)
    else:
        model.objects.filter(pk=job.pk).update(dispatched_at=timezone.now())
    return pending


def job_chunk_run(kind: JobKind, *, job_id: JobId, index: int) -> bool:
    """Do one chunk under a lease: its output and the job's progress in one transaction.
    Returns True when this chunk was the job's last."""
    waiting = (
        kind.chunk_model.objects.filter(
            job_id=job_id, index=index, done_at__isnull=True, job__status=JobStatus.RUNNING
        )
        .select_related("job")
        .first()
    )
    if waiting is None:
        return False  # already done, or the job was cancelled or failed
    abandoned = leases.lease_take(kind.chunk_model, waiting.pk)
    if abandoned is None:
        return False  # a live worker holds it
    if abandoned >= settings.JOB_CHUNK_MAX_ATTEMPTS:
        job_fail(
            kind,
            job_id=job_id,
            error=f"Part {index + 1} stopped its worker {abandoned} times (out of memory, or "
            "killed); the job was stopped rather than try again.",
        )
        return False
    try:
        with leases.lease_heartbeat(kind.chunk_model, waiting.pk):
            return _chunk_run_leased(kind, job_id=job_id, index=index, waiting=waiting)
    finally:
        leases.lease_release(kind.chunk_model, waiting.pk)


def _chunk_run_leased(kind: JobKind, *, job_id: JobId, index: int, waiting: Any) -> bool:
    prepared = kind.chunk_prepare(waiting.job, waiting)
    with transaction.atomic():
        chunk = (
            kind.chunk_model.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(job_id=job_id, index=index, done_at__isnull=True)
            .select_related("job")
            .first()
        )
        if chunk is None:
            return False  # done meanwhile by a worker that took it over
        job = chunk.job
        if job.status != JobStatus.RUNNING:
            return False  # cancelled or failed: remaining chunks stop here
        outcome = kind.chunk_process(job, chunk, now=timezone.now(), prepared=prepared)
        done_at = timezone.now()
        kind.chunk_model.objects.filter(pk=chunk.pk).update(
            done_at=done_at,
            processed_rows=outcome.processed,
            failed_rows=outcome.failed,
            **outcome.chunk_updates,
        )
        still_running = kind.job_model.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            processed_rows=F("processed_rows") + outcome.processed,
            failed_rows=F("failed_rows") + outcome.failed,
            chunks_done=F("chunks_done") + 1,
            progress_at=done_at,
        )
        if not still_running:
            # Cancelled while this chunk ran: undo its output so history and results agree.
            transaction.set_rollback(True)
            return False
    if outcome.after_commit is not None:
        outcome.after_commit()
    finished = kind.job_model.objects.filter(
        pk=job_id, status=JobStatus.RUNNING, chunks_done=F("chunk_count")
    ).exists()
    if finished:
        job_finish(kind, job_id=job_id)
    return finished


def _job_end(kind: JobKind, job: Any, status: str, **fields: Any) -> None:
    job.status = status
    job.finished_at = timezone.now()
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=["status", "finished_at", *fields])
    kind.on_ended(job)


def job_finish(kind: JobKind, *, job_id: JobId) -> None:
    with transaction.atomic():
        job = kind.job_model.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.RUNNING or job.chunks_done < job.chunk_count:
            return
        _job_end(kind, job, JobStatus.SUCCEEDED, **kind.end_fields(job))


def job_fail(kind: JobKind, *, job_id: JobId, error: str) -> None:
    with transaction.atomic():
        job = kind.job_model.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return
        _job_end(kind, job, JobStatus.FAILED, error=error[:2000], **kind.end_fields(job))


def job_cancel(kind: JobKind, *, job: Any) -> Any:
    """Stop a queued or running job; chunks not yet started are skipped, output already
    committed stays."""
    with transaction.atomic():
        locked = kind.job_model.objects.select_for_update().get(pk=job.pk)
        if not locked.is_finished:
            _job_end(kind, locked, JobStatus.CANCELLED)
    locked.refresh_from_db()
    return locked


def job_retry(kind: JobKind, *, job: Any) -> Any:
    """Run the unfinished chunks of a failed or cancelled job again."""
    with transaction.atomic():
        updated = kind.job_model.objects.filter(
            pk=job.pk, status__in=[JobStatus.FAILED, JobStatus.CANCELLED]
        ).update(status=JobStatus.QUEUED, finished_at=None, error="")
        if updated:
            job_enqueue_on_commit(kind, job.pk)
    job.refresh_from_db()
    return job


def job_chunk_enqueue(kind: JobKind, job_id: JobId, index: int) -> None:
    _send(JOB_CHUNK_TASK, kind.name, str(job_id), index)


def jobs_recover(kind: JobKind, *, now: datetime | None = None) -> int:
    """Queue again what no live worker is doing. Returns how many messages were sent.

    - A chunk whose lease ran out: its worker died. Queued again at once.
    - A running job with no chunk leased and no progress for JOB_STALL_SECONDS: its messages
      were lost (a Redis restart without persistence, or taken by a worker killed before it
      recorded them). Its unfinished chunks are queued again, at most once per period.
    - A queued job that no worker claimed for that long: its run message was lost.
    Chunks are idempotent, so a message sent for a chunk that was merely slow costs a no-op."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALL_SECONDS)
    sent = 0
    chunks = kind.chunk_model.objects
    expired = chunks.filter(
        done_at__isnull=True, lease_until__lt=now, job__status=JobStatus.RUNNING
    ).values_list("pk", "job_id", "index")
    for chunk_pk, job_id, index in expired:
        with transaction.atomic():
            # A locked chunk row is held by a transaction still open: its worker's host may be
            # gone, its session not yet ended by the server (DB_KEEPALIVE_SECONDS). Skipped
            # until then, not waited for: every check would wait, one pool process each, until
            # no worker is left to do anything.
            free = list(
                chunks.select_for_update(skip_locked=True)
                .filter(pk=chunk_pk, done_at__isnull=True, lease_until__lt=now)
                .values_list("pk", flat=True)
            )
            # Counted as a death and freed for the message sent now (one checker wins).
            if free:
                chunks.filter(pk=chunk_pk).update(lease_until=None, abandoned=F("abandoned") + 1)
        if free:
            logger.warning(
                "%s job %s part %d: its worker died; queued again", kind.name, job_id, index
            )
            job_chunk_enqueue(kind, job_id, index)
            sent += 1
    model = kind.job_model
    leased_now = kind.chunk_model.objects.filter(done_at__isnull=True, lease_until__gte=now).values(
        "job_id"
    )
    not_recently_queued = Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=cutoff)
    lost = model.objects.filter(not_recently_queued).filter(
        (Q(status=JobStatus.RUNNING) & Q(progress_at__lt=cutoff) & ~Q(pk__in=leased_now))
        | Q(status=JobStatus.QUEUED, created_at__lt=cutoff)
    )
    for job_id in lost.values_list("pk", flat=True):
        model.objects.filter(pk=job_id).update(dispatched_at=now)
        logger.warning(
            "%s job %s made no progress since %s: queued again", kind.name, job_id, cutoff
        )
        job_enqueue(kind, job_id)
        sent += 1
    return sent


def job_restart(kind: JobKind, *, job: Any, **fields: Any) -> Any:
    """Run a finished job again from the start (e.g. a recording scored against a new
    baseline), with these fields changed. Its chunks redo their work; output they replace
    is replaced in their own transaction, so what was there stays visible until then."""
    with transaction.atomic():
        locked = kind.job_model.objects.select_for_update().get(pk=job.pk)
        if not locked.is_finished:
            raise Conflict("It is still being processed; wait until it ends or cancel it.")
        kind.job_model.objects.filter(pk=job.pk).update(
            status=JobStatus.QUEUED,
            processed_rows=0,
            failed_rows=0,
            chunks_done=0,
            error="",
            started_at=None,
            finished_at=None,
            progress_at=None,
            # Queued now: the stalled-job check counts from here, not from the first upload.
            dispatched_at=timezone.now(),
            **fields,
        )
        kind.chunk_model.objects.filter(job_id=job.pk).update(
            done_at=None, processed_rows=0, failed_rows=0
        )
        job_enqueue_on_commit(kind, job.pk)
    job.refresh_from_db()
    return job
