"""The standards export through its doors (the account page's link and the API): a person's
typed reading and recording windows, as a FHIR R4 Bundle (validated with fhir.resources' R4B
models, as predictions/tests/test_standards.py does) and as Open mHealth data points."""

import json

import pytest

from predictions.tests.factories import PredictionFactory
from predictions.tests.recordings.helpers import drive_file, run_recording_inline, upload_recording
from predictions.tests.test_standards import fhir_validate, resources
from stressapp.tests.support import assert_error

pytestmark = pytest.mark.django_db


def test_a_reading_and_a_recording_export_as_a_valid_fhir_bundle(
    token_client, user, other_user, active_model, tmp_path
):
    PredictionFactory(user=user, heart_rate=81.0, stress_level="high", confidence=0.8)
    PredictionFactory(user=other_user, heart_rate=55.0)
    recording_id = upload_recording(token_client, drive_file(tmp_path)).json()["id"]
    recording = run_recording_inline(recording_id)
    response = token_client.get("/api/predictions/export/fhir")
    assert response.status_code == 200 and response["Content-Type"] == "application/fhir+json"
    bundle = b"".join(response.streaming_content)

    document = json.loads(bundle)
    fhir_validate(document)
    stress = [
        r for r in resources(document, "Observation") if "stress" in json.dumps(r.get("code"))
    ]
    assert len(stress) == 1 + recording.total_rows  # mine only, every window
    heart = [
        r
        for r in resources(document, "Observation")
        if any(c.get("code") == "8867-4" for c in r["code"].get("coding", []))
    ]
    assert {h["valueQuantity"]["value"] for h in heart} >= {81.0}
    assert 55.0 not in {h["valueQuantity"]["value"] for h in heart}  # not the other user's
    assert len(heart) >= recording.total_rows  # each window's heart rate
    assert resources(document, "DocumentReference")  # the recording it was derived from


def test_open_mhealth_heart_rate_from_the_account_page(client, user, active_model):
    PredictionFactory(user=user, heart_rate=72.0)
    client.force_login(user)
    response = client.get("/accounts/export.omh.json")
    assert response.status_code == 200

    document = json.loads(b"".join(response.streaming_content))
    values = [p["body"]["heart_rate"]["value"] for p in document["heart_rate"]]
    assert values == [72.0]


def test_the_export_needs_a_person_and_a_known_standard(api_client, token_client, client):
    assert_error(api_client.get("/api/predictions/export/fhir"), 401, "not_authenticated")
    assert_error(token_client.get("/api/predictions/export/hl7v2"), 404, "not_found")
    assert client.get("/accounts/export.fhir.json").status_code == 302  # to the login page
