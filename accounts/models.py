import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.db import models


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class User(AbstractUser):
    """Our own user model from the first migration, so fields can be added later without
    the painful mid-project swap of AUTH_USER_MODEL."""

    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        help_text="Daily summaries and timelines are cut at midnight in this time zone.",
    )

    def __str__(self) -> str:
        return self.username
