"""Recordings through the API: upload, process, windows, calibrate, annotate; other users and
bad input refused, nothing stored for a rejected upload."""

import pytest

from predictions.models import Annotation, Baseline, Prediction, Recording
from predictions.tests.recordings.helpers import (
    drive_file,
    run_recording_inline,
    upload_recording,
)
from stressapp.tests.support import assert_error


def test_it_scores_an_uploaded_edf_window_by_window(token_client, user, tmp_path):
    response = upload_recording(token_client, drive_file(tmp_path), name="commute")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["file_format"] == "edf"
    assert {c["role"] for c in body["channels"]} >= {"hr", "gsr", "resp"}
    recording = run_recording_inline(body["id"])
    assert recording.status == "succeeded", recording.error
    windows = token_client.get(f"/api/recordings/{body['id']}/windows").json()
    assert len(windows) == recording.total_rows > 0
    assert {w["source"] for w in windows} == {"recording"}
    assert all(w["inputs"] is None and w["recording"] == body["id"] for w in windows)
    assert not recording.calibrated and recording.notes  # says it is uncalibrated
    history = token_client.get("/api/predictions", {"source": "recording"}).json()["results"]
    assert len(history) == len(windows)


def test_calibrating_makes_a_baseline_and_scores_against_it(token_client, user, tmp_path):
    recording_id = upload_recording(token_client, drive_file(tmp_path)).json()["id"]
    run_recording_inline(recording_id)
    response = token_client.post(
        "/api/baselines",
        {"recording": recording_id, "start_s": 0, "end_s": 180},
        format="json",
    )
    assert response.status_code == 202, response.content
    recording = run_recording_inline(recording_id)
    assert recording.calibrated and recording.baseline is not None
    baseline = Baseline.objects.get(user=user, is_active=True)
    assert (baseline.start_s, baseline.end_s) == (0, 180)
    assert Prediction.objects.filter(recording_id=recording_id).count() == recording.total_rows
    # A new recording of the same kind uses the active baseline from the start.
    second = upload_recording(token_client, drive_file(tmp_path, start_s=900)).json()
    assert run_recording_inline(second["id"]).calibrated


def test_an_upload_with_a_rest_range_is_calibrated(token_client, tmp_path):
    body = upload_recording(
        token_client, drive_file(tmp_path), rest_start_s=0, rest_end_s=180
    ).json()
    assert run_recording_inline(body["id"]).calibrated


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"rest_start_s": 0, "rest_end_s": 120}, "rest"),  # shorter than 3 minutes
        ({"rest_start_s": 500, "rest_end_s": 900}, "rest"),  # outside the 600 s recording
        ({"rest_start_s": 0}, "rest_end_s"),
    ],
)
def test_a_bad_rest_range_is_refused_and_nothing_kept(token_client, tmp_path, fields, field):
    response = upload_recording(token_client, drive_file(tmp_path), **fields)
    assert field in assert_error(response, 400, "validation_error")["details"]
    assert Recording.objects.count() == 0


def test_empty_and_truncated_files_are_refused(token_client, tmp_path):
    empty = tmp_path / "empty.edf"
    empty.write_bytes(b"")
    body = assert_error(upload_recording(token_client, empty), 400, "validation_error")
    assert body["details"]["reason"] == "empty"
    edf = drive_file(tmp_path)
    truncated = tmp_path / "truncated.edf"
    truncated.write_bytes(edf.read_bytes()[:4000])
    body = assert_error(upload_recording(token_client, truncated), 400, "validation_error")
    assert body["details"]["reason"] == "truncated"
    assert Recording.objects.count() == 0


def test_another_users_recording_is_not_found(token_client, other_token_client, tmp_path):
    recording_id = upload_recording(other_token_client, drive_file(tmp_path)).json()["id"]
    run_recording_inline(recording_id)
    assert token_client.get("/api/recordings").json() == []
    for response in (
        token_client.get(f"/api/recordings/{recording_id}"),
        token_client.get(f"/api/recordings/{recording_id}/windows"),
        token_client.post(f"/api/recordings/{recording_id}/cancel"),
        token_client.post(f"/api/recordings/{recording_id}/rescore"),
        token_client.delete(f"/api/recordings/{recording_id}"),
        token_client.post(
            "/api/baselines",
            {"recording": recording_id, "start_s": 0, "end_s": 180},
            format="json",
        ),
        token_client.get("/api/annotations", {"recording": recording_id}),
    ):
        assert_error(response, 404, "not_found")
    assert Recording.objects.get(pk=recording_id).status == "succeeded"
    assert Baseline.objects.count() == 0


