import json

import pytest
from prometheus_client import REGISTRY

from stressapp.tests.support import reading_payload


def scrape(client, **extra) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.django_db
def test_it_refuses_callers_without_the_token_from_elsewhere(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
    wrong = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 404
    ok = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token"
    )
    assert ok.status_code == 200


@pytest.mark.django_db
def test_it_allows_the_configured_networks_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.2.3").status_code == 404


def test_it_counts_a_prediction_and_reports_the_active_model(client, token_client, active_model):
    def predictions(level: str) -> float:
        return (
            REGISTRY.get_sample_value("predictions_total", {"level": level, "source": "api"}) or 0.0
        )

    before = {level: predictions(level) for level in ("low", "medium", "high")}
    response = token_client.post(
        "/api/predict", data=json.dumps(reading_payload()), content_type="application/json"
    )
    level = response.json()["stress_level"]
    assert predictions(level) == before[level] + 1
    text = scrape(client)
    assert f'predictions_total{{level="{level}",source="api"}}' in text
    assert f'model_version_active{{version="{active_model.version}"}} 1.0' in text
    assert 'jobs{kind="batch",status="running"}' in text
    assert 'jobs{kind="recording",status="succeeded"}' in text
    assert "model_inference_seconds_bucket" in text
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert 'view="api-predict"' in text
