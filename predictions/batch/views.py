"""The batch jobs' pages (/jobs/): upload a file, watch it, cancel it, download its results.
Thin doors onto predictions.batch.jobs, like the API's."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from predictions import exports, selectors
from predictions.batch import jobs as batch_jobs
from predictions.batch.rows import CSV_HEADER_TEXT
from predictions.forms import BatchUploadForm
from predictions.models import BatchJob
from stressapp.errors import ApplicationError


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
            job, _ = batch_jobs.batch_job_submit(
                user=request.user,
                chunks=upload.chunks(),
                filename=upload.name or "",
                content_type=upload.content_type or "",
            )
        except ApplicationError as exc:
            form.add_error("file", exc.message)
        else:
            messages.success(request, f"Uploaded {job.total_rows:,} rows; scoring has started.")
            if request.htmx:
                return HttpResponseClientRedirect(request.path)
            return redirect("jobs")
    job_list = selectors.batch_job_list_for_user(user=request.user, limit=50)
    return render(
        request,
        "predictions/jobs.html",
        {
            "form": form,
            "jobs": job_list,
            "max_rows": settings.BATCH_MAX_ROWS,
            "csv_header": CSV_HEADER_TEXT,
        },
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
    job = batch_jobs.batch_job_cancel(job=_own_job(request, job_id))
    if request.htmx:
        return render(request, "predictions/jobs.html#job-row", {"job": job})
    return redirect("jobs")


@login_required
@require_http_methods(["GET"])
def job_results(request: HttpRequest, job_id: Any) -> HttpResponse:
    job = _own_job(request, job_id)
    try:
        download = batch_jobs.batch_job_results(job=job)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    return exports.batch_results_response(download)
