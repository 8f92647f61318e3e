"""The personal-model doors: scoped to their owner, refused without a token, and they take
no input that could be bad (a body is ignored, never an error or a write)."""

import pytest

from predictions.models import PersonalModel, PersonalRefit
from predictions.personal.kind import PERSONAL_REFIT  # noqa: F401 - registered by the app
from predictions.tests.personal.helpers import run_refit_inline
from predictions.tests.personal.test_services import label, scored_recording
from stressapp.tests.support import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def my_model(token_client, user, tmp_path) -> PersonalModel:
    recording = scored_recording(token_client, tmp_path)
    label(token_client, recording, 180, 480, "low")
    label(token_client, recording, 480, 900, "high")
    run_refit_inline(PersonalRefit.objects.get(user=user).pk)
    return PersonalModel.objects.get(user=user, is_active=True)


def test_a_person_lists_their_own_models_and_the_latest_refit(token_client, my_model):
    body = token_client.get("/api/personal-models").json()
    assert [m["id"] for m in body["models"]] == [my_model.pk]
    model = body["models"][0]
    assert model["episodes"] == 2 and model["labelled_windows"] == my_model.labelled_windows
    assert 0 <= model["personal_agreement"] <= 1 and 0 <= model["population_agreement"] <= 1
    assert body["refit"]["status"] == "succeeded"
    assert "compiled" not in model  # the model itself never leaves the server


def test_another_person_sees_none_of_my_models_and_cannot_delete_them(other_token_client, my_model):
    body = other_token_client.get("/api/personal-models").json()
    assert body == {"models": [], "refit": None}
    assert other_token_client.delete("/api/personal-models").status_code == 204
    assert PersonalModel.objects.filter(pk=my_model.pk, is_active=True).exists()


def test_a_refit_asked_twice_is_queued_once(token_client, user):
    first = token_client.post("/api/personal-models/refit", {"junk": "x"}, format="json")
    second = token_client.post("/api/personal-models/refit")
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert PersonalRefit.objects.filter(user=user).count() == 1


def test_the_doors_refuse_a_request_without_a_token(api_client, active_model):
    for method, url in (
        ("get", "/api/personal-models"),
        ("delete", "/api/personal-models"),
        ("post", "/api/personal-models/refit"),
        ("post", "/api/history/rescore"),
    ):
        assert_error(getattr(api_client, method)(url), 401)
    assert not PersonalRefit.objects.exists()


def test_scoring_my_history_again_queues_my_recordings_only(
    token_client, other_token_client, user, tmp_path
):
    scored_recording(token_client, tmp_path)
    assert other_token_client.post("/api/history/rescore").json() == {"queued": 0}
    assert token_client.post("/api/history/rescore").json() == {"queued": 1}
