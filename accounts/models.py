import base64
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models


def _new_webhook_secret() -> str:
    return secrets.token_hex(32)


class User(AbstractUser):
    """Our own user model from the first migration, so fields can be added later without
    the painful mid-project swap of AUTH_USER_MODEL."""

    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        help_text="Daily summaries and timelines are cut at midnight in this time zone.",
    )

    webhook_secret = models.CharField(
        max_length=64,
        default=_new_webhook_secret,
        help_text="Signs batch job callbacks (HMAC-SHA256).",
    )

    def __str__(self) -> str:
        return self.username

    @property
    def webhook_signing_secret(self) -> str:
        """The secret as Standard Webhooks libraries take it: whsec_ + base64 of the key."""
        return "whsec_" + base64.b64encode(bytes.fromhex(self.webhook_secret)).decode()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self) -> "ApiTokenQuerySet":
        from django.utils import timezone

        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=timezone.now())
        )


class ApiToken(models.Model):
    """A named API token. Only a SHA-256 digest of the secret is stored: tokens carry 256 bits
    of randomness, so a fast hash is as safe as a slow one and keeps every request to a single
    indexed lookup. The short prefix lets people tell their tokens apart."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.expires_at is not None and self.expires_at <= timezone.now()
