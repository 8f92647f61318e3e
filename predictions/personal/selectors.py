"""Reads of a person's own models. Scoring asks here for the models that score its owner's
data; they are loaded from the database once per process and model (they never change: a
refit makes a new row)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import QuerySet

from accounts.models import User
from mlcore.readings.five_number import FIVE_NUMBER_KEY
from mlcore.recordings.hgb_compiled import CompiledHGB
from predictions.models import PersonalModel, PersonalRefit


@dataclass(frozen=True)
class LoadedPersonalModel:
    id: int
    compiled: CompiledHGB


# A process serves many people: keep the most recently used, not all.
_CACHE_SIZE = 256
_loaded: OrderedDict[int, CompiledHGB] = OrderedDict()


def _compiled(model_id: int) -> CompiledHGB:
    if model_id in _loaded:
        _loaded.move_to_end(model_id)
        return _loaded[model_id]
    data = PersonalModel.objects.values_list("compiled", flat=True).get(pk=model_id)
    compiled = CompiledHGB.from_bytes(bytes(data))
    _loaded[model_id] = compiled
    while len(_loaded) > _CACHE_SIZE:
        _loaded.popitem(last=False)
    return compiled


def personal_models_for(
    *, user_id: int, population_version_id: int
) -> dict[str, LoadedPersonalModel]:
    """The person's active models refitted from this population version, by spec key."""
    rows = PersonalModel.objects.filter(
        user_id=user_id, population_version_id=population_version_id, is_active=True
    ).values_list("id", "model_key")
    return {key: LoadedPersonalModel(model_id, _compiled(model_id)) for model_id, key in rows}


def _typed_cache_key(user_id: int) -> str:
    return f"personal-five-number:{user_id}"


# Read on every typed reading of a person with a rest baseline: cached in the shared cache so
# the hot path makes no query; a refit or a deletion forgets it (personal_typed_model_forget).
PERSONAL_TYPED_CACHE_SECONDS = 300


def personal_typed_model_for(
    *, user_id: int, population_version_id: int
) -> LoadedPersonalModel | None:
    """The person's active model for typed readings refitted from this version, if any."""
    key = _typed_cache_key(user_id)
    cached = cache.get(key)
    if cached is None or cached[0] != population_version_id:
        model_id = (
            PersonalModel.objects.filter(
                user_id=user_id,
                population_version_id=population_version_id,
                model_key=FIVE_NUMBER_KEY,
                is_active=True,
            )
            .values_list("id", flat=True)
            .first()
        )
        cached = (population_version_id, model_id or 0)
        cache.set(key, cached, PERSONAL_TYPED_CACHE_SECONDS)
    model_id = cached[1]
    if not model_id:
        return None
    try:
        return LoadedPersonalModel(model_id, _compiled(model_id))
    except PersonalModel.DoesNotExist:  # deleted since it was cached
        personal_typed_model_forget(user_id=user_id)
        return None


def personal_typed_model_forget(*, user_id: int) -> None:
    cache.delete(_typed_cache_key(user_id))


def personal_model_list_for_user(*, user: User) -> QuerySet[PersonalModel]:
    return (
        PersonalModel.objects.filter(user=user, is_active=True)
        .select_related("population_version")
        .defer("compiled")
        .order_by("model_key")
    )


def personal_refit_latest_for_user(*, user: User) -> PersonalRefit | None:
    return PersonalRefit.objects.filter(user=user).order_by("-created_at").first()


PERSONAL_MODEL_EXPORT_FIELDS = (
    "model_key",
    "population_version__version",
    "weight",
    "episodes",
    "labelled_windows",
    "population_agreed",
    "personal_agreed",
    "personal_checked",
    "is_active",
    "created_at",
)


def personal_model_export_rows(*, user: User) -> list[dict]:
    """What the account export says of the person's models (their figures; the model itself
    is numbers only a refit can use)."""
    return [
        dict(zip(PERSONAL_MODEL_EXPORT_FIELDS, row, strict=True))
        for row in PersonalModel.objects.filter(user=user).values_list(
            *PERSONAL_MODEL_EXPORT_FIELDS
        )
    ]
