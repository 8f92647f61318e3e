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
