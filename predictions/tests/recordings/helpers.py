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
