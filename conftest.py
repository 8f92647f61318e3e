"""Shared fixtures: users, API clients, a small model trained on the real data, and a real
Celery worker process."""

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from mlcore.evaluation import ForestParams
from mlcore.train import TrainingResult, train_and_save
from stressapp.tests.support import require_service


@pytest.fixture(autouse=True)
def isolated_storage(settings, tmp_path: Path) -> Path:
    """Every test writes its files (uploads, job parts, results, models) under its own
    temporary folder, never into the repository or another test's."""
    data = tmp_path / "data"
    settings.DATA_DIR = data
    settings.MODEL_DIR = data / "models"
    settings.MEDIA_ROOT = data / "media"
    settings.BATCH_DIR = data / "media" / "batch"
    settings.RECORDINGS_DIR = data / "media" / "recordings"
    return data


@pytest.fixture(autouse=True)
def fresh_process_caches() -> None:
    """What one web process remembers between requests (verified tokens, baselines) starts
    empty in every test, as in a new process."""
    from accounts import services as account_services
    from predictions import services as prediction_services

    account_services._local_identities.clear()
    prediction_services._local_baselines.clear()
    _forget_shared_per_person_cache()


def _forget_shared_per_person_cache() -> None:
    """The shared cache outlives a test database: a person's cached baseline or model
    would reach the next run's person with the same id."""
    if not os.environ.get("REDIS_URL"):
        return
    from django.core.cache import cache

    from stressapp.redis_client import redis_client

    client = redis_client(os.environ["REDIS_URL"])
    for prefix in ("five-number-baseline:", "personal-five-number:"):
        keys = list(client.scan_iter(match=cache.make_key(prefix) + "*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> TrainingResult:
    """A small forest trained on the real drivedb windows, with small recording models
    (quick: no evaluation, that is slow and tested on its own)."""
    return train_and_save(
        tiny_model_dir, params=ForestParams(n_estimators=12, max_depth=8), quick=True
    )


@pytest.fixture
def active_model(db, settings, tiny_model, tiny_model_dir):
    from predictions.ml import reset_served_model
    from predictions.services import model_version_register

    settings.MODEL_DIR = tiny_model_dir
    reset_served_model()
    version = model_version_register(result=tiny_model, activate=True)
    yield version
    reset_served_model()


def _redis_reachable() -> bool:
    url = os.environ.get("REDIS_URL")
    if not url:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class WorkerFactory:
    """Starts real `celery worker` subprocesses on the real Redis broker, on a queue of this
    test's own, using this test's database."""

    def __init__(self, queue: str, env: dict[str, str], folder: Path) -> None:
        self.queue = queue
        self.env = env
        self.folder = folder
        self.processes: list[subprocess.Popen] = []

    def start(self, concurrency: int = 1, beat: bool = False, **extra_env: str) -> subprocess.Popen:
        """beat=True embeds the periodic scheduler (celery beat) in this worker."""
        celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
        schedule = self.folder / f"beat-{uuid.uuid4().hex[:6]}"
        process = subprocess.Popen(
            [
                celery,
                "-A",
                "stressapp",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "WARNING",
                "-Q",
                self.queue,
                "-n",
                f"{uuid.uuid4().hex[:6]}@%h",
                *(["--beat", "--schedule", str(schedule)] if beat else []),
            ],
            # Folders as the test has set them now (active_model points MODEL_DIR at the tiny
            # model; isolated_storage gives each test its own DATA_DIR).
            env={
                **self.env,
                "DATA_DIR": str(django_settings.DATA_DIR),
                "MODEL_DIR": str(django_settings.MODEL_DIR),
                **extra_env,
            },
            start_new_session=True,  # its own process group, so a test can kill it whole
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool children: no chance to ack or clean up."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@pytest.fixture
def celery_workers(transactional_db, settings, tmp_path) -> Iterator[WorkerFactory]:
    require_service("Redis (REDIS_URL)", _redis_reachable())
    require_service(
        "PostgreSQL (DATABASE_URL)",
        settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    )
    from django.db import connection

    from stressapp.celery import app

    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stressapp.settings_test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "CELERY_QUEUE": queue,
    }
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    factory = WorkerFactory(queue, env, tmp_path)
    try:
        yield factory
    finally:
        app.conf.task_default_queue = previous_queue
        factory.stop_all()


@pytest.fixture
def celery_worker_process(celery_workers: WorkerFactory) -> str:
    celery_workers.start()
    return celery_workers.queue


@pytest.fixture(scope="session")
def second_tiny_model(tiny_model_dir: Path) -> TrainingResult:
    return train_and_save(
        tiny_model_dir,
        params=ForestParams(n_estimators=6, max_depth=5),
        evaluate=False,
        recording=False,
    )


@pytest.fixture
def token_client(user, active_model) -> APIClient:
    """An API client authenticated as `user` with a real Bearer token."""
    from accounts.services import api_token_create

    client = APIClient()
    issued = api_token_create(user=user, name="test device")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    client.raw_token = issued.raw
    return client


@pytest.fixture
def other_token_client(other_user, active_model) -> APIClient:
    from accounts.services import api_token_create

    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=other_user, name='x').raw}"
    )
    return client


@pytest.fixture
def shared_postgres_database():
    """A database of this test's own on the shared PostgreSQL (dropped at the end)."""
    base = os.environ.get("DATABASE_URL", "")
    require_service("PostgreSQL (DATABASE_URL)", base.startswith("postgres"))
    server = base.rsplit("/", 1)[0]
    name = f"stressapp_stack_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
