"""The Celery application: configured from Django settings under the CELERY_ namespace."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stressapp.settings")

app = Celery("stressapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.before_task_publish.connect
def _attach_request_id(headers: dict | None = None, **_: object) -> None:
    """Carry the request id of the web request (if any) that queues a task."""
    from stressapp.logging import current_request_id

    request_id = current_request_id()
    if headers is not None and request_id:
        headers["request_id"] = request_id


@signals.task_prerun.connect
def _bind_request_id(task: object = None, **_: object) -> None:
    import structlog

    request = getattr(task, "request", None)
    request_id = getattr(request, "request_id", None) or (
        (getattr(request, "headers", None) or {}).get("request_id")
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        task=getattr(task, "name", None), task_id=getattr(request, "id", None)
    )
    if request_id:
        structlog.contextvars.bind_contextvars(request_id=request_id)


@signals.task_postrun.connect
def _unbind(**_: object) -> None:
    import structlog

    structlog.contextvars.clear_contextvars()


def _count(outcome: str):
    def handler(sender: object = None, **_: object) -> None:
        from stressapp.metrics import CELERY_TASKS

        CELERY_TASKS.labels(task=getattr(sender, "name", "unknown"), outcome=outcome).inc()

    return handler


_on_success, _on_failure, _on_retry = _count("success"), _count("failure"), _count("retry")
signals.task_success.connect(_on_success, weak=False)
signals.task_failure.connect(_on_failure, weak=False)
signals.task_retry.connect(_on_retry, weak=False)
