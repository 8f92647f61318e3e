import pytest

from mlcore.readings.features import CLASSES
from predictions.tests.factories import BatchJobFactory, PredictionFactory


@pytest.mark.django_db
@pytest.mark.parametrize("level", CLASSES)
def test_prediction_probabilities_sum_to_one_with_the_level_most_likely(level):
    prediction = PredictionFactory(stress_level=level, confidence=0.7)
    probabilities = prediction.probabilities
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert max(probabilities, key=probabilities.get) == level
    assert probabilities[level] == prediction.confidence


@pytest.mark.django_db
def test_a_batch_job_factory_makes_a_queued_job_of_its_own_user():
    job = BatchJobFactory()
    assert job.status == "queued" and job.user_id and job.percent == 0.0
