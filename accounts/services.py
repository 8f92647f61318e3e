"""Writes for accounts: sign-up, preferences, API tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.signals import user_deleting

# A public marker that makes our tokens recognisable (e.g. to secret scanners).
TOKEN_PREFIX = "st_"  # noqa: S105  # nosec B105
# Writing last_used_at on every request would turn each read into a write; a minute is
# precise enough for "last used" and keeps the hot path read-only.
LAST_USED_RESOLUTION_SECONDS = 60
# How long a verified token is trusted without asking the database. Revocation and changes
# made through our services clear it at once; this bounds anything done behind their back
# (e.g. deactivating a user in the admin).
TOKEN_CACHE_SECONDS = 30
# Each web process also keeps a verified token for settings.API_TOKEN_LOCAL_CACHE_SECONDS
# (default 2), which spares the shared cache's round trip on nearly every API request. The
# price, documented in the API docs: a token revoked, or a user deactivated, in another process
# is still honoured by a process that verified it less than that long ago. The process that
# revokes forgets it at once.
_local_identities: dict[str, tuple[float, dict]] = {}
_LOCAL_IDENTITIES_MAX = 10_000


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


def _token_cache_key(digest: str) -> str:
    return f"apitoken:{digest}"


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    _local_identities.pop(token.digest, None)
    cache.delete(_token_cache_key(token.digest))
    return token


def api_token_cache_clear_for_user(*, user: User) -> None:
    """Forget cached lookups of every token of this user (after any change to the user)."""
    digests = ApiToken.objects.filter(user=user).values_list("digest", flat=True)
    for digest in digests:
        _local_identities.pop(digest, None)
    cache.delete_many([_token_cache_key(digest) for digest in digests])


def _cached_identity(token: ApiToken) -> dict[str, object]:
    user = token.user
    return {
        "token_id": token.pk,
        "name": token.name,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "user": {f: getattr(user, f) for f in _CACHED_USER_FIELDS},
    }


# What API requests read from request.user; the rest of the row stays in the database.
_CACHED_USER_FIELDS = ("id", "username", "email", "time_zone", "is_active", "is_staff")


def api_token_authenticate(*, raw_token: str) -> ApiToken | None:
    """The usable token for this secret, or None. Records when it was last used.

    A successful lookup is cached for TOKEN_CACHE_SECONDS so the hottest path of the API does
    not query the database to authenticate; revoking a token or changing its user clears it.
    """
    if not raw_token.startswith(TOKEN_PREFIX):
        return None
    digest = token_digest(raw_token)
    key = _token_cache_key(digest)
    now = timezone.now()
    checked = time.monotonic()
    local = _local_identities.get(digest)
    if local is not None and checked - local[0] < settings.API_TOKEN_LOCAL_CACHE_SECONDS:
        identity = local[1]
    else:
        identity = cache.get(key)
        if identity is None:
            # digest is unique: no ORDER BY needed (first() would add one).
            matches = list(
                ApiToken.objects.usable()
                .select_related("user")
                .filter(digest=digest)
                .order_by()[:1]
            )
            if not matches or not matches[0].user.is_active:
                _local_identities.pop(digest, None)
                return None
            identity = _cached_identity(matches[0])
            cache.set(key, identity, TOKEN_CACHE_SECONDS)
        if len(_local_identities) >= _LOCAL_IDENTITIES_MAX:  # bounded: many callers over time
            _local_identities.clear()
        _local_identities[digest] = (checked, identity)
    expires_at = identity["expires_at"]
    if expires_at is not None and expires_at <= now:
        return None
    last_used = identity["last_used_at"]
    if last_used is None or (now - last_used).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        ApiToken.objects.filter(pk=identity["token_id"]).update(last_used_at=now)
        identity["last_used_at"] = now
        cache.set(key, identity, TOKEN_CACHE_SECONDS)
    # Rebuilt as a partly loaded row: any other field is fetched on first use, and a save()
    # writes only these fields, so nothing can be overwritten with a default.
    # (from_db wants the values in the model's field order.)
    cached = identity["user"]
    fields = [f.attname for f in User._meta.concrete_fields if f.attname in cached]
    user = User.from_db(DEFAULT_DB_ALIAS, fields, [cached[f] for f in fields])
    token = ApiToken(
        id=identity["token_id"],
        user=user,
        name=identity["name"],
        prefix=raw_token[: len(TOKEN_PREFIX) + 8],
        digest=digest,
        expires_at=expires_at,
        last_used_at=identity["last_used_at"],
    )
    token._state.adding = False
    return token


def user_update_time_zone(*, user: User, time_zone: str) -> User:
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
    api_token_cache_clear_for_user(user=user)
    return user


def user_create(*, username: str, email: str, password: str, time_zone: str = "UTC") -> User:
    """Sign-up: the fields were validated by the form (password rules included)."""
    return User.objects.create_user(
        username=username, email=email, password=password, time_zone=time_zone
    )


def user_delete(*, user: User) -> None:
    """Remove the user and everything that is theirs: history, jobs and their files, tokens.
    Apps that keep files for the user remove them on `user_deleting`."""
    api_token_cache_clear_for_user(user=user)
    user_deleting.send(sender=User, user=user)
    with transaction.atomic():
        digests = list(ApiToken.objects.filter(user=user).values_list("digest", flat=True))
        user.delete()
        # Again once the rows are gone: a request may have re-cached a token in between.
        transaction.on_commit(
            lambda: cache.delete_many([_token_cache_key(digest) for digest in digests])
        )
