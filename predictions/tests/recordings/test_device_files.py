"""What people's devices export, through the API (issue 19): a chest strap's ECG, a pulse
wave under a heart-rate name, a flat minute, movement, and when a recording started."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from mlcore import drivedb
from mlcore.tests.recording_files import drive_slice, write_csv
from predictions.models import Baseline
from predictions.tests.recordings.helpers import (
    chest_strap_csv,
    run_recording_inline,
    upload_recording,
)
from stressapp.tests.support import assert_error

pytestmark = pytest.mark.django_db


def test_an_ecg_only_file_is_scored_with_heart_rate_from_its_ecg(
    token_client, active_model, tmp_path
):
    response = upload_recording(token_client, chest_strap_csv(tmp_path))
    assert response.status_code == 202, response.content
    body = response.json()
    assert [c["role"] for c in body["channels"]] == ["ecg"]
    recording = run_recording_inline(body["id"])
    assert recording.status == "succeeded", recording.error
    assert "hr" in recording.channel_set and recording.total_rows > 0


def test_a_rest_baseline_from_a_chest_strap_applies_to_the_next(
    token_client, active_model, tmp_path
):
    first = upload_recording(
        token_client,
        chest_strap_csv(tmp_path, with_breathing=True, name="monday.csv"),
        rest_start_s=0,
        rest_end_s=180,
    ).json()
    recording = run_recording_inline(first["id"])
    assert recording.status == "succeeded" and recording.calibrated, recording.error
    baseline = Baseline.objects.get(user=recording.user, is_active=True)
    assert baseline.channel_set == recording.channel_set and "hr" in baseline.channel_set
    second = upload_recording(
        token_client,
        chest_strap_csv(tmp_path, start_s=900.0, with_breathing=True, name="tuesday.csv"),
    ).json()
    assert second["baseline"] == baseline.id
    again = run_recording_inline(second["id"])
    assert again.calibrated and again.baseline_id == baseline.id


def test_a_pulse_waveform_named_hr_is_refused_with_its_reason(token_client, active_model, tmp_path):
    seconds = np.arange(0, 600, 1 / 25)
    pulse = 500 + 60 * np.sin(2 * np.pi * 1.2 * seconds)  # a PPG sensor's raw counts
    path = write_csv(tmp_path / "pulse.csv", np.column_stack([seconds, pulse]), header="time,hr")
    response = upload_recording(token_client, path)
    body = assert_error(response, 400, "validation_error")
    assert body["details"]["reason"] == "implausible_channel"
    assert body["message"].startswith("The column 'hr' does not look like heart rate: median 500")


def test_a_flat_minute_is_not_enough_signal_and_not_scored(token_client, active_model, tmp_path):
    rows = drive_slice(drivedb.load_drive("drive06"), 60.0, 600.0)
    flat = (rows[:, 0] >= 300) & (rows[:, 0] < 360)
    rows[flat, 1:] = rows[flat, 1:][0]  # every sensor stuck for a minute
    body = upload_recording(token_client, write_csv(tmp_path / "flat.csv", rows)).json()
    recording = run_recording_inline(body["id"])
    assert recording.status == "succeeded", recording.error
    unscored = recording.unscored_windows
    assert unscored and {w["reason"] for w in unscored} == {"not_enough_signal"}
    assert all(w["start_s"] <= 360 and w["end_s"] >= 300 for w in unscored)
    starts = set(recording.windows.values_list("window_start_s", flat=True))
    assert not starts & {w["start_s"] for w in unscored}  # no level for those windows
    page = token_client.get(f"/api/recordings/{body['id']}").json()
    assert page["unscored_windows"] == unscored


def test_vigorous_movement_is_marked_active_and_not_called_stress(
    token_client, client, user, active_model, tmp_path
):
    rows = drive_slice(drivedb.load_drive("drive06"), 60.0, 600.0)
    t = rows[:, 0]
    rng = np.random.default_rng(0)
    acc = 1.0 + 0.005 * rng.standard_normal(t.shape[0])  # still, in g
    moving = (t >= 240) & (t < 480)
    acc[moving] += 0.6 * np.abs(np.sin(2 * np.pi * 1.5 * t[moving]))  # running
    path = write_csv(
        tmp_path / "moving.csv",
        np.column_stack([rows, acc]),
        header="Elapsed time(s),ECG(mV),EMG(mV),foot GSR(mV),hand GSR(mV),HR(bpm),marker(mV),"
        "RESP(mV),ACC(g)",
    )
    body = upload_recording(token_client, path).json()
    recording = run_recording_inline(body["id"])
    assert recording.status == "succeeded", recording.error
    active = [w for w in recording.unscored_windows if w["reason"] == "active"]
    assert active and all(w["start_s"] >= 120 and w["end_s"] <= 600 for w in active)
    assert {d["activity"] for d in recording.window_details} <= {"still", "light"}
    client.force_login(user)
    page = client.get(f"/recordings/{body['id']}/")
    assert b"vigorous movement not scored as stress" in page.content


def test_a_file_without_an_accelerometer_says_so(client, user, active_model, tmp_path):
    from predictions.recordings.services import recording_submit

    client.force_login(user)
    with open(
        write_csv(tmp_path / "d.csv", drive_slice(drivedb.load_drive("drive06"), 0, 600)), "rb"
    ) as handle:
        recording, _ = recording_submit(user=user, chunks=[handle.read()], filename="d.csv")
    run_recording_inline(recording.id)
    page = client.get(f"/recordings/{recording.id}/")
    assert b"this file has no accelerometer" in page.content


def test_elapsed_time_only_ends_at_the_upload_unless_a_start_is_given(
    token_client, active_model, tmp_path
):
    path = chest_strap_csv(tmp_path, seconds=300.0)
    before = timezone.now()
    body = upload_recording(token_client, path).json()
    assert body["start_source"] == "upload"
    starts_at = timezone.datetime.fromisoformat(body["starts_at"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=302) <= starts_at <= timezone.now() - timedelta(seconds=298)
    given = (timezone.now() - timedelta(hours=3)).replace(microsecond=0)
    body = upload_recording(token_client, path, started_at=given.isoformat()).json()
    assert body["start_source"] == "given"
    assert timezone.datetime.fromisoformat(body["starts_at"].replace("Z", "+00:00")) == given


def test_a_start_that_would_end_in_the_future_is_refused(token_client, active_model, tmp_path):
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    response = upload_recording(
        token_client, chest_strap_csv(tmp_path, seconds=300.0), started_at=future
    )
    body = assert_error(response, 400, "validation_error")
    assert "future" in body["message"] and "started_at" in body["details"]


def test_skin_conductance_in_microsiemens_alone_needs_a_rest(token_client, active_model, tmp_path):
    rows = drive_slice(drivedb.load_drive("drive06"), 60.0, 600.0)
    path = write_csv(tmp_path / "eda.csv", rows[:, [0, 4]], header="time,EDA(uS)")
    body = assert_error(upload_recording(token_client, path), 400, "validation_error")
    assert body["details"]["reason"] == "needs_rest"
    accepted = upload_recording(token_client, path, rest_start_s=0, rest_end_s=180)
    assert accepted.status_code == 202
    recording = run_recording_inline(accepted.json()["id"])
    assert recording.status == "succeeded" and recording.calibrated


def test_a_wrist_bands_pulse_wave_gives_heart_rate(token_client, active_model, tmp_path):
    """A band's BVP at 64 Hz (NeuroKit2's ppg_simulate at drive06's heart rate, 30 s at a
    time: drivedb has no pulse wave) and nothing else: heart rate from its pulses."""
    import neurokit2 as nk

    rows = drive_slice(drivedb.load_drive("drive06"), 60.0, 600.0)
    step = int(30 * drivedb.FRAME_HZ)
    pulse = np.concatenate(
        [
            nk.ppg_simulate(
                duration=30,
                sampling_rate=64,
                heart_rate=float(np.nanmean(rows[i : i + step, 5])),
                random_state=i,
            )
            for i in range(0, rows.shape[0], step)
        ]
    )
    seconds = np.arange(pulse.shape[0]) / 64
    path = write_csv(tmp_path / "band.csv", np.column_stack([seconds, pulse]), header="time,BVP")
    body = upload_recording(token_client, path).json()
    assert [c["role"] for c in body["channels"]] == ["ppg"]
    recording = run_recording_inline(body["id"])
    assert recording.status == "succeeded", recording.error
    assert recording.channel_set == "hr" and recording.windows.exists()
    rates = [d["heart_rate_bpm"] for d in recording.window_details]
    expected = float(np.nanmean(rows[:, 5]))
    assert abs(float(np.median(rates)) - expected) < 8  # bpm: the pulses are the heartbeats


def test_an_ecg_in_microvolts_is_not_drift_and_the_page_says_why_it_is_left_out(
    token_client, client, user, active_model, tmp_path
):
    """A Polar H10 writes its ECG in µV: the unit, not the sensor, differs from training."""
    strap = chest_strap_csv(tmp_path, with_breathing=True)
    table = np.loadtxt(strap, delimiter=",", skiprows=1)
    table[:, 1] *= 1000.0
    path = tmp_path / "polar-like.csv"
    np.savetxt(path, table, delimiter=",", header="time,ECG(uV),RESP(mV)", comments="")
    recording = run_recording_inline(upload_recording(token_client, path).json()["id"])
    assert recording.status == "succeeded", recording.error
    assert not [finding for finding in recording.drift if "ECG" in finding]
    assert any("ECG is in uV" in note for note in recording.notes)
    client.force_login(user)
    assert b"ECG is in uV" in client.get(f"/recordings/{recording.id}/").content


def test_a_watchs_own_stress_score_is_kept_and_shown(
    token_client, client, user, active_model, tmp_path
):
    """A Garmin FIT activity (written by the SDK's Encoder, as mlcore's FIT tests write it)
    with the watch's stress_level messages."""
    from mlcore.tests.readers.test_fit_reader import beat_intervals, write_fit

    drive = drivedb.load_drive("drive06")
    hr = np.interp(
        120.0 + np.arange(600), drive.signals[:, drivedb.COL_TIME], drive.signals[:, drivedb.COL_HR]
    )
    path = write_fit(
        tmp_path / "run.fit", hr, rr=beat_intervals(hr), stress=((60, 30), (300, 45), (540, 70))
    )
    body = upload_recording(token_client, path).json()
    recording = run_recording_inline(body["id"])
    assert recording.status == "succeeded", recording.error
    assert [value for _, value in recording.device_reports["device_stress"]] == [30, 45, 70]
    client.force_login(user)
    page = client.get(f"/recordings/{recording.id}/").content.decode()
    assert "its own stress score (0-100): 45 typically, 70 at most (3 readings)" in page
