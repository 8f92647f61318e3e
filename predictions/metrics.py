"""The active model version as a gauge, read when Prometheus scrapes."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily

from predictions.models import ModelVersion


class ModelVersionCollector:
    def collect(self) -> Iterator[GaugeMetricFamily]:
        active = GaugeMetricFamily(
            "model_version_active", "The model version being served (value 1).", labels=["version"]
        )
        version = ModelVersion.objects.filter(is_active=True).values_list("version", flat=True)
        for name in version:
            active.add_metric([name], 1)
        yield active
