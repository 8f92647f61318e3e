from django.db import models
from django.db.models import Q


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
