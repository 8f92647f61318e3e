"""Where a recording's files live: RECORDINGS_DIR/<id>/ (the upload as sent)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from django.conf import settings


def recording_dir(recording_id: uuid.UUID | str) -> Path:
    return Path(settings.RECORDINGS_DIR) / str(recording_id)


def recording_input_path(recording_id: uuid.UUID | str) -> Path:
    return recording_dir(recording_id) / "input"


def recording_files_delete(recording_id: uuid.UUID | str) -> None:
    shutil.rmtree(recording_dir(recording_id), ignore_errors=True)
