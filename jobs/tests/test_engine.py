"""The engine on a kind of its own (jobs/tests/fakes), through its real Celery tasks run in
this process (eager): claim, chunks once each, cancel, retry, failure, recovery, restart, and
the upload lifecycle."""

from datetime import timedelta
from unittest.mock import patch

import pytest
from django.db import connection, connections
from django.utils import timezone
from psycopg import sql

from jobs import engine, leases
from jobs import tasks as job_tasks
from jobs.errors import IdempotencyConflict
from jobs.models import JobStatus
from jobs.tests.fakes.kind import FAKE, fake_dir
from jobs.tests.fakes.models import FakeChunk, FakeJob
from jobs.uploads import JobPlan, job_submit, upload_store
from stressapp.celery import app
from stressapp.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    """Messages the engine sends run at once, in this process, as a worker would run them
    (the engine sends by name; the tasks it names are these)."""
    assert {job_tasks.job_run.name, job_tasks.job_chunk.name} <= set(app.tasks)
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def no_broken_chunk():
    FAKE.fail_on = None
    yield
    FAKE.fail_on = None


def submit(user, settings, *, content=b"abc", key="", rows=(2, 3, 4), refuse=False):
    upload = upload_store([content], max_bytes=1000, root=settings.DATA_DIR / "incoming-fake")

    def plan(stored):
        if refuse:
            raise InvalidInput("This file is not one we can use.", field="file")
        job = FakeJob(
            user=user,
            input_sha256=stored.sha256,
            input_bytes=stored.size,
            idempotency_key=key,
            total_rows=sum(rows),
            chunk_count=len(rows),
        )
        return JobPlan(job, [FakeChunk(job=job, index=i, rows=n) for i, n in enumerate(rows)])

    return job_submit(FAKE, user=user, upload=upload, idempotency_key=key, plan=plan), upload


def outputs(job):
    return list(
        FakeChunk.objects.filter(job=job).order_by("index").values_list("output", flat=True)
    )


def test_it_runs_every_chunk_once_and_ends_the_job(
    user, settings, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        (job, created), _ = submit(user, settings)
    job.refresh_from_db()
    assert created and job.status == JobStatus.SUCCEEDED
    assert outputs(job) == [2, 3, 4] and job.processed_rows == 9 and job.chunks_done == 3
    assert job.ended == 1 and job.percent == 100.0
    assert (fake_dir(job.pk) / "input").read_bytes() == b"abc"


def test_a_redelivered_run_hands_out_only_the_unfinished_chunks(user, settings):
    (job, _), _ = submit(user, settings)
    assert engine.job_claim(FAKE, job_id=job.pk) == [0, 1, 2]
    assert engine.job_chunk_run(FAKE, job_id=job.pk, index=0) is False
    assert engine.job_chunk_run(FAKE, job_id=job.pk, index=0) is False  # done: a no-op
    assert engine.job_claim(FAKE, job_id=job.pk) == [1, 2]
    assert outputs(job) == [2, 0, 0]


def test_cancel_stops_the_chunks_not_started_and_retry_runs_only_those(
    user, settings, eager, django_capture_on_commit_callbacks
):
    (job, _), _ = submit(user, settings)
    engine.job_claim(FAKE, job_id=job.pk)
    engine.job_chunk_run(FAKE, job_id=job.pk, index=0)
    job = engine.job_cancel(FAKE, job=job)
    assert job.status == JobStatus.CANCELLED and job.ended == 1
    assert engine.job_chunk_run(FAKE, job_id=job.pk, index=1) is False
    assert outputs(job) == [2, 0, 0]
    with django_capture_on_commit_callbacks(execute=True):
        engine.job_retry(FAKE, job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and outputs(job) == [2, 3, 4]


def test_a_chunk_that_raises_fails_the_job_and_writes_nothing_of_its_own(
    user, settings, eager, django_capture_on_commit_callbacks
):
    FAKE.fail_on = 1
    with django_capture_on_commit_callbacks(execute=True):
        (job, _), _ = submit(user, settings)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == job_tasks.UNEXPLAINED_FAILURE
    assert "broken" not in job.error  # the exception's text stays in the log
    assert outputs(job)[1] == 0 and job.ended == 1


def test_a_dead_workers_chunk_is_queued_again_once_its_lease_runs_out(user, settings, eager):
    (job, _), _ = submit(user, settings, rows=(5,))
    engine.job_claim(FAKE, job_id=job.pk)
    chunk = FakeChunk.objects.get(job=job)
    assert leases.lease_take(FakeChunk, chunk.pk) == 0  # a worker takes it, then dies
    assert leases.lease_take(FakeChunk, chunk.pk) is None  # nobody else while it lives
    assert engine.jobs_recover(FAKE, now=timezone.now()) == 0
    lapsed = timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS + 1)
    assert engine.jobs_recover(FAKE, now=lapsed) == 1  # the message runs it here (eager)
    job.refresh_from_db()
    chunk.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and chunk.output == 5 and chunk.abandoned == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
def test_the_recovery_check_skips_a_chunk_whose_row_a_vanished_host_still_locks(user, settings):
    """A host cut off inside a chunk's transaction keeps its row lock until the server ends
    its session. The check must pass over that chunk rather than wait behind the lock (a
    waiting check holds a pool process; soon every one would wait), and free it once the
    lock is gone."""
    (job, _), _ = submit(user, settings, rows=(5,))
    engine.job_claim(FAKE, job_id=job.pk)
    chunk = FakeChunk.objects.get(job=job)
    assert leases.lease_take(FakeChunk, chunk.pk) == 0
    lapsed = timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS + 1)
    vanished = connections.create_connection("default")
    vanished.ensure_connection()
    try:
        vanished.connection.execute("BEGIN")
        locking = sql.SQL("SELECT 1 FROM {} WHERE id = %s FOR UPDATE")
        vanished.connection.execute(
            locking.format(sql.Identifier(FakeChunk._meta.db_table)), [chunk.pk]
        )
        with connection.cursor() as cursor:
            # Without the skip, the check would wait here; this makes the wait an error.
            cursor.execute("SET lock_timeout = '2s'")
        assert engine.jobs_recover(FAKE, now=lapsed) == 0
        chunk.refresh_from_db()
        assert chunk.abandoned == 0 and chunk.lease_until is not None
        vanished.connection.execute("ROLLBACK")  # the server ended the dead session
        with patch.object(engine, "job_chunk_enqueue") as enqueue:
            assert engine.jobs_recover(FAKE, now=lapsed) == 1
        enqueue.assert_called_once_with(FAKE, job.pk, 0)
        chunk.refresh_from_db()
        assert chunk.abandoned == 1 and chunk.lease_until is None
    finally:
        vanished.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


