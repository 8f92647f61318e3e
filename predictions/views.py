"""HTML pages (HTMX): thin doors onto the same services and selectors as the API.

One view, one template: when htmx asks (request.htmx), the view renders only the named
partial (`page.html#fragment`); without JavaScript the same view renders the whole page.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from predictions import exports, selectors, services
from predictions.charts import timeline_chart
from predictions.forms import HistoryFilterForm, ReadingForm, TimelineForm
from predictions.models import Source
from predictions.pagination import LookaheadPaginator
from predictions.presenters import (
    EXAMPLE_READINGS,
    EXAMPLE_WORDS,
    READING_SCALE_NOTE,
    USUAL_LOOKBACK_DAYS,
    USUAL_MIN_DAYS,
    reading_guide,
    reading_reasons,
    result_summary,
)
from predictions.recordings.forms import MomentAnnotateForm
from stressapp.errors import ApplicationError

HISTORY_PAGE_SIZE = 25


def _tz(request: HttpRequest) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(request.user.time_zone)


def _today_start(request: HttpRequest) -> datetime:
    tz = _tz(request)
    return datetime.combine(timezone.now().astimezone(tz).date(), time.min, tzinfo=tz)


def _own_rest(prediction: Any) -> dict[str, float] | None:
    """The means of the five-number baseline a calibrated reading was scored against."""
    if not prediction.calibrated:
        return None
    baseline = services.five_number_baseline_for(user_id=prediction.user_id)
    return baseline.to_dict()["mean"] if baseline is not None else None


def _result_context(prediction: Any) -> dict[str, Any]:
    probabilities = prediction.probabilities
    return {
        "prediction": prediction,
        "result": result_summary(probabilities),
        "bars": [(level, probabilities[level]) for level in ("low", "medium", "high")],
        "reasons": reading_reasons(prediction, _own_rest(prediction)),
    }


def _recent_context(request: HttpRequest) -> dict[str, Any]:
    """Today against the person's usual, weekly trends and the latest results: the
    dashboard's lower half."""
    return {
        "board": selectors.dashboard_for_user(user=request.user, now=timezone.now()),
        "usual_min_days": USUAL_MIN_DAYS,
        "usual_lookback_days": USUAL_LOOKBACK_DAYS,
        "latest": selectors.prediction_list_for_user(user=request.user)[:5],
    }


def _reading_form(request: HttpRequest) -> ReadingForm:
    """The posted form; on a GET, empty or filled with the example asked for (?example=)."""
    guide = reading_guide(selectors.model_version_active_mapping())
    if request.method == "POST":
        return ReadingForm(request.POST, guide=guide)
    example = EXAMPLE_READINGS.get(request.GET.get("example", ""))
    return ReadingForm(initial=example, guide=guide)


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "landing.html")
    form = _reading_form(request)
    context: dict[str, Any] = {
        "form": form,
        "examples": EXAMPLE_WORDS,
        "scale_note": READING_SCALE_NOTE,
    }
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                prediction = services.prediction_create(
                    user=request.user, reading=form.to_reading(), source=Source.WEB
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                # The form keeps what was entered, beside the result it gave.
                context.update(_result_context(prediction))
        else:
            status = 400
    if request.htmx and (request.method == "POST" or "example" in request.GET):
        # The result and the form; the summary below refreshes itself. The fragment is
        # delivered as asked (200) even when it shows the form's errors: they are in the
        # page, and a browser logs every 4xx as a console error.
        response = render(request, "predictions/dashboard.html#reading", context)
        if request.method == "POST" and status == 200:
            trigger_client_event(response, "reading-saved")
        return response
    context.update(_recent_context(request))
    return render(request, "predictions/dashboard.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def dashboard_recent(request: HttpRequest) -> HttpResponse:
    """Today's summary and the latest readings, re-fetched after a reading is saved."""
    return render(request, "predictions/dashboard.html#recent", _recent_context(request))


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET"])
def timeline(request: HttpRequest) -> HttpResponse:
    form = TimelineForm(request.GET or None)
    start, end, choice = form.to_window(_tz(request), timezone.now())
    rows = selectors.prediction_timeline_for_user(user=request.user, start=start, end=end)
    context = {
        "form": form,
        "choice": choice,
        "start": start,
        "end": end,
        "chart": timeline_chart(rows, start, end, _tz(request)) if rows else None,
        "count": len(rows),
        "annotate_form": MomentAnnotateForm(),
        "days": selectors.prediction_days_for_user(user=request.user, start=start, end=end),
    }
    template = "predictions/timeline.html#panel" if request.htmx else "predictions/timeline.html"
    return render(request, template, context)


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET"])
def history(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET or None)
    queryset = selectors.prediction_list_for_user(
        user=request.user, filters=form.to_filters(_tz(request))
    )
    number = request.GET.get("page")
    page = LookaheadPaginator(queryset, HISTORY_PAGE_SIZE, number).get_page(number)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    template = "predictions/history.html#table" if request.htmx else "predictions/history.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET"])
def history_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered history as CSV, streamed row by row (never built in memory)."""
    form = HistoryFilterForm(request.GET or None)
    return exports.history_csv_response(user=request.user, filters=form.to_filters(_tz(request)))


@login_required
@require_http_methods(["GET"])
def account_export(request: HttpRequest, file_format: str) -> StreamingHttpResponse:
    """All of my data, streamed: CSV (the readings) or JSON (profile, tokens, readings)."""
    return exports.account_export_response(user=request.user, file_format=file_format)


@login_required
@require_http_methods(["GET"])
def account_export_standard(request: HttpRequest, standard: str) -> StreamingHttpResponse:
    """My results as health-data standards: FHIR R4 or Open mHealth JSON."""
    return exports.standard_export_response(
        user=request.user, standard=standard, base_url=request.build_absolute_uri("/")
    )


@login_required
@require_http_methods(["GET"])
def annotations_export(request: HttpRequest, file_format: str) -> StreamingHttpResponse:
    """My labels of how I felt, CSV or JSON."""
    return exports.annotations_export_response(user=request.user, file_format=file_format)


@login_required
@require_http_methods(["GET", "POST"])
def prediction_delete(request: HttpRequest, prediction_id: int) -> HttpResponse:
    """GET asks for confirmation (the no-JavaScript path); POST deletes."""
    prediction = selectors.prediction_get_for_user(user=request.user, prediction_id=prediction_id)
    if request.method == "GET":
        return render(request, "predictions/confirm_delete.html", {"prediction": prediction})
    services.prediction_delete(prediction=prediction)
    if request.htmx:
        return HttpResponse("")  # the row swaps itself out
    messages.success(request, "Reading deleted.")
    return redirect("history")
