"""A whole service in subprocesses (the web server, a Celery worker with beat) on a database and
a Redis of the test's own, so a test can stop and restart them. Only instances the test
started are ever stopped, by their own PIDs; the shared PostgreSQL and Redis are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from email.message import Message
from pathlib import Path
from typing import Any

import psycopg

from stressapp.tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_BIN = Path(
    subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
    or "/usr/lib/postgresql/15/bin"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """redis-server on a spare port, without persistence (a restart loses everything)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
        )
        assert wait_for(self._answers, 10), "redis did not start"

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


class OwnPostgres:
    """A throwaway PostgreSQL cluster (initdb, pg_ctl as the postgres user) on a spare port,
    in a folder of its own that the postgres user can reach (remove() deletes it)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="stressapp-pg-"))
        self.data = self.folder / "pgdata"
        shutil.chown(self.folder, "postgres", "postgres")

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            cwd="/tmp",  # noqa: S108 - postgres cannot read the test's folders
        )

    def init(self) -> None:
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.folder / "log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


class Stack:
    """migrate, a model, a user with a token; then the web server (as the Procfile runs it,
    two processes) and a Celery worker (with beat)."""

    def __init__(self, folder: Path, database_url: str, redis_url: str, model: Any) -> None:
        self.folder = folder
        self.port = free_port()
        self.database_url = database_url
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "stressapp.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "restart-test-" + "s" * 40,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_COOKIES": "false",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DATA_DIR": str(folder / "data"),
            "STATIC_ROOT": str(folder / "static"),
            "MODEL_DIR": str(model.model_path.parent.parent),
            "CELERY_QUEUE": f"restart-{uuid.uuid4().hex[:8]}",
            "API_THROTTLE_USER": "1000000/min",
            "BATCH_CHUNK_ROWS": "2000",
            "LOG_LEVEL": "WARNING",
        }
        self.model = model
        self.processes: list[subprocess.Popen] = []
        self.token = ""

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def prepare(self) -> None:
        self.manage("migrate", "--no-input")
        self.manage("collectstatic", "--no-input", "--verbosity", "0")  # debug is off
        register = (
            "import json; from pathlib import Path; from mlcore.train import TrainingResult; "
            "from predictions.services import model_version_register; "
            "from accounts.models import User; "
            f"card = json.loads(Path({str(self.model.model_path.parent / 'card.json')!r})"
            ".read_text()); "
            f"r = TrainingResult({self.model.version!r}, Path({str(self.model.model_path)!r}), "
            f"{self.model.sha256!r}, card); model_version_register(result=r, activate=True); "
            "User.objects.create_user('restart')"
        )
        self.manage("shell", "-c", register)
        self.token = self.manage("create_api_token", "restart", "--name", "t").strip()

    def start(self, *, worker: bool = True, web_app: str = "stressapp.wsgi:application") -> None:
        web_env = {**self.env, "HOST": "127.0.0.1", "PORT": str(self.port), "WEB_CONCURRENCY": "2"}
        self.processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "stressapp.serve", web_app],
                env=web_env,
                cwd=ROOT,
                start_new_session=True,
            )
        )
        if worker:
            self.worker = self.start_worker()
        assert wait_for(lambda: self.status("/health") == 200, 60), "web did not start"

    def start_worker(self) -> subprocess.Popen:
        """A Celery worker with beat embedded, as the Procfile runs it."""
        worker = subprocess.Popen(
            [
                str(BIN / "celery"), "-A", "stressapp", "worker", "--concurrency", "1",
                "--without-mingle", "--without-gossip", "--loglevel", "WARNING",
                "-Q", self.env["CELERY_QUEUE"], "--beat",
                "--schedule", str(self.folder / "beat-schedule"),
            ],
            env=self.env, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        self.processes.append(worker)
        return worker

    def kill_worker(self) -> None:
        """SIGKILL the worker and its pool: no chance to acknowledge or clean up."""
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def request(
        self, path: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> tuple[int, bytes, Message]:
        """(status, body, headers); headers are looked up case-insensitively, as HTTP says
        (the server writes their names in lower case)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=body,
            method="POST" if body is not None else "GET",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers
        except OSError:
            return 0, b"", Message()

    def status(self, path: str) -> int:
        return self.request(path)[0]

    def job(self, job_id: str) -> dict:
        status, body, _ = self.request(f"/api/batch-jobs/{job_id}")
        return json.loads(body) if status == 200 else {}

    def rows(self, job_id: str) -> tuple[int, int]:
        """(rows stored, distinct row numbers) for a job, straight from the database."""
        with psycopg.connect(self.database_url) as conn:
            count, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT row_number) FROM predictions_prediction "
                "WHERE batch_job_id = %s",
                (job_id,),
            ).fetchone()
        return count, distinct


def readings_csv(rows: int) -> bytes:
    lines = [
        f"{50 + i % 100},{(i % 97) / 97:.4f},0.2,{(i % 89) / 89:.4f},0.4\n" for i in range(rows)
    ]
    return ("heart_rate,ecg,emg,gsr,respiration\n" + "".join(lines)).encode()
