"""Personal rest baselines: at most one active per channel set (a recording's sensors, or the
five typed numbers); new scores use it."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from django.db import transaction

from accounts.models import User
from mlcore.readings.features import FEATURE_NAMES
from mlcore.readings.five_number import FiveNumberBaselineError, five_number_baseline
from mlcore.recordings.baseline import MIN_BASELINE_S
from predictions.models import FIVE_NUMBER_SET, Baseline, Prediction, Recording
from predictions.recordings.errors import InvalidRange
from predictions.services import five_number_baseline_forget


def baseline_active_for(*, user: User, channel_set: str) -> Baseline | None:
    return Baseline.objects.filter(user=user, channel_set=channel_set, is_active=True).first()


def baseline_activate(
    *,
    user: User,
    channel_set: str,
    statistics: dict,
    start_s: float,
    end_s: float,
    recording: Recording | None = None,
) -> Baseline:
    """Make these rest statistics the person's baseline for the channel set (the previous
    one is kept, inactive, so a mistake can be undone in the admin)."""
    with transaction.atomic():
        Baseline.objects.filter(user=user, channel_set=channel_set, is_active=True).update(
            is_active=False
        )
        baseline = Baseline.objects.create(
            user=user,
            channel_set=channel_set,
            recording=recording,
            start_s=start_s,
            end_s=end_s,
            statistics=statistics,
        )
        if channel_set == FIVE_NUMBER_SET:
            # Now, and again once committed: a request in between may cache the old one.
            five_number_baseline_forget(user_id=user.pk)
            transaction.on_commit(lambda: five_number_baseline_forget(user_id=user.pk))
            _relearn_typed_readings(user)
    return baseline


def _relearn_typed_readings(user: User) -> None:
    """A person's model for typed readings sees each reading against their rest: a new rest
    means learning their labels again."""
    from predictions.models import Annotation
    from predictions.personal.services import personal_refit_request

    if Annotation.objects.filter(user=user).exists():
        transaction.on_commit(
            lambda: personal_refit_request(user=user, reason="a new rest baseline")
        )


def baseline_deactivate(*, baseline: Baseline) -> Baseline:
    Baseline.objects.filter(pk=baseline.pk).update(is_active=False)
    if baseline.channel_set == FIVE_NUMBER_SET:
        five_number_baseline_forget(user_id=baseline.user_id)
    baseline.refresh_from_db()
    return baseline


def five_number_baseline_set(*, user: User, start: datetime, end: datetime) -> Baseline:
    """The person's typed readings between start and end (a rest of 3 minutes or more, at
    least 3 readings) become the baseline their typed readings are scored against."""
    if (end - start).total_seconds() < MIN_BASELINE_S:
        raise InvalidRange(
            f"A rest must last at least {MIN_BASELINE_S / 60:.0f} minutes.", field="to"
        )
    rows = np.array(
        Prediction.objects.filter(
            user=user, measured_at__gte=start, measured_at__lt=end, heart_rate__isnull=False
        ).values_list(*FEATURE_NAMES),
        dtype=np.float64,
    ).reshape(-1, len(FEATURE_NAMES))
    try:
        statistics = five_number_baseline(rows).to_dict()
    except FiveNumberBaselineError as exc:
        raise InvalidRange(str(exc), field="from") from exc
    statistics.update({"from": start.isoformat(), "to": end.isoformat()})
    return baseline_activate(
        user=user,
        channel_set=FIVE_NUMBER_SET,
        statistics=statistics,
        start_s=0.0,
        end_s=(end - start).total_seconds(),
    )
