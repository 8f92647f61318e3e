from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ModelVersion(models.Model):
    """A registered model artifact. The file lives in MODEL_DIR; this row is the registry."""

    version = models.CharField(max_length=64, unique=True)
    path = models.CharField(max_length=500, help_text="Artifact file, relative to MODEL_DIR.")
    sha256 = models.CharField(max_length=64)
    metrics = models.JSONField(default=dict, blank=True)
    card = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The database, not the code, guarantees that at most one version serves.
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_model_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version}{' (active)' if self.is_active else ''}"


class StressLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Source(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    BATCH = "batch", "Batch"


class Prediction(models.Model):
    """One reading and what the model said about it, in its owner's history."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="predictions"
    )
    measured_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    heart_rate = models.FloatField()
    ecg = models.FloatField()
    emg = models.FloatField()
    gsr = models.FloatField()
    respiration = models.FloatField()
    stress_level = models.CharField(max_length=6, choices=StressLevel.choices)
    confidence = models.FloatField()
    probability_low = models.FloatField()
    probability_medium = models.FloatField()
    probability_high = models.FloatField()
    # Each feature's push on the predicted class's probability (path decomposition).
    contributions = models.JSONField(null=True, blank=True)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="predictions"
    )
    source = models.CharField(max_length=5, choices=Source.choices)
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-measured_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-measured_at", "-id"], name="prediction_user_time"),
            models.Index(
                fields=["user", "stress_level", "-measured_at"], name="prediction_user_level"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.measured_at:%Y-%m-%d %H:%M} {self.stress_level}"

    @property
    def probabilities(self) -> dict[str, float]:
        return {
            "low": self.probability_low,
            "medium": self.probability_medium,
            "high": self.probability_high,
        }
