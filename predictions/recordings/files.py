"""Where a recording's files live (RECORDINGS_DIR/<id>/input: the upload as sent, kept while
the recording exists and deleted with it), and the one way a stored file is read."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from django.conf import settings

from mlcore.readers import read_recording
from mlcore.recordings.recording import Recording as RecordingSignals


def recording_dir(recording_id: uuid.UUID | str) -> Path:
    return Path(settings.RECORDINGS_DIR) / str(recording_id)


def recording_input_path(recording_id: uuid.UUID | str) -> Path:
    return recording_dir(recording_id) / "input"


def recording_files_delete(recording_id: uuid.UUID | str) -> None:
    shutil.rmtree(recording_dir(recording_id), ignore_errors=True)


def recording_file_read(path: Path, filename: str) -> RecordingSignals:
    """A stored upload as signals, within the deployment's limits (RecordingError if it
    cannot be read or passes them): the upload's check and the worker read it alike."""
    return read_recording(
        path,
        filename or None,
        max_duration_s=settings.RECORDING_MAX_SECONDS,
        max_uncompressed_bytes=settings.RECORDING_MAX_UNCOMPRESSED_BYTES,
    )
