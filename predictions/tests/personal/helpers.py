"""Run a personal refit as a worker does, in this process."""

from __future__ import annotations

from jobs import engine
from predictions.models import PersonalRefit
from predictions.personal.kind import PERSONAL_REFIT


def run_refit_inline(refit_id) -> PersonalRefit:
    for index in engine.job_claim(PERSONAL_REFIT, job_id=refit_id):
        engine.job_chunk_run(PERSONAL_REFIT, job_id=refit_id, index=index)
    return PersonalRefit.objects.get(pk=refit_id)
