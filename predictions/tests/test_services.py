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
