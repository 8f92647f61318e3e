"""Recording pages: upload, the recording page with its chart, calibrate, annotate, the
agreement page; another person's recording is never shown or changed."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mlcore.plain_words import channel_set_words
from predictions.models import Annotation, Baseline, Recording
from predictions.tests.recordings.helpers import drive_file, run_recording_inline


@pytest.fixture
def logged_in(client, user, active_model):
    client.force_login(user)
    return client


def _upload(client, path, **fields):
    data = {"file": SimpleUploadedFile(path.name, path.read_bytes()), **fields}
    return client.post(reverse("recordings"), data)


def test_uploading_on_the_page_scores_it_and_shows_its_chart(logged_in, tmp_path):
    response = _upload(logged_in, drive_file(tmp_path), name="drive")
    assert response.status_code == 302
    recording = Recording.objects.get()
    assert response["Location"] == reverse("recording-detail", args=[recording.id])
    queued = logged_in.get(response["Location"])
    assert b'hx-trigger="every 1s"' in queued.content  # polls while it runs
    run_recording_inline(recording.id)
    page = logged_in.get(reverse("recording-detail", args=[recording.id]))
    body = page.content.decode()
    assert page.status_code == 200
    assert body.count('class="cell ') == Recording.objects.get().total_rows
    assert "uncalibrated" in body and 'href="#calibrate"' in body
    assert 'class="signal hr"' in body


def test_a_bad_file_on_the_page_says_why_and_keeps_nothing(logged_in, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    response = _upload(logged_in, empty)
    assert response.status_code == 400
    assert b"The file is empty." in response.content
    assert Recording.objects.count() == 0


def test_calibrating_and_annotating_on_the_page(logged_in, user, tmp_path):
    _upload(logged_in, drive_file(tmp_path))
    recording = run_recording_inline(Recording.objects.get().id)
    too_short = logged_in.post(
        reverse("recording-calibrate", args=[recording.id]),
        {"rest-start": "00:00", "rest-end": "02:00"},
    )
    assert too_short.status_code == 400 and b"at least 3 minutes" in too_short.content
    response = logged_in.post(
        reverse("recording-calibrate", args=[recording.id]),
        {"rest-start": "00:00", "rest-end": "03:00"},
    )
    assert response.status_code == 302
    recording = run_recording_inline(recording.id)
    assert recording.calibrated and Baseline.objects.filter(user=user, is_active=True).exists()
    outside = logged_in.post(
        reverse("recording-annotate", args=[recording.id]),
        {"label-start": "05:00", "label-end": "30:00", "label-level": "high"},
    )
    assert outside.status_code == 400 and b"outside the recording" in outside.content
    logged_in.post(
        reverse("recording-annotate", args=[recording.id]),
        {
            "label-start": "04:00",
            "label-end": "09:00",
            "label-level": "high",
            "label-note": "merging",
        },
    )
    assert Annotation.objects.get().note == "merging"
    agreement = html.unescape(logged_in.get(reverse("agreement")).content.decode())
    # Named by what the set is, never by its code.
    words = channel_set_words(recording.channel_set)
    assert "labelled window" in agreement and words[:1].upper() + words[1:] in agreement
    account = html.unescape(logged_in.get(reverse("account")).content.decode())
    assert "Your rest baselines" in account and words[:1].upper() + words[1:] in account


def test_another_persons_recording_pages_are_not_found(
    client, user, other_user, active_model, tmp_path
):
    client.force_login(other_user)
    _upload(client, drive_file(tmp_path))
    recording = run_recording_inline(Recording.objects.get().id)
    client.force_login(user)
    listed = client.get(reverse("recordings")).content.decode()
    assert reverse("recording-detail", args=[recording.id]) not in listed
    for method, name, data in (
        ("get", "recording-detail", None),
        ("get", "recording-windows", None),
        ("post", "recording-calibrate", {"rest-start": "00:00", "rest-end": "03:00"}),
        ("post", "recording-rescore", {}),
        ("post", "recording-cancel", {}),
        (
            "post",
            "recording-annotate",
            {"label-start": "00:00", "label-end": "01:00", "label-level": "low"},
        ),
        ("post", "recording-delete", {}),
    ):
        response = getattr(client, method)(reverse(name, args=[recording.id]), data)
        assert response.status_code == 404, name
    assert Recording.objects.filter(pk=recording.id).exists()
    assert Annotation.objects.count() == 0 and Baseline.objects.count() == 0


def test_the_windows_download_lists_every_window(logged_in, tmp_path):
    _upload(logged_in, drive_file(tmp_path))
    recording = run_recording_inline(Recording.objects.get().id)
    response = logged_in.get(reverse("recording-windows", args=[recording.id]))
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("window,window_start_s,window_end_s,measured_at,stress_level")
    assert len(lines) == recording.total_rows + 1


def test_recording_pages_need_a_login(client, db):
    response = client.get(reverse("recordings"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_stretch_of_the_timeline_can_be_labelled(logged_in, user):
    response = logged_in.post(
        reverse("timeline-annotate"),
        {
            "felt-starts_at": "2026-11-20T08:00",
            "felt-ends_at": "2026-11-20T09:00",
            "felt-level": "medium",
            "felt-note": "meeting",
        },
    )
    assert response.status_code == 302
    annotation = Annotation.objects.get(user=user)
    assert annotation.note == "meeting" and annotation.recording is None
    backwards = logged_in.post(
        reverse("timeline-annotate"),
        {
            "felt-starts_at": "2026-11-20T09:00",
            "felt-ends_at": "2026-11-20T08:00",
            "felt-level": "low",
        },
    )
    assert backwards.status_code == 302 and Annotation.objects.count() == 1
    assert "annotate-heading" in logged_in.get(reverse("timeline")).content.decode()


def test_a_calibrated_recording_keeps_why_each_window_scored_as_it_did(logged_in, tmp_path):
    _upload(logged_in, drive_file(tmp_path))
    recording = run_recording_inline(Recording.objects.get().id)
    logged_in.post(
        reverse("recording-calibrate", args=[recording.id]),
        {"rest-start": "00:00", "rest-end": "03:00"},
    )
    recording = run_recording_inline(recording.id)
    windows = list(recording.windows.order_by("row_number"))
    assert recording.calibrated and len(recording.window_details) == len(windows)
    directions = []
    for window, details in zip(windows, recording.window_details, strict=True):
        # The same columns as the API's contributions, each with its direction and share.
        assert {column for column, _, _ in details["why"]} == set(window.contributions)
        assert all(d in (-1, 0, 1) and 0 <= s <= 1 for _, d, s in details["why"])
        assert sum(s for _, _, s in details["why"]) <= 1 + 1e-6
        directions += [d for _, d, _ in details["why"]]
    assert any(directions)  # calibrated columns say which way they went against rest
    page = html.unescape(
        logged_in.get(reverse("recording-detail", args=[recording.id])).content.decode()
    )
    assert "What drove its highest moment" in page and "% of the result" in page
