"""gunicorn settings, read from the environment (gunicorn loads this file from the cwd)."""

import multiprocessing
import os
import shutil

from stressapp.logging import logging_config

# A container listens on all its interfaces; HOST narrows it outside containers.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104  # nosec B104
bind = f"{os.environ.get('HOST', ALL_INTERFACES)}:{os.environ.get('PORT', '8000')}"
# (2 x cores) + 1 is gunicorn's advice for I/O-bound Django; override with WEB_CONCURRENCY.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
# One JSON object per line, like the application's own logs. No path or query here: a
# password-reset path holds a secret; the application's own request line has the path, redacted.
access_log_format = (
    '{"event": "access", "remote": "%(h)s", "method": "%(m)s", '
    '"status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, '
    '"request_id": "%({x-request-id}o)s", "user_agent": "%(a)s"}'
)
# Recycle a worker now and then to bound slow memory growth. Not too often: a new worker
# imports Django and loads the model (about a second of CPU); every 2,000 requests, an API
# view doing nothing after authentication served 650 req/s here instead of 1,187.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 50000)

# gunicorn's own messages as JSON lines too; its access lines are JSON already (format above).
logconfig_dict = {
    **logging_config(os.environ.get("LOG_LEVEL", "INFO").upper()),
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {
            "handlers": ["access"],
            "level": os.environ.get("LOG_LEVEL", "INFO").upper(),
            "propagate": False,
        },
    },
}
logconfig_dict["formatters"]["message"] = {"format": "%(message)s"}
logconfig_dict["handlers"]["access"] = {"class": "logging.StreamHandler", "formatter": "message"}
max_requests_jitter = max_requests // 10


def on_starting(server: object) -> None:
    """Start multi-process metrics from a clean directory (stale files would add old counts)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def post_worker_init(worker: object) -> None:
    """Load the model in each new worker, so its first request is as fast as the rest."""
    from predictions.ml import served_model_preload

    served_model_preload()


def child_exit(server: object, worker: object) -> None:
    """Let prometheus_client drop a dead worker's live gauges (multi-process mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
