"""Celery tasks of predictions: thin doors that take ids or plain values and call services.
The job engine's own tasks (job_run, job_chunk, jobs_recover) are in jobs.tasks."""

import socket

from celery import Task, shared_task, signals
from django.core.cache import cache

from predictions.batch import callbacks
from predictions.batch import jobs as batch_jobs
from predictions.ml import served_model_preload

PING_ANSWER_TTL_SECONDS = 300


@signals.worker_process_init.connect
def _load_model_early(**_: object) -> None:
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


@shared_task(
    name=callbacks.NOTIFY_TASK,
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


@shared_task(name="predictions.prediction_days_compact")
def prediction_days_compact() -> tuple[int, int]:
    from predictions.services import prediction_days_compact

    return prediction_days_compact()
