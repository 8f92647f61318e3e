"""Reads for accounts: a person's API tokens. Always scoped to their owner."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import ApiToken, User


def api_token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def api_token_get_for_user(*, user: User, token_id: int) -> ApiToken:
    """The user's own token; anyone else's looks exactly like a missing one."""
    token = api_token_list_for_user(user=user).filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    return token


def api_token_export_rows(*, user: User) -> list[dict[str, Any]]:
    """What a data export says about tokens: never the secret, nor its digest."""
    return [
        {"name": t.name, "prefix": t.prefix, "created_at": t.created_at.isoformat()}
        for t in api_token_list_for_user(user=user)
    ]
