import zoneinfo
from datetime import UTC, datetime, time

import factory

from accounts.tests.factories import UserFactory
from predictions.models import BatchJob, JobStatus, ModelVersion, Prediction


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    version = factory.Sequence(lambda n: f"rf-test-{n}")
    path = factory.LazyAttribute(lambda o: f"{o.version}/model.joblib")
    sha256 = "0" * 64


def _probability(level: str):
    """The level's probability: `confidence` for the stress level, the rest shared evenly, so
    the three always sum to 1 and the stress level is the most likely one."""
    return factory.LazyAttribute(
        lambda o: o.confidence if o.stress_level == level else (1 - o.confidence) / 2
    )


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
    probability_low = _probability("low")
    probability_medium = _probability("medium")
    probability_high = _probability("high")
    model_version = factory.LazyFunction(
        lambda: ModelVersion.objects.filter(is_active=True).first() or ModelVersionFactory()
    )
    source = "api"


class BatchJobFactory(factory.django.DjangoModelFactory):
    """A job row as the upload service leaves it (its files are not made: use the API or
    batch_job_submit for a job that runs)."""

    class Meta:
        model = BatchJob

    user = factory.SubFactory(UserFactory)
    status = JobStatus.QUEUED
    input_format = "csv"
    original_filename = "readings.csv"
    input_sha256 = factory.Sequence(lambda n: f"{n:064x}")
    input_bytes = 1024
    total_rows = 10
    chunk_count = 1


def scored_prediction(*, user, at: datetime, score: float, **fields) -> Prediction:
    """A typed result whose stress score (mlcore.score) is `score`: p_high = score / 100,
    p_low the rest, p_medium 0, so 100 * (0.5 * p_medium + p_high) = score."""
    high = score / 100
    level = "high" if high >= 0.5 else "low"
    return PredictionFactory(
        user=user,
        measured_at=at,
        stress_level=level,
        confidence=max(high, 1 - high),
        probability_low=1 - high,
        probability_medium=0.0,
        probability_high=high,
        **fields,
    )


def daily_history(*, user, scores_by_day: dict, hour: int = 12) -> list[Prediction]:
    """One typed result per day at `hour` local time (the user's zone), with the score
    given for that day: {date: score}."""
    tz = zoneinfo.ZoneInfo(user.time_zone)
    return [
        scored_prediction(user=user, at=datetime.combine(day, time(hour), tzinfo=tz), score=score)
        for day, score in scores_by_day.items()
    ]
