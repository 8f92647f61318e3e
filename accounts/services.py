"""Writes for accounts: sign-up, preferences, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, User

TOKEN_PREFIX = "st_"  # noqa: S105 - a public marker, not a secret
# Writing last_used_at on every request would turn each read into a write; a minute is
# precise enough for "last used" and keeps the hot path read-only.
LAST_USED_RESOLUTION_SECONDS = 60


def token_digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown to its owner once, never stored


def api_token_create(*, user: User, name: str, expires_at: datetime | None = None) -> IssuedToken:
    name = name.strip()
    if not name:
        raise ValueError("A token needs a name.")
    public = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{public}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=f"{TOKEN_PREFIX}{public}",
        digest=token_digest(raw),
        expires_at=expires_at,
    )
    return IssuedToken(token=token, raw=raw)


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, raw_token: str) -> ApiToken | None:
    """The usable token for this secret, or None. Records when it was last used."""
    if not raw_token.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.usable()
        .select_related("user")
        .filter(digest=token_digest(raw_token))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if (
        token.last_used_at is None
        or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def user_create(*, username: str, email: str, password: str, time_zone: str = "UTC") -> User:
    user = User(username=username, email=email, time_zone=time_zone)
    validate_password(password, user)
    user.set_password(password)
    with transaction.atomic():
        user.save()
    return user


def user_update_time_zone(*, user: User, time_zone: str) -> User:
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
    return user
