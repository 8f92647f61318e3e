"""The personal refit job kind: one chunk that refits the person's models from their labels
(heavy, outside the transaction: predictions.personal.learning), stores them in its
transaction, and then queues the recordings they change to be scored again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounts.models import User
from jobs.errors import JobFailed
from jobs.kinds import ChunkOutcome, JobKind
from predictions.ml import ModelUnavailable, get_served_model
from predictions.models import PersonalModel, PersonalRefit, PersonalRefitChunk
from predictions.personal.learning import FittedPersonal, personal_models_fit
from predictions.personal.selectors import personal_typed_model_forget


def _stage(job: PersonalRefit, text: str) -> None:
    PersonalRefit.objects.filter(pk=job.pk).update(stage=text)


class PersonalRefitKind(JobKind):
    name = "personal_refit"
    job_model = PersonalRefit
    chunk_model = PersonalRefitChunk

    def chunk_prepare(self, job: PersonalRefit, chunk: PersonalRefitChunk) -> Any:
        try:
            served = get_served_model()
            fitted = personal_models_fit(user=job.user, stage=lambda text: _stage(job, text))
        except ModelUnavailable as exc:
            # Its reason (a path, an error's text) is for the logs; the person reads this.
            raise JobFailed(exc.message) from exc
        return served.id, fitted

    def chunk_process(
        self,
        job: PersonalRefit,
        chunk: PersonalRefitChunk,
        *,
        now: datetime,
        prepared: tuple[int, list[FittedPersonal]] | None = None,
    ) -> ChunkOutcome:
        if prepared is None:  # chunk_prepare always returns one; this guards a misuse
            raise RuntimeError("a refit chunk runs only after chunk_prepare")
        version_id, fitted = prepared
        # Two refits of one person ending at once would each switch the other's models off
        # and clash on "one active per model": the person's row orders them.
        User.objects.select_for_update().filter(pk=job.user_id).first()
        active = PersonalModel.objects.filter(user=job.user, is_active=True)
        changed = set(active.values_list("model_key", flat=True)) | {f.key for f in fitted}
        # Labels gone for a model: it goes back to the population's, as the rest do.
        active.update(is_active=False)
        summary = {}
        for f in fitted:
            PersonalModel.objects.create(
                user=job.user,
                population_version_id=version_id,
                model_key=f.key,
                channel_set=f.channel_set,
                calibrated=f.calibrated,
                compiled=f.refit.model.to_bytes(),
                weight=f.refit.weight,
                episodes=f.refit.episodes,
                labelled_windows=f.refit.windows,
                population_agreed=f.refit.population.agreed,
                personal_agreed=f.refit.personal.agreed,
                personal_checked=f.refit.personal.windows,
                created_at=now,
            )
            summary[f.key] = {
                "episodes": f.refit.episodes,
                "windows": f.refit.windows,
                "population": f.refit.population.to_dict(),
                "personal": f.refit.personal.to_dict(),
            }
        PersonalRefit.objects.filter(pk=job.pk).update(
            stage="", summary=summary, total_rows=len(fitted)
        )
        user = job.user

        def rescore() -> None:
            from predictions.personal.services import history_rescore

            personal_typed_model_forget(user_id=user.pk)
            count = history_rescore(user=user, model_keys=changed)
            PersonalRefit.objects.filter(pk=job.pk).update(rescored=count)

        return ChunkOutcome(processed=len(fitted), after_commit=rescore)


# Registered with the engine by PredictionsConfig.ready().
PERSONAL_REFIT = PersonalRefitKind()
