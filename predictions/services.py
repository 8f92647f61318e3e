"""Every write goes through here: model registry now; scoring and persistence next.

Doors (API views, pages, Celery tasks, management commands, the admin) call these functions
and nothing else writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mlcore.train import TrainingResult, train_and_save
from predictions.models import ModelVersion


def model_version_register(*, result: TrainingResult, activate: bool = False) -> ModelVersion:
    model_dir = Path(settings.MODEL_DIR)
    try:
        relative = result.model_path.relative_to(model_dir)
    except ValueError:
        relative = result.model_path
    with transaction.atomic():
        version = ModelVersion.objects.create(
            version=result.version,
            path=str(relative),
            sha256=result.sha256,
            metrics=result.metrics,
            card=result.card,
        )
        if activate:
            version = model_version_activate(model_version=version)
    return version


def model_version_activate(*, model_version: ModelVersion) -> ModelVersion:
    """Make this version the one every process serves (they pick it up within
    MODEL_RELOAD_SECONDS). Promotion and rollback are the same operation."""
    with transaction.atomic():
        # Lock the active row (if any) so two activations cannot interleave.
        list(ModelVersion.objects.select_for_update().filter(is_active=True))
        ModelVersion.objects.filter(is_active=True).exclude(pk=model_version.pk).update(
            is_active=False
        )
        ModelVersion.objects.filter(pk=model_version.pk).update(
            is_active=True, activated_at=timezone.now()
        )
    model_version.refresh_from_db()
    return model_version


def model_version_train(*, activate: bool = True, **train_kwargs: Any) -> ModelVersion:
    result = train_and_save(Path(settings.MODEL_DIR), **train_kwargs)
    return model_version_register(result=result, activate=activate)
