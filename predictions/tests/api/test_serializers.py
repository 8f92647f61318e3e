"""The hand-built answer of the hot path and the serializer that documents it cannot drift."""

import json

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from mlcore.readings.features import CLASSES, FEATURE_NAMES
from predictions.api.serializers import PredictionOutputSerializer, prediction_representation
from predictions.tests.factories import PredictionFactory


def _as_json(data) -> dict:
    return json.loads(JSONRenderer().render(data))


@pytest.mark.django_db
@pytest.mark.parametrize("level", CLASSES)
@pytest.mark.parametrize("explained", [True, False])
def test_the_representation_is_what_the_serializer_describes(level, explained):
    contributions = {name: 0.01 * i for i, name in enumerate(FEATURE_NAMES)} if explained else None
    prediction = PredictionFactory(
        stress_level=level, confidence=0.61, contributions=contributions, note=f"a {level} one"
    )
    by_hand = _as_json(prediction_representation(prediction))
    described = _as_json(PredictionOutputSerializer(prediction).data)
    assert by_hand == described
    assert set(by_hand) == set(PredictionOutputSerializer.Meta.fields)


@pytest.mark.django_db
def test_a_recording_window_is_represented_as_the_serializer_describes(user):
    from predictions.models import Recording

    recording = Recording.objects.create(
        user=user,
        name="r",
        file_format="edf",
        input_sha256="0" * 64,
        input_bytes=1,
        starts_at=timezone.now(),
        duration_s=600,
    )
    window = PredictionFactory(
        user=user,
        heart_rate=None,
        ecg=None,
        emg=None,
        gsr=None,
        respiration=None,
        source="recording",
        recording=recording,
        row_number=3,
        window_start_s=90.0,
        window_end_s=210.0,
        calibrated=True,
        contributions={"hr_mean__diff": 0.12, "scr_rate": -0.03},
    )
    by_hand = _as_json(prediction_representation(window))
    assert by_hand == _as_json(PredictionOutputSerializer(window).data)
    assert by_hand["inputs"] is None and by_hand["recording"] == str(recording.id)


@pytest.mark.django_db
def test_the_score_and_the_level_shown_are_added_beside_the_probabilities():
    prediction = PredictionFactory(
        stress_level="medium",
        confidence=0.36,
        probability_low=0.35,
        probability_medium=0.36,
        probability_high=0.29,
    )
    body = _as_json(prediction_representation(prediction))
    assert (body["stress_score"], body["shown_level"]) == (47.0, "uncertain")
    assert body["stress_level"] == "medium" and body["confidence"] == 0.36  # unchanged
