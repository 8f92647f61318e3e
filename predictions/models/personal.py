"""A person's own models (the population model refitted with their labels), and the job that
refits them when their labels change (a kind on the job engine: predictions.personal)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models import Job, JobChunk
from predictions.models.readings import ModelVersion


class PersonalModel(models.Model):
    """One person's model for one of the population's models (a channel set, calibrated or
    not). Never shared: it is read only to score its owner's data, and deleted with it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_models"
    )
    # The population model it was refitted from: mlcore's spec key within that version.
    population_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="personal_models"
    )
    model_key = models.CharField(max_length=48, help_text="e.g. all/calibrated")
    channel_set = models.CharField(max_length=32)
    calibrated = models.BooleanField()
    # mlcore.recordings.hgb_compiled.CompiledHGB.to_bytes: arrays in numpy's format, no pickle.
    compiled = models.BinaryField()
    weight = models.FloatField(help_text="Each label's weight, in population windows.")
    episodes = models.PositiveIntegerField()
    labelled_windows = models.PositiveIntegerField()
    # How often each agreed with the person on windows it had not learnt from: the
    # population model on every labelled window, this model leaving one episode out.
    population_agreed = models.PositiveIntegerField()
    personal_agreed = models.PositiveIntegerField()
    personal_checked = models.PositiveIntegerField(
        help_text="Windows the leave-one-episode-out check covered (0 with one episode)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "model_key"],
                condition=Q(is_active=True),
                name="personal_model_one_active_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.model_key} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def population_share(self) -> float | None:
        return self.population_agreed / self.labelled_windows if self.labelled_windows else None

    @property
    def personal_share(self) -> float | None:
        return self.personal_agreed / self.personal_checked if self.personal_checked else None


class PersonalRefit(Job):
    """Refit a person's models from their labels, then score their recordings again. Rows
    are the models refitted."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_refits"
    )
    reason = models.CharField(max_length=80, blank=True)
    stage = models.CharField(max_length=80, blank=True)
    summary = models.JSONField(
        default=dict, blank=True, help_text="Per model: labels, windows, agreement."
    )
    rescored = models.PositiveIntegerField(default=0, help_text="Recordings queued again.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="personal_refit_user_time")]

    def __str__(self) -> str:
        return f"refit {self.pk} ({self.status})"


class PersonalRefitChunk(JobChunk):
    job = models.ForeignKey(PersonalRefit, on_delete=models.CASCADE, related_name="chunks")

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="personal_refit_chunk_unique")
        ]
