"""Session, auth, messages and the page policy are skipped for token API requests
only; pages and session-authenticated API calls keep every one of them."""

import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from stressapp.page_middleware import API_CONTENT_SECURITY_POLICY, is_token_api_request
from stressapp.tests.support import reading_payload


def post_reading(client, **headers):
    return client.post(
        "/api/predict",
        data=json.dumps(reading_payload()),
        content_type="application/json",
        **headers,
    )


def test_a_token_api_request_gets_no_session_and_a_strict_fixed_policy(token_client):
    response = post_reading(token_client)
    assert response.status_code == 201
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert response["Content-Security-Policy"] == API_CONTENT_SECURITY_POLICY


def test_pages_keep_their_session_and_their_policy(client, user, active_model):
    client.force_login(user)
    first = client.get(reverse("history"))
    second = client.get(reverse("history"))
    assert first.status_code == second.status_code == 200  # the session holds
    assert "script-src 'self'" in second["Content-Security-Policy"]


def test_a_bearer_header_does_not_lift_csrf_from_a_page(user, active_model):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(
        reverse("token-create"), {"name": "sneaky"}, HTTP_AUTHORIZATION="Bearer st_x_y"
    )
    assert response.status_code == 403
    assert not ApiToken.objects.filter(name="sneaky").exists()


def test_a_session_api_call_still_needs_its_csrf_token(user, active_model):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = post_reading(client)
    assert response.status_code == 403
    assert set(response.json()) == {"error", "message", "details"}


def test_a_token_request_is_not_answered_in_the_previous_request_time_zone(token_client):
    timezone.activate("Asia/Tokyo")  # what a page request left on this thread
    try:
        body = post_reading(token_client).json()
    finally:
        timezone.deactivate()
    assert body["measured_at"].endswith("Z")


@pytest.mark.parametrize(
    ("path", "authorization", "expected"),
    [
        ("/api/predict", "Bearer st_abc", True),
        ("/api/predict", "bearer st_abc", True),
        ("/api/predict", "", False),
        ("/api/predict", "Basic abc", False),
        ("/history/", "Bearer st_abc", False),
        ("/apix/", "Bearer st_abc", False),
    ],
)
def test_it_recognises_token_api_requests(rf, path, authorization, expected):
    request = rf.get(path, HTTP_AUTHORIZATION=authorization)
    assert is_token_api_request(request) is expected


def test_the_system_checks_still_find_the_middleware_the_admin_needs():
    call_command("check", fail_level="WARNING")
