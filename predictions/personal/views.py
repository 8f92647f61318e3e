"""Pages' doors onto a person's own models: learn now, score my history again, delete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from predictions.personal import selectors, services
from predictions.personal.presenters import personal_model_views


def personal_context(user: User) -> dict[str, Any]:
    """What the agreement page and the account page show of the person's own models."""
    return {
        "personal_models": personal_model_views(
            list(selectors.personal_model_list_for_user(user=user))
        ),
        "refit": selectors.personal_refit_latest_for_user(user=user),
    }


@login_required
@require_GET
def personal_status(request: HttpRequest) -> HttpResponse:
    """The personal section alone (HTMX polls it while a refit runs)."""
    return render(request, "predictions/personal_models.html", personal_context(request.user))


@login_required
@require_POST
def personal_refit(request: HttpRequest) -> HttpResponse:
    services.personal_refit_request(user=request.user, reason="asked")
    messages.success(request, "Learning from your labels now; this page shows when it is done.")
    return redirect("agreement")


@login_required
@require_POST
def history_rescore(request: HttpRequest) -> HttpResponse:
    queued = services.history_rescore(user=request.user)
    if queued:
        messages.success(
            request,
            f"{queued} recording{'s are' if queued != 1 else ' is'} being scored again; each "
            "keeps its old results until the new ones are ready, then shows what changed.",
        )
    else:
        messages.info(request, "No recording to score again (none finished with its file kept).")
    return redirect("recordings")


@login_required
@require_POST
def personal_models_delete(request: HttpRequest) -> HttpResponse:
    deleted = services.personal_models_delete(user=request.user)
    if deleted:
        messages.success(
            request,
            "Your own models are deleted; your recordings are scored again by the general model.",
        )
    return redirect("account")
