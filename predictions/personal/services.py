"""Writes for a person's own models: ask for a refit when their labels change, score their
history again, delete their models. Every door comes here."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from accounts.models import User
from jobs import engine
from mlcore.recordings.spec import model_key
from predictions.models import (
    JobStatus,
    PersonalModel,
    PersonalRefit,
    PersonalRefitChunk,
    Prediction,
    Recording,
)
from predictions.personal.kind import PERSONAL_REFIT
from predictions.personal.selectors import personal_typed_model_forget
from predictions.recordings.files import recording_input_path
from stressapp.errors import Conflict


def personal_refit_request(*, user: User, reason: str = "") -> PersonalRefit:
    """Queue a refit of the person's models, unless one is queued and not started yet (it
    reads the labels when it starts, so it covers this change too)."""
    with transaction.atomic():
        waiting = PersonalRefit.objects.filter(user=user, status=JobStatus.QUEUED).first()
        if waiting is not None:
            return waiting
        job = PersonalRefit.objects.create(user=user, reason=reason[:80], chunk_count=1)
        PersonalRefitChunk.objects.create(job=job, index=0)
        engine.job_enqueue_on_commit(PERSONAL_REFIT, job.pk)
    return job


def history_rescore(*, user: User, model_keys: Iterable[str] | None = None) -> int:
    """Score the person's recordings again (those scored by one of `model_keys`, or all),
    each a recording job that keeps its old windows until the new ones are stored. Returns
    how many were queued: one being processed, or whose file is gone, is left as it is."""
    from predictions.recordings.services import recording_rescore

    keys = set(model_keys) if model_keys is not None else None
    queued = 0
    for recording in Recording.objects.filter(user=user, status=JobStatus.SUCCEEDED):
        if keys is not None and model_key(recording.channel_set, recording.calibrated) not in keys:
            continue
        if not recording_input_path(recording.id).is_file():
            continue
        try:
            recording_rescore(recording=recording)
        except Conflict:
            continue
        queued += 1
    return queued


def personal_models_delete(*, user: User) -> int:
    """Delete the person's own models; their recordings are scored again by the
    population's. Returns how many models were deleted."""
    with transaction.atomic():
        keys = set(
            PersonalModel.objects.filter(user=user, is_active=True).values_list(
                "model_key", flat=True
            )
        )
        Prediction.objects.filter(user=user, personal_model__isnull=False).update(
            personal_model=None
        )
        Recording.objects.filter(user=user).update(personal_model=None)
        deleted, _ = PersonalModel.objects.filter(user=user).delete()
    personal_typed_model_forget(user_id=user.pk)
    history_rescore(user=user, model_keys=keys)
    return deleted
