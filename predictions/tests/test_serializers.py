"""The hand-built answer of the hot path and the serializer that documents it cannot drift."""

import json

import pytest
from rest_framework.renderers import JSONRenderer

from mlcore.features import CLASSES, FEATURE_NAMES
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
