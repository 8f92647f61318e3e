"""Recording files made from the bundled drives, uploads, and a recording run in-process."""

from __future__ import annotations

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from jobs import engine
from mlcore import drivedb
from mlcore.tests.recording_files import drive_slice, write_csv, write_edf
from predictions.models import Recording
from predictions.recordings.kind import RECORDING


def drive_file(tmp_path: Path, fmt: str = "edf", seconds: float = 600.0, start_s: float = 60.0):
    rows = drive_slice(drivedb.load_drive("drive06"), start_s, seconds)
    path = tmp_path / f"drive06.{fmt}"
    return write_edf(path, rows) if fmt == "edf" else write_csv(path, rows)


def upload_recording(client, path: Path, **fields):
    headers = fields.pop("headers", {})
    with open(path, "rb") as handle:
        data = {"file": SimpleUploadedFile(path.name, handle.read()), **fields}
    return client.post("/api/recordings", data, format="multipart", headers=headers)


def run_recording_inline(recording_id) -> Recording:
    """What a worker does, in this process."""
    for index in engine.job_claim(RECORDING, job_id=recording_id):
        engine.job_chunk_run(RECORDING, job_id=recording_id, index=index)
    return Recording.objects.get(pk=recording_id)


def chest_strap_csv(
    tmp_path: Path,
    *,
    seconds: float = 600.0,
    start_s: float = 60.0,
    with_breathing: bool = False,
    name: str = "strap.csv",
) -> Path:
    """A chest strap's export: raw ECG at 250 Hz (and, with_breathing, a breathing belt on the
    same clock), elapsed seconds only. drivedb holds no raw ECG, so the ECG is simulated by
    NeuroKit2 (ecg_simulate) at the heart rate drivedb's drive06 recorded, 30 s at a time;
    the breathing is drive06's own, brought to 250 Hz."""
    import neurokit2 as nk
    import numpy as np

    rate = 250.0
    rows = drive_slice(drivedb.load_drive("drive06"), start_s, seconds)
    hr = rows[:, 1 + 4]  # the drive's HR column (CSV_COLUMNS order: ECG, EMG, foot, hand, HR)
    step = int(30 * drivedb.FRAME_HZ)
    ecg = np.concatenate(
        [
            nk.ecg_simulate(
                duration=30,
                sampling_rate=int(rate),
                heart_rate=float(np.clip(np.nanmean(hr[i : i + step]), 45, 160)),
                method="simple",
                random_state=i,
            )
            for i in range(0, rows.shape[0], step)
        ]
    )[: int(seconds * rate)]
    time_s = np.arange(ecg.shape[0]) / rate
    columns = [time_s, ecg]
    header = "Elapsed time(s),ECG(mV)"
    if with_breathing:
        breathing = np.interp(time_s, rows[:, 0], rows[:, 1 + 6])
        columns.append(breathing)
        header += ",RESP(mV)"
    path = tmp_path / name
    np.savetxt(
        path, np.column_stack(columns), delimiter=",", header=header, comments="", fmt="%.5f"
    )
    return path
