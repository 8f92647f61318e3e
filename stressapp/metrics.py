"""Prometheus metrics (prometheus_client; django-prometheus for request metrics).

Multi-process safe: with PROMETHEUS_MULTIPROC_DIR set (web processes and Celery on one host), every
process writes its samples there and /metrics aggregates them. Database-derived gauges (jobs by
status, the active model) are computed at scrape time.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

PREDICTIONS = Counter(
    "predictions_total", "Readings scored and stored, by level and source.", ["level", "source"]
)
INFERENCE_SECONDS = Histogram(
    "model_inference_seconds",
    "Time spent in the model per scoring call (probabilities and explanations).",
    buckets=(1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0),
)
BATCH_ROWS = Counter("batch_rows_total", "Batch job rows handled, by outcome.", ["outcome"])
CELERY_TASKS = Counter(
    "celery_tasks_total", "Celery task outcomes, by task name.", ["task", "outcome"]
)


# Gauges read from the database when Prometheus scrapes: each app registers the collectors of
# what it owns (jobs by kind and status, the active model) from its ready().
SCRAPE_COLLECTORS: list[Any] = []


def scrape_collector_register(collector: Any) -> None:
    """`collector` has collect() yielding metric families (prometheus_client's protocol)."""
    SCRAPE_COLLECTORS.append(collector)


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and secrets.compare_digest(header[7:], token):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in settings.METRICS_ALLOWED_NETWORKS)


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        # Same answer as a missing page: the endpoint does not advertise itself.
        return HttpResponse("Not found\n", status=404, content_type="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    database = CollectorRegistry()
    for collector in SCRAPE_COLLECTORS:
        database.register(collector)
    body = generate_latest(registry) + generate_latest(database)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
