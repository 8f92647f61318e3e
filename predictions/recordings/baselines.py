"""Personal rest baselines: at most one active per channel set; new scores use it."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from predictions.models import Baseline, Recording


def baseline_active_for(*, user: User, channel_set: str) -> Baseline | None:
    return Baseline.objects.filter(user=user, channel_set=channel_set, is_active=True).first()


def baseline_activate(
    *, user: User, channel_set: str, statistics: dict, recording: Recording | None = None
) -> Baseline:
    """Make these rest statistics the person's baseline for the channel set (the previous
    one is kept, inactive, so a mistake can be undone in the admin)."""
    with transaction.atomic():
        Baseline.objects.filter(user=user, channel_set=channel_set, is_active=True).update(
            is_active=False
        )
        return Baseline.objects.create(
            user=user,
            channel_set=channel_set,
            recording=recording,
            start_s=float(statistics.get("start_s", 0.0)),
            end_s=float(statistics.get("end_s", 0.0)),
            statistics=statistics,
        )


def baseline_deactivate(*, baseline: Baseline) -> Baseline:
    Baseline.objects.filter(pk=baseline.pk).update(is_active=False)
    baseline.refresh_from_db()
    return baseline
