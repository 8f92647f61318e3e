"""HTML pages (HTMX): thin doors onto the same services and selectors as the API.

One view, one template: when htmx asks (request.htmx), the view renders only the named
partial (`page.html#fragment`); without JavaScript the same view renders the whole page.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from predictions import batch_services, selectors, services
from predictions.batchfiles import BatchFileError
from predictions.exports import batch_results_response, csv_lines
from predictions.forms import (
    TIMELINE_RANGES,
    BatchUploadForm,
    HistoryFilterForm,
    ReadingForm,
    TimelineForm,
)
from predictions.ml import ModelUnavailable
from predictions.models import BatchJob, Source
from predictions.presenters import explanation_sentences, timeline_chart

HISTORY_PAGE_SIZE = 25


def _tz(request: HttpRequest) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(request.user.time_zone)


def _today_start(request: HttpRequest) -> datetime:
    tz = _tz(request)
    return datetime.combine(timezone.now().astimezone(tz).date(), time.min, tzinfo=tz)


def _result_context(prediction: Any) -> dict[str, Any]:
    probabilities = prediction.probabilities
    return {
        "prediction": prediction,
        "bars": [(level, probabilities[level]) for level in ("low", "medium", "high")],
        "reasons": explanation_sentences(prediction.contributions, prediction.stress_level),
    }


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "landing.html")
    form = ReadingForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                prediction = services.prediction_create(
                    user=request.user, reading=form.to_reading(), source=Source.WEB
                )
            except ModelUnavailable:
                form.add_error(None, "The model is not available right now; try again shortly.")
                status = 503
            else:
                context.update(_result_context(prediction))
                form = ReadingForm()  # ready for the next reading
                context["form"] = form
        else:
            status = 400
        if request.htmx:
            # The result and a fresh (or annotated) form; the summary below refreshes itself.
            response = render(request, "predictions/dashboard.html#reading", context, status=status)
            if status == 200:
                response["HX-Trigger"] = "reading-saved"
            return response
    today = selectors.prediction_summary_for_user(
        user=request.user, start=_today_start(request), end=None
    )
    context.update(
        {
            "today": today[0] if today else None,
            "latest": selectors.prediction_list_for_user(user=request.user)[:5],
        }
    )
    return render(request, "predictions/dashboard.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def dashboard_recent(request: HttpRequest) -> HttpResponse:
    """Today's summary and the latest readings, re-fetched after a reading is saved."""
    today = selectors.prediction_summary_for_user(
        user=request.user, start=_today_start(request), end=None
    )
    return render(
        request,
        "predictions/dashboard.html#recent",
        {
            "today": today[0] if today else None,
            "latest": selectors.prediction_list_for_user(user=request.user)[:5],
        },
    )


def _timeline_window(request: HttpRequest, form: TimelineForm) -> tuple[datetime, datetime, str]:
    now = timezone.now()
    choice = (form.cleaned_data.get("range") if form.is_valid() else None) or "7d"
    if choice == "custom" and form.is_valid():
        tz = _tz(request)
        start = datetime.combine(form.cleaned_data["start"], time.min, tzinfo=tz)
        end = datetime.combine(form.cleaned_data["end"], time.min, tzinfo=tz) + timedelta(days=1)
        return start, end, choice
    return now - TIMELINE_RANGES.get(choice, TIMELINE_RANGES["7d"]), now, choice


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET"])
def timeline(request: HttpRequest) -> HttpResponse:
    form = TimelineForm(request.GET or None)
    start, end, choice = _timeline_window(request, form)
    rows = selectors.prediction_timeline_for_user(user=request.user, start=start, end=end)
    context = {
        "form": form,
        "choice": choice,
        "start": start,
        "end": end,
        "chart": timeline_chart(rows, start, end, _tz(request)) if rows else None,
        "count": len(rows),
        "days": list(
            reversed(
                selectors.prediction_summary_for_user(
                    user=request.user, start=start, end=end, bucket="day"
                )
            )
        ),
    }
    template = "predictions/timeline.html#panel" if request.htmx else "predictions/timeline.html"
    return render(request, template, context)


def _history_filters(request: HttpRequest, form: HistoryFilterForm) -> selectors.HistoryFilters:
    if not form.is_valid():
        return selectors.HistoryFilters()
    data, tz = form.cleaned_data, _tz(request)
    return selectors.HistoryFilters(
        start=datetime.combine(data["start"], time.min, tzinfo=tz) if data.get("start") else None,
        end=(
            datetime.combine(data["end"], time.min, tzinfo=tz) + timedelta(days=1)
            if data.get("end")
            else None
        ),
        level=data.get("level") or None,
        source=data.get("source") or None,
    )


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET"])
def history(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET or None)
    queryset = selectors.prediction_list_for_user(
        user=request.user, filters=_history_filters(request, form)
    )
    page = Paginator(queryset, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
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
    rows = selectors.prediction_export_rows(
        user=request.user, filters=_history_filters(request, form)
    )
    response = StreamingHttpResponse(
        csv_lines(selectors.export_header(), rows), content_type="text/csv"
    )
    response["Content-Disposition"] = 'attachment; filename="stress-history.csv"'
    return response


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


def _own_job(request: HttpRequest, job_id: Any) -> BatchJob:
    return selectors.batch_job_get_for_user(user=request.user, job_id=job_id)


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def jobs(request: HttpRequest) -> HttpResponse:
    form = BatchUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job, _ = batch_services.batch_job_submit(
                user=request.user,
                chunks=upload.chunks(),
                filename=upload.name or "",
                content_type=upload.content_type or "",
            )
        except (BatchFileError, batch_services.PayloadTooLarge) as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(request, f"Uploaded {job.total_rows:,} rows; scoring has started.")
            if request.htmx:
                return HttpResponseClientRedirect(request.path)
            return redirect("jobs")
    job_list = selectors.batch_job_list_for_user(user=request.user, limit=50)
    return render(
        request,
        "predictions/jobs.html",
        {"form": form, "jobs": job_list},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET"])
def job_progress(request: HttpRequest, job_id: Any) -> HttpResponse:
    """One job's row; while it runs the row asks for itself again, so polling stops by
    itself once the job has ended."""
    return render(request, "predictions/jobs.html#job-row", {"job": _own_job(request, job_id)})


@login_required
@require_http_methods(["GET"])
def job_detail(request: HttpRequest, job_id: Any) -> HttpResponse:
    return render(request, "predictions/job_detail.html", {"job": _own_job(request, job_id)})


@login_required
@require_POST
def job_cancel(request: HttpRequest, job_id: Any) -> HttpResponse:
    job = batch_services.batch_job_cancel(job=_own_job(request, job_id))
    if request.htmx:
        return render(request, "predictions/jobs.html#job-row", {"job": job})
    return redirect("jobs")


@login_required
@require_http_methods(["GET"])
def job_results(request: HttpRequest, job_id: Any) -> HttpResponse:
    job = _own_job(request, job_id)
    download = batch_services.batch_job_results(job=job) if job.is_finished else None
    if download is None:
        raise Http404("No results to download (yet).")
    return batch_results_response(download, job)
