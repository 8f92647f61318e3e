import pytest
from django.test import Client

SHAPE = {"error", "message", "details"}


def assert_error_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == SHAPE, body
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_it_answers_unknown_api_urls_with_a_json_404(client: Client):
    assert_error_shape(client.get("/api/no-such-endpoint"), 404, "not_found")


def test_it_answers_a_wrong_method_on_a_drf_view_with_a_json_405(client: Client):
    response = client.post("/api/", {}, content_type="application/json")
    body = assert_error_shape(response, 405, "method_not_allowed")
    assert "POST" in body["message"]


@pytest.mark.django_db
def test_it_answers_a_wrong_method_on_a_plain_view_with_a_json_405(client: Client):
    response = client.post("/api/health")
    assert_error_shape(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.urls("stressapp.tests.urls")
def test_it_answers_a_crash_in_a_drf_view_with_a_json_500():
    client = Client(raise_request_exception=False)
    assert_error_shape(client.get("/api/boom"), 500, "server_error")


@pytest.mark.urls("stressapp.tests.urls")
def test_it_answers_a_crash_in_a_plain_api_view_with_a_json_500():
    client = Client(raise_request_exception=False)
    assert_error_shape(client.get("/api/plain-boom"), 500, "server_error")


def test_it_keeps_html_404_pages_outside_the_api(client: Client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def _database_down(*args, **kwargs):
    from django.db import OperationalError

    raise OperationalError("connection refused")


def test_the_api_answers_503_in_the_error_shape_while_the_database_is_down(
    token_client, monkeypatch
):
    from predictions import selectors

    token_client.raise_request_exception = False
    monkeypatch.setattr(selectors, "prediction_list_for_user", _database_down)
    response = token_client.get("/api/predictions")
    body = assert_error_shape(response, 503, "service_unavailable")
    assert "try again" in body["message"] and response["Retry-After"] == "5"


def test_pages_answer_a_plain_503_while_the_database_is_down(client, user, monkeypatch):
    from django.contrib.sessions.backends.db import SessionStore

    client.force_login(user)
    client.raise_request_exception = False
    # The session is read by middleware, before any view: the error comes from there.
    monkeypatch.setattr(SessionStore, "load", _database_down)
    response = client.get("/history/")
    assert response.status_code == 503
    assert b"Briefly unavailable" in response.content and response["Retry-After"] == "5"
