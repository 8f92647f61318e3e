"""The jobs gauge: every registered kind's jobs by status, read when Prometheus scrapes."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from jobs.kinds import KINDS
from jobs.models import JobStatus


class JobsCollector:
    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "jobs", "Background jobs by kind and status.", labels=["kind", "status"]
        )
        for kind in KINDS.values():
            counts = dict(kind.job_model.objects.values_list("status").annotate(n=Count("pk")))
            for status in JobStatus.values:
                jobs.add_metric([kind.name, status], counts.get(status, 0))
        yield jobs
