"""Typed readings learn from the person's labels too: with a rest baseline, the readings
inside a labelled episode refit the person's five-number model, which scores their new
readings (and nobody else's)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mlcore.readings.five_number import FIVE_NUMBER_KEY
from predictions.models import PersonalModel, PersonalRefit, Prediction
from predictions.personal.services import personal_models_delete
from predictions.tests.personal.test_services import refit_now
from stressapp.tests.support import reading_payload

pytestmark = pytest.mark.django_db(transaction=True)


def _post(client, moment, **values) -> dict:
    body = reading_payload(measured_at=moment.isoformat(), **values)
    response = client.post("/api/predict", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _rest_baseline(client, start) -> None:
    for i in range(4):
        _post(client, start + timedelta(minutes=i), heart_rate=62 + i, gsr=0.2)
    response = client.post(
        "/api/baselines",
        {"from": start.isoformat(), "to": (start + timedelta(minutes=5)).isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.content


def _episode(client, start, minutes: int, level: str, **values) -> None:
    for i in range(minutes):
        _post(client, start + timedelta(minutes=i, seconds=5), **values)
    body = {
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=minutes)).isoformat(),
        "level": level,
    }
    response = client.post("/api/annotations", body, format="json")
    assert response.status_code == 201, response.content


def _labelled_person(client, user) -> PersonalModel:
    start = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    _rest_baseline(client, start)
    # Calm at a raised heart rate, tense at a resting one: the opposite of most people.
    _episode(client, start + timedelta(minutes=30), 20, "low", heart_rate=105.0, gsr=0.8)
    _episode(client, start + timedelta(minutes=60), 20, "high", heart_rate=64.0, gsr=0.2)
    _episode(client, start + timedelta(minutes=90), 10, "low", heart_rate=105.0, gsr=0.8)
    refit = refit_now(user)
    model = PersonalModel.objects.get(user=user, model_key=FIVE_NUMBER_KEY, is_active=True)
    assert refit.summary[FIVE_NUMBER_KEY]["episodes"] == 3
    assert model.labelled_windows == 50 and model.personal_checked == 50
    return model


def test_labelled_typed_readings_refit_the_persons_model_which_scores_their_next(
    token_client, user, client
):
    model = _labelled_person(token_client, user)
    moment = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    calm = _post(token_client, moment, heart_rate=105.0, gsr=0.8)
    assert calm["calibrated"] is True and calm["personal_model"] is True
    assert Prediction.objects.get(pk=calm["id"]).personal_model_id == model.pk
    # What it learnt shows: the person's "calm" reading reads as calm; leaving one label out,
    # it agreed with more of their labels than the population model did (a calm episode
    # held out is learnt from the other).
    assert calm["stress_level"] == "low"
    assert model.personal_agreed > model.population_agreed
    client.force_login(user)
    assert "typed readings" in client.get("/agreement/").content.decode()


def test_another_persons_readings_are_never_scored_by_my_model(
    token_client, user, other_token_client
):
    _labelled_person(token_client, user)
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    _rest_baseline(other_token_client, start)
    theirs = _post(other_token_client, start + timedelta(minutes=30), heart_rate=105.0, gsr=0.8)
    assert theirs["calibrated"] is True and theirs["personal_model"] is False
    assert Prediction.objects.get(pk=theirs["id"]).personal_model_id is None


def test_without_a_rest_baseline_typed_readings_are_not_learnt(token_client, user):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    _episode(token_client, start, 10, "high", heart_rate=64.0)
    refit = refit_now(user)
    assert FIVE_NUMBER_KEY not in refit.summary
    assert not PersonalModel.objects.filter(user=user).exists()
    after = _post(token_client, start + timedelta(minutes=40), heart_rate=64.0)
    assert after["personal_model"] is False


def test_deleting_my_models_puts_my_next_reading_back_on_the_populations(token_client, user):
    _labelled_person(token_client, user)
    assert personal_models_delete(user=user) == 1
    moment = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    reading = _post(token_client, moment, heart_rate=105.0, gsr=0.8)
    assert reading["calibrated"] is True and reading["personal_model"] is False


def test_a_new_rest_baseline_relearns_the_labels(token_client, user):
    _labelled_person(token_client, user)
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    _rest_baseline(token_client, start)
    queued = PersonalRefit.objects.filter(user=user, status="queued").get()
    assert queued.reason == "a new rest baseline"


def test_a_batch_of_typed_readings_is_scored_by_the_persons_model(token_client, user):
    from predictions.tests.batch.helpers import csv_bytes, run_job_inline, upload

    model = _labelled_person(token_client, user)
    response = upload(token_client, csv_bytes(5))
    assert response.status_code == 202, response.content
    job = run_job_inline(response.json()["id"])
    assert job.status == "succeeded", job.error
    rows = Prediction.objects.filter(batch_job=job)
    assert rows.count() == 5
    assert set(rows.values_list("personal_model_id", flat=True)) == {model.pk}
