import pytest
from django.test import Client

from stressapp.celery import app as celery_app


@pytest.mark.django_db
def test_it_answers_liveness_without_touching_the_database(
    client: Client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_it_is_ready_when_database_broker_and_model_are(client: Client, active_model):
    response = client.get("/api/health")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert {"database", "broker", "model"} <= body["components"].keys()
    assert body["components"]["model"]["version"] == active_model.version
    assert all(c["status"] == "ok" for c in body["components"].values())


@pytest.mark.django_db
def test_it_names_the_broker_when_it_is_unreachable(client: Client, active_model, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/api/health")
    body = response.json()
    assert response.status_code == 503
    assert body["details"]["failing"] == ["broker"]
    assert body["components"]["broker"]["status"] == "error"
    assert body["components"]["database"]["status"] == "ok"
    assert {"error", "message", "details"} <= body.keys()


@pytest.mark.django_db
def test_it_is_not_ready_without_an_active_model(client: Client):
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["details"]["failing"] == ["model"]


@pytest.mark.django_db
def test_it_answers_liveness_for_any_host_and_over_plain_http(client: Client, settings):
    settings.ALLOWED_HOSTS = ["stress.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/health", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
