"""Typed readings scored against the person's five-number baseline."""

from datetime import timedelta

from django.utils import timezone

from predictions.models import Baseline
from predictions.recordings.baselines import baseline_deactivate
from stressapp.tests.support import assert_error, reading_payload


def _typed_rest(client, start, count=4):
    for i in range(count):
        moment = (start + timedelta(minutes=i)).isoformat()
        payload = reading_payload(heart_rate=64 + i, measured_at=moment)
        assert client.post("/api/predict", payload, format="json").status_code == 201


def test_typed_readings_are_scored_against_a_five_number_baseline(token_client, user):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    _typed_rest(token_client, start)
    before = token_client.post("/api/predict", reading_payload(), format="json").json()
    assert before["calibrated"] is False
    response = token_client.post(
        "/api/baselines",
        {"from": start.isoformat(), "to": (start + timedelta(minutes=5)).isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["statistics"]["readings"] == 4
    after = token_client.post("/api/predict", reading_payload(), format="json").json()
    assert after["calibrated"] is True
    assert set(after["contributions"]) == set(reading_payload())
    baseline_deactivate(baseline=Baseline.objects.get(user=user, is_active=True))
    again = token_client.post("/api/predict", reading_payload(), format="json").json()
    assert again["calibrated"] is False


def test_a_baseline_needs_three_readings_over_three_minutes(token_client):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    _typed_rest(token_client, start, count=2)
    window = {"from": start.isoformat(), "to": (start + timedelta(minutes=5)).isoformat()}
    body = assert_error(token_client.post("/api/baselines", window, format="json"), 400)
    assert "at least 3 readings" in body["message"]
    short = {"from": start.isoformat(), "to": (start + timedelta(minutes=2)).isoformat()}
    assert_error(token_client.post("/api/baselines", short, format="json"), 400)
    both = {**window, "recording": "6c1b1d0e-6d1f-4f55-9c55-2a0c5b8e2b11", "start_s": 0}
    assert_error(token_client.post("/api/baselines", both, format="json"), 400)
    assert Baseline.objects.count() == 0


def test_another_persons_readings_make_no_baseline_of_mine(token_client, other_token_client):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    _typed_rest(other_token_client, start)
    window = {"from": start.isoformat(), "to": (start + timedelta(minutes=5)).isoformat()}
    assert_error(token_client.post("/api/baselines", window, format="json"), 400)


def test_another_process_notices_a_switched_off_baseline_within_the_local_ttl(
    token_client, user, monkeypatch
):
    from django.core.cache import cache

    from predictions import services
    from stressapp.tests.support import wait_for

    monkeypatch.setattr(services, "FIVE_NUMBER_BASELINE_LOCAL_SECONDS", 0.3)
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    _typed_rest(token_client, start)
    window = {"from": start.isoformat(), "to": (start + timedelta(minutes=5)).isoformat()}
    assert token_client.post("/api/baselines", window, format="json").status_code == 201
    assert services.five_number_baseline_for(user_id=user.pk) is not None
    # Switched off elsewhere: the database row and the shared cache change, not this process.
    Baseline.objects.filter(user=user).update(is_active=False)
    cache.delete(services._baseline_cache_key(user.pk))
    assert services.five_number_baseline_for(user_id=user.pk) is not None  # within the TTL
    assert wait_for(lambda: services.five_number_baseline_for(user_id=user.pk) is None, 2)
