import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import (
    _token_cache_key,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    token_digest,
)


def test_it_stores_only_a_digest_of_the_token(user):
    issued = api_token_create(user=user, name="watch")
    stored = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.raw.startswith(stored.prefix)
    assert stored.digest == token_digest(issued.raw)
    assert issued.raw not in {stored.digest, stored.prefix, stored.name}


def test_it_authenticates_a_live_token_and_records_its_use(user):
    issued = api_token_create(user=user, name="watch")
    token = api_token_authenticate(raw_token=issued.raw)
    assert token == issued.token and token.user == user
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_it_refuses_revoked_expired_and_unknown_tokens(user):
    revoked = api_token_create(user=user, name="old")
    api_token_revoke(token=revoked.token)
    expired = api_token_create(user=user, name="x", expires_at=timezone.now() - timedelta(1))
    assert api_token_authenticate(raw_token=revoked.raw) is None
    assert api_token_authenticate(raw_token=expired.raw) is None
    assert api_token_authenticate(raw_token="st_deadbeef_nope") is None
    assert api_token_authenticate(raw_token="not even a token") is None


def test_it_refuses_the_token_of_a_deactivated_user(user):
    issued = api_token_create(user=user, name="watch")
    user.is_active = False
    user.save()
    assert api_token_authenticate(raw_token=issued.raw) is None


def test_it_requires_a_token_name(user):
    with pytest.raises(ValueError):
        api_token_create(user=user, name="   ")


def test_a_cached_token_user_cannot_overwrite_the_real_row(user):
    issued = api_token_create(user=user, name="watch")
    api_token_authenticate(raw_token=issued.raw)  # fills the cache
    cached_user = api_token_authenticate(raw_token=issued.raw).user
    secret, password = user.webhook_secret, user.password
    cached_user.save()
    user.refresh_from_db()
    assert (user.webhook_secret, user.password) == (secret, password)
    assert cached_user.webhook_secret == secret  # loaded on demand, not a new default


def test_a_token_revoked_in_this_process_is_refused_at_once(user):
    issued = api_token_create(user=user, name="watch")
    assert api_token_authenticate(raw_token=issued.raw) is not None  # now held locally
    api_token_revoke(token=issued.token)
    assert api_token_authenticate(raw_token=issued.raw) is None


def test_a_token_revoked_by_another_process_is_refused_within_the_local_delay(user, settings):
    settings.API_TOKEN_LOCAL_CACHE_SECONDS = 0.3
    issued = api_token_create(user=user, name="watch")
    assert api_token_authenticate(raw_token=issued.raw) is not None
    # What api_token_revoke does in another process: the row and the shared cache, not the
    # memory of this one.
    ApiToken.objects.filter(pk=issued.token.pk).update(revoked_at=timezone.now())
    cache.delete(_token_cache_key(issued.token.digest))
    assert api_token_authenticate(raw_token=issued.raw) is not None  # the documented delay
    time.sleep(0.35)
    assert api_token_authenticate(raw_token=issued.raw) is None


def test_a_process_asks_the_shared_cache_again_after_the_local_delay(user, settings):
    settings.API_TOKEN_LOCAL_CACHE_SECONDS = 0.0  # no local memory: every request asks Redis
    issued = api_token_create(user=user, name="watch")
    assert api_token_authenticate(raw_token=issued.raw) is not None
    ApiToken.objects.filter(pk=issued.token.pk).update(revoked_at=timezone.now())
    cache.delete(_token_cache_key(issued.token.digest))
    assert api_token_authenticate(raw_token=issued.raw) is None
