"""Celery tasks: thin doors that take ids or plain values and call services."""

import socket

from celery import Task, group, shared_task, signals
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from predictions import batch_services

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


class BatchTask(Task):
    """Idempotent batch work: acknowledged only when done, so a killed worker's message goes
    back to the queue; a job whose task fails for good is marked failed."""

    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 5

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        job_id = kwargs.get("job_id") or (args[0] if args else None)
        if job_id:
            batch_services.batch_job_fail(
                job_id=job_id, error=f"Processing failed: {type(exc).__name__}: {exc}"
            )


@shared_task(name="predictions.batch_job_run", base=BatchTask)
def batch_job_run(job_id: str) -> int:
    pending = batch_services.batch_job_run(job_id=job_id)
    if pending:
        group(batch_job_chunk.s(job_id, index) for index in pending).apply_async()
    return len(pending)


@shared_task(
    name="predictions.batch_job_chunk", base=BatchTask, soft_time_limit=240, time_limit=300
)
def batch_job_chunk(job_id: str, index: int) -> bool:
    return batch_services.batch_job_chunk_run(job_id=job_id, index=index)


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
        return batch_services.batch_job_notify(job_id=job_id)
    except batch_services.InvalidCallbackUrl:
        return None  # refused for good: retrying cannot help
    except Exception as exc:
        raise self.retry(exc=exc) from exc


@shared_task(name="predictions.batch_job_files_cleanup")
def batch_job_files_cleanup() -> int:
    return batch_services.batch_job_files_cleanup()


@shared_task(name="predictions.batch_jobs_resume_stalled")
def batch_jobs_resume_stalled() -> int:
    return batch_services.batch_jobs_resume_stalled()