def test_annotations_inside_a_recording_are_kept_and_outside_refused(token_client, tmp_path):
    body = upload_recording(token_client, drive_file(tmp_path)).json()
    recording = run_recording_inline(body["id"])
    start = recording.starts_at
    inside = {
        "recording": body["id"],
        "starts_at": (start.replace(microsecond=0)).isoformat(),
        "ends_at": (
            start.replace(microsecond=0) + __import__("datetime").timedelta(minutes=5)
        ).isoformat(),
        "level": "high",
        "note": "traffic",
    }
    created = token_client.post("/api/annotations", inside, format="json")
    assert created.status_code == 201, created.content
    outside = {**inside, "ends_at": (start + __import__("datetime").timedelta(hours=2)).isoformat()}
    assert_error(token_client.post("/api/annotations", outside, format="json"), 400)
    assert Annotation.objects.count() == 1
    listed = token_client.get("/api/annotations", {"recording": body["id"]}).json()
    assert [a["note"] for a in listed] == ["traffic"]
    annotation_id = listed[0]["id"]
    assert token_client.delete(f"/api/annotations/{annotation_id}").status_code == 204
    assert Annotation.objects.count() == 0


def test_deleting_a_recording_removes_its_windows(token_client, tmp_path):
    recording_id = upload_recording(token_client, drive_file(tmp_path)).json()["id"]
    run_recording_inline(recording_id)
    assert Prediction.objects.filter(recording_id=recording_id).exists()
    assert token_client.delete(f"/api/recordings/{recording_id}").status_code == 204
    assert not Prediction.objects.filter(recording_id=recording_id).exists()


@pytest.mark.django_db
def test_recordings_require_credentials(api_client):
    assert_error(api_client.get("/api/recordings"), 401)
    assert_error(api_client.get("/api/annotations"), 401)


def _rows(seconds: float = 600.0):
    from mlcore import drivedb
    from mlcore.tests.recording_files import drive_slice

    return drive_slice(drivedb.load_drive("drive06"), 60.0, seconds)


def test_a_zip_that_unpacks_past_the_limit_is_refused(token_client, tmp_path, settings):
    from mlcore.tests.recording_files import zip_files

    settings.RECORDING_MAX_UNCOMPRESSED_BYTES = 1_000_000
    big = tmp_path / "EDA.csv"  # a member an E4 export is read from
    big.write_bytes(b"0" * 5_000_000)
    archive = zip_files(tmp_path / "bomb.zip", [big])
    body = assert_error(upload_recording(token_client, archive), 413, "payload_too_large")
    assert "unpack" in body["message"] or "limit" in body["message"]
    assert Recording.objects.count() == 0


def test_a_csv_with_an_irregular_time_column_is_refused(token_client, tmp_path):
    from mlcore.tests.recording_files import write_csv

    gapped = _rows()
    gapped[2000:, 0] += 12.0
    path = write_csv(tmp_path / "gap.csv", gapped)
    body = assert_error(upload_recording(token_client, path), 400, "validation_error")
    assert body["details"]["reason"] == "irregular_time"
    assert Recording.objects.count() == 0


def test_a_file_of_only_unknown_channels_is_refused(token_client, tmp_path):
    from mlcore.tests.recording_files import write_csv

    path = write_csv(tmp_path / "unknown.csv", _rows()[:, :3], header="time,foo,bar")
    body = assert_error(upload_recording(token_client, path), 400, "validation_error")
    assert body["details"]["reason"] == "no_usable_channel" and "foo" in body["message"]
    assert Recording.objects.count() == 0


def test_more_than_24_hours_is_refused(token_client, tmp_path):
    import numpy as np

    from mlcore.tests.recording_files import write_csv

    seconds = np.arange(0, 24 * 3600 + 600, 1.0)
    hr = 70 + 5 * np.sin(seconds / 100.0)
    path = write_csv(tmp_path / "long.csv", np.column_stack([seconds, hr]), header="time,HR")
    body = assert_error(upload_recording(token_client, path), 400, "validation_error")
    assert body["details"]["reason"] == "too_long"
    assert Recording.objects.count() == 0


def test_the_same_idempotency_key_returns_the_same_recording(token_client, tmp_path):
    path = drive_file(tmp_path)
    first = upload_recording(token_client, path, headers={"Idempotency-Key": "rec-1"})
    again = upload_recording(token_client, path, headers={"Idempotency-Key": "rec-1"})
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"] and Recording.objects.count() == 1
    other = drive_file(tmp_path, start_s=900)
    assert_error(
        upload_recording(token_client, other, headers={"Idempotency-Key": "rec-1"}),
        409,
        "idempotency_conflict",
    )
