"""A recording from each device format, uploaded through POST /api/recordings and scored by a
real Celery worker over the real broker (issue 19). The files are written as each reader's
tests write them (the format's own writer, from drivedb's drive06; see each test module), and
the OpenSignals one from a real PLUX recording (mlcore/tests/readers/data/opensignals)."""

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from mlcore import drivedb
from mlcore.tests.readers import (
    test_apple_health_reader as apple,
)
from mlcore.tests.readers import (
    test_embraceplus_reader as embrace,
)
from mlcore.tests.readers import (
    test_fit_reader as fit,
)
from mlcore.tests.readers import (
    test_polar_reader as polar,
)
from mlcore.tests.recording_files import drive_slice, write_edf
from predictions.models import JobStatus, Recording
from predictions.tests.recordings.helpers import upload_recording
from stressapp.tests.support import wait_for

pytestmark = pytest.mark.worker
SECONDS = 600
OPENSIGNALS = Path(fit.__file__).parent / "data" / "opensignals" / "supine_1min.txt"


def opensignals_ten_minutes(path: Path) -> Path:
    """The real PLUX chest ECG (60 s at 1000 Hz) played ten times over: its header as
    recorded, its rows repeated with the sample counter continued (a model needs 2 minutes)."""
    lines = OPENSIGNALS.read_text().splitlines()
    header = [line for line in lines if line.startswith("#")]
    rows = [line for line in lines if line and not line.startswith("#")]
    out = []
    for repeat in range(10):
        for i, row in enumerate(rows):
            cells = row.split("\t")
            cells[0] = str((repeat * len(rows) + i) % 16)
            out.append("\t".join(cells))
    path.write_text("\n".join([*header, *out]) + "\n")
    return path


def device_files(folder: Path) -> dict[str, Path]:
    drive = drivedb.load_drive("drive06")
    beats = polar.drive_beats(drive, 120.0, SECONDS)
    hr = np.interp(  # drive06's heart rate once a second
        120.0 + np.arange(SECONDS),
        drive.signals[:, drivedb.COL_TIME],
        drive.signals[:, drivedb.COL_HR],
    )
    return {
        "fit": fit.write_fit(
            folder / "activity.fit", hr, rr=fit.beat_intervals(hr), seconds=SECONDS
        ),
        "apple_health": apple.write_export(
            folder / "export.xml",
            apple.workout(apple.WORKOUT, hr, every=1),
            export=apple.WORKOUT + timedelta(hours=1),
        ),
        "polar": polar.write_ecg(
            folder / "Polar_H10_ECG.txt", polar.synthetic_ecg(beats, float(SECONDS))
        ),
        "rr": _rr_file(folder / "intervals.txt", beats),
        "embraceplus": embrace.write_avro(
            folder / "1-1-01_1770728400.avro",
            embrace.session_record(drive, 300.0, float(SECONDS), embrace.START),
        ),
        "opensignals": opensignals_ten_minutes(folder / "opensignals_supine.txt"),
        "edf": write_edf(folder / "drive.edf", drive_slice(drive, 0, SECONDS)),
    }


def _rr_file(path: Path, beats: np.ndarray) -> Path:
    path.write_text("\n".join(f"{1000 * x:.0f}" for x in np.diff(beats)) + "\n")
    return path


def test_every_format_is_read_and_scored_on_a_real_worker(celery_workers, token_client, tmp_path):
    celery_workers.start(concurrency=1)
    uploaded = {}
    for fmt, path in device_files(tmp_path).items():
        response = upload_recording(token_client, path)
        assert response.status_code == 202, (fmt, response.content)
        body = response.json()
        assert body["file_format"].startswith(fmt), (fmt, body["file_format"])
        uploaded[fmt] = body["id"]

    def finished() -> bool:
        return all(Recording.objects.get(pk=i).is_finished for i in uploaded.values())

    assert wait_for(finished, timeout=240, interval=0.5)
    for fmt, recording_id in uploaded.items():
        recording = Recording.objects.get(pk=recording_id)
        assert recording.status == JobStatus.SUCCEEDED, (fmt, recording.error)
        assert recording.windows.count() + len(recording.unscored_windows) == recording.total_rows
        assert recording.windows.exists(), (fmt, recording.unscored_windows[:3])