def test_a_chunk_that_keeps_killing_its_worker_fails_the_job(user, settings):
    (job, _), _ = submit(user, settings, rows=(5,))
    engine.job_claim(FAKE, job_id=job.pk)
    FakeChunk.objects.filter(job=job).update(abandoned=settings.JOB_CHUNK_MAX_ATTEMPTS)
    assert engine.job_chunk_run(FAKE, job_id=job.pk, index=0) is False
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "stopped its worker" in job.error
    assert outputs(job) == [0]


def test_a_job_whose_messages_were_lost_is_queued_again_once_per_stall_period(
    user, settings, eager
):
    settings.JOB_STALL_SECONDS = 300
    (job, _), _ = submit(user, settings)  # queued, but its run message never arrived
    later = timezone.now() + timedelta(seconds=301)
    assert engine.jobs_recover(FAKE, now=later) == 1
    assert engine.jobs_recover(FAKE, now=later) == 0  # it ran: nothing left to queue
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and outputs(job) == [2, 3, 4]


def test_restart_runs_a_finished_job_again_and_refuses_a_running_one(
    user, settings, eager, django_capture_on_commit_callbacks
):
    (job, _), _ = submit(user, settings)
    engine.job_claim(FAKE, job_id=job.pk)
    with pytest.raises(Conflict):
        engine.job_restart(FAKE, job=job)
    for index in range(3):
        engine.job_chunk_run(FAKE, job_id=job.pk, index=index)
    with django_capture_on_commit_callbacks(execute=True):
        job = engine.job_restart(FAKE, job=job, total_rows=10)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.total_rows == 10 and job.ended == 2
    assert outputs(job) == [4, 6, 8]  # each chunk did its work once more


def test_the_same_key_and_file_is_the_same_job_and_another_file_is_refused(user, settings):
    (first, created), _ = submit(user, settings, key="k1")
    (again, created_again), upload = submit(user, settings, key="k1")
    assert created and not created_again and again.pk == first.pk
    assert not upload.path.exists()  # the second copy was not kept
    with pytest.raises(IdempotencyConflict):
        submit(user, settings, key="k1", content=b"another file")
    assert FakeJob.objects.count() == 1


def test_a_key_belongs_to_its_owner(user, other_user, settings):
    (mine, _), _ = submit(user, settings, key="shared")
    (theirs, created), _ = submit(other_user, settings, key="shared")
    assert created and theirs.pk != mine.pk


def test_a_refused_upload_leaves_nothing_behind(user, settings):
    with pytest.raises(InvalidInput):
        submit(user, settings, refuse=True)
    assert FakeJob.objects.count() == 0 and FakeChunk.objects.count() == 0
    assert list((settings.DATA_DIR / "incoming-fake" / "incoming").iterdir()) == []
