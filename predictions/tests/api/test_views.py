"""Every endpoint: success, each class of bad input, no credentials, another user's data,
throttling, and the one error shape."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.services import api_token_create, api_token_revoke
from predictions.models import Prediction
from predictions.tests.factories import PredictionFactory
from stressapp.tests.support import assert_error, reading_payload

SHAPE = {"error", "message", "details"}


def post_json(client: APIClient, url: str, payload) -> object:
    return client.post(url, data=json.dumps(payload), content_type="application/json")


# --- index, features -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_index_lists_the_endpoints(api_client):
    body = api_client.get("/api/").json()
    assert {"predict", "batch_predict", "predictions", "features", "docs"} <= body.keys()


def test_features_are_public_and_name_the_active_model(api_client, active_model):
    body = api_client.get(reverse("api-features")).json()
    assert [f["name"] for f in body["features"]] == [
        "heart_rate",
        "ecg",
        "emg",
        "gsr",
        "respiration",
    ]
    assert body["features"][0]["minimum"] == 40 and body["features"][0]["maximum"] == 200
    assert body["classes"] == ["low", "medium", "high"]
    assert body["model"]["version"] == active_model.version


# --- predict -------------------------------------------------------------------------------


def test_it_predicts_one_reading_and_stores_it(token_client, user, active_model):
    measured = "2026-11-27T08:30:00+01:00"
    response = post_json(token_client, "/api/predict", reading_payload(measured_at=measured))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["stress_level"] in {"low", "medium", "high"}
    assert abs(sum(body["probabilities"].values()) - 1) < 1e-9
    assert body["confidence"] == max(body["probabilities"].values())
    assert body["model_version"] == active_model.version
    assert set(body["contributions"]) == {"heart_rate", "ecg", "emg", "gsr", "respiration"}
    stored = Prediction.objects.get(pk=body["id"])
    assert stored.user == user and stored.source == "api"
    assert stored.measured_at == datetime(2026, 11, 27, 7, 30, tzinfo=UTC)


def test_it_defaults_measured_at_to_now(token_client):
    body = post_json(token_client, "/api/predict", reading_payload()).json()
    measured = datetime.fromisoformat(body["measured_at"])
    assert abs((datetime.now(UTC) - measured).total_seconds()) < 60


def test_its_contributions_explain_the_probability(token_client, active_model):
    from predictions.ml import get_served_model

    body = post_json(token_client, "/api/predict", reading_payload()).json()
    row = np.array([[72.0, 0.4, 0.2, 0.55, 0.3]])
    bias = get_served_model().predictor.explain(row).bias
    level = ["low", "medium", "high"].index(body["stress_level"])
    assert abs(bias[level] + sum(body["contributions"].values()) - body["confidence"]) < 1e-4


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (reading_payload(heart_rate="72"), "heart_rate"),
        (reading_payload(ecg=True), "ecg"),
        (reading_payload(emg=None), "emg"),
        (reading_payload(gsr=[0.5]), "gsr"),
        (reading_payload(respiration={"v": 0.5}), "respiration"),
        (reading_payload(heart_rate=39.9), "heart_rate"),
        (reading_payload(heart_rate=200.5), "heart_rate"),
        (reading_payload(ecg=1.01), "ecg"),
        (reading_payload(gsr=-0.01), "gsr"),
        ({k: v for k, v in reading_payload().items() if k != "emg"}, "emg"),
        (reading_payload(colour="blue"), "colour"),
        (reading_payload(measured_at="2026-11-27T08:30:00"), "measured_at"),
        (reading_payload(measured_at="yesterday"), "measured_at"),
        (reading_payload(measured_at=1764230400), "measured_at"),
        (reading_payload(measured_at="2999-01-01T00:00:00Z"), "measured_at"),
        (reading_payload(note="x" * 501), "note"),
        (reading_payload(note="nul\x00"), "note"),
        (reading_payload(heart_rate=10**400), "heart_rate"),
        (reading_payload(measured_at="2024-02-30T10:00:00Z"), "measured_at"),
        (reading_payload(measured_at="2024-02-01T10:00:00+99:00"), "measured_at"),
        (reading_payload(measured_at="0001-01-01T00:00:00Z"), "measured_at"),
    ],
)
def test_it_rejects_bad_readings_by_name_and_stores_nothing(token_client, payload, field):
    body = assert_error(post_json(token_client, "/api/predict", payload), 400, "validation_error")
    assert field in body["details"], body
    assert field in body["message"]
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
def test_it_rejects_non_finite_numbers(token_client, raw):
    body = f'{{"heart_rate": {raw}, "ecg": 0.4, "emg": 0.2, "gsr": 0.5, "respiration": 0.3}}'
    response = token_client.post("/api/predict", data=body, content_type="application/json")
    assert_error(response, 400, "malformed_request")
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"text"', "null", ""])
def test_it_rejects_malformed_or_non_object_bodies(token_client, body):
    response = token_client.post("/api/predict", data=body, content_type="application/json")
    assert_error(response, 400)
    assert Prediction.objects.count() == 0


def test_it_rejects_a_body_that_is_not_json(token_client):
    response = token_client.post("/api/predict", data="heart_rate=72", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_it_rejects_a_body_over_the_size_limit(token_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = reading_payload(note="x" * 2000)
    assert_error(post_json(token_client, "/api/predict", payload), 413, "payload_too_large")
    assert Prediction.objects.count() == 0


@pytest.mark.django_db
def test_it_requires_credentials(api_client, active_model):
    response = post_json(api_client, "/api/predict", reading_payload())
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_revoked_expired_and_wrong_tokens(user, active_model):
    client = APIClient()
    revoked = api_token_create(user=user, name="old")
    api_token_revoke(token=revoked.token)
    expired = api_token_create(
        user=user, name="x", expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    for header in (
        f"Bearer {revoked.raw}",
        f"Bearer {expired.raw}",
        "Bearer st_00000000_wrong",
        "Bearer",
        "Bearer a b",
    ):
        client.credentials(HTTP_AUTHORIZATION=header)
        assert_error(post_json(client, "/api/predict", reading_payload()), 401)


def test_it_answers_503_in_the_shape_without_a_model(token_client, active_model):
    from predictions.ml import reset_served_model
    from predictions.models import ModelVersion

    ModelVersion.objects.update(is_active=False)
    reset_served_model()
    assert_error(post_json(token_client, "/api/predict", reading_payload()), 503)
    assert Prediction.objects.count() == 0


# --- batch predict -------------------------------------------------------------------------


def test_it_scores_a_batch_in_one_go(token_client, user):
    readings = [reading_payload(heart_rate=60 + i) for i in range(100)]
    response = post_json(token_client, "/api/batch-predict", {"readings": readings})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["count"] == 100 and len(body["predictions"]) == 100
    assert Prediction.objects.filter(user=user).count() == 100


def test_it_rejects_a_whole_batch_for_one_bad_item_keyed_by_index(token_client):
    readings = [reading_payload(), reading_payload(ecg=2), reading_payload(), {"heart_rate": 70}]
    body = assert_error(
        post_json(token_client, "/api/batch-predict", {"readings": readings}),
        400,
        "validation_error",
    )
    assert set(body["details"]["readings"]) == {"1", "3"}
    assert "ecg" in body["details"]["readings"]["1"]
    assert Prediction.objects.count() == 0


def test_it_points_batches_over_100_to_batch_jobs(token_client):
    readings = [reading_payload()] * 101
    body = assert_error(post_json(token_client, "/api/batch-predict", {"readings": readings}), 400)
    assert "batch-jobs" in body["message"]
    assert Prediction.objects.count() == 0


@pytest.mark.parametrize(
    "payload", [{"readings": []}, {}, {"readings": "x"}, {"readings": [1]}, [reading_payload()]]
)
def test_it_rejects_malformed_batches(token_client, payload):
    assert_error(post_json(token_client, "/api/batch-predict", payload), 400)
    assert Prediction.objects.count() == 0


@pytest.mark.django_db
def test_batch_predict_requires_credentials(api_client):
    assert_error(post_json(api_client, "/api/batch-predict", {"readings": []}), 401)


# --- history -------------------------------------------------------------------------------


def test_it_lists_only_the_callers_history_newest_first(token_client, user, other_user):
    now = datetime.now(UTC)
    mine = [PredictionFactory(user=user, measured_at=now - timedelta(hours=i)) for i in range(3)]
    PredictionFactory(user=other_user)
    body = token_client.get("/api/predictions").json()
    assert [p["id"] for p in body["results"]] == [p.id for p in mine]


def test_it_filters_history_by_time_level_and_source(token_client, user):
    base = datetime(2026, 11, 1, tzinfo=UTC)
    PredictionFactory(user=user, measured_at=base, stress_level="high", source="api")
    keep = PredictionFactory(
        user=user, measured_at=base + timedelta(days=1), stress_level="low", source="web"
    )
    PredictionFactory(user=user, measured_at=base + timedelta(days=5), stress_level="low")
    response = token_client.get(
        "/api/predictions",
        {"from": "2026-11-01T12:00:00Z", "to": "2026-11-03T00:00:00Z", "level": "low"},
    )
    assert [p["id"] for p in response.json()["results"]] == [keep.id]
    assert (
        token_client.get("/api/predictions", {"source": "web"}).json()["results"][0]["id"]
        == keep.id
    )


def test_it_pages_history_with_a_cursor(token_client, user):
    now = datetime.now(UTC)
    created = [
        PredictionFactory(user=user, measured_at=now - timedelta(minutes=i)) for i in range(5)
    ]
    first = token_client.get("/api/predictions", {"page_size": 2}).json()
    second = token_client.get(first["next"]).json()
    seen = [p["id"] for p in first["results"] + second["results"]]
    assert seen == [p.id for p in created[:4]]


@pytest.mark.parametrize(
    "params",
    [
        {"level": "extreme"},
        {"source": "fax"},
        {"from": "not a date"},
        {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
        {"page_size": 0},
        {"colour": "blue"},
    ],
)
def test_it_rejects_bad_history_filters(token_client, params):
    assert_error(token_client.get("/api/predictions", params), 400, "validation_error")


def test_it_rejects_a_forged_cursor(token_client):
    assert_error(token_client.get("/api/predictions", {"cursor": "garbage"}), 404)


def test_history_query_count_does_not_grow_with_rows(
    token_client, user, django_assert_max_num_queries
):
    for _ in range(30):
        PredictionFactory(user=user)
    with django_assert_max_num_queries(6):
        response = token_client.get("/api/predictions")
    assert len(response.json()["results"]) == 30


def test_history_does_not_fetch_each_rows_model_card(
    token_client, user, django_assert_max_num_queries
):
    """A model's card is ~24 KB of JSON: fetched with every row, it tripled a page's time."""
    PredictionFactory.create_batch(3, user=user)
    with django_assert_max_num_queries(6) as captured:
        response = token_client.get("/api/predictions")
    assert response.status_code == 200 and response.json()["results"][0]["model_version"]
    history = [q["sql"] for q in captured.captured_queries if "predictions_prediction" in q["sql"]]
    assert history and not any('"card"' in sql or '"metrics"' in sql for sql in history)


@pytest.mark.django_db
def test_history_requires_credentials(api_client):
    assert_error(api_client.get("/api/predictions"), 401)


# --- detail and delete ---------------------------------------------------------------------


def test_it_shows_and_deletes_own_prediction(token_client, user):
    prediction = PredictionFactory(user=user)
    assert token_client.get(f"/api/predictions/{prediction.id}").json()["id"] == prediction.id
    assert token_client.delete(f"/api/predictions/{prediction.id}").status_code == 204
    assert not Prediction.objects.filter(pk=prediction.id).exists()
    assert_error(token_client.get(f"/api/predictions/{prediction.id}"), 404, "not_found")


def test_another_users_prediction_is_not_found(token_client, other_user):
    theirs = PredictionFactory(user=other_user)
    assert_error(token_client.get(f"/api/predictions/{theirs.id}"), 404, "not_found")
    assert_error(token_client.delete(f"/api/predictions/{theirs.id}"), 404, "not_found")
    assert Prediction.objects.filter(pk=theirs.id).exists()


def test_detail_answers_unknown_ids_and_methods_in_the_shape(token_client):
    assert_error(token_client.get("/api/predictions/999999999"), 404)
    assert_error(token_client.get("/api/predictions/abc"), 404)
    assert_error(token_client.put("/api/predictions/1", {}, format="json"), 405)


@pytest.mark.django_db
def test_detail_requires_credentials(api_client):
    assert_error(api_client.get("/api/predictions/1"), 401)


# --- summary -------------------------------------------------------------------------------


def test_it_summarises_per_day_in_the_users_time_zone(token_client, user, other_user):
    user.time_zone = "America/New_York"
    user.save()
    # 03:00 UTC on the 2nd is still the 1st in New York.
    PredictionFactory(
        user=user,
        measured_at=datetime(2026, 11, 2, 3, tzinfo=UTC),
        stress_level="high",
        confidence=0.8,
    )
    PredictionFactory(
        user=user,
        measured_at=datetime(2026, 11, 1, 15, tzinfo=UTC),
        stress_level="high",
        confidence=0.6,
    )
    PredictionFactory(
        user=user,
        measured_at=datetime(2026, 11, 2, 15, tzinfo=UTC),
        stress_level="low",
        confidence=0.9,
    )
    PredictionFactory(user=other_user, measured_at=datetime(2026, 11, 1, 15, tzinfo=UTC))
    body = token_client.get(
        "/api/predictions/summary",
        {"from": "2026-10-30T00:00:00Z", "to": "2026-11-05T00:00:00Z", "bucket": "day"},
    ).json()
    assert body["time_zone"] == "America/New_York"
    assert [b["bucket_start"] for b in body["buckets"]] == ["2026-11-01", "2026-11-02"]
    first = body["buckets"][0]
    assert first["counts"] == {"low": 0, "medium": 0, "high": 2}
    assert first["dominant_level"] == "high"
    assert abs(first["mean_confidence"] - 0.7) < 1e-9


def test_it_summarises_per_week(token_client, user):
    for day in range(1, 15):
        PredictionFactory(user=user, measured_at=datetime(2026, 11, day, 12, tzinfo=UTC))
    body = token_client.get("/api/predictions/summary", {"bucket": "week"}).json()
    assert sum(b["total"] for b in body["buckets"]) == 14
    assert all(datetime.fromisoformat(b["bucket_start"]).weekday() == 0 for b in body["buckets"])


@pytest.mark.parametrize(
    "params",
    [{"bucket": "month"}, {"from": "2026-11-01"}, {"x": "1"}, {"from": "2024-02-30T00:00:00Z"}],
)
def test_it_rejects_bad_summary_parameters(token_client, params):
    assert_error(token_client.get("/api/predictions/summary", params), 400, "validation_error")


@pytest.mark.django_db
def test_summary_requires_credentials(api_client):
    assert_error(api_client.get("/api/predictions/summary"), 401)


# --- throttling ----------------------------------------------------------------------------


@pytest.fixture(autouse=False)
def fresh_throttle_keys(monkeypatch):
    """Throttle history lives in the shared cache (Redis in CI) and outlives a test run;
    a per-test key format keeps earlier runs from counting."""
    monkeypatch.setattr(
        SimpleRateThrottle, "cache_format", f"throttle_{uuid.uuid4().hex}_%(scope)s_%(ident)s"
    )


def test_it_throttles_a_user_with_retry_after(token_client, monkeypatch, fresh_throttle_keys):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "1000/min"})
    for _ in range(3):
        assert token_client.get("/api/predictions").status_code == 200
    response = token_client.get("/api/predictions")
    body = assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert body["details"]["retry_after_seconds"] > 0


@pytest.mark.django_db
def test_it_throttles_anonymous_callers_per_address(api_client, monkeypatch, fresh_throttle_keys):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "1000/min", "anon": "2/min"})
    address = "192.0.2.10"
    for _ in range(2):
        assert api_client.get("/api/features", REMOTE_ADDR=address).status_code == 200
    assert_error(api_client.get("/api/features", REMOTE_ADDR=address), 429, "throttled")
    assert api_client.get("/api/features", REMOTE_ADDR="192.0.2.1").status_code == 200


# --- schema and docs -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_schema_and_docs_are_served_from_our_own_files(api_client):
    schema = api_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert {"/api/predict", "/api/batch-predict", "/api/predictions", "/api/features"} <= set(paths)
    docs = api_client.get("/docs").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()


# --- CORS ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_cors_allows_only_the_configured_origins(api_client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    preflight = {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST"}
    allowed = api_client.options("/api/predict", HTTP_ORIGIN="https://app.example.com", **preflight)
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    refused = api_client.options("/api/predict", HTTP_ORIGIN="https://evil.example", **preflight)
    assert "Access-Control-Allow-Origin" not in refused


def test_a_prediction_costs_one_query_once_the_token_is_cached(
    token_client, user, django_assert_num_queries
):
    """The hot path: token and user come from the cache, the model is loaded, the reading is
    one INSERT (no transaction round trips, no query for the model version)."""
    post_json(token_client, "/api/predict", reading_payload())  # warms token cache and model
    with django_assert_num_queries(1) as captured:
        response = post_json(token_client, "/api/predict", reading_payload())
    assert response.status_code == 201
    assert captured.captured_queries[0]["sql"].startswith('INSERT INTO "predictions_prediction"')
