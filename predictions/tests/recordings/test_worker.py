"""Recordings on real Celery workers over the real Redis broker and PostgreSQL: processed to
the end, and a worker killed while processing one loses nothing and duplicates nothing."""

import time

import pytest

from mlcore import drivedb
from mlcore.tests.recording_files import drive_slice, write_edf
from predictions.models import JobStatus, Prediction, Recording
from predictions.tests.recordings.helpers import upload_recording
from stressapp.tests.support import wait_for

pytestmark = pytest.mark.worker


def state(recording_id: str) -> Recording:
    return Recording.objects.get(pk=recording_id)


def test_a_recording_is_scored_on_a_real_worker(celery_workers, token_client, tmp_path):
    celery_workers.start(concurrency=1)
    path = write_edf(tmp_path / "drive.edf", drive_slice(drivedb.load_drive("drive06"), 0, 900))
    response = upload_recording(token_client, path, rest_start_s=0, rest_end_s=180)
    assert response.status_code == 202, response.content
    recording_id = response.json()["id"]
    assert wait_for(lambda: state(recording_id).is_finished, timeout=120, interval=0.2)
    recording = state(recording_id)
    assert recording.status == JobStatus.SUCCEEDED, recording.error
    assert recording.calibrated and recording.baseline is not None
    assert Prediction.objects.filter(recording_id=recording_id).count() == recording.total_rows


def test_a_worker_killed_while_processing_loses_and_duplicates_nothing(
    celery_workers, token_client, tmp_path
):
    whole_drive = drive_slice(drivedb.load_drive("drive06"), 0, 24 * 3600)
    path = write_edf(tmp_path / "drive.edf", whole_drive)
    first = celery_workers.start(concurrency=1)
    recording_id = upload_recording(token_client, path).json()["id"]
    assert wait_for(lambda: state(recording_id).stage != "", timeout=60, interval=0.05)
    celery_workers.kill(first)  # SIGKILL while it reads or prepares
    assert not state(recording_id).is_finished
    killed_at = time.monotonic()
    celery_workers.start(concurrency=1, beat=True)
    assert wait_for(lambda: state(recording_id).is_finished, timeout=90, interval=0.2)
    assert time.monotonic() - killed_at <= 60
    recording = state(recording_id)
    assert recording.status == JobStatus.SUCCEEDED, recording.error
    windows = Prediction.objects.filter(recording_id=recording_id)
    assert windows.count() == recording.total_rows == recording.processed_rows
    assert windows.values("row_number").distinct().count() == recording.total_rows
