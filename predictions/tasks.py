"""Celery tasks: thin doors that take ids or plain values and call services."""

import socket

from celery import Task, group, shared_task, signals
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from predictions.batch import callbacks, engine
from predictions.batch import jobs as batch_jobs
from predictions.recordings import kind as _recording_kind  # noqa: F401 - registers the kind

PING_ANSWER_TTL_SECONDS = 300


@signals.worker_process_init.connect
def _load_model_early(**_: object) -> None:
    from predictions.ml import served_model_preload

    served_model_preload()


def ping_answer_key(nonce: str) -> str:
    return f"celery-ping:{nonce}"


@shared_task(name="predictions.ping")
def ping(nonce: str) -> str:
    """Proves the broker -> worker wiring: the answer goes to the shared cache because there
    is deliberately no result backend."""
    answer = f"pong from {socket.gethostname()}"
    cache.set(ping_answer_key(nonce), answer, PING_ANSWER_TTL_SECONDS)
    return answer


# Passing faults worth a retry: the database or the broker blinked. Bad input never retries.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, RedisConnectionError, KombuOperationalError)


class JobTask(Task):
    """Idempotent job work (kind name, job id, ...): acknowledged only when done, so a killed
    worker's message goes back to the queue; a job whose task fails for good is marked failed."""

    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 5

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        kind_name = kwargs.get("kind") or (args[0] if args else None)
        job_id = kwargs.get("job_id") or (args[1] if len(args) > 1 else None)
        if kind_name in engine.KINDS and job_id:
            engine.job_fail(
                engine.kind_get(kind_name),
                job_id=job_id,
                error=f"Processing failed: {type(exc).__name__}: {exc}",
            )


@shared_task(name="predictions.job_run", base=JobTask)
def job_run(kind: str, job_id: str) -> int:
    pending = engine.job_claim(engine.kind_get(kind), job_id=job_id)
    if pending:
        group(job_chunk.s(kind, job_id, index) for index in pending).apply_async()
    return len(pending)


@shared_task(name="predictions.job_chunk", base=JobTask, soft_time_limit=240, time_limit=300)
def job_chunk(kind: str, job_id: str, index: int) -> bool:
    return engine.job_chunk_run(engine.kind_get(kind), job_id=job_id, index=index)


@shared_task(name="predictions.jobs_recover", ignore_result=True)
def jobs_recover() -> int:
    return sum(engine.jobs_recover(kind) for kind in engine.KINDS.values())


@signals.worker_ready.connect
def _recover_at_start(**_: object) -> None:
    """A worker that starts (a replacement, after a crash) looks for dead peers' work now."""
    jobs_recover.delay()


@shared_task(
    name="predictions.batch_job_notify",
    bind=True,
    acks_late=True,
    max_retries=6,
    retry_backoff=5,
    # Below the broker's visibility timeout, so a waiting retry is never delivered twice.
    retry_backoff_max=300,
    retry_jitter=True,
)
def batch_job_notify(self: Task, job_id: str) -> int | None:
    try:
        return callbacks.batch_job_notify(job_id=job_id)
    except Exception as exc:
        raise self.retry(exc=exc) from exc


@shared_task(name="predictions.batch_job_files_cleanup")
def batch_job_files_cleanup() -> int:
    return batch_jobs.batch_job_files_cleanup()
