import pytest
from django.db import IntegrityError, transaction

from predictions.models import ModelVersion
from predictions.services import model_version_activate, model_version_register


def test_it_registers_a_trained_version_with_its_metrics_and_card(db, tiny_model, settings):
    settings.MODEL_DIR = tiny_model.model_path.parent.parent
    version = model_version_register(result=tiny_model)
    assert version.version == tiny_model.version
    assert version.path == f"{tiny_model.version}/model.joblib"
    assert version.sha256 == tiny_model.sha256
    assert version.card["version"] == tiny_model.version
    assert not version.is_active


def test_it_keeps_exactly_one_version_active(active_model, second_tiny_model):
    other = model_version_register(result=second_tiny_model)
    model_version_activate(model_version=other)
    assert list(ModelVersion.objects.filter(is_active=True)) == [other]
    model_version_activate(model_version=active_model)
    assert list(ModelVersion.objects.filter(is_active=True)) == [active_model]


def test_the_database_refuses_two_active_versions(active_model, second_tiny_model):
    other = model_version_register(result=second_tiny_model)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=other.pk).update(is_active=True)


def test_a_reading_stored_by_the_hot_path_reads_back_field_for_field(active_model, user):
    """The single-reading INSERT skips Django's save(): every column must still hold what the
    returned object says (JSON, times, choices, text, the defaults of unset columns)."""
    from datetime import UTC, datetime

    from predictions.models import Prediction, Source
    from predictions.services import Reading, prediction_create

    reading = Reading(72.0, 0.4, 0.2, 0.55, 0.3, datetime(2026, 11, 27, 7, 30, tzinfo=UTC), "ça va")
    created = prediction_create(user=user, reading=reading, source=Source.API)
    stored = Prediction.objects.get(pk=created.pk)
    for field in Prediction._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(created, field.attname), field.name
    assert stored.contributions and set(stored.contributions) == {
        "heart_rate",
        "ecg",
        "emg",
        "gsr",
        "respiration",
    }
    assert stored.batch_job_id is None and stored.recording_id is None and not stored.calibrated


def test_readings_are_scored_with_the_served_models_temperatures(active_model):
    """Every probability readings_score hands out is tempered by the model's temperature (the
    forest's vote, or the calibrated five-number model's), with the same levels; the forest's
    contributions still explain its vote."""
    import numpy as np

    from mlcore.calibration import PROBABILITY_FLOOR, temper
    from mlcore.readings.five_number import (
        FiveNumberCalibrated,
        calibrated_inputs,
        five_number_baseline,
    )
    from mlcore.readings.forest import PARALLEL_MIN_ROWS, Predictor
    from predictions.ml import get_served_model
    from predictions.services import readings_score

    served = get_served_model()
    forest = served.artifact.forest
    served.artifact._predictor = Predictor(forest, temperature=2.0)
    scorer = served.recording_scorer
    estimator = scorer.five_number_model().estimator
    scorer._compiled["_five"] = FiveNumberCalibrated(estimator, temperature=2.0)
    rng = np.random.default_rng(0)
    for n in (1, 50, PARALLEL_MIN_ROWS + 1):
        features = np.column_stack([rng.uniform(40, 200, n), rng.random((n, 4))])
        vote = forest.predict_proba(features.astype(np.float32))
        scores = readings_score(features=features, explain=n < 100)
        expected = temper(vote, 2.0, PROBABILITY_FLOOR)
        np.testing.assert_allclose(scores.probabilities, expected, atol=1e-9)
        decided = np.sort(vote, axis=1)[:, -1] - np.sort(vote, axis=1)[:, -2] > 1e-9
        assert (scores.predicted[decided] == vote.argmax(axis=1)[decided]).all()
        if n == 1:
            level = int(scores.predicted[0])
            bias = served.predictor.explain(features).bias[level]
            assert abs(bias + scores.contributions[0].sum() - vote[0, level]) < 1e-6
    rest = np.array([[68.0, 0.3, 0.2, 0.4, 0.3]] * 6) + np.linspace(0, 0.01, 6)[:, None]
    baseline = five_number_baseline(rest)
    scores = readings_score(features=features[:20], baseline=baseline)
    raw = estimator.predict_proba(calibrated_inputs(features[:20], baseline))
    assert scores.calibrated
    np.testing.assert_allclose(scores.probabilities, temper(raw, 2.0), atol=1e-12)
