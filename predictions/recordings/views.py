"""Recording pages (HTMX): thin doors onto predictions.recordings' services and selectors."""

from __future__ import annotations

import statistics
import zoneinfo
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from predictions.exports import csv_lines
from predictions.models import Recording
from predictions.personal.presenters import change_summary
from predictions.personal.views import personal_context
from predictions.recordings import selectors, services
from predictions.recordings.baselines import baseline_deactivate as baseline_deactivate_service
from predictions.recordings.baselines import five_number_baseline_set
from predictions.recordings.charts import UNSCORED_REASONS, recording_chart
from predictions.recordings.forms import (
    AnnotateForm,
    CalibrateForm,
    FiveNumberBaselineForm,
    MomentAnnotateForm,
    RecordingUploadForm,
    clock_text,
)
from predictions.selectors import model_version_active_id
from stressapp.errors import ApplicationError


def _own(request: HttpRequest, recording_id: Any) -> Recording:
    return selectors.recording_get_for_user(user=request.user, recording_id=recording_id)


def _to_page(request: HttpRequest, recording: Recording) -> HttpResponse:
    url = recording_url(recording)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def recording_url(recording: Recording) -> str:
    return reverse("recording-detail", args=[recording.id])


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def recordings(request: HttpRequest) -> HttpResponse:
    with timezone.override(zoneinfo.ZoneInfo(request.user.time_zone)):
        # A typed start time is the person's wall clock.
        form = RecordingUploadForm(request.POST or None, request.FILES or None)
        valid = request.method == "POST" and form.is_valid()
    if valid:
        upload = form.cleaned_data["file"]
        try:
            recording, _ = services.recording_submit(
                user=request.user,
                chunks=upload.chunks(),
                filename=upload.name or "",
                name=form.cleaned_data.get("name") or "",
                rest=form.rest(),
                started_at=form.cleaned_data.get("started_at"),
            )
        except ApplicationError as exc:
            field = {"rest": "rest_start", "started_at": "started_at"}.get(exc.field, "file")
            form.add_error(field, exc.message)
        else:
            messages.success(request, f"Uploaded {recording.name}; scoring has started.")
            return _to_page(request, recording)
    return render(
        request,
        "predictions/recordings.html",
        {
            "form": form,
            "recordings": selectors.recording_list_for_user(user=request.user, limit=100),
            **RecordingUploadForm.limits(),
        },
        # htmx swaps the page with the form's errors in (200); without it, a plain 400.
        status=400 if form.errors and not request.htmx else 200,
    )


def _device_stress(recording: Recording) -> dict[str, float] | None:
    """The device's own stress score over the recording (a Garmin watch's 0-100), if any."""
    values = [value for _, value in recording.device_reports.get("device_stress", [])]
    if not values:
        return None
    return {"median": statistics.median(values), "high": max(values), "count": len(values)}


def _detail_context(request: HttpRequest, recording: Recording, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "recording": recording,
        "calibrate_form": CalibrateForm(),
        "annotate_form": AnnotateForm(),
        "duration": clock_text(recording.duration_s),
        # Scored again: the old results stay on the page until the new ones are stored.
        "rescoring": not recording.is_finished and recording.total_rows,
        "change": change_summary(recording.last_change),
        "older_model": recording.is_finished
        and recording.model_version_id is not None
        and recording.model_version_id != model_version_active_id(),
        **extra,
    }
    if recording.status == "succeeded" or context["rescoring"]:
        windows = list(
            selectors.recording_windows(recording=recording).values(
                "window_start_s",
                "window_end_s",
                "stress_level",
                "confidence",
                "probability_low",
                "probability_medium",
                "probability_high",
            )
        )
        annotations = list(
            selectors.annotation_list_for_user(user=request.user, recording=recording)
        )
        baseline = recording.baseline
        rest = (
            (baseline.start_s, baseline.end_s)
            if baseline is not None and baseline.recording_id == recording.id
            else None
        )
        context.update(
            {
                "chart": recording_chart(
                    traces=recording.traces,
                    windows=[
                        {
                            "start_s": w["window_start_s"],
                            "end_s": w["window_end_s"],
                            "level": w["stress_level"],
                            "confidence": w["confidence"],
                            "probabilities": {
                                level: w[f"probability_{level}"]
                                for level in ("low", "medium", "high")
                            },
                        }
                        for w in windows
                    ],
                    duration_s=recording.duration_s,
                    stride_s=recording.stride_s or 30.0,
                    starts_at=recording.starts_at,
                    channels=recording.channels,
                    rest=rest,
                    unscored=recording.unscored_windows,
                    annotations=[
                        {
                            "starts_at": a.starts_at,
                            "ends_at": a.ends_at,
                            "level": a.level,
                            "note": a.note,
                        }
                        for a in annotations
                    ],
                ),
                "time_in_level": selectors.recording_time_in_level(recording=recording),
                "annotations": annotations,
                "window_count": len(windows),
                "device_stress": _device_stress(recording),
                # The first note of an uncalibrated recording says so; the Baseline row does.
                "scoring_notes": recording.notes[0 if recording.calibrated else 1 :],
                "unscored_count": {
                    reason: sum(1 for w in recording.unscored_windows if w["reason"] == reason)
                    for reason in UNSCORED_REASONS
                },
            }
        )
    return context


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET"])
def recording_detail(request: HttpRequest, recording_id: Any) -> HttpResponse:
    recording = _own(request, recording_id)
    if request.htmx and request.GET.get("part") == "status":
        # Polled while it runs; once it has ended the whole page is fetched again.
        if recording.is_finished:
            return HttpResponseClientRedirect(recording_url(recording))
        return render(
            request,
            "predictions/recording_detail.html#status",
            _detail_context(request, recording),
        )
    return render(request, "predictions/recording_detail.html", _detail_context(request, recording))


