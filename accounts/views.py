"""Account pages: sign-up, preferences and API tokens. (The data export lives with the data,
in predictions.)"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import DeleteAccountForm, SignUpForm, TimeZoneForm, TokenCreateForm
from accounts.selectors import api_token_get_for_user, api_token_list_for_user
from accounts.services import (
    api_token_create,
    api_token_revoke,
    user_create,
    user_delete,
    user_update_time_zone,
)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = user_create(
            username=data["username"],
            email=data["email"],
            password=data["password1"],
            time_zone=data["time_zone"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Record your first reading below.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


def _account_context(request: HttpRequest, **extra: object) -> dict[str, object]:
    return {
        "time_zone_form": TimeZoneForm(initial={"time_zone": request.user.time_zone}),
        "token_form": TokenCreateForm(),
        "tokens": api_token_list_for_user(user=request.user),
        "delete_form": DeleteAccountForm(user=request.user),
        **extra,
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = TimeZoneForm(request.POST)
        if form.is_valid():
            user_update_time_zone(user=request.user, time_zone=form.cleaned_data["time_zone"])
            messages.success(request, "Time zone saved.")
            return redirect("account")
        return render(
            request, "accounts/account.html", _account_context(request, time_zone_form=form)
        )
    return render(request, "accounts/account.html", _account_context(request))


@never_cache  # the page holds the webhook signing secret: no cache may keep it
@login_required
@require_http_methods(["GET"])
def integrations(request: HttpRequest) -> HttpResponse:
    """For whoever connects a device or a pipeline: the batch callbacks' signing secret. It
    lives here, not on the account page, so it is not on a screen a person opens every day."""
    return render(request, "accounts/integrations.html")


@never_cache  # the response shows a secret once: no cache may keep it
@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return render(
            request, "accounts/account.html", _account_context(request, token_form=form), status=400
        )
    days = form.cleaned_data.get("expires_in_days")
    issued = api_token_create(
        user=request.user,
        name=form.cleaned_data["name"],
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    # The secret is rendered in this response only; it is never stored or shown again.
    return render(request, "accounts/account.html", _account_context(request, new_token=issued))


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = api_token_get_for_user(user=request.user, token_id=token_id)
    api_token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("account")


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        user_delete(user=user)
        messages.success(request, "Your account and all your data have been deleted.")
        return redirect("home")
    return render(
        request,
        "accounts/delete_account.html",
        {"form": form},
        status=400 if form.errors else 200,
    )
