"""The engine's Celery tasks: thin doors that take a kind's name and a job id. Their names are
the ones they had in predictions (jobs.engine sends them by these names), so messages already
queued still run."""

from celery import Task, group, shared_task, signals
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from jobs import engine
from jobs.errors import JobFailed
from jobs.kinds import KINDS, kind_get

UNEXPLAINED_FAILURE = (
    "Processing stopped because of a fault on our side (it has been logged). Try again; "
    "if it happens again, tell us the job's id."
)
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
        if kind_name in KINDS and job_id:
            # The traceback is in the worker's log (Celery logs every failure); the owner reads
            # what the kind said, or a sentence that names nothing of the inside.
            error = exc.message if isinstance(exc, JobFailed) else UNEXPLAINED_FAILURE
            engine.job_fail(kind_get(kind_name), job_id=job_id, error=error)


@shared_task(name=engine.JOB_RUN_TASK, base=JobTask)
def job_run(kind: str, job_id: str) -> int:
    pending = engine.job_claim(kind_get(kind), job_id=job_id)
    if pending:
        group(job_chunk.s(kind, job_id, index) for index in pending).apply_async()
    return len(pending)


@shared_task(name=engine.JOB_CHUNK_TASK, base=JobTask, soft_time_limit=240, time_limit=300)
def job_chunk(kind: str, job_id: str, index: int) -> bool:
    return engine.job_chunk_run(kind_get(kind), job_id=job_id, index=index)


@shared_task(name=engine.JOBS_RECOVER_TASK, ignore_result=True)
def jobs_recover() -> int:
    return sum(engine.jobs_recover(kind) for kind in KINDS.values())


@signals.worker_ready.connect
def _recover_at_start(**_: object) -> None:
    """A worker that starts (a replacement, after a crash) looks for dead peers' work now."""
    jobs_recover.delay()
