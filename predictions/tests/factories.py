from datetime import UTC, datetime

import factory

from accounts.tests.factories import UserFactory
from predictions.models import ModelVersion, Prediction


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    version = factory.Sequence(lambda n: f"rf-test-{n}")
    path = factory.LazyAttribute(lambda o: f"{o.version}/model.joblib")
    sha256 = "0" * 64


class PredictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prediction

    user = factory.SubFactory(UserFactory)
    measured_at = factory.LazyFunction(lambda: datetime.now(UTC))
    heart_rate = 72.0
    ecg = 0.4
    emg = 0.2
    gsr = 0.5
    respiration = 0.3
    stress_level = "medium"
    confidence = 0.5
    probability_low = factory.LazyAttribute(lambda o: round((1 - o.confidence) / 2, 6))
    probability_medium = factory.LazyAttribute(
        lambda o: o.confidence if o.stress_level == "medium" else round((1 - o.confidence) / 2, 6)
    )
    probability_high = factory.LazyAttribute(lambda o: round((1 - o.confidence) / 2, 6))
    model_version = factory.LazyFunction(
        lambda: ModelVersion.objects.filter(is_active=True).first() or ModelVersionFactory()
    )
    source = "api"