def _form_failed(
    request: HttpRequest, recording: Recording, name: str, form: Any, exc: ApplicationError | None
) -> HttpResponse:
    if exc is not None:
        form.add_error(None, exc.message)
    return render(
        request,
        "predictions/recording_detail.html",
        _detail_context(request, recording, **{name: form}),
        status=exc.status_code if exc is not None else 400,
    )


@login_required
@require_POST
def recording_calibrate(request: HttpRequest, recording_id: Any) -> HttpResponse:
    recording = _own(request, recording_id)
    form = CalibrateForm(request.POST)
    if not form.is_valid():
        return _form_failed(request, recording, "calibrate_form", form, None)
    try:
        recording = services.recording_calibrate(recording=recording, rest=form.rest())
    except ApplicationError as exc:
        return _form_failed(request, recording, "calibrate_form", form, exc)
    messages.success(request, "Learning your rest from that range, then scoring again.")
    return _to_page(request, recording)


@login_required
@require_POST
def recording_rescore(request: HttpRequest, recording_id: Any) -> HttpResponse:
    recording = _own(request, recording_id)
    try:
        recording = services.recording_rescore(recording=recording)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Scoring again with your active baseline.")
    return _to_page(request, recording)


@login_required
@require_POST
def recording_cancel(request: HttpRequest, recording_id: Any) -> HttpResponse:
    recording = services.recording_cancel(recording=_own(request, recording_id))
    return _to_page(request, recording)


@login_required
@require_POST
def recording_delete(request: HttpRequest, recording_id: Any) -> HttpResponse:
    recording = _own(request, recording_id)
    services.recording_delete(recording=recording)
    messages.success(request, f"Deleted {recording.name} and its windows.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("recordings"))
    return redirect("recordings")


@login_required
@require_POST
def recording_annotate(request: HttpRequest, recording_id: Any) -> HttpResponse:
    recording = _own(request, recording_id)
    form = AnnotateForm(request.POST)
    if not form.is_valid():
        return _form_failed(request, recording, "annotate_form", form, None)
    starts_at, ends_at = form.moments(recording.starts_at)
    try:
        services.annotation_create(
            user=request.user,
            recording=recording,
            starts_at=starts_at,
            ends_at=ends_at,
            level=form.cleaned_data["level"],
            note=form.cleaned_data.get("note") or "",
        )
    except ApplicationError as exc:
        return _form_failed(request, recording, "annotate_form", form, exc)
    messages.success(request, "Saved how you felt.")
    return _to_page(request, recording)


@login_required
@require_POST
def annotation_delete(request: HttpRequest, annotation_id: int) -> HttpResponse:
    annotation = selectors.annotation_get_for_user(user=request.user, annotation_id=annotation_id)
    recording = annotation.recording
    services.annotation_delete(annotation=annotation)
    if recording is not None:
        return _to_page(request, recording)
    return redirect("agreement")


@login_required
@require_http_methods(["GET"])
def recording_windows_csv(request: HttpRequest, recording_id: Any) -> StreamingHttpResponse:
    recording = _own(request, recording_id)
    response = StreamingHttpResponse(
        csv_lines(
            selectors.window_export_header(),
            selectors.recording_window_rows(recording=recording),
        ),
        content_type="text/csv",
    )
    response["Content-Disposition"] = f'attachment; filename="windows-{recording.id}.csv"'
    return response


@login_required
@require_http_methods(["GET"])
def agreement(request: HttpRequest) -> HttpResponse:
    """How well it knows you: the model's windows against your own labels."""
    return render(
        request,
        "predictions/agreement.html",
        {
            "agreements": selectors.agreement_for_user(user=request.user),
            "annotations": selectors.annotation_list_for_user(user=request.user, limit=50),
            **personal_context(request.user),
        },
    )


@login_required
@require_POST
def baseline_deactivate(request: HttpRequest, baseline_id: int) -> HttpResponse:
    baseline = selectors.baseline_get_for_user(user=request.user, baseline_id=baseline_id)
    baseline_deactivate_service(baseline=baseline)
    messages.success(request, "Baseline switched off; new recordings are scored uncalibrated.")
    return redirect("account")


def _form_in_user_zone(request: HttpRequest, form_class: type) -> Any:
    """The posted form, its times read in the person's zone; None (with the errors as a
    message) when it is invalid."""
    with timezone.override(zoneinfo.ZoneInfo(request.user.time_zone)):
        form = form_class(request.POST)
        valid = form.is_valid()
    if valid:
        return form
    messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return None


@login_required
@require_POST
def baseline_five_number(request: HttpRequest) -> HttpResponse:
    """Typed readings taken at rest become the five-number baseline."""
    form = _form_in_user_zone(request, FiveNumberBaselineForm)
    if form is None:
        return redirect("account")
    try:
        five_number_baseline_set(
            user=request.user, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Your typed readings are now scored against your rest.")
    return redirect("account")


@login_required
@require_POST
def timeline_annotate(request: HttpRequest) -> HttpResponse:
    """Mark a stretch of the timeline with how I felt (no recording needed)."""
    form = _form_in_user_zone(request, MomentAnnotateForm)
    if form is None:
        return redirect("timeline")
    try:
        services.annotation_create(
            user=request.user,
            starts_at=form.cleaned_data["starts_at"],
            ends_at=form.cleaned_data.get("ends_at"),
            level=form.cleaned_data["level"],
            note=form.cleaned_data.get("note") or "",
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "Saved how you felt."
            if form.cleaned_data.get("ends_at")
            else "Episode started: the next one you mark ends it.",
        )
    return redirect("timeline")
