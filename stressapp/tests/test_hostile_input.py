"""No input yields a 500: every JSON endpoint, sent what a broken or hostile client sends,
answers 4xx in the one error shape and writes nothing."""

import pytest

from predictions.models import Annotation, Baseline, Prediction
from stressapp.tests.support import assert_error

JSON_ENDPOINTS = ["/api/predict", "/api/batch-predict", "/api/baselines", "/api/annotations"]
VALID = '{"heart_rate": 72, "ecg": 0.4, "emg": 0.2, "gsr": 0.5, "respiration": 0.3'

BODIES = {
    "deep nesting": ("[" * 100_000).encode(),
    "deep objects": ('{"a":' * 50_000 + "1" + "}" * 50_000).encode(),
    "NUL in a string": (VALID + ', "note": "a\\u0000b"}').encode(),
    "raw NUL byte": b'{"heart_rate": 72\x00}',
    "invalid UTF-8": b'{"note": "\xff\xfe\xfa"}',
    "huge number": (VALID.replace("72", "1e999") + "}").encode(),
    "huge integer": (VALID.replace("72", "9" * 5000) + "}").encode(),
    "NaN": (VALID.replace("72", "NaN") + "}").encode(),
    "duplicate keys": (VALID + ', "heart_rate": 190}').encode(),
    "huge string": (VALID + ', "note": "' + "x" * 200_000 + '"}').encode(),
    "not an object": b"[1, 2, 3]",
    "null": b"null",
    "empty": b"",
    "truncated": VALID.encode(),
}


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS)
@pytest.mark.parametrize("name", sorted(BODIES))
def test_a_hostile_body_is_refused_in_the_error_shape(token_client, endpoint, name):
    response = token_client.generic("POST", endpoint, BODIES[name], content_type="application/json")
    assert 400 <= response.status_code < 500, (name, response.status_code, response.content)
    assert_error(response, response.status_code)
    assert Prediction.objects.count() == 0
    assert Annotation.objects.count() == 0 and Baseline.objects.count() == 0


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x"]
)
def test_a_wrong_content_type_is_refused(token_client, endpoint, content_type):
    response = token_client.generic("POST", endpoint, b"<a/>", content_type=content_type)
    assert response.status_code in (400, 415), response.content
    assert_error(response, response.status_code)
    assert Prediction.objects.count() == 0


def test_deep_nesting_says_what_is_wrong(token_client):
    response = token_client.generic(
        "POST", "/api/predict", BODIES["deep nesting"], content_type="application/json"
    )
    body = assert_error(response, 400, "malformed_request")
    assert "nested too deeply" in body["message"]


def test_duplicate_keys_are_named(token_client):
    response = token_client.generic(
        "POST", "/api/predict", BODIES["duplicate keys"], content_type="application/json"
    )
    assert "heart_rate" in assert_error(response, 400, "malformed_request")["message"]


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-13-45T99:99:99Z"},
        {"from": "\x00"},
        {"level": "x" * 10_000},
        {"cursor": "%%%"},
        {"page_size": "9" * 400},
        {"bucket": "9" * 400},
    ],
)
def test_hostile_query_strings_get_no_server_error(token_client, query):
    for url in ("/api/predictions", "/api/predictions/summary"):
        response = token_client.get(url, query)
        assert response.status_code < 500, (url, query, response.content)
        if response.status_code >= 400:
            assert_error(response, response.status_code)


def test_a_query_string_that_is_not_utf8_gets_no_server_error(token_client):
    for url in ("/api/predictions", "/api/predictions/summary", "/api/annotations"):
        response = token_client.get(url, QUERY_STRING="level=%ff%fe&from=%c3%28")
        assert response.status_code < 500, (url, response.content)


def test_hostile_credentials_are_refused(api_client, db):
    for header in ("Bearer \x00", "Bearer " + "x" * 10_000, "Basic ###", "Bearer st_\udcff"):
        try:
            response = api_client.get("/api/predictions", HTTP_AUTHORIZATION=header)
        except UnicodeEncodeError:
            continue  # not sendable over HTTP at all
        assert response.status_code == 401, (header[:20], response.content)
        assert_error(response, 401)
